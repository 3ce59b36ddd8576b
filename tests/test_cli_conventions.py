"""What users type without thinking works: -h, version, completion, NO_COLOR, a machine without git, and a
--help that loads none of the heavy libraries."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_gen.cli import main
from tests.helpers import init_from_spec

HEAVY = ("pydantic", "git", "kubernetes", "ruamel", "rich", "yaml", "cryptography")


def _gitops_gen(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitops_gen", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


def test_help_loads_none_of_the_heavy_libraries() -> None:
    code = (
        "import sys; from gitops_gen.cli import main; main(['--help']); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_version_is_answered_before_typer_and_its_pydantic_are_loaded() -> None:
    # typer 0.29 imports pydantic on any command invocation: `version` must not pay for it (issue #13, item 13).
    for args in (["version"], ["--version"]):
        code = (
            f"import sys; from gitops_gen.cli import main; main({args!r}); "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {{'typer', 'click', *{HEAVY!r}}}))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        printed, loaded = done.stdout.strip().splitlines()
        assert printed.startswith("gitops-gen ") and loaded == "[]", (args, done.stdout)


def test_drift_reads_its_spec_sections_without_building_the_whole_spec_model(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Building every model of the spec is about 30 ms of a half-second drift run on the default overlay (issue #13,
    # item 13); drift needs only the drift section and each overlay's context. The run ends at the unreachable
    # server (exit 2).
    assert init_from_spec(capsys, tmp_path / "repo", "drift: {ci: none}\n").code == 0
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")
    code = (
        "import sys; from gitops_gen.cli import main; "
        f"status = main(['drift', '--repo', {str(tmp_path / 'repo')!r}, '--overlay', 'production', '--kubeconfig', "
        f"{str(kubeconfig)!r}, '--timeout', '2']); "
        "print(status, sorted(m for m in sys.modules if m.startswith('gitops_gen.spec.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "cannot reach the API server" in done.stderr, done.stderr
    status, loaded = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "2"
    assert "gitops_gen.spec.drift" in loaded and "gitops_gen.spec.model" not in loaded, loaded


def test_short_help_and_the_version_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    long_help = capsys.readouterr().out
    assert main(["-h"]) == 0
    assert capsys.readouterr().out == long_help
    assert "--install-completion" in long_help and "version" in long_help
    assert main(["init", "-h"]) == 0
    assert "--no-commit" in capsys.readouterr().out
    assert main(["version"]) == 0
    assert main(["--version"]) == 0
    by_command, by_option = capsys.readouterr().out.splitlines()
    assert by_command == by_option and by_command.startswith("gitops-gen ")


def test_help_shows_no_python_type_metavars(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("init", "bump-image", "promote", "secrets", "drift"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert "<list" not in text and "<bool>" not in text and "BOOLEAN" not in text, command


def test_without_git_help_works_and_commands_fail_with_one_line(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {**os.environ, "PATH": str(empty_bin)}
    env.pop("GIT_PYTHON_GIT_EXECUTABLE", None)
    assert _gitops_gen("--help", env=env).returncode == 0
    for args in (("init", str(tmp_path / "repo")), ("bump-image", "--tag", "v4.5.0", "--repo", str(tmp_path)),
                 ("drift", "--repo", str(tmp_path))):
        done = _gitops_gen(*args, env=env)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and "git is not installed" in done.stderr, done.stderr
    assert not (tmp_path / "repo").exists()


def _stderr_through_a_terminal(env: dict[str, str], cwd: Path) -> bytes:
    """Run a failing command with stderr on a pseudo-terminal, the way a person sees it."""
    leader, follower = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "gitops_gen", "bump-image", "--tag", "v4.5.0"], stderr=follower,
                       stdout=subprocess.DEVNULL, env=env, cwd=cwd, timeout=60, check=False)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(leader)


def test_error_lines_are_coloured_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    assert b"\x1b[" in _stderr_through_a_terminal(env, tmp_path)
    plain = _stderr_through_a_terminal({**env, "NO_COLOR": "1"}, tmp_path)
    assert b"gitops-gen: error:" in plain and b"\x1b[" not in plain
    piped = _gitops_gen("bump-image", "--tag", "v4.5.0", env=env, cwd=tmp_path)
    assert piped.returncode == 2 and "\x1b[" not in piped.stderr
