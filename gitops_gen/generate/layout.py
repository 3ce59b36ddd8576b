"""What files a spec becomes: the base, each overlay, the sync engines' objects, the CI file and the schema, as
plain data (``GeneratedFile``). Writing them, and who owns what in a file, is ``tree``'s job."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from gitops_gen.generate import schema_file
from gitops_gen.generate.manifests import (
    drift_workflow,
    environment,
    maintenance,
    metrics,
    migrations,
    nginx,
    pods,
    routes,
    search,
    stages,
    wiring,
    workloads,
)
from gitops_gen.generate.manifests.common import labels, names
from gitops_gen.spec.model import Spec

KUSTOMIZATION = "kustomization.yaml"


@dataclass(frozen=True)
class GeneratedFile:
    path: str  # relative to the repository root, POSIX separators
    data: Any = None  # YAML documents (a list when the file holds several), or None for raw text
    text: str | None = None  # raw content for non-YAML files

    @property
    def is_yaml(self) -> bool:
        return self.text is None


# --------------------------------------------------------------------------------------------------------------
# What the tree contains


def generate(spec: Spec, repo_url: str | None = None, tree: str = "") -> list[GeneratedFile]:
    """Every file of the tree, in a stable order, relative to the tree's directory. ``repo_url`` is what the sync
    engines clone when the spec names none (the repository's remote); ``tree`` is the tree's directory relative
    to the repository root (``apps/mastodon`` in a monorepo, empty at the root): the sync objects name paths
    from the repository root, and the CI file goes where the CI reads it (``../../.github/workflows/…``)."""
    files = [*_base(spec), *(file for overlay in spec.overlays for file in _overlay(spec, overlay))]
    for overlay in spec.overlays:
        wired = wiring.cluster_files(spec, overlay, repo_url, tree)
        files += [GeneratedFile(path, objects) for path, objects in wired.items()]
    sops = wiring.sops_config(spec)
    if sops:
        files.append(GeneratedFile(".sops.yaml", [sops]))
    files.append(GeneratedFile(schema_file.SCHEMA_FILE, text=schema_file.schema_text()))
    workflow = wiring.drift_workflow_file(spec, tree)
    if workflow:
        files.append(GeneratedFile(from_tree(workflow[0], tree), text=workflow[1]))
    return files


def from_tree(path: str, tree: str) -> str:
    """A path from the repository root, seen from the tree: ``../../.github/workflows/…`` from ``apps/m``."""
    return posixpath.relpath(path, tree or ".")


def top_files(tree: str) -> tuple[str, ...]:
    """The generated files outside ``base/``, ``overlays/`` and ``clusters/``, seen from the tree (what a re-run
    deletes when the spec stops asking for them)."""
    ci = (drift_workflow.github_path(tree), drift_workflow.gitlab_path(tree))
    return (".sops.yaml", *(from_tree(path, tree) for path in ci))


def _base(spec: Spec) -> list[GeneratedFile]:
    files = [
        GeneratedFile("base/serviceaccount.yaml", [workloads.service_account(spec)]),
        GeneratedFile("base/web.yaml", [metrics.instrument(spec, workloads.web(spec))]),
        GeneratedFile("base/streaming.yaml", [workloads.streaming(spec)]),
        *(GeneratedFile(f"base/sidekiq-{worker.name}.yaml", [metrics.instrument(spec, workloads.sidekiq(spec, worker))])
          for worker in spec.sidekiq),
        GeneratedFile("base/services.yaml", workloads.services(spec)),
    ]
    monitoring = metrics.objects(spec)
    if monitoring:
        files.append(GeneratedFile("base/metrics.yaml", monitoring))
    cronjobs = maintenance.cronjobs(spec)
    if cronjobs:
        files.append(GeneratedFile("base/maintenance.yaml", cronjobs))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [PurePosixPath(file.path).name for file in files],
    }
    return [GeneratedFile(f"base/{KUSTOMIZATION}", [kustomization]), *files]


def _overlay(spec: Spec, overlay: str) -> list[GeneratedFile]:
    root = f"overlays/{overlay}"
    n = names(spec)
    files: list[GeneratedFile] = []
    storage = environment.storage(spec, overlay)
    if storage:
        files.append(GeneratedFile(f"{root}/storage.yaml", storage))
    ingress = environment.ingress(spec, overlay)
    if ingress:
        files.append(GeneratedFile(f"{root}/ingress.yaml", [ingress]))
    http_routes = routes.http_routes(spec, overlay, workloads.WEB_PORT, workloads.STREAMING_PORT)
    if http_routes:
        files.append(GeneratedFile(f"{root}/httproute.yaml", http_routes))
    secret_sources = wiring.secret_objects(spec, overlay)
    if secret_sources:
        files.append(GeneratedFile(f"{root}/secrets.yaml", secret_sources))
    files.append(GeneratedFile(f"{root}/migrations.yaml", migrations.jobs(spec, overlay)))
    search_jobs = search.jobs(spec)
    if search_jobs:
        files.append(GeneratedFile(f"{root}/search-deploy.yaml", search_jobs))
    order = GeneratedFile(f"{root}/{stages.ORDER_PATCH_FILE}", [stages.argocd_order_patch()])
    budgets = environment.disruption_budgets(spec, overlay)
    if budgets:
        files.append(GeneratedFile(f"{root}/disruption-budgets.yaml", budgets))
    patches = [GeneratedFile(f"{root}/patches/{patch['metadata']['name']}.yaml", [patch])
               for patch in environment.workload_patches(spec, overlay)]
    placement = pods.placement_patches(spec, overlay)
    upstreams = nginx.nginx_conf(spec, overlay, environment.local_domain(spec, overlay))

    tag = spec.overlays[overlay].image_tag
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": spec.overlay_namespace(overlay),
        "resources": ["../../base", *(PurePosixPath(file.path).name for file in files)],
        "labels": [{"pairs": {"app.kubernetes.io/instance": n.instance(overlay)}, "includeTemplates": True}],
        "configMapGenerator": [{"name": n.config, "literals": environment.config_literals(spec, overlay),
                                "options": {"labels": labels(spec, stages.CONFIG_COMPONENT)}}],
        "images": [{"name": ref.repository, "newTag": tag or ref.tag}
                   for ref in (spec.images.mastodon, spec.images.streaming)],
    }
    # Argo CD's order: what the pre-deploy migration needs goes in an earlier sync wave (stages.py).
    kustomization["patches"] = [stages.argocd_order_entry(stages.prerequisites(migrations.pre_deploy(spec))),
                                *({"path": f"patches/{PurePosixPath(p.path).name}"} for p in patches),
                                *({"path": path, "target": {"kind": kind}} for kind, path, _ in placement)]
    # A JSON patch is one YAML document holding a list.
    placed = [GeneratedFile(f"{root}/{path}", [ops]) for _, path, ops in placement]
    out = [GeneratedFile(f"{root}/{KUSTOMIZATION}", [kustomization]), *files, order, *patches, *placed]
    if upstreams:
        out.append(GeneratedFile(f"{root}/nginx.conf", text=upstreams))
    return out
