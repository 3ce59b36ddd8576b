"""The pod settings that need no cluster to judge: the sidekiq readiness probe follows the targeted Mastodon,
its file sits on a writable mount, and bad placement input stops init. Admission, scheduling and Pod Security
are judged by the API server in ``test_pod_security.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.helpers import run_cli


def _init(root: Path, capsys: pytest.CaptureFixture[str], spec: str) -> int:
    root.mkdir()
    head = "drift: {ci: none}\ngitops: {repoURL: https://git.example.net/m.git}\n"
    (root / "gitops-gen.yaml").write_text(head + spec)
    return run_cli(capsys, "init", str(root), "--no-commit").code


def _sidekiq(root: Path) -> dict[str, Any]:
    (deployment,) = [o for o in kustomize.render(root / "overlays" / "production")
                     if o["kind"] == "Deployment" and o["metadata"]["name"] == "mastodon-sidekiq-default"]
    return deployment["spec"]["template"]["spec"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("read_only", [False, True])
def test_sidekiq_is_ready_once_its_file_exists_and_the_file_can_be_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], read_only: bool) -> None:
    assert _init(tmp_path / "repo", capsys, f"pods: {{readOnlyRootFilesystem: {str(read_only).lower()}}}\n") == 0
    pod = _sidekiq(tmp_path / "repo")
    (container,) = pod["containers"]
    command = container["readinessProbe"]["exec"]["command"]
    # `cat` (coreutils, in the Debian-based image) succeeds only once sidekiq touched the file, in Rails' tmp/.
    assert command == ["cat", "/opt/mastodon/tmp/sidekiq_process_has_started_and_will_begin_processing_jobs"]
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    if read_only:
        assert "emptyDir" in volumes[mounts["/opt/mastodon/tmp"]]  # else sidekiq could not write it
    else:
        assert container["securityContext"]["readOnlyRootFilesystem"] is False


def test_a_mastodon_older_than_4_3_gets_no_sidekiq_readiness_probe(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Its sidekiq never writes the file: the probe would keep every pod unready for ever.
    spec = "images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.2.9}\n"
    assert _init(tmp_path / "repo", capsys, spec) == 0
    assert "readinessProbe" not in _sidekiq(tmp_path / "repo")["containers"][0]


@pytest.mark.parametrize(("spec", "message"), [
    ("pods:\n  tolerations:\n  - {key: a, operator: Exists, value: b}\n",
     "gitops-gen.yaml:4: pods.tolerations[0]: operator Exists takes no value"),
    ("pods:\n  tolerations:\n  - {key: a, value: b, tolerationSeconds: 5}\n",
     "pods.tolerations[0]: tolerationSeconds only applies to effect NoExecute"),
    ("overlays:\n  production:\n    pods: {imagePullSecrets: [Bad_Name]}\n",
     "overlays.production.pods.imagePullSecrets[0]: 'Bad_Name' is not a Kubernetes object name"),
])
def test_bad_placement_stops_init_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, message: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text("drift: {ci: none}\n" + spec)
    result = run_cli(capsys, "init", str(root), "--no-commit")
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert sorted(path.name for path in root.iterdir()) == ["gitops-gen.yaml"]


def test_placement_patches_are_valid_yaml_for_kustomize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Values YAML 1.1 would read as booleans stay strings through kustomize (kubectl and kustomize read 1.1).
    spec = "pods:\n  nodeSelector: {dedicated: 'yes', zone: 'on'}\n"
    assert _init(tmp_path / "repo", capsys, spec) == 0
    assert _sidekiq(tmp_path / "repo")["nodeSelector"] == {"dedicated": "yes", "zone": "on"}
    written = yaml.safe_load((tmp_path / "repo/overlays/production/patches/placement/deployment.yaml").read_text())
    assert written[0]["value"] == {"dedicated": "yes", "zone": "on"}
