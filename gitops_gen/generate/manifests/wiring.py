"""Spec -> the GitOps wiring of one overlay: the secrets provider, the sync engines' objects, ``.sops.yaml``.

The objects themselves are built in ``manifests/sync.py`` and ``secrets.py`` from small dataclasses; this module
only maps the spec onto them.
"""

from __future__ import annotations

from gitops_gen.generate import install_line, secrets
from gitops_gen.generate.catalogue import catalogue
from gitops_gen.generate.manifests import drift_job, drift_workflow, migrations, search, stages, sync
from gitops_gen.generate.manifests.common import KubeObject
from gitops_gen.generate.manifests.environment import workloads
from gitops_gen.spec.model import Spec

PLACEHOLDER_REPO = "https://git.example.com/ops/{name}.git"


def provider(spec: Spec) -> secrets.SecretsProvider:
    chosen, name = spec.secrets, spec.secret_name
    if chosen.provider == "external-secrets" and chosen.external_secrets:
        store = chosen.external_secrets
        return secrets.ExternalSecrets(store_name=store.store, secret_name=name, store_kind=store.store_kind,
                                       remote_key_prefix=store.remote_key_prefix)
    if chosen.provider == "sops" and chosen.sops:
        return secrets.SopsSecrets(age_recipients=tuple(chosen.sops.age_recipients), secret_name=name)
    return secrets.ExistingSecret(secret_name=name)


def secret_objects(spec: Spec, overlay: str) -> list[KubeObject]:
    """What the overlay carries to bring the Secret (an ExternalSecret), never a Secret with values. It is an
    ordinary object, ordered before the migration by its component (``stages.py``), never a hook."""
    objects = secrets.secret_objects(provider(spec), spec.overlay_namespace(overlay), catalogue(spec))
    for obj in objects:
        obj["metadata"].pop("namespace", None)  # the overlay's kustomization sets it
    return objects


def is_local_path(url: str) -> bool:
    """True for a remote that names a path on this machine, which no sync engine in a cluster can clone.

    >>> [is_local_path(u) for u in ("/srv/git/m.git", "file:///srv/m.git", "git@host:ops/m.git", "https://h/m")]
    [True, True, False, False]
    """
    if url.startswith("file://"):
        return True
    if "://" in url:
        return False
    head = url.split("/", 1)[0]
    return ":" not in head  # scp-like `user@host:path` names a host before its first slash


def _repo_url(spec: Spec, remote: str | None) -> str:
    return spec.gitops.repo_url or remote or PLACEHOLDER_REPO.format(name=spec.name)


def cluster_files(spec: Spec, overlay: str, repo_url: str | None, tree: str = "") -> dict[str, list[KubeObject]]:
    """``clusters/<overlay>/<engine>/…`` for every engine the spec names, and ``clusters/<overlay>/drift/``
    when the in-cluster drift check is asked for. ``tree``: the tree's directory in the repository."""
    files = _engine_files(spec, overlay, repo_url, tree)
    in_cluster = spec.drift.in_cluster
    if in_cluster:
        objects = drift_job.drift_job_objects(
            in_cluster.namespace or spec.overlay_namespace(overlay), kube_version=spec.kube_version,
            image=in_cluster.image, repo_url=_repo_url(spec, repo_url), overlays=[overlay],
            schedule=spec.drift.schedule, instance=f"{spec.name}-{overlay}", watched=spec.overlay_namespace(overlay),
            cache_claim=in_cluster.cache_volume, tree=tree, branch=spec.gitops.revision)
        root = f"clusters/{overlay}/drift"
        files[f"{root}/kustomization.yaml"] = [{"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                                "kind": "Kustomization", "resources": ["drift-check.yaml"]}]
        files[f"{root}/drift-check.yaml"] = objects
    return files


def _engine_files(spec: Spec, overlay: str, repo_url: str | None, tree: str) -> dict[str, list[KubeObject]]:
    gitops = spec.gitops
    target = sync.SyncTarget(
        name=spec.name, env=overlay, namespace=spec.overlay_namespace(overlay),
        repo_url=_repo_url(spec, repo_url),
        revision=gitops.revision, deployments=tuple(w.name for w in workloads(spec, overlay)), tree=tree,
    )
    return sync.cluster_files(
        target, gitops.engines,
        argocd=sync.ArgoCDOptions(namespace=gitops.argocd.namespace),
        flux=sync.FluxOptions(namespace=gitops.flux.namespace, interval=gitops.flux.interval,
                              git_secret=gitops.flux.git_secret),
        secrets=provider(spec),
        components=flux_stage_components(spec),
    )


def flux_stage_components(spec: Spec) -> sync.StageComponents:
    """Flux's first stage: what the pre-deploy migration needs (``stages.prerequisites``), and the Job; after the
    post-deploy migration, the search deploy Job when there is one."""
    return sync.StageComponents(config=stages.prerequisites(migrations.pre_deploy(spec)),
                                after_migrate=(search.COMPONENT,) if search.runs_deploy(spec) else ())


def sops_config(spec: Spec) -> dict[str, object] | None:
    chosen = provider(spec)
    if not isinstance(chosen, secrets.SopsSecrets):
        return None
    return secrets.sops_config(dict.fromkeys(spec.overlays, chosen))


def drift_workflow_file(spec: Spec, tree: str = "") -> tuple[str, str] | None:
    """The scheduled drift check for CI: (path from the repository root, text), or None when ``drift.ci`` is
    ``none``. ``tree``: the tree's directory in the repository (``drift_workflow.github_path``, ``gitlab_path``).

    Raises ``install_line.UnknownInstallError`` when ``drift.install`` is unset and the running gitops-gen was
    installed from a local path (nothing then says how a CI runner can install it).
    """
    drift = spec.drift
    if drift.ci == "none":
        return None
    make, path = ((drift_workflow.github_workflow, drift_workflow.github_path(tree)) if drift.ci == "github"
                  else (drift_workflow.gitlab_workflow, drift_workflow.gitlab_path(tree)))
    text = make(list(spec.overlays), schedule=drift.schedule, kube_version=spec.kube_version, issue=drift.issue,
                install=drift.install or install_line.pinned_install_command(), tree=tree)
    # The file gets gitops-gen's own header (with its checksum) when it is written.
    return path, text.removeprefix(drift_workflow.HEADER + "\n")
