"""Files gitops-gen writes get the modes users expect: new ones follow the umask, rewritten ones keep theirs
(an atomic rename must not leave the temporary file's 0600 behind)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.fixture
def umask_002() -> Iterator[None]:
    previous = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_new_files_with_the_umask_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    umask_002: None) -> None:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root)).code == 0
    written = [path for path in root.rglob("*") if path.is_file() and ".git" not in path.parts]
    assert written and {path.relative_to(root).as_posix(): _mode(path) for path in written} == {
        path.relative_to(root).as_posix(): 0o664 for path in written
    }


def test_bump_keeps_the_mode_of_the_file_it_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root)).code == 0
    kustomization = root / "overlays" / "production" / "kustomization.yaml"
    kustomization.chmod(0o640)
    result = run_cli(capsys, "bump-image", "--repo", str(root), "--tag", "v4.6.7", "--overlay", "production",
                     "--no-commit")
    assert result.code == 0, result.err
    assert "v4.6.7" in kustomization.read_text()
    assert _mode(kustomization) == 0o640
