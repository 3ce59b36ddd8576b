"""The pre-1.21 API path (the home-lab spec says `kubeVersion: "1.20"`), proved offline.

No 1.20 API server runs in the suite: the objects a 1.20 spec gets are validated strictly against the OpenAPI
schemas of Kubernetes 1.20, which kubernetes-validate shipped up to its release 1.28.3 (later releases start at
1.25). That release is installed apart, in the cache, because the suite itself needs a current one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.conftest import REPO_ROOT
from tests.helpers import run_cli

RELEASE = "1.28.3"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops-gen"
CACHE = CACHE_ROOT / f"kubernetes-validate-{RELEASE}"

# Runs in a separate interpreter whose path starts with the old release; prints one line per invalid object.
VALIDATE = """
import json, sys
import kubernetes_validate
failures = []
for obj in json.load(sys.stdin):
    try:
        kubernetes_validate.validate(obj, sys.argv[1], strict=True)
    except Exception as error:
        failures.append(f"{obj['kind']} {obj['apiVersion']} {obj['metadata']['name']}: {error}")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


@pytest.fixture(scope="session")
def validator_path() -> Path:
    if not (CACHE / "kubernetes_validate").is_dir():
        partial = CACHE.with_name(CACHE.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(partial),
                                    f"kubernetes-validate=={RELEASE}"], capture_output=True, text=True)
        if installed.returncode != 0:
            message = f"cannot install kubernetes-validate {RELEASE}: {installed.stderr.strip()[-300:]}"
            # In CI this proof must run: a missing package is a failure, not a skip.
            if os.environ.get("CI") == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        shutil.rmtree(CACHE, ignore_errors=True)
        partial.rename(CACHE)
    return CACHE


def _invalid(validator: Path, objects: list[dict[str, Any]], version: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(validator)}
    done = subprocess.run([sys.executable, "-c", VALIDATE, version], input=json.dumps(objects), capture_output=True,
                          text=True, env=env, check=False)
    assert done.returncode in (0, 1), done.stderr
    return [line for line in done.stdout.splitlines() if line]


def _tree(tmp_path: Path, capsys: pytest.CaptureFixture[str], kube_version: str) -> list[dict[str, Any]]:
    """Every built-in object of the repository's own spec at ``kube_version``, in-cluster drift check included."""
    spec = yaml.safe_load((REPO_ROOT / "gitops-gen.yaml").read_text())
    assert spec["kubeVersion"] == "1.20"
    spec["kubeVersion"] = kube_version
    spec.setdefault("drift", {})["inCluster"] = {"image": "registry.example/gitops-gen:0.1"}
    # Every pod field gitops-gen can write: seccompProfile (1.19), read-only roots with their scratch volumes,
    # topology spread (web, streaming), placement patches and the sidekiq readiness probe.
    spec["pods"] = {"readOnlyRootFilesystem": True, "nodeSelector": {"pool": "mastodon"},
                    "imagePullSecrets": ["regcred"],
                    "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 60}]}
    root = tmp_path / kube_version
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(yaml.safe_dump(spec))
    assert run_cli(capsys, "init", str(root), "--no-commit").code == 0
    objects = [obj for overlay in sorted((root / "overlays").iterdir()) for obj in kustomize.render(overlay)]
    objects += [obj for drift in sorted(root.glob("clusters/*/drift")) for obj in kustomize.render(drift)]
    kinds = {(obj["apiVersion"], obj["kind"]) for obj in objects}
    assert {"Deployment", "PodDisruptionBudget", "CronJob"} <= {kind for _, kind in kinds}
    web = next(obj for obj in objects if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("-web"))
    assert {"seccompProfile", "topologySpreadConstraints", "nodeSelector", "tolerations", "imagePullSecrets"} <= {
        *web["spec"]["template"]["spec"], *web["spec"]["template"]["spec"]["securityContext"]}
    return objects


def test_a_1_20_spec_gets_only_objects_that_kubernetes_1_20_accepts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], validator_path: Path) -> None:
    objects = _tree(tmp_path, capsys, "1.20")
    versions = {obj["kind"]: obj["apiVersion"] for obj in objects}
    assert versions["PodDisruptionBudget"] == "policy/v1beta1" and versions["CronJob"] == "batch/v1beta1"
    # The maintenance CronJobs (on by default) as well as the drift check's.
    cronjobs = {obj["metadata"]["name"]: obj["apiVersion"] for obj in objects if obj["kind"] == "CronJob"}
    assert {"mastodon-media-remove", "mastodon-preview-cards-remove"} <= set(cronjobs)
    assert set(cronjobs.values()) == {"batch/v1beta1"}
    assert _invalid(validator_path, objects, "1.20.0") == []


def test_the_1_20_schemas_reject_what_a_current_spec_gets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], validator_path: Path) -> None:
    # The check above has teeth: the 1.36 tree (policy/v1, batch/v1) is refused by the 1.20 schemas.
    invalid = _invalid(validator_path, _tree(tmp_path, capsys, "1.36"), "1.20.0")
    assert any(line.startswith("PodDisruptionBudget policy/v1 ") for line in invalid), invalid
    assert any(line.startswith("CronJob batch/v1 ") for line in invalid), invalid
