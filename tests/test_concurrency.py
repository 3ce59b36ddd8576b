"""Writing commands take the repository lock: a second command waits, then plans from what the first one
committed, so a commit never says one version while its file holds another."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import time
from pathlib import Path

from tests.tree_fixtures import build_tree, git

PRODUCTION = "overlays/production/kustomization.yaml"


def _bump(tree: Path, tag: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gitops_gen", "bump-image", "--repo", str(tree), "--overlay",
                             "production", "--tag", tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_bump_waits_for_the_lock_and_plans_from_the_commit_made_meanwhile(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "repo")  # production at v4.3.0
    lock = tree / ".git" / "gitops-gen.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        waiting = _bump(tree, "v4.3.2")
        time.sleep(3)
        assert waiting.poll() is None, "bump-image did not wait for the repository lock"
        # Meanwhile the holder of the lock moves production (as a concurrent bump would) and commits.
        path = tree / PRODUCTION
        path.write_text(path.read_text().replace("v4.3.0", "v4.3.1"))
        git(tree, "commit", "--quiet", "-am", "production: bump mastodon v4.3.0 -> v4.3.1")
        fcntl.flock(handle, fcntl.LOCK_UN)
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert git(tree, "log", "-1", "--format=%s").strip() == "production: bump mastodon v4.3.1 -> v4.3.2"
    assert git(tree, "status", "--porcelain") == ""


def test_concurrent_bumps_of_one_overlay_commit_what_they_say(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "repo")
    for round_ in range(1, 6):
        pair = [_bump(tree, f"v4.{round_}.{n}") for n in (7, 8)]
        for process in pair:
            process.communicate(timeout=120)
            assert process.returncode in (0, 2)
    assert git(tree, "status", "--porcelain") == ""
    for commit in git(tree, "log", "--format=%H", "-12").split()[:-1]:
        subject = git(tree, "log", "-1", "--format=%s", commit).strip()
        if "bump mastodon" not in subject:
            continue
        new = subject.rsplit(" ", 1)[-1]
        assert f"newTag: {new}" in git(tree, "show", f"{commit}:{PRODUCTION}"), subject
