"""The GitOps wiring `init` writes: sync objects the engines' CRDs accept, migration order for Flux, secrets
kept out of git for every provider, and a Secret that the rendered workloads reference completely."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from gitops_gen.generate.secrets import SECRET_KEY_NAMES, referenced_secret_keys
from tests.conftest import PINNED_COMMIT, Cluster
from tests.helpers import run_cli
from tests.secret_scan import secret_like_strings, secrets_with_values
from tests.test_sync import _ids, _render_like_flux
from tests.test_sync_cluster import _run_printed

AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
PROVIDERS = {
    "existing": "",
    "external-secrets": "secrets:\n  provider: external-secrets\n  externalSecrets: {store: vault, storeKind: "
                        "ClusterSecretStore, remoteKeyPrefix: mastodon/}\n",
    "sops": f"secrets:\n  provider: sops\n  sops: {{ageRecipients: [{AGE}]}}\n",
}


def _spec(namespace: str, provider: str) -> str:
    return (f"gitops:\n  engines: [argocd, flux]\n  repoURL: https://git.example.net/ops/mastodon.git\n"
            f"{PROVIDERS[provider]}overlays:\n  production: {{namespace: {namespace}}}\n")


def _init(root: Path, namespace: str, provider: str, capsys: pytest.CaptureFixture[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(_spec(namespace, provider))
    assert run_cli(capsys, "init", str(root)).code == 0
    return root


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.mark.cluster
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_sync_object_init_writes_is_accepted_by_server_side_apply(
        provider: str, tmp_path: Path, cluster: Cluster, namespace: str, sync_engine_crds: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", namespace, provider, capsys)
    for engine_namespace in ("argocd", "flux-system"):
        cluster.kubectl("create", "namespace", engine_namespace, check=False)
    for engine in ("argocd", "flux"):
        directory = root / "clusters" / "production" / engine
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-k", str(directory),
                                  check=False)
        assert applied.returncode == 0, f"{engine}: {applied.stderr}"
        for obj in kustomize.render(directory):
            if obj["kind"] == "Namespace":
                continue
            live = json.loads(cluster.kubectl("get", f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}",
                                              obj["metadata"]["name"], "-n", obj["metadata"]["namespace"],
                                              "-o", "json").stdout)
            assert live["spec"].keys() >= obj["spec"].keys(), f"{obj['kind']} lost fields the server pruned"
            cluster.kubectl("delete", f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}",
                            obj["metadata"]["name"], "-n", obj["metadata"]["namespace"], check=False)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_flux_applies_config_and_pre_migration_then_the_app_then_post_migration(
        provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", "mastodon", provider, capsys)
    flux = root / "clusters" / "production" / "flux"
    (config,), (app,), (post,) = (_load(flux / f"{stage}.yaml") for stage in ("config", "app", "post-migrate"))
    assert [d["name"] for d in app["spec"]["dependsOn"]] == [config["metadata"]["name"]]
    assert [d["name"] for d in post["spec"]["dependsOn"]] == [app["metadata"]["name"]]
    assert config["spec"]["wait"] is True and post["spec"]["wait"] is True

    whole = kustomize.render(root / "overlays" / "production")
    parts = [_render_like_flux(root, stage, tmp_path / "stages") for stage in (config, app, post)]
    # Each object is applied by one stage; the ConfigMap is built by every stage (so that references get its
    # hashed name) but only created when missing by the app and post stages.
    first, middle, last = (_ids([o for o in part if (o["metadata"].get("annotations") or {}).get(
        "kustomize.toolkit.fluxcd.io/ssa") != "IfNotPresent"]) for part in parts)
    assert first | middle | last == _ids(whole) and not (first & middle or middle & last or first & last)
    assert {kind for kind, _ in first} >= {"ConfigMap", "Job"} and ("Job", "mastodon-db-migrate-pre") in first
    assert {name for kind, name in middle if kind == "Deployment"} == {
        "mastodon-web", "mastodon-streaming", "mastodon-sidekiq-default"}
    assert last == {("Job", "mastodon-db-migrate-post")}
    # The stages build the very overlay bump-image edits: its images block reaches the Jobs too.
    jobs = [o for part in (parts[0], parts[2]) for o in part if o["kind"] == "Job"]
    assert len(jobs) == 2
    for job in jobs:
        assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/mastodon/mastodon:v4.6.6"
        assert job["metadata"]["namespace"] == "mastodon"
    if provider == "external-secrets":
        assert ("ExternalSecret", "mastodon-secrets") in first
    decryption = [stage["spec"].get("decryption") for stage in (config, app, post)]
    assert all(decryption) if provider == "sops" else not any(decryption)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_no_file_init_writes_holds_a_secret_value(provider: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", "mastodon", provider, capsys)
    written = [p for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts]
    assert len(written) > 15
    for path in written:
        text = path.read_text()
        assert secret_like_strings(text, allowed=[AGE, PINNED_COMMIT]) == [], path
        if path.suffix == ".yaml":
            assert secrets_with_values(_load(path)) == [], path
    if provider == "sops":
        assert "age: " + AGE in (root / ".sops.yaml").read_text()
    assert secrets_with_values(kustomize.render(root / "overlays" / "production")) == []


EXTRA_KEYS_SPEC = (
    "mastodon:\n  s3: {bucket: media, endpoint: 'https://s3.example.net'}\n"
    "secrets:\n  extraKeys: [ES_PASS, {name: DEEPL_API_KEY, optional: true}, SMTP_PASSWORD, OIDC_CLIENT_SECRET]\n")
EXTRA_KEYS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ES_PASS", "DEEPL_API_KEY", "OIDC_CLIENT_SECRET"}


def _env_from_secret(obj: dict[str, Any]) -> dict[str, bool]:
    """Secret key -> optional, for the one container of a workload."""
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    refs = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e]
    return {ref["key"]: bool(ref.get("optional")) for ref in refs}


@pytest.mark.cluster
def test_the_printed_secret_command_creates_every_key_the_rendered_workloads_reference(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(_spec(namespace, "existing") + EXTRA_KEYS_SPEC)
    assert run_cli(capsys, "init", str(root)).code == 0
    rendered = kustomize.render(root / "overlays" / "production")
    result = run_cli(capsys, "secrets", "--kubectl", "--repo", str(root), "--namespace", namespace)
    assert result.code == 0
    values = {"DB_PASS": "correct horse battery staple", "SMTP_PASSWORD": "smtp", "AWS_ACCESS_KEY_ID": "AKIA1",
              "AWS_SECRET_ACCESS_KEY": "s3 secret", "ES_PASS": "es", "OIDC_CLIENT_SECRET": "oidc"}
    done = _run_printed(result.out, cluster, tmp_path, shell="sh", **values)
    assert done.returncode == 0, done.stderr
    secret = json.loads(cluster.kubectl("get", "secret", "mastodon-secrets", "-n", namespace, "-o", "json").stdout)
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert {key: data[key] for key in values} == values
    assert set(data) == set(SECRET_KEY_NAMES) | EXTRA_KEYS  # Mastodon 4.6: no OTP_SECRET

    references = referenced_secret_keys(rendered)
    assert set(references) == {"mastodon-secrets"} and references["mastodon-secrets"] <= set(data)
    workloads = {obj["metadata"]["name"]: _env_from_secret(obj) for obj in rendered
                 if obj["kind"] in ("Deployment", "Job")}
    # Streaming reads the database and Redis only; every Rails process reads the whole catalogue.
    assert workloads.pop("mastodon-streaming") == {"DB_PASS": False, "REDIS_PASSWORD": True}
    assert {"mastodon-web", "mastodon-sidekiq-default", "mastodon-db-migrate-pre"} <= set(workloads)
    for name, keys in workloads.items():
        assert set(keys) == set(data), f"{name} misses secret keys"
        assert {key for key, optional in keys.items() if optional} == {
            "REDIS_PASSWORD", "SMTP_LOGIN", "DEEPL_API_KEY"}, name


def test_the_external_secret_and_the_listing_follow_the_spec(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    spec = _spec("mastodon", "external-secrets").replace("secrets:\n", "secrets:\n  extraKeys: [ES_PASS]\n")
    (root / "gitops-gen.yaml").write_text(spec)
    assert run_cli(capsys, "init", str(root)).code == 0
    (external,) = [o for o in kustomize.render(root / "overlays" / "production") if o["kind"] == "ExternalSecret"]
    remote = {d["secretKey"]: d["remoteRef"]["key"] for d in external["spec"]["data"]}
    assert remote["ES_PASS"] == "mastodon/ES_PASS" and "OTP_SECRET" not in remote
    assert set(remote) == set(SECRET_KEY_NAMES) | {"ES_PASS"}
    listing = run_cli(capsys, "secrets", "--repo", str(root))
    assert listing.code == 0 and "ES_PASS" in listing.out and "OTP_SECRET" not in listing.out


def test_init_writes_the_scheduled_drift_workflow_and_switches_it_when_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", "mastodon", "existing", capsys)
    github = root / ".github" / "workflows" / "drift.yaml"
    workflow = yaml.safe_load(github.read_text())
    assert "schedule" in workflow["on"] and "workflow_dispatch" in workflow["on"]
    assert "gitops-gen drift" in github.read_text() and "--overlay" in github.read_text()
    assert workflow["concurrency"]

    spec = root / "gitops-gen.yaml"
    spec.write_text(spec.read_text() + "drift:\n  ci: gitlab\n")
    assert run_cli(capsys, "init", str(root)).code == 0
    assert not github.exists() and "gitops-gen drift" in (root / ".gitlab-ci.yml").read_text()
    spec.write_text(spec.read_text().replace("ci: gitlab", "ci: none"))
    assert run_cli(capsys, "init", str(root)).code == 0
    assert not (root / ".gitlab-ci.yml").exists()


def test_a_users_own_file_at_a_generated_path_is_named_and_kept(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "drift.yaml").write_text("name: mine\n")
    result = run_cli(capsys, "init", str(root))
    assert result.code == 2
    assert ".github/workflows/drift.yaml exists and was not written by gitops-gen" in result.err
    assert (root / ".github" / "workflows" / "drift.yaml").read_text() == "name: mine\n"
    assert not (root / "base").exists()


@pytest.mark.cluster
def test_the_opt_in_in_cluster_drift_check_reads_only_and_is_accepted_by_the_server(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(
        f'drift:\n  inCluster: {{image: registry.example/gitops-gen:0.1}}\n'
        f"overlays:\n  production: {{namespace: {namespace}}}\n")
    assert run_cli(capsys, "init", str(root)).code == 0
    directory = root / "clusters" / "production" / "drift"
    objects = {o["kind"]: o for o in kustomize.render(directory)}
    assert {verb for rule in objects["ClusterRole"]["rules"] for verb in rule["verbs"]} == {"get", "list", "watch"}
    assert objects["CronJob"]["apiVersion"] == "batch/v1"  # the default kubeVersion, 1.36
    assert objects["CronJob"]["spec"]["concurrencyPolicy"] == "Forbid"
    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-k", str(directory),
                              check=False)
    assert applied.returncode == 0, applied.stderr
    name = objects["ServiceAccount"]["metadata"]["name"]
    assert name == "gitops-gen-drift-mastodon-production"
    service_account = f"system:serviceaccount:{namespace}:{name}"
    for verb, allowed in (("list", "yes"), ("get", "yes"), ("patch", "no"), ("delete", "no")):
        answer = cluster.kubectl("auth", "can-i", verb, "deployments", "-n", namespace, "--as", service_account,
                                 check=False)
        assert answer.stdout.strip() == allowed, f"{verb}: {answer.stdout}"
    cluster.kubectl("delete", "clusterrole,clusterrolebinding", name, check=False)


@pytest.mark.cluster
def test_in_cluster_drift_checks_of_two_overlays_keep_their_own_access(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    other = f"{namespace}-p"
    cluster.kubectl("create", "namespace", other)
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(
        'drift:\n  inCluster: {image: registry.example/gitops-gen:0.1}\n'
        f"overlays:\n  staging: {{namespace: {namespace}}}\n  production: {{namespace: {other}}}\n")
    assert run_cli(capsys, "init", str(root)).code == 0
    rendered = {env: kustomize.render(root / "clusters" / env / "drift") for env in ("staging", "production")}
    cluster_scoped = [(o["kind"].lower(), o["metadata"]["name"]) for objects in rendered.values() for o in objects
                      if "namespace" not in o["metadata"]]
    try:
        for env in ("staging", "production"):  # production last: it must not take staging's binding
            applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-k",
                                      str(root / "clusters" / env / "drift"), check=False)
            assert applied.returncode == 0, applied.stderr
        for env, own in (("staging", namespace), ("production", other)):
            (account,) = [o["metadata"] for o in rendered[env] if o["kind"] == "ServiceAccount"]
            who = f"system:serviceaccount:{account['namespace']}:{account['name']}"
            # Secrets: list (drift asks for their metadata only) in its own namespace, never get, nowhere else.
            elsewhere = other if own == namespace else namespace
            for verb, resource, allowed, where in (
                    ("list", "deployments.apps", "yes", own), ("get", "deployments.apps", "yes", own),
                    ("list", "configmaps", "yes", own), ("patch", "deployments.apps", "no", own),
                    ("list", "secrets", "yes", own), ("get", "secrets", "no", own), ("watch", "secrets", "no", own),
                    ("list", "secrets", "no", elsewhere)):
                answer = cluster.kubectl("auth", "can-i", verb, resource, "-n", where, "--as", who, check=False)
                assert answer.stdout.strip() == allowed, f"{env}: {verb} {resource} in {where}: {answer.stdout}"
    finally:
        for kind, name in cluster_scoped:
            cluster.kubectl("delete", kind, name, "--ignore-not-found")
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)
