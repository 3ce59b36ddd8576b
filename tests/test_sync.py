"""Argo CD and Flux objects for one overlay: their content, their files, and the Flux stage split."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from gitops_gen.errors import InputError
from gitops_gen.generate.manifests.sync import (
    ArgoCDOptions,
    FluxOptions,
    StageComponents,
    SyncTarget,
    argocd_app_project,
    argocd_application,
    argocd_files,
    cluster_files,
    flux_files,
    flux_git_repository,
    flux_kustomizations,
    stage_names,
)
from gitops_gen.generate.secrets import ExistingSecret, ExternalSecrets, SecretsProvider, SopsSecrets
from tests.helpers import run_cli

REPO = "https://git.example.org/ops/mastodon-gitops.git"
TARGET = SyncTarget(name="mastodon", env="production", namespace="mastodon-production", repo_url=REPO,
                    revision="main", deployments=("web", "streaming", "sidekiq-default"))
AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
PROVIDERS: list[SecretsProvider] = [
    ExistingSecret(),
    ExternalSecrets(store_name="vault", store_kind="ClusterSecretStore", remote_key_prefix="mastodon/production/"),
    SopsSecrets(age_recipients=(AGE,)),
]


def _by_kind(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        found.setdefault(obj["kind"], []).append(obj)
    return found


def test_application_syncs_the_overlay_automatically_with_prune_self_heal_and_retry() -> None:
    app = argocd_application(TARGET)
    assert app["metadata"]["namespace"] == "argocd"
    spec = app["spec"]
    assert spec["project"] == argocd_app_project(TARGET)["metadata"]["name"]
    assert spec["source"] == {"repoURL": REPO, "targetRevision": "main", "path": "overlays/production"}
    assert spec["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "mastodon-production"}
    policy = spec["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert set(policy["syncOptions"]) == {"ServerSideApply=true", "CreateNamespace=true", "PruneLast=true"}
    assert policy["retry"]["limit"] >= 1 and policy["retry"]["backoff"]["factor"] >= 2


def test_app_project_allows_only_this_repository_and_the_overlay_namespace() -> None:
    spec = argocd_app_project(TARGET, ArgoCDOptions(server="https://prod.example.org:6443"))["spec"]
    assert spec["sourceRepos"] == [REPO]
    assert spec["destinations"] == [{"server": "https://prod.example.org:6443", "namespace": "mastodon-production"}]
    assert spec["clusterResourceWhitelist"] == [{"group": "*", "kind": "Namespace", "name": "mastodon-production"}]
    assert "*" not in str({**spec, "clusterResourceWhitelist": None})


def test_argo_objects_do_not_carry_argo_cds_own_tracking_label() -> None:
    for obj in (argocd_application(TARGET), argocd_app_project(TARGET)):
        assert "app.kubernetes.io/instance" not in obj["metadata"]["labels"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gitops-gen"


def test_git_repository_follows_the_branch_and_uses_the_credentials_secret_only_when_given() -> None:
    repo = flux_git_repository(TARGET)
    assert repo["spec"]["url"] == REPO and repo["spec"]["ref"] == {"branch": "main"}
    assert "secretRef" not in repo["spec"]
    private = flux_git_repository(TARGET, FluxOptions(git_secret="repo-creds"))
    assert private["spec"]["secretRef"] == {"name": "repo-creds"}


def test_flux_stages_chain_config_then_app_then_post_migration() -> None:
    config, app, post = flux_kustomizations(TARGET)
    assert [k["metadata"]["name"] for k in (config, app, post)] == list(stage_names(TARGET))
    assert "dependsOn" not in config["spec"]
    assert app["spec"]["dependsOn"] == [{"name": config["metadata"]["name"]}]
    assert post["spec"]["dependsOn"] == [{"name": app["metadata"]["name"]}]
    for stage in (config, app, post):
        spec = stage["spec"]
        assert spec["sourceRef"] == {"kind": "GitRepository", "name": flux_git_repository(TARGET)["metadata"]["name"]}
        assert spec["path"] == "./overlays/production"
        assert spec["targetNamespace"] == "mastodon-production"
        assert spec["prune"] is True
        assert {"interval", "retryInterval", "timeout", "wait"} <= set(spec)


def test_migration_stages_wait_for_their_job_and_recreate_it_when_it_changed() -> None:
    config, app, post = flux_kustomizations(TARGET, FluxOptions(migration_timeout="45m"))
    for stage in (config, post):
        assert stage["spec"]["wait"] is True
        assert stage["spec"]["force"] is True
        assert stage["spec"]["timeout"] == "45m"
    assert "force" not in app["spec"]


def test_app_stage_health_checks_the_named_deployments() -> None:
    app = flux_kustomizations(TARGET)[1]
    # Flux ignores healthChecks when wait is on: the health checks only count with wait off.
    assert app["spec"]["wait"] is False
    assert app["spec"]["healthChecks"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "namespace": "mastodon-production"}
        for name in ("web", "streaming", "sidekiq-default")
    ]


def test_app_stage_without_known_deployments_waits_for_everything() -> None:
    unnamed = SyncTarget(name="mastodon", env="staging", namespace="mastodon-staging", repo_url=REPO)
    app = flux_kustomizations(unnamed)[1]
    assert app["spec"]["wait"] is True and "healthChecks" not in app["spec"]


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.provider)
def test_only_the_sops_provider_gets_a_decryption_stanza_on_every_stage(provider: SecretsProvider) -> None:
    stages = flux_kustomizations(TARGET, secrets=provider)
    if isinstance(provider, SopsSecrets):
        assert all(s["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
                   for s in stages)
    else:
        assert all("decryption" not in s["spec"] for s in stages)


def test_each_engine_directory_is_one_kustomization_of_all_its_files() -> None:
    files = cluster_files(TARGET, ["argocd", "flux"])
    for engine in ("argocd", "flux"):
        root = f"clusters/production/{engine}"
        (kustomization,) = files[f"{root}/kustomization.yaml"]
        assert kustomization["kind"] == "Kustomization"
        siblings = {path.rsplit("/", 1)[1] for path in files if path.startswith(root + "/")}
        assert set(kustomization["resources"]) == siblings - {"kustomization.yaml"}
    assert set(argocd_files(TARGET)) | set(flux_files(TARGET)) == set(files)


def test_only_the_chosen_engines_get_files() -> None:
    assert all(path.startswith("clusters/production/flux/") for path in cluster_files(TARGET, ["flux"]))
    with pytest.raises(InputError, match="sync engine 'fleet'"):
        cluster_files(TARGET, ["fleet"])  # type: ignore[list-item]


def test_flux_namespace_is_never_pruned() -> None:
    (namespace,) = flux_files(TARGET)["clusters/production/flux/namespace.yaml"]
    assert namespace["metadata"]["name"] == "mastodon-production"
    assert namespace["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SyncTarget(name="Mastodon", env="prod", namespace="m", repo_url=REPO), "name/env"),
        (lambda: SyncTarget(name="m", env="prod", namespace="m_x", repo_url=REPO), "namespace"),
        (lambda: SyncTarget(name="m", env="prod", namespace="m", repo_url=" "), "repo_url"),
        (lambda: FluxOptions(interval="10 minutes"), "flux interval"),
        (lambda: ArgoCDOptions(retry_backoff="soon"), "argocd retry_backoff"),
        (lambda: StageComponents(pre_migrate=("jobs",), post_migrate=("jobs",)), "disjoint"),
    ],
)
def test_bad_parameters_are_refused_with_the_field_named(make: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()


# --- the Flux stage split, rendered with the real kustomize --------------------------------------------------

def _render_like_flux(repo: Path, stage: dict[str, Any], scratch: Path) -> list[dict[str, Any]]:
    """Build a stage as kustomize-controller does: its patches and targetNamespace added to the path's file."""
    copy = scratch / stage["metadata"]["name"]
    shutil.copytree(repo, copy)
    directory = copy / stage["spec"]["path"]
    kustomization_file = directory / "kustomization.yaml"
    kustomization = yaml.safe_load(kustomization_file.read_text())
    kustomization["namespace"] = stage["spec"]["targetNamespace"]
    kustomization.setdefault("patches", []).extend(stage["spec"].get("patches", []))
    kustomization_file.write_text(yaml.safe_dump(kustomization))
    return kustomize.render(directory)


