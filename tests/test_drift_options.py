"""docs/drift.md's options on a tree `gitops-gen init` wrote: `--json-file`, `--sync-manager` and
`drift.syncManagers`, `NO_COLOR`, `--repo` naming a sub-directory of a larger repository, `--concurrency`, and
exit 2 for a bad `--ignore`, a bad `drift:` section and a kind the server does not serve."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.helpers import CliResult, git, init_from_spec, kustomize_build, run_cli

Capsys = pytest.CaptureFixture[str]

SPEC = """\
mastodon:
  s3: {{bucket: media, endpoint: "https://s3.example.net", region: r1, aliasHost: files.example.org}}
expose: {{type: ClusterIP}}
{extra}overlays:
  production: {{namespace: {namespace}}}
"""


def _monorepo_tree(tmp_path: Path, capsys: Capsys, namespace: str, extra: str = "") -> Path:
    """``gitops-gen init apps/mastodon`` inside a larger repository; returns apps/mastodon."""
    mono = tmp_path / "mono"
    mono.mkdir()
    git(mono, "init", "-q", "-b", "main")
    (mono / "README").write_text("other things live here too\n")
    git(mono, "add", "README")
    git(mono, "commit", "-qm", "monorepo")
    root = mono / "apps" / "mastodon"
    init_from_spec(capsys, root, SPEC.format(namespace=namespace, extra=extra))
    return root


def _drift(capsys: Capsys, cluster: Cluster, root: Path, *args: str) -> CliResult:
    return run_cli(capsys, "drift", "--repo", str(root), "--kubeconfig", str(cluster.kubeconfig),
                   "--overlay", "production", *args)


@pytest.fixture
def applied(tmp_path: Path, cluster: Cluster, namespace: str, capsys: Capsys) -> Path:
    """init's tree in a sub-directory of a monorepo, applied as an engine applies it, controllers settled."""
    root = _monorepo_tree(tmp_path, capsys, namespace)
    rendered = subprocess.run(["kubectl", "kustomize", str(root / "overlays/production")], capture_output=True,
                              text=True, check=True).stdout
    done = cluster.kubectl("apply", "--server-side", "--field-manager", "kubectl", "-f", "-", stdin=rendered,
                           check=False)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 30
    while len(cluster.kubectl("get", "rs", "-n", namespace, "-o", "name").stdout.split()) < 3:
        assert time.monotonic() < deadline, "the Deployments got no ReplicaSets"
        time.sleep(0.25)
    return root


@pytest.mark.cluster
def test_repo_may_name_a_sub_directory_and_json_file_keeps_the_same_report(
        applied: Path, cluster: Cluster, namespace: str, tmp_path: Path, capsys: Capsys) -> None:
    report = tmp_path / "drift.json"
    in_sync = _drift(capsys, cluster, applied, "--output", "markdown", "--json-file", str(report))
    assert in_sync.code == 0, in_sync.err + in_sync.out
    written = json.loads(report.read_text())
    assert written["overlay"] == "production" and written["summary"]["modified"] == 0
    assert written["summary"]["in-sync"] == len(written["objects"]) == len(kustomize_build(
        applied / "overlays/production"))
    assert written["ref"] == git(applied, "rev-parse", "HEAD").strip()

    cluster.kubectl("scale", "deployment/mastodon-web", "--replicas", "4", "-n", namespace)
    drifted = _drift(capsys, cluster, applied, "--json-file", str(report), "--concurrency", "1")
    assert drifted.code == 1
    written = json.loads(report.read_text())
    assert [(o["name"], o["fields"]) for o in written["objects"] if o["status"] == "modified"] == [
        ("mastodon-web", [{"path": "spec.replicas", "desired": 2, "live": 4, "manager": "kubectl"}])]
    assert "mastodon-web" in drifted.out and "spec.replicas" in drifted.out  # the text report as well


@pytest.mark.cluster
def test_a_sync_managers_plain_write_is_not_drift_once_it_is_named(
        applied: Path, cluster: Cluster, namespace: str, capsys: Capsys) -> None:
    cluster.kubectl("label", "deployment/mastodon-web", "team=social", "--field-manager", "deploy-bot",
                    "-n", namespace)

    unnamed = _drift(capsys, cluster, applied, "--output", "json")
    assert unnamed.code == 1
    (modified,) = [o for o in json.loads(unnamed.out)["objects"] if o["status"] == "modified"]
    assert modified["fields"] == [{"path": 'metadata.labels.team', "desired": None, "live": "social",
                                   "manager": "deploy-bot"}]

    named = _drift(capsys, cluster, applied, "--sync-manager", "other", "--sync-manager", "deploy-bot")
    assert named.code == 0, named.out

    spec = applied / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("overlays:", "drift: {syncManagers: [deploy-bot]}\noverlays:", 1))
    assert run_cli(capsys, "init", str(applied)).code == 0  # committed: drift reads the spec at --ref
    from_spec = _drift(capsys, cluster, applied)
    assert from_spec.code == 0, from_spec.out


