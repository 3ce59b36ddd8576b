"""`gitops-gen init apps/mastodon` in a monorepo: the sync objects name paths from the repository root, the CI
file goes where the CI reads it (one per tree, never the owners' `.gitlab-ci.yml`), and every command works on the
sub-directory, from inside it or from the root."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.ci_sandbox import Sandbox, github_steps, outputs
from tests.conftest import Cluster
from tests.helpers import build_file_tree, commit_all, git, run_cli

SPEC = """\
gitops: {{engines: [argocd, flux]}}
drift: {{install: "pip install gitops-gen==0.1.0"{drift}}}
storage:
  system:
    nfs: {{server: 192.0.2.10, path: /export/media}}
overlays:
  staging: {{namespace: {namespace}-s}}
  production: {{namespace: {namespace}}}
"""


def _monorepo(tmp_path: Path, trees: dict[str, str]) -> Path:
    """A repository with other people's things in it and a gitops-gen spec in each of ``trees``."""
    top = tmp_path / "monorepo"
    git(tmp_path, "init", "-q", "-b", "main", str(top))
    build_file_tree(top, {"README.md": "a monorepo\n", "services/api/main.py": "print('api')\n",
                          **{f"{tree}/gitops-gen.yaml": spec for tree, spec in trees.items()}})
    commit_all(top, "a monorepo")
    git(top, "remote", "add", "origin", "https://git.example.org/ops/monorepo.git")
    return top


def _objects(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _render_from(top: Path, path: str) -> list[dict[str, Any]]:
    """What the sync engine renders at ``path``, the way it does: from a checkout's root."""
    done = subprocess.run(["kubectl", "kustomize", path], cwd=top, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def test_init_in_a_sub_directory_names_the_overlay_from_the_repository_root(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path, {"apps/mastodon": SPEC.format(drift="", namespace="mastodon-production")})
    monkeypatch.chdir(top)
    result = run_cli(capsys, "init", "apps/mastodon")
    assert result.code == 0, result.err
    tree = top / "apps" / "mastodon"

    [application] = [o for o in _objects(tree / "clusters/production/argocd/application.yaml")
                     if o["kind"] == "Application"]
    argocd_path = application["spec"]["source"]["path"]
    assert argocd_path == "apps/mastodon/overlays/production"
    flux_paths = {o["spec"]["path"] for file in (tree / "clusters/production/flux").glob("*.yaml")
                  for o in _objects(file) if o["kind"] == "Kustomization" and "path" in o.get("spec", {})}
    assert flux_paths == {"./apps/mastodon/overlays/production"}
    # Argo CD renders `path` inside its checkout of the whole repository: that directory is the overlay.
    rendered = _render_from(top, argocd_path)
    assert {o["metadata"]["name"] for o in rendered if o["kind"] == "Deployment"} >= {"mastodon-web",
                                                                                     "mastodon-streaming"}
    assert rendered == _render_from(top, flux_paths.pop())

    # The workflow is where GitHub reads it, and everything is in one commit of the monorepo.
    assert not (tree / ".github").exists()
    assert (top / ".github/workflows/drift-apps-mastodon.yaml").is_file()
    assert git(top, "status", "--porcelain") == ""
    committed = git(top, "show", "--name-only", "--format=", "HEAD").split()
    assert ".github/workflows/drift-apps-mastodon.yaml" in committed
    assert "apps/mastodon/overlays/production/kustomization.yaml" in committed

    # A re-run, from the root and from inside, finds the tree up to date.
    assert "up to date" in run_cli(capsys, "init", "apps/mastodon").out
    monkeypatch.chdir(tree)
    assert "up to date" in run_cli(capsys, "init").out

    # bump-image and promote on the sub-directory, from the root and from inside.
    monkeypatch.chdir(top)
    assert run_cli(capsys, "bump-image", "--repo", "apps/mastodon", "--tag", "v4.6.7", "--all").code == 0
    monkeypatch.chdir(tree)
    assert run_cli(capsys, "bump-image", "--tag", "v4.6.8", "--overlay", "production").code == 0
    assert git(top, "show", "--name-only", "--format=", "HEAD").split() == [
        "apps/mastodon/overlays/production/kustomization.yaml"]
    monkeypatch.chdir(top)
    result = run_cli(capsys, "promote", "--repo", "apps/mastodon", "--from", "production", "--to", "staging")
    assert result.code == 0, result.err
    assert git(top, "show", "--name-only", "--format=", "HEAD").split() == [
        "apps/mastodon/overlays/staging/kustomization.yaml"]
    images = {c["image"] for o in _render_from(top, "apps/mastodon/overlays/staging") if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert images == {"ghcr.io/mastodon/mastodon:v4.6.8", "ghcr.io/mastodon/mastodon-streaming:v4.6.8"}
    assert git(top, "status", "--porcelain") == ""


def test_two_trees_in_one_monorepo_keep_their_own_workflows(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path, {"apps/mastodon": SPEC.format(drift="", namespace="mastodon-production"),
                               "apps/social": SPEC.format(drift="", namespace="social-production")})
    monkeypatch.chdir(top)
    assert run_cli(capsys, "init", "apps/mastodon").code == 0
    first = (top / ".github/workflows/drift-apps-mastodon.yaml").read_text()
    assert run_cli(capsys, "init", "apps/social").code == 0
    assert (top / ".github/workflows/drift-apps-mastodon.yaml").read_text() == first
    workflows = {path.name: yaml.safe_load(path.read_text()) for path in (top / ".github/workflows").iterdir()}
    assert {name: w["jobs"]["drift"]["env"]["DRIFT_REPO"] for name, w in workflows.items()} == {
        "drift-apps-mastodon.yaml": "apps/mastodon", "drift-apps-social.yaml": "apps/social"}
    # Runs of one tree neither wait for nor share a cache with the other's.
    assert len({w["concurrency"]["group"] for w in workflows.values()}) == 2
    # A tree that stops asking for CI removes its own workflow, not the other's.
    (top / "apps/social/gitops-gen.yaml").write_text(
        SPEC.format(drift=", ci: none", namespace="social-production"))
    assert run_cli(capsys, "init", "apps/social").code == 0
    assert sorted(p.name for p in (top / ".github/workflows").iterdir()) == ["drift-apps-mastodon.yaml"]
    assert git(top, "status", "--porcelain") == ""


def test_a_tree_whose_directory_gives_another_trees_workflow_name_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path, {"apps/a-b": SPEC.format(drift="", namespace="ab"),
                               "apps-a/b": SPEC.format(drift="", namespace="ab2")})
    monkeypatch.chdir(top)
    assert run_cli(capsys, "init", "apps/a-b").code == 0
    first = (top / ".github/workflows/drift-apps-a-b.yaml").read_text()
    head = git(top, "rev-parse", "HEAD")
    result = run_cli(capsys, "init", "apps-a/b")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert "apps/a-b" in result.err and "rename" in result.err
    assert (top / ".github/workflows/drift-apps-a-b.yaml").read_text() == first
    assert git(top, "rev-parse", "HEAD") == head and not (top / "apps-a/b/base").exists()


def test_gitlab_in_a_monorepo_never_writes_the_owners_ci_file_and_says_what_to_include(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    top = _monorepo(tmp_path, {"apps/mastodon": SPEC.format(drift=", ci: gitlab", namespace="m-production")})
    owners = "stages: [test]\napi-tests:\n  script: [python services/api/main.py]\n"
    (top / ".gitlab-ci.yml").write_text(owners)
    commit_all(top, "the owners' CI")
    monkeypatch.chdir(top)
    result = run_cli(capsys, "init", "apps/mastodon")
    assert result.code == 0, result.err
    assert (top / ".gitlab-ci.yml").read_text() == owners
    assert "include: [{local: apps/mastodon/drift.gitlab-ci.yml}]" in result.err
    # The owners add the include the warning names; GitLab then reads a job of this tree's own name.
    (top / ".gitlab-ci.yml").write_text(owners + "include:\n  - local: apps/mastodon/drift.gitlab-ci.yml\n")
    commit_all(top, "include the drift check")
    (top / "apps/mastodon/gitops-gen.yaml").write_text(
        SPEC.format(drift=", ci: gitlab, schedule: '5 * * * *'", namespace="m-production"))
    result = run_cli(capsys, "init", "apps/mastodon")
    assert result.code == 0 and result.err == "", result.err
    job = yaml.safe_load((top / "apps/mastodon/drift.gitlab-ci.yml").read_text())
    assert list(job) == ["drift-apps-mastodon"] and job["drift-apps-mastodon"]["variables"]["DRIFT_REPO"] == \
        "apps/mastodon"


@pytest.mark.cluster
def test_the_github_drift_step_run_from_the_repository_root_checks_the_sub_directory_tree(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A name of its own and no static NFS volume: nothing cluster-scoped shared with other tests on the plane.
    name = f"m{uuid.uuid4().hex[:6]}"
    spec = f"name: {name}\ndrift: {{install: 'true'}}\noverlays:\n  production: {{namespace: {namespace}}}\n"
    top = _monorepo(tmp_path, {"apps/mastodon": spec})
    monkeypatch.chdir(top)
    assert run_cli(capsys, "init", "apps/mastodon").code == 0
    rendered = kustomize.render_text(top / "apps/mastodon/overlays/production")
    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "kubectl", "-f", "-", stdin=rendered,
                              check=False)
    assert applied.returncode == 0, applied.stderr
    time.sleep(3)  # let the controllers make the ReplicaSets
    workflow = yaml.safe_load((top / ".github/workflows/drift-apps-mastodon.yaml").read_text())
    job_env = {key: str(value) for key, value in workflow["jobs"]["drift"]["env"].items()}
    check = str(github_steps(yaml.safe_dump(workflow))["Check drift"]["run"])
    box = Sandbox(tmp_path / "box")
    (tmp_path / "runner").mkdir()
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    env = box.env(**job_env, OVERLAY="production", KUBECONFIG_SECRET="DRIFT_KUBECONFIG_PRODUCTION",
                  KUBECONFIG_DATA=cluster.kubeconfig.read_text(), RUNNER_TEMP=str(tmp_path / "runner"),
                  GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output),
                  XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = box.run(check, top, env)  # GitHub runs steps in the checkout's root
    assert done.returncode == 0, done.stderr
    assert outputs(output) == {"code": "0", "outcome": "in-sync"}, summary.read_text()
    report = json.loads((top / "drift-production.json").read_text())
    assert report["summary"]["in-sync"] == len(report["objects"]) > 0

    cluster.kubectl("scale", f"deployment/{name}-web", "--replicas", "5", "-n", namespace)
    output.unlink()
    assert box.run(check, top, env).returncode == 0
    assert outputs(output) == {"code": "1", "outcome": "drift"}
    assert f"{name}-web" in summary.read_text()
