"""The CI job installs the gitops-gen that generated the repository: real pip, real git, real venvs.

These tests run the real ``gitops-gen`` executables (never the suite's in-process stand-in for the install
record, see ``conftest._installed_from_git``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from gitops_gen.generate import install_line
from tests.ci_sandbox import VENV_BIN, github_steps
from tests.helpers import git

REPO_ROOT = Path(__file__).resolve().parent.parent


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--upgrade-deps", str(path)], check=True, capture_output=True)
    return path / "bin"


def _direct_url(python: Path) -> dict[str, object]:
    code = 'from importlib.metadata import distribution; print(distribution("gitops-gen").read_text("direct_url.json"))'
    # Not from this checkout: its gitops_gen.egg-info would answer for a `python -c` started there.
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=python.parent)
    record: dict[str, object] = json.loads(done.stdout)
    return record


def test_the_generated_install_line_installs_the_commit_that_generated_the_repo(tmp_path: Path) -> None:
    source = tmp_path / "gitops-gen-src"  # this worktree's committed HEAD, as a git URL a pip can fetch
    subprocess.run(["git", "clone", "-q", "--no-local", str(REPO_ROOT), str(source)], check=True)
    commit = git(source, "rev-parse", "HEAD").strip()
    a = _venv(tmp_path / "a")
    subprocess.run([str(a / "pip"), "install", "-q", f"gitops-gen @ git+file://{source}@{commit}"], check=True)

    repo = tmp_path / "repo"
    done = subprocess.run([str(a / "gitops-gen"), "init", str(repo)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    install = github_steps((repo / ".github/workflows/drift.yaml").read_text())["Install gitops-gen"]["run"]
    assert install == f'pip install "gitops-gen @ git+file://{source}@{commit}"'

    b = _venv(tmp_path / "b")  # empty: the runner's fresh environment
    env = {**os.environ, "PATH": f"{b}:{os.environ['PATH']}"}
    ran = subprocess.run(["sh", "-c", str(install)], env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    record = _direct_url(b / "python")
    assert record["vcs_info"] == {"vcs": "git", "commit_id": commit, "requested_revision": commit}
    assert subprocess.run([str(b / "gitops-gen"), "--version"], capture_output=True).returncode == 0


def _write_spec(root: Path, drift: str) -> None:
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(f"drift: {drift}\n")


def test_from_an_editable_install_init_asks_for_drift_install_unless_given_or_no_ci(tmp_path: Path) -> None:
    gitops_gen = str(VENV_BIN / "gitops-gen")  # this suite's own editable install
    assert "dir_info" in _direct_url(VENV_BIN / "python")
    _write_spec(tmp_path / "asks", "{ci: gitlab}")
    done = subprocess.run([gitops_gen, "init", str(tmp_path / "asks")], capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"{tmp_path / 'asks' / 'gitops-gen.yaml'}: drift.install:" in done.stderr
    assert "local path" in done.stderr and not (tmp_path / "asks" / "base").exists()

    _write_spec(tmp_path / "given", "{ci: gitlab, install: 'pip install gitops-gen==0.1.0'}")
    assert subprocess.run([gitops_gen, "init", str(tmp_path / "given")], capture_output=True).returncode == 0
    job = yaml.safe_load((tmp_path / "given" / ".gitlab-ci.yml").read_text())["drift"]
    assert job["before_script"][-1] == "pip install gitops-gen==0.1.0"

    _write_spec(tmp_path / "none", "{ci: none}")
    assert subprocess.run([gitops_gen, "init", str(tmp_path / "none")], capture_output=True).returncode == 0


def test_an_index_install_is_pinned_by_version_and_an_archive_by_url_and_hash() -> None:
    assert install_line.install_command(None, "0.2.0") == "pip install gitops-gen==0.2.0"
    archive = {"url": "https://files.example/gitops_gen-0.2.0.tar.gz", "archive_info": {"hash": "sha256=ab"}}
    assert install_line.install_command(archive, "0.2.0") == \
        'pip install "gitops-gen @ https://files.example/gitops_gen-0.2.0.tar.gz#sha256=ab"'
    for local in ({"url": "file:///src/gitops-gen", "dir_info": {"editable": True}},
                  {"url": "file:///tmp/gitops_gen-0.2.0.tar.gz", "archive_info": {}}):
        try:
            install_line.install_command(local, "0.2.0")
        except install_line.UnknownInstallError as error:
            assert "local path" in str(error)
        else:
            raise AssertionError(f"{local} must be refused")
