"""--push against a real bare remote that a second clone pushes to at the worst moment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gitops_gen.cli import main
from tests.tree_fixtures import add_remote, build_tree, clone, git, snapshot

PUSH_BUMP = ["bump-image", "--overlay", "production", "--tag", "v4.3.1", "--push"]
PUSH_PROMOTE = ["promote", "--from", "staging", "--to", "production", "--push"]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(tree tracking origin/main, the bare remote, a second clone of it); staging is one release ahead."""
    tree = build_tree(tmp_path / "repo")
    staging = tree / "overlays/staging/kustomization.yaml"
    staging.write_text(staging.read_text().replace("v4.3.0", "v4.3.1"))
    git(tree, "commit", "--quiet", "-am", "staging: v4.3.1")
    bare = tmp_path / "remote.git"
    add_remote(tree, bare)
    return tree, bare, clone(bare, tmp_path / "other")


def _push_from_other_clone_script(other: Path, marker: Path) -> str:
    # Hooks run with GIT_DIR and friends pointing at the pushing repository: unset them for the other clone.
    return f"""#!/bin/sh
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
if [ ! -e '{marker}' ]; then
  touch '{marker}'
  cd '{other}' && echo 'someone else was here' > NOTES.md && git add NOTES.md \\
    && git commit --quiet -m 'someone else' && git push --quiet origin main
fi
exit 0
"""


def _refuse_pushes(bare: Path) -> None:
    hook = bare / "hooks/pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


def _remote_log(bare: Path) -> list[str]:
    return git(bare, "log", "--format=%s", "main").splitlines()


@pytest.mark.parametrize("command", [PUSH_BUMP, PUSH_PROMOTE], ids=["bump-image", "promote"])
def test_a_push_race_between_fetch_and_push_is_rebased_and_retried(
    setup: tuple[Path, Path, Path], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    tree, bare, other = setup
    hook = tree / ".git/hooks/pre-push"  # runs after our fetch and rebase, before the refs are sent
    hook.write_text(_push_from_other_clone_script(other, tree.parent / "raced"))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)

    assert main([*command, "--repo", str(tree)]) == 0

    out = capsys.readouterr().out
    assert "in 2 attempt(s) after 1 rebase(s)" in out
    # The id printed is the commit that landed on the remote, not the one made before the rebase.
    assert f"committed {git(bare, 'rev-parse', 'main')[:12]}:" in out
    log = _remote_log(bare)
    assert log[1:] == ["someone else", "staging: v4.3.1", "gitops-gen init: generate the Mastodon tree"]
    assert log[0].startswith("production: ")
    assert git(bare, "rev-list", "--merges", "main") == ""  # linear: no merge commit
    assert git(tree, "rev-parse", "HEAD") == git(bare, "rev-parse", "main")
    assert (tree / "NOTES.md").exists()
    assert "v4.3.1" in git(bare, "show", "main:overlays/production/kustomization.yaml")


def test_a_remote_that_moved_before_the_command_is_rebased_onto_first(setup: tuple[Path, Path, Path]) -> None:
    tree, bare, other = setup
    (other / "NOTES.md").write_text("early\n")
    git(other, "add", "NOTES.md")
    git(other, "commit", "--quiet", "-m", "someone else")
    git(other, "push", "--quiet", "origin", "main")

    assert main([*PUSH_BUMP, "--repo", str(tree)]) == 0

    assert _remote_log(bare)[:2] == ["production: bump mastodon v4.3.0 -> v4.3.1", "someone else"]
    assert git(bare, "rev-list", "--merges", "main") == ""


def test_a_push_the_remote_refuses_undoes_the_commit(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tree, bare, _ = setup
    _refuse_pushes(bare)
    before, remote_head = snapshot(tree), git(bare, "rev-parse", "main")

    assert main([*PUSH_BUMP, "--repo", str(tree)]) == 2

    assert "git push to origin failed" in capsys.readouterr().err
    assert snapshot(tree) == before
    assert git(bare, "rev-parse", "main") == remote_head


def test_a_refused_push_leaves_what_the_user_had_staged_staged(
    setup: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tree, bare, _ = setup
    _refuse_pushes(bare)
    (tree / "staged.txt").write_text("work in progress\n")
    git(tree, "add", "staged.txt")
    before = git(tree, "status", "--porcelain")

    assert main([*PUSH_BUMP, "--repo", str(tree)]) == 2

    assert git(tree, "status", "--porcelain") == before == "A  staged.txt\n"


def test_push_without_an_upstream_is_refused_and_nothing_is_committed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = build_tree(tmp_path / "repo")
    before = snapshot(tree)
    assert main([*PUSH_BUMP, "--repo", str(tree)]) == 2
    assert "tracks no remote branch" in capsys.readouterr().err
    assert snapshot(tree) == before
