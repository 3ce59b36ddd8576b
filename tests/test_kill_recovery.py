"""`init` killed with SIGKILL at any moment: one rerun repairs the repository, whatever the kill left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SPEC = "drift: {ci: none}\n"
RUNS = 50


def _init(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gitops_gen", "init", str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _committed(root: Path) -> str:
    """The committed tree: paths and blob ids, whatever the commit history looks like."""
    return subprocess.run(["git", "-C", str(root), "ls-tree", "-r", "HEAD"], capture_output=True, text=True,
                          check=True).stdout


def test_a_rerun_after_kill_9_at_a_random_moment_commits_what_a_clean_run_commits(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "gitops-gen.yaml").write_text(SPEC)
    first = _init(clean)
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    expected = _committed(clean)
    # How long a whole run takes here, so that the kills land anywhere in it (start-up, planning, writing,
    # committing) rather than all before it began.
    started = time.monotonic()
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "gitops-gen.yaml").write_text(SPEC)
    assert _init(probe).wait(timeout=120) == 0
    duration = time.monotonic() - started

    rng = random.Random(20261126)
    for run in range(RUNS):
        root = tmp_path / f"run-{run}"
        root.mkdir()
        (root / "gitops-gen.yaml").write_text(SPEC)
        victim = _init(root)
        time.sleep(rng.uniform(0, duration))
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        rerun = _init(root)
        out, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, (run, err)
        assert _committed(root) == expected, (run, out)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--ignored"], capture_output=True,
                                text=True, check=True).stdout
        assert status == "", (run, status)


MONOREPO_SPEC = ("drift: {ci: github, install: \"pip install gitops-gen==0.1.0\"}\n"
                 "secrets:\n  provider: sops\n"
                 "  sops: {ageRecipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}\n")


@pytest.mark.parametrize("spec_change", ["", "web: {replicas: 3}\n"], ids=["up to date", "regenerated"])
def test_a_rerun_removes_what_a_kill_left_beside_the_files_outside_base_and_overlays(
        tmp_path: Path, spec_change: str) -> None:
    """The schema, `.sops.yaml` and the CI workflow (at the top of a monorepo) are written atomically like the
    rest: a kill leaves `.<name>.<random>.tmp` beside them, which the rerun must remove whether or not it has
    anything to write."""
    top = tmp_path / "monorepo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(top)], check=True)
    (top / "apps/mastodon").mkdir(parents=True)
    (top / "apps/mastodon/gitops-gen.yaml").write_text(MONOREPO_SPEC)
    subprocess.run(["git", "-C", str(top), "remote", "add", "origin", "https://git.example.org/ops/monorepo.git"],
                   check=True)
    first = _init(top / "apps/mastodon")
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    outside = ["apps/mastodon/gitops-gen.schema.json", "apps/mastodon/.sops.yaml",
               ".github/workflows/drift-apps-mastodon.yaml"]
    for path in outside:
        assert (top / path).is_file(), path  # the files the kill would have been writing
        written = top / path
        (written.parent / f".{written.name}.k9x2b7qa.tmp").write_text("half of it")
    if spec_change:
        with (top / "apps/mastodon/gitops-gen.yaml").open("a") as spec:
            spec.write(spec_change)
    rerun = _init(top / "apps/mastodon")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    status = subprocess.run(["git", "-C", str(top), "status", "--porcelain", "--ignored"], capture_output=True,
                            text=True, check=True).stdout
    assert status == "", status