def _ids(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(obj["kind"], obj["metadata"]["name"]) for obj in objects}


def test_every_flux_stage_refers_to_the_configmap_by_its_hashed_name(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # init's own tree, whose ConfigMap comes from a configMapGenerator: its name gets a content hash, and a
    # stage that dropped the ConfigMap before kustomize resolved the references left Deployments and the
    # post-deploy Job reading `mastodon-env`, a ConfigMap that does not exist (pods fail to start).
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "gitops-gen.yaml").write_text("gitops: {engines: [flux]}\ndrift: {ci: none}\n")
    assert run_cli(capsys, "init", str(repo)).code == 0
    whole = kustomize.render(repo / "overlays" / "production")
    [config_map] = [o["metadata"]["name"] for o in whole if o["kind"] == "ConfigMap"]
    assert config_map.startswith("mastodon-env-")
    stages = [o for o in kustomize.render(repo / "clusters" / "production" / "flux")
              if o["kind"] == "Kustomization"]
    for stage in stages:
        for obj in _render_like_flux(repo, stage, tmp_path / "stages"):
            pod = obj.get("spec", {}).get("template", {}).get("spec", {})
            refs = {source["configMapRef"]["name"] for container in pod.get("containers", [])
                    for source in container.get("envFrom", []) if "configMapRef" in source}
            assert refs <= {config_map}, (stage["metadata"]["name"], obj["metadata"]["name"], refs)