def _stdout_through_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run gitops-gen as its own process with stdout on a pseudo-terminal, the way a person sees it."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "gitops_gen", *args], stdout=follower,
                               stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    try:
        while chunk := _read(leader):
            chunks.append(chunk)
        return process.wait(timeout=60), b"".join(chunks)
    finally:
        os.close(leader)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the other end is closed
        return b""


@pytest.mark.cluster
def test_the_text_report_is_coloured_on_a_terminal_unless_no_color(
        applied: Path, cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("scale", "deployment/mastodon-web", "--replicas", "4", "-n", namespace)
    args = ["drift", "--repo", str(applied), "--kubeconfig", str(cluster.kubeconfig), "--overlay", "production"]
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    code, coloured = _stdout_through_a_terminal(args, env)
    assert code == 1 and b"\x1b[" in coloured and b"mastodon-web" in coloured
    code, plain = _stdout_through_a_terminal(args, {**env, "NO_COLOR": "1"})
    assert code == 1 and b"\x1b[" not in plain and b"mastodon-web" in plain


@pytest.mark.cluster
def test_a_kind_the_server_does_not_serve_is_an_error(applied: Path, cluster: Cluster, capsys: Capsys) -> None:
    overlay = applied / "overlays/production"
    (overlay / "widget.yaml").write_text("apiVersion: widgets.example.org/v1\nkind: Widget\n"
                                         "metadata: {name: w}\nspec: {size: 3}\n")
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n- widget.yaml\n", 1))
    git(applied, "add", "-A")
    git(applied, "commit", "-qm", "a widget")

    result = _drift(capsys, cluster, applied)

    assert result.code == 2 and result.out == ""
    assert "Widget" in result.err and result.err.count("\n") == 1


# --- errors found before any request: no cluster needed ---

UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


@pytest.fixture
def offline_tree(tmp_path: Path, capsys: Capsys) -> tuple[Path, Path]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    return _monorepo_tree(tmp_path, capsys, "social"), kubeconfig


def _offline_drift(capsys: Capsys, tree: tuple[Path, Path], *args: str) -> CliResult:
    root, kubeconfig = tree
    return run_cli(capsys, "drift", "--repo", str(root), "--kubeconfig", str(kubeconfig), "--timeout", "2", *args)


@pytest.mark.parametrize("value", ["0", "-3"])
def test_concurrency_below_one_is_an_error(offline_tree: tuple[Path, Path], capsys: Capsys, value: str) -> None:
    result = _offline_drift(capsys, offline_tree, "--concurrency", value)
    assert result.code == 2 and result.out == ""
    assert "--concurrency" in result.err


@pytest.mark.parametrize("rule", ["Deployment/web", "Deployment/web:spec/replicas", ":/spec"])
def test_a_bad_ignore_rule_is_an_error_named_before_any_request(offline_tree: tuple[Path, Path], capsys: Capsys,
                                                                rule: str) -> None:
    result = _offline_drift(capsys, offline_tree, "--ignore", rule)
    assert result.code == 2 and result.out == ""
    assert "--ignore" in result.err and "127.0.0.1" not in result.err, result.err


def test_a_bad_drift_section_is_an_error_naming_the_field(offline_tree: tuple[Path, Path], capsys: Capsys) -> None:
    root, _ = offline_tree
    spec = root / "gitops-gen.yaml"
    # A committed spec whose drift section init would refuse: drift reads the spec at --ref, not the work tree.
    spec.write_text(spec.read_text().replace("overlays:", "drift: {ignore: [{kind: Service, jsonPointers: "
                                                          "[no-slash]}]}\noverlays:", 1))
    git(root, "commit", "-qam", "a hand-edited spec")
    result = _offline_drift(capsys, offline_tree)
    assert result.code == 2 and result.out == ""
    assert "gitops-gen.yaml" in result.err and "drift.ignore" in result.err, result.err
