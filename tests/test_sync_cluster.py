"""On the real API server, with the engines' own CRDs: the sync objects for every shape of their parameters, and
the printed Secret command refusing to run without the database password. (That the printed command creates every
key the workloads of init's tree read is `tests/test_gitops_wiring.py`.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.cli import main
from gitops_gen.generate.manifests.sync import (
    ArgoCDOptions,
    FluxOptions,
    SyncTarget,
    argocd_application,
    cluster_files,
    flux_kustomizations,
)
from gitops_gen.generate.secrets import (
    SECRET_KEY_NAMES,
    ExistingSecret,
    ExternalSecrets,
    SecretsProvider,
    SopsSecrets,
)
from tests.conftest import Cluster
from tests.init_trees import init_tree

pytestmark = pytest.mark.cluster

AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"

# (provider, env, revision, git credentials, Deployment names): two shapes of parameters per provider.
CASES: list[tuple[SecretsProvider, str, str, str | None, tuple[str, ...]]] = [
    (ExistingSecret(), "production", "main", None, ("web", "streaming", "sidekiq-default")),
    (ExistingSecret(secret_name="other"), "staging", "release/4.6", "repo-creds", ()),
    (ExternalSecrets(store_name="vault", remote_key_prefix="mastodon/"), "production", "main", None, ("web",)),
    (ExternalSecrets(store_name="aws", store_kind="ClusterSecretStore"), "canary", "main", "creds", ()),
    (SopsSecrets(age_recipients=(AGE,)), "production", "main", None, ("web", "streaming")),
    (SopsSecrets(age_recipients=(AGE,), decryption_secret="age"), "staging", "develop", "creds", ()),
]


def _server_side_apply(cluster: Cluster, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "--server-side", "--field-manager=gitops-gen-tests", *args,
                           check=False, stdin=stdin)


def _is_subset(sent: Any, live: Any) -> bool:
    """Everything we sent is still there (the server pruned nothing); the server may add defaults."""
    if isinstance(sent, dict):
        return isinstance(live, dict) and all(k in live and _is_subset(v, live[k]) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(live, list) and len(sent) == len(live) and all(map(_is_subset, sent, live))
    return bool(sent == live)


@pytest.mark.parametrize(("provider", "env", "revision", "git_secret", "deployments"), CASES,
                         ids=[f"{c[0].provider}-{c[1]}" for c in CASES])
def test_every_argocd_and_flux_object_is_accepted_by_server_side_apply_unchanged(
    cluster: Cluster, sync_engine_crds: list[str], namespace: str, tmp_path: Path,
    provider: SecretsProvider, env: str, revision: str, git_secret: str | None, deployments: tuple[str, ...],
) -> None:
    target = SyncTarget(name="mastodon", env=env, namespace=namespace, revision=revision, deployments=deployments,
                        repo_url="https://git.example.org/ops/mastodon-gitops.git")
    # The engines' namespaces are the test's own, so that the namespace fixture cleans everything up.
    files = cluster_files(target, ["argocd", "flux"], argocd=ArgoCDOptions(namespace=namespace),
                          flux=FluxOptions(namespace=namespace, git_secret=git_secret), secrets=provider)
    for relative, objects in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(yaml.safe_dump_all(objects, sort_keys=False))

    for engine in ("argocd", "flux"):
        done = _server_side_apply(cluster, "-k", str(tmp_path / "clusters" / env / engine))
        assert done.returncode == 0, done.stderr

    sent = [obj for objects in files.values() for obj in objects if obj["kind"] != "Kustomization"
            or obj["apiVersion"].startswith("kustomize.toolkit")]
    assert {obj["kind"] for obj in sent} == {"AppProject", "Application", "Namespace", "GitRepository",
                                            "Kustomization"}
    for obj in sent:
        resource = f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}" if "/" in obj["apiVersion"] \
            else obj["kind"].lower()
        scope = [] if obj["kind"] == "Namespace" else ["-n", namespace]
        live = json.loads(cluster.kubectl("get", resource, obj["metadata"]["name"], *scope, "-o", "json").stdout)
        assert _is_subset(obj.get("spec", {}), live.get("spec", {})), obj["metadata"]["name"]
        assert _is_subset(obj["metadata"].get("labels", {}), live["metadata"].get("labels", {}))


def test_a_misspelt_field_is_rejected_by_server_side_apply_but_pruned_by_a_plain_create(
        cluster: Cluster, sync_engine_crds: list[str], namespace: str) -> None:
    target = SyncTarget(name="mastodon", env="production", namespace=namespace, repo_url="https://git.example/r.git")
    app = argocd_application(target, ArgoCDOptions(namespace=namespace))
    app["spec"]["syncPolicy"]["automated"]["selfHeel"] = True
    stage = flux_kustomizations(target, FluxOptions(namespace=namespace))[1]
    stage["spec"]["dependOn"] = stage["spec"].pop("dependsOn")

    for obj, typo in ((app, "selfHeel"), (stage, "dependOn")):
        done = _server_side_apply(cluster, "-f", "-", stdin=json.dumps(obj))
        assert done.returncode != 0 and typo in done.stderr, done.stderr

    # Why the test applies server-side: a create that asks for no field validation (`--validate=false` sends
    # fieldValidation=Ignore, as an older or careless client would) drops the typo without a word.
    cluster.kubectl("create", "--validate=false", "-f", "-", stdin=json.dumps(stage))
    live = json.loads(cluster.kubectl("get", "kustomizations.kustomize.toolkit.fluxcd.io", stage["metadata"]["name"],
                                      "-n", namespace, "-o", "json").stdout)
    assert "dependOn" not in live["spec"]


def _run_printed(command: str, cluster: Cluster, cwd: Path, shell: str = "bash",
                 **variables: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in SECRET_KEY_NAMES}
    env.update(KUBECONFIG=str(cluster.kubeconfig), **variables)
    return subprocess.run([shell, "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_printed_command_without_the_database_password_creates_nothing(
        cluster: Cluster, namespace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = init_tree(tmp_path / "repo", f"overlays:\n  production: {{namespace: {namespace}}}\n")
    assert main(["secrets", "--kubectl", "--repo", str(tree.root), "--namespace", namespace]) == 0
    done = _run_printed(capsys.readouterr().out, cluster, tmp_path)
    assert done.returncode != 0 and "set DB_PASS" in done.stderr
    missing = cluster.kubectl("get", "secret", "mastodon-secrets", "-n", namespace, check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr
