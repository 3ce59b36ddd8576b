"""The README's promises about the commands themselves: `init --no-commit`, `--push`'s five attempts with backoff
against a real remote, `promote` and `newName`, repeated `--overlay`, `secrets`' password options, `--debug`."""

from __future__ import annotations

import base64
import itertools
import json
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import git, init_from_spec, kustomize_build, run_cli, snapshot
from tests.tree_fixtures import MAIN_IMAGE, add_remote, build_tree, clone

Capsys = pytest.CaptureFixture[str]


# --- init --no-commit ---

def test_init_no_commit_in_a_new_directory_writes_the_tree_and_commits_nothing(tmp_path: Path,
                                                                              capsys: Capsys) -> None:
    root = tmp_path / "repo"
    result = run_cli(capsys, "init", str(root), "--no-commit")
    assert result.code == 0 and "not committed" in result.out
    assert subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
                          capture_output=True).returncode != 0  # no commit at all
    assert (root / "base/kustomization.yaml").is_file()
    assert kustomize_build(root / "overlays/production")  # the written tree renders
    assert git(root, "ls-files") == ""  # nothing staged either


def test_init_no_commit_on_a_committed_tree_leaves_head_where_it_was(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "repo"
    init_from_spec(capsys, root, "overlays: {production: {}}\n")
    head = git(root, "rev-parse", "HEAD")
    (root / "gitops-gen.yaml").write_text("web: {replicas: 4}\noverlays: {production: {}}\n")

    assert run_cli(capsys, "init", str(root), "--no-commit").code == 0

    assert git(root, "rev-parse", "HEAD") == head
    assert "base/web.yaml" in git(root, "status", "--porcelain")
    assert git(root, "diff", "--cached") == ""


# --- --push: five attempts, exponential backoff, against a real remote that keeps moving ---

def _keep_the_remote_moving(tree: Path, other: Path, times: int) -> Path:
    """A pre-push hook (it runs after gitops-gen's fetch and rebase, before the refs are sent) that makes the
    other clone push first, ``times`` times: each of those pushes of ours is rejected by the real remote as a
    non-fast-forward. Every invocation's time goes into the returned log."""
    log = tree.parent / "push-times"
    hook = tree / ".git/hooks/pre-push"
    hook.write_text(f"""#!/bin/sh
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
date +%s.%N >> '{log}'
if [ "$(wc -l < '{log}')" -le {times} ]; then
  cd '{other}' && git pull --quiet --rebase origin main && date +%s%N >> NOTES.md && git add NOTES.md \\
    && git commit --quiet -m 'someone else' && git push --quiet origin main
fi
exit 0
""")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    return log


@pytest.fixture
def pushed_tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    tree = build_tree(tmp_path / "repo")
    bare = tmp_path / "remote.git"
    add_remote(tree, bare)
    return tree, bare, clone(bare, tmp_path / "other")


BUMP = ["bump-image", "--overlay", "production", "--tag", "v4.3.1", "--push"]


def test_push_is_attempted_five_times_with_doubling_backoff(pushed_tree: tuple[Path, Path, Path],
                                                            capsys: Capsys) -> None:
    tree, bare, other = pushed_tree
    log = _keep_the_remote_moving(tree, other, times=4)

    result = run_cli(capsys, *BUMP, "--repo", str(tree))

    assert result.code == 0, result.err
    assert "in 5 attempt(s) after 4 rebase(s)" in result.out
    assert git(bare, "log", "-1", "--format=%s", "main") == "production: bump mastodon v4.3.0 -> v4.3.1\n"
    times = [float(line) for line in log.read_text().split()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # backoff 0.5 s doubling: 0.5, 1, 2, 4 (plus the fetch, rebase and the other clone's push in between)
    assert len(gaps) == 4
    for gap, backoff in zip(gaps, (0.5, 1, 2, 4), strict=True):
        assert backoff <= gap < backoff + 10, gaps  # the upper bound only rules out a runaway wait


def test_a_sixth_push_is_never_tried(pushed_tree: tuple[Path, Path, Path], capsys: Capsys) -> None:
    tree, bare, other = pushed_tree
    log = _keep_the_remote_moving(tree, other, times=5)
    before, remote_head = snapshot(tree), git(bare, "rev-parse", "main")

    result = run_cli(capsys, *BUMP, "--repo", str(tree))

    assert result.code == 2
    assert "5 pushes were rejected" in result.err
    assert len(log.read_text().split()) == 5
    # The remote only has the other clone's commits; ours is undone locally.
    assert "v4.3.1" not in git(bare, "show", "main:overlays/production/kustomization.yaml")
    assert git(bare, "rev-parse", "main") != remote_head
    assert snapshot(tree) == before


# --- promote leaves newName alone, with a warning; --overlay is repeatable ---

def test_promote_copies_the_tag_but_leaves_a_different_new_name_with_a_warning(tmp_path: Path,
                                                                               capsys: Capsys) -> None:
    tree = build_tree(tmp_path / "repo")
    production = tree / "overlays/production/kustomization.yaml"
    production.write_text(production.read_text().replace(
        f"- name: {MAIN_IMAGE}\n", f"- name: {MAIN_IMAGE}\n  newName: registry.example.org/mirror/mastodon\n", 1))
    git(tree, "commit", "-qam", "production pulls from a mirror")
    assert run_cli(capsys, "bump-image", "--repo", str(tree), "--overlay", "staging", "--tag", "v4.3.1").code == 0

    result = run_cli(capsys, "promote", "--repo", str(tree), "--from", "staging", "--to", "production")

    assert result.code == 0, result.err
    assert "warning" in result.err and "keeps newName registry.example.org/mirror/mastodon" in result.err
    images = {c["image"] for o in kustomize_build(tree / "overlays/production") if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert images == {"registry.example.org/mirror/mastodon:v4.3.1", "ghcr.io/mastodon/mastodon-streaming:v4.3.1"}


def test_repeated_overlay_bumps_each_named_overlay_in_one_commit(tmp_path: Path, capsys: Capsys) -> None:
    tree = build_tree(tmp_path / "repo", overlays=("staging", "canary", "production"))
    head = git(tree, "rev-parse", "HEAD").strip()

    result = run_cli(capsys, "bump-image", "--repo", str(tree), "--overlay", "staging", "--overlay", "production",
                     "--tag", "v4.3.1")

    assert result.code == 0, result.err
    assert git(tree, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    changed = set(git(tree, "diff", "--name-only", f"{head}..HEAD").split())
    assert changed == {"overlays/staging/kustomization.yaml", "overlays/production/kustomization.yaml"}


# --- secrets: the passwords given on the command line ---

def test_secrets_kubectl_puts_the_given_passwords_into_the_secret(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "repo"
    init_from_spec(capsys, root, "mastodon: {smtp: {server: smtp.example.net, fromAddress: a@example.org}}\n"
                   "overlays: {production: {}}\n")
    result = run_cli(capsys, "secrets", "--repo", str(root), "--kubectl", "--namespace", "social",
                     "--db-password", "db 'pw' $x", "--redis-password", "redis-pw", "--smtp-password", "smtp-pw")
    assert result.code == 0, result.err
    # The printed command, run by sh, with kubectl's client-side dry run: the Secret it would create.
    done = subprocess.run(["sh", "-c", result.out.strip() + " --dry-run=client -o json"], capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, check=False)
    assert done.returncode == 0, done.stderr
    secret = json.loads(done.stdout)
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == ("mastodon-secrets", "social")
    assert (data["DB_PASS"], data["REDIS_PASSWORD"], data["SMTP_PASSWORD"]) == ("db 'pw' $x", "redis-pw", "smtp-pw")


# --- --debug ---

def test_debug_adds_the_traceback_to_the_one_line_error(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text("web: {replicas: many}\n")
    plain = run_cli(capsys, "init", str(root))
    debug = run_cli(capsys, "--debug", "init", str(root))
    assert plain.code == debug.code == 2
    assert plain.err.count("\n") == 1 and "Traceback" not in plain.err
    assert "Traceback (most recent call last)" in debug.err
    assert debug.err.rstrip().endswith(plain.err.rstrip())
