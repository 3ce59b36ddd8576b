"""Bad input and broken states: exit 2 with one line on stderr, never a traceback, never exit 1 (which CI
reads as "drift found"). The start of the sweep of issue #12; each case is what a user or a disk can do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _gitops_gen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitops_gen", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def _one_line_exit_2(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("gitops-gen: "), done.stderr


def test_a_spec_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "gitops-gen.yaml").mkdir()
    _one_line_exit_2(_gitops_gen("init", ".", cwd=tmp_path))


def test_a_generated_file_replaced_by_a_directory(tmp_path: Path) -> None:
    assert _gitops_gen("init", "repo", cwd=tmp_path).returncode == 0
    storage = tmp_path / "repo" / "overlays" / "production" / "storage.yaml"
    storage.unlink()
    storage.mkdir()
    _one_line_exit_2(_gitops_gen("init", "repo", cwd=tmp_path))


@pytest.mark.parametrize("option", [("--timeout", "0"), ("--timeout", "-1"), ("--concurrency", "0")])
def test_drift_refuses_numbers_it_cannot_use_before_any_work(tmp_path: Path, option: tuple[str, str]) -> None:
    done = _gitops_gen("drift", *option, "--kubeconfig", str(tmp_path / "none"), cwd=tmp_path)
    assert done.returncode == 2 and option[0] in done.stderr and "Traceback" not in done.stderr
