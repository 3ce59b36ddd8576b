"""Search (`mastodon.search`): the ES_* configuration, ES_PASS in the Secret's catalogue and its providers, and the
`tootctl search deploy` Job ordered after the post-deploy migration for both engines, on the real API server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import run_cli
from tests.test_first_install import argocd_steps, flux_steps
from tests.test_sync import _render_like_flux

KubeObject = dict[str, Any]
SEARCH = "mastodon:\n  search: {host: opensearch, user: mastodon, prefix: social, preset: small_cluster}\n"


def _init(root: Path, capsys: pytest.CaptureFixture[str], spec: str, *, kube: str = "") -> list[KubeObject]:
    root.mkdir(parents=True)
    (root / "gitops-gen.yaml").write_text(
        f"drift: {{ci: none}}\ngitops: {{engines: [argocd, flux]}}\n{kube}{spec}")
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0, result.err
    return kustomize.render(root / "overlays" / "production")


def _config(rendered: list[KubeObject]) -> dict[str, str]:
    (config,) = [o for o in rendered if o["kind"] == "ConfigMap"]
    return {k: v for k, v in config["data"].items() if k.startswith("ES_")}


def _jobs(rendered: list[KubeObject]) -> dict[str, KubeObject]:
    return {o["metadata"]["labels"]["app.kubernetes.io/component"]: o for o in rendered if o["kind"] == "Job"}


def _annotations(obj: KubeObject) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def test_search_settings_reach_the_configuration_of_every_process(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _config(_init(tmp_path / "plain", capsys, SEARCH)) == {
        "ES_ENABLED": "true", "ES_HOST": "opensearch.mastodon.svc.cluster.local", "ES_PORT": "9200",
        "ES_PRESET": "small_cluster", "ES_PREFIX": "social", "ES_USER": "mastodon"}
    tls = _init(tmp_path / "tls", capsys, "mastodon:\n  search: {host: es.example.net, port: 443, tls: true}\n")
    assert _config(tls) == {"ES_ENABLED": "true", "ES_HOST": "https://es.example.net", "ES_PORT": "443"}
    off = _init(tmp_path / "off", capsys, "mastodon:\n  search: {enabled: false, host: opensearch, user: m}\n")
    assert _config(off) == {"ES_ENABLED": "false"} and "search-deploy" not in _jobs(off)
    assert _config(_init(tmp_path / "none", capsys, "")) == {}


def test_es_pass_joins_the_secret_keys_only_when_mastodon_logs_in(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rendered = _init(tmp_path / "repo", capsys, SEARCH)
    listing = run_cli(capsys, "secrets", "--repo", str(tmp_path / "repo"))
    assert listing.code == 0
    assert "ES_PASS" in listing.out.split("You supply")[1]
    command = run_cli(capsys, "secrets", "--kubectl", "--repo", str(tmp_path / "repo"))
    assert "--from-literal=ES_PASS=\"${ES_PASS:?set ES_PASS:" in command.out and "ES_PASS" in command.err
    for component, job in _jobs(rendered).items():  # every Rails process needs it, required
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in job["spec"]["template"]["spec"]["containers"][0]
                ["env"] if "valueFrom" in e}
        assert refs["ES_PASS"] == {"name": "mastodon-secrets", "key": "ES_PASS"}, component

    external = _init(tmp_path / "eso", capsys, SEARCH + "secrets:\n  provider: external-secrets\n"
                                                        "  externalSecrets: {store: vault, remoteKeyPrefix: m/}\n")
    (secret,) = [o for o in external if o["kind"] == "ExternalSecret"]
    assert {"secretKey": "ES_PASS", "remoteRef": {"key": "m/ES_PASS"}} in secret["spec"]["data"]

    anonymous = tmp_path / "anonymous"
    _init(anonymous, capsys, "mastodon:\n  search: {host: opensearch}\n")
    assert "ES_PASS" not in run_cli(capsys, "secrets", "--repo", str(anonymous)).out


def test_argo_cd_runs_search_deploy_after_the_post_deploy_migration_on_every_sync(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    jobs = _jobs(_init(tmp_path / "repo", capsys, SEARCH))
    deploy, post = jobs["search-deploy"], jobs["migrate-post"]
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["bin/tootctl", "search", "deploy", "--concurrency", "5", "--batch-size", "100"]
    assert container["image"] == post["spec"]["template"]["spec"]["containers"][0]["image"]
    hooks = {name: (_annotations(job)["argocd.argoproj.io/hook"],
                    int(_annotations(job).get("argocd.argoproj.io/sync-wave", "0"))) for name, job in jobs.items()}
    # Same phase, a later wave: Argo CD starts it once the post-deploy migration completed.
    assert hooks["search-deploy"][0] == hooks["migrate-post"][0] == "PostSync"
    assert hooks["search-deploy"][1] > hooks["migrate-post"][1]
    assert _annotations(deploy)["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"


def test_flux_runs_search_deploy_in_a_fourth_stage_after_the_post_deploy_migration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    _init(root, capsys, SEARCH)
    stages = {o["metadata"]["name"]: o for o in kustomize.render(root / "clusters" / "production" / "flux")
              if o["kind"] == "Kustomization"}
    search = stages["mastodon-production-search"]
    assert search["spec"]["dependsOn"] == [{"name": "mastodon-production-post-migrate"}]
    assert search["spec"]["wait"] is True and search["spec"]["force"] is True
    jobs = {name: set(_jobs(_render_like_flux(root, stage, tmp_path / "stages"))) for name, stage in stages.items()}
    assert jobs == {"mastodon-production-config": {"migrate-pre"}, "mastodon-production-app": set(),
                    "mastodon-production-post-migrate": {"migrate-post"},
                    "mastodon-production-search": {"search-deploy"}}
    # Without search the Flux wiring keeps its three stages.
    plain = tmp_path / "plain"
    _init(plain, capsys, "")
    assert not (plain / "clusters" / "production" / "flux" / "search.yaml").exists()


def test_a_host_with_a_scheme_or_port_is_refused_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text("mastodon:\n  search: {host: 'https://es:9200'}\n")
    result = run_cli(capsys, "init", str(root))
    assert result.code == 2 and "mastodon.search.host" in result.err
    assert sorted(p.name for p in root.iterdir()) == ["gitops-gen.yaml"]


@pytest.mark.cluster
@pytest.mark.parametrize("engine", ["argocd", "flux"])
def test_search_deploy_is_applied_last_and_the_api_server_takes_it(
        engine: str, tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]
    minor = "".join(ch for ch in version["minor"] if ch.isdigit())
    root = tmp_path / "repo"
    rendered = _init(root, capsys, SEARCH + f"overlays:\n  production: {{namespace: {namespace}}}\n",
                     kube=f'kubeVersion: "1.{minor}"\n')
    steps = argocd_steps(rendered) if engine == "argocd" else flux_steps(root, "production", tmp_path / "stages")
    components = [{o["metadata"]["labels"]["app.kubernetes.io/component"] for o in step if o["kind"] == "Job"}
                  for step in steps]
    jobs_in_order = [c for step in components for c in sorted(step)]
    assert jobs_in_order == ["migrate-pre", "migrate-post", "search-deploy"]
    assert components[-1] == {"search-deploy"}
    for step in steps:
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                                  stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": step}), check=False)
        assert applied.returncode == 0, applied.stderr
    live = json.loads(cluster.kubectl("get", "job", "mastodon-search-deploy", "-n", namespace, "-o", "json").stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["command"][:3] == ["bin/tootctl", "search", "deploy"]
