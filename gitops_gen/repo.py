"""Git: the only module that imports ``git`` (GitPython). Everything it returns is plain data."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

import git
from git.exc import BadName, GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from gitops_gen.errors import RepoError


def _open(directory: Path) -> git.Repo:
    try:
        return git.Repo(directory, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError) as error:
        raise RepoError(f"{directory} is not inside a git repository: run gitops-gen init there first") from error


def is_repo(directory: Path) -> bool:
    """True when ``directory`` is inside a git work tree."""
    try:
        git.Repo(directory, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return False
    return True


def ensure_repo(directory: Path) -> None:
    """Make ``directory`` a git repository unless it already is inside one."""
    if not is_repo(directory):
        git.Repo.init(directory, initial_branch="main")


def top_level(directory: Path) -> Path:
    """The root of the work tree that contains ``directory``."""
    work_tree = _open(directory).working_tree_dir
    if work_tree is None:
        raise RepoError(f"{directory} is in a bare repository; gitops-gen needs a work tree")
    return Path(work_tree)


def commit_paths(directory: Path, paths: Iterable[Path], message: str) -> str | None:
    """Stage exactly ``paths`` (written or deleted) and commit them; return the new commit, or None when
    nothing changed. Nothing else in the index is touched, so unrelated staged work stays staged."""
    repo = _open(directory)
    root = top_level(directory)
    relative = sorted({str(path.resolve().relative_to(root.resolve())) for path in paths})
    if not relative:
        return None
    try:
        repo.git.add("--all", "--", *relative)
        has_head = repo.head.is_valid()
        changed = repo.git.diff("--cached", "--name-only", "--", *relative) if has_head else "\n".join(relative)
        if not changed.strip():
            return None
        repo.git.commit("--no-verify", "-m", message, "--", *relative)
    except GitCommandError as error:
        raise RepoError(f"git refused the commit in {root}: {_first_line(error.stderr)}") from error
    return str(repo.head.commit.hexsha)


def resolve_ref(directory: Path, ref: str) -> str:
    """The commit a ref names; ``RepoError`` when it names none."""
    try:
        return str(_open(directory).commit(ref).hexsha)
    except (BadName, ValueError, GitCommandError) as error:
        raise RepoError(f"git ref {ref!r} does not name a commit in {directory}") from error


def export_tree(directory: Path, ref: str, destination: Path) -> str:
    """Write the files committed at ``ref`` into ``destination`` (never the work tree); return the commit."""
    repo = _open(directory)
    commit = resolve_ref(directory, ref)
    archive = io.BytesIO()
    repo.archive(archive, treeish=commit, format="tar")
    archive.seek(0)
    with tarfile.open(fileobj=archive) as tar:
        tar.extractall(destination, filter="data")
    return commit


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0].removeprefix("stderr: ").strip("'") if lines else "no message"


def tree_id(directory: Path, commit: str) -> str:
    """The id of the tree a commit records: equal trees, equal content (a key for caching renders)."""
    try:
        return str(_open(directory).commit(commit).tree.hexsha)
    except (BadName, ValueError, GitCommandError) as error:
        raise RepoError(f"git ref {commit!r} does not name a commit in {directory}") from error
