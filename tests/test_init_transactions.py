"""`gitops-gen init` is all or nothing: a refused commit or an unwritable file leaves the repository as it
was, and "up to date" means written *and* committed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import git, run_cli, snapshot


@pytest.fixture
def no_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Git knows no author: no environment, no global or system configuration, no guessing from the host."""
    for role in ("AUTHOR", "COMMITTER"):
        for what in ("NAME", "EMAIL"):
            monkeypatch.delenv(f"GIT_{role}_{what}", raising=False)
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("EMAIL", raising=False)


def _with_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "gitops-gen tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@gitops-gen.invalid")


def test_a_refused_first_commit_leaves_nothing_and_a_rerun_commits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_identity: None
) -> None:
    root = tmp_path / "repo"
    result = run_cli(capsys, "init", str(root))
    assert result.code == 2 and result.err.count("\n") == 1 and "git refused the commit" in result.err
    assert not root.exists()

    _with_identity(monkeypatch)
    assert run_cli(capsys, "init", str(root)).code == 0
    assert git(root, "log", "--format=%s").strip() == "gitops-gen init: generate the Mastodon tree"
    assert git(root, "status", "--porcelain") == ""


def test_a_refused_regeneration_puts_files_and_index_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_identity: None
) -> None:
    root = tmp_path / "repo"
    _with_identity(monkeypatch)
    assert run_cli(capsys, "init", str(root)).code == 0
    spec = root / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("web: {replicas: 1}", "web: {replicas: 2}", 1))
    assert "web: {replicas: 2}" in spec.read_text()
    before = snapshot(root)

    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(name)
    assert run_cli(capsys, "init", str(root)).code == 2
    assert snapshot(root) == before
    assert git(root, "status", "--porcelain").strip() == "M gitops-gen.yaml"  # only the user's own edit, unstaged

    _with_identity(monkeypatch)
    assert run_cli(capsys, "init", str(root)).code == 0
    assert git(root, "status", "--porcelain") == "" and len(git(root, "log", "--format=%h").split()) == 2


def test_init_after_no_commit_commits_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root), "--no-commit").code == 0
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0 and "committed" in result.out, result.out
    assert git(root, "status", "--porcelain") == ""
    assert run_cli(capsys, "init", str(root)).out.endswith("nothing to commit\n")
