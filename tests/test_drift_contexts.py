"""`gitops-gen drift` with no --overlay checks each overlay in the kube context its spec names
(`overlays.<env>.context`), on the real control plane, through a kubeconfig with one context per overlay."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import run_cli

pytestmark = pytest.mark.cluster

SPEC = """\
name: {name}
drift: {{ci: none}}
overlays:
  staging: {{namespace: {staging}{staging_context}}}
  production: {{namespace: {production}{production_context}}}
"""


def _kubeconfig(cluster: Cluster, path: Path) -> Path:
    """The plane's kubeconfig with a context per overlay (both on the plane) and one on a server that is not."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"].append({"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}})
    for name, where in (("eu-staging", "kube-testenv"), ("eu-production", "kube-testenv"), ("dead", "nowhere")):
        config["contexts"].append({"name": name, "context": {"cluster": where, "user": "admin"}})
    path.write_text(yaml.safe_dump(config))
    return path


def _spec(root: Path, name: str, namespaces: tuple[str, str], **contexts: str) -> None:
    (root / "gitops-gen.yaml").write_text(SPEC.format(
        name=name, staging=namespaces[0], production=namespaces[1],
        **{f"{env}_context": f", context: {contexts[env]}" if env in contexts else ""
           for env in ("staging", "production")}))


def _reports(out: str) -> dict[str, dict[str, Any]]:
    reports = [json.loads(line) for line in out.splitlines() if line.strip()]  # one document per overlay
    return {report["overlay"]: report for report in reports}


def test_plain_drift_checks_each_overlay_in_its_own_context(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    staging = f"{namespace}-s"
    kubeconfig = _kubeconfig(cluster, tmp_path / "kubeconfig")
    root = tmp_path / "repo"
    root.mkdir()
    name = f"m{uuid.uuid4().hex[:6]}"  # its objects' names are its own on the shared plane
    _spec(root, name, (staging, namespace), staging="eu-staging", production="eu-production")
    assert run_cli(capsys, "init", str(root)).code == 0

    def drift(*args: str) -> tuple[int, str, str]:
        result = run_cli(capsys, "drift", "--repo", str(root), "--kubeconfig", str(kubeconfig), *args)
        return result.code, result.out, result.err

    cluster.kubectl("create", "namespace", staging)
    try:
        for overlay in ("staging", "production"):
            applied = cluster.kubectl("apply", "--server-side", "--field-manager", "kubectl", "-f", "-",
                                      stdin=kustomize.render_text(root / "overlays" / overlay), check=False)
            assert applied.returncode == 0, applied.stderr
        deadline = time.monotonic() + 30  # let the controllers make the ReplicaSets
        while time.monotonic() < deadline and any(
                len(cluster.kubectl("get", "rs", "-n", where, "-o", "name").stdout.split()) < 3
                for where in (staging, namespace)):
            time.sleep(0.5)

        code, out, err = drift("-o", "json")
        assert (code, err) == (0, ""), out
        reports = _reports(out)
        assert sorted(reports) == ["production", "staging"]
        assert all(r["summary"]["in-sync"] == len(r["objects"]) > 0 for r in reports.values())

        cluster.kubectl("scale", f"deployment/{name}-web", "--replicas", "5", "-n", namespace)
        code, out, err = drift("-o", "json")
        assert code == 1, err
        assert {env: r["summary"]["modified"] for env, r in _reports(out).items()} == {"staging": 0, "production": 1}

        # Production is checked where its context points: on a dead server it fails, staging alone does not,
        # and --context still overrides for a single overlay.
        config = yaml.safe_load(kubeconfig.read_text())
        next(c for c in config["contexts"] if c["name"] == "eu-production")["context"]["cluster"] = "nowhere"
        kubeconfig.write_text(yaml.safe_dump(config))
        assert drift("--timeout", "3")[0] == 2
        assert drift("--overlay", "staging")[0] == 0
        assert drift("--overlay", "production", "--context", "eu-staging")[0] == 1

        # A context the kubeconfig does not have: one line naming the overlay and the context.
        _spec(root, name, (staging, namespace), staging="eu-staging", production="prod-cluster")
        assert run_cli(capsys, "init", str(root)).code == 0
        code, out, err = drift()
        assert (code, out) == (2, "")
        assert len(err.strip().splitlines()) == 1
        assert "overlay production" in err and "'prod-cluster'" in err, err

        # No context for production: two overlays are not checked in one context; one overlay is, as before.
        _spec(root, name, (staging, namespace), staging="eu-staging")
        assert run_cli(capsys, "init", str(root)).code == 0
        code, out, err = drift()
        assert (code, out) == (2, "")
        assert len(err.strip().splitlines()) == 1
        assert "--overlay" in err and "overlays.production.context" in err, err
        assert drift("--overlay", "production")[0] == 1  # the kubeconfig's current context: the plane
    finally:
        cluster.kubectl("delete", "namespace", staging, "--wait=false", check=False)
