"""`drift` on the tree `init` writes: in sync after a server-side apply once the controllers have acted, and
exact about what a person changed by hand afterwards."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import run_cli, wait_for

SPEC = """\
web:
  resources: {{requests: {{cpu: 0.5, memory: 1Gi}}, limits: {{memory: 1Gi}}}}
storage:
  system:
    nfs: {{server: 192.0.2.10, path: /export/media}}
overlays:
  production: {{namespace: {namespace}}}
"""


def _drift(capsys: pytest.CaptureFixture[str], root: Path, cluster: Cluster) -> tuple[int, dict[str, object]]:
    result = run_cli(capsys, "drift", "--repo", str(root), "--kubeconfig", str(cluster.kubeconfig),
                     "--overlay", "production", "--output", "json")
    assert result.code in (0, 1), result.err
    document = json.loads(result.out)
    return result.code, document[0] if isinstance(document, list) else document


@pytest.mark.cluster
def test_drift_sees_an_applied_init_tree_in_sync_and_then_exactly_the_hand_edits(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(SPEC.format(namespace=namespace))
    assert run_cli(capsys, "init", str(root)).code == 0
    rendered = kustomize.render_text(root / "overlays" / "production")
    # The static NFS volume is cluster-scoped and every run names it alike: one an earlier test deleted may
    # still be terminating (its claim's namespace going away), and applying over it would lose it.
    volume = "persistentvolume/" + next(doc["metadata"]["name"] for doc in yaml.safe_load_all(rendered)
                                        if doc and doc["kind"] == "PersistentVolume")
    assert wait_for(lambda: cluster.kubectl("get", volume, check=False).returncode != 0, 120), f"{volume} lingers"
    try:
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "kubectl", "-f", "-", stdin=rendered,
                                  check=False)
        assert applied.returncode == 0, applied.stderr
        # Let the controllers act: ReplicaSets, revision annotations, the claim bound to its volume.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            claim = json.loads(cluster.kubectl("get", "pvc", "mastodon-system", "-n", namespace, "-o", "json").stdout)
            replica_sets = cluster.kubectl("get", "rs", "-n", namespace, "-o", "name").stdout.split()
            if claim["status"].get("phase") == "Bound" and len(replica_sets) >= 3:
                break
            time.sleep(0.5)

        code, report = _drift(capsys, root, cluster)
        assert code == 0, report
        assert report["summary"] == {"in-sync": len(report["objects"]), "modified": 0, "missing": 0, "extra": 0}

        cluster.kubectl("scale", "deployment/mastodon-web", "--replicas", "5", "-n", namespace)
        cluster.kubectl("set", "env", "deployment/mastodon-streaming", "FOO=bar", "-n", namespace)
        code, report = _drift(capsys, root, cluster)
        assert code == 1
        changed = {o["name"]: o["fields"] for o in report["objects"] if o["status"] == "modified"}  # type: ignore[union-attr]
        assert changed == {
            "mastodon-web": [{"path": "spec.replicas", "desired": 2, "live": 5, "manager": "kubectl"}],
            "mastodon-streaming": [{"path": "spec.template.spec.containers[name=streaming].env[name=FOO]",
                                    "desired": None, "live": {"name": "FOO", "value": "bar"},
                                    "manager": "kubectl-set"}],
        }
    finally:
        cluster.kubectl("delete", volume, "--wait=false", check=False)
