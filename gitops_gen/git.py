"""Git: the only module that imports ``git`` (GitPython). Everything it returns is plain data."""

from __future__ import annotations

import contextlib
import fcntl
import io
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gitops_gen.atomicfile import write_atomic
from gitops_gen.errors import RepoError

try:
    import git
    from git.exc import BadName, GitCommandError, InvalidGitRepositoryError, NoSuchPathError
except ImportError as error:  # GitPython refuses to load when it finds no git executable
    raise RepoError(
        "git is not installed or not on PATH: install it (Debian/Ubuntu: apt-get install git; "
        "python images: add git to the image) or point GIT_PYTHON_GIT_EXECUTABLE at it"
    ) from error


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
    has_head = repo.head.is_valid()
    try:
        repo.git.add("--all", "--", *relative)
        changed = repo.git.diff("--cached", "--name-only", "--", *relative) if has_head else "\n".join(relative)
        if not changed.strip():
            return None
        repo.git.commit("--no-verify", "-m", message, "--", *relative)
    except GitCommandError as error:
        # A refused commit (no identity, a hook) must not leave these paths staged.
        with contextlib.suppress(GitCommandError):
            if has_head:
                repo.git.reset("-q", "HEAD", "--", *relative)
            else:
                repo.git.rm("-q", "-r", "--cached", "--ignore-unmatch", "--", *relative)
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


# --- what bump-image and promote need: cleanliness checks, undo, and a push that survives a race ---------------


def uncommitted(directory: Path, paths: Iterable[Path]) -> list[str]:
    """Those of ``paths`` (relative to the work tree root) that are untracked or differ from HEAD in the index
    or the work tree."""
    repo = _open(directory)
    root = top_level(directory).resolve()
    relative = sorted({str(path.resolve().relative_to(root)) for path in paths})
    if not relative:
        return []
    try:
        status = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--", *relative)
    except GitCommandError as error:
        raise RepoError(f"git status failed in {root}: {_first_line(error.stderr)}") from error
    # -z records are "XY path"; a rename adds its source path as a record of its own, which we skip.
    dirty: list[str] = []
    records = iter(status.split("\0"))
    for record in records:
        if len(record) < 4:
            continue
        dirty.append(record[3:])
        if record[0] in "RC":
            next(records, None)
    return sorted(dirty)


def saved_index(directory: Path) -> bytes | None:
    """The index file as it is now (None: there is none yet), for ``restore_index`` after an undo."""
    path = Path(_open(directory).index.path)
    return path.read_bytes() if path.exists() else None


def restore_index(directory: Path, saved: bytes | None) -> None:
    """Put back an index saved by ``saved_index``: what the user had staged is staged again, exactly."""
    path = Path(_open(directory).index.path)
    if saved is None:
        path.unlink(missing_ok=True)
    else:
        write_atomic(path, saved)


@contextlib.contextmanager
def exclusive(directory: Path, *, wait: float = 60.0) -> Iterator[None]:
    """Hold the repository's gitops-gen lock (``<git dir>/gitops-gen.lock``, an flock) while writing.

    Two commands that edit the same repository at once would each plan from what the other is about to
    change; the second waits up to ``wait`` seconds, then plans from what the first committed.
    """
    git_dir = Path(_open(directory).common_dir)
    path = git_dir / "gitops-gen.lock"
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RepoError(f"another gitops-gen has been writing to {top_level(directory)} for "
                                    f"{wait:g}s ({path} is locked): wait for it, then run the command again") from None
                time.sleep(0.05)
        _remove_git_locks_of_a_killed_run(handle, git_dir)
        # While we hold the lock, the file says since when: a run killed with SIGKILL leaves it behind.
        handle.seek(0)
        handle.truncate()
        handle.write(f"{time.time()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_git_locks_of_a_killed_run(handle: IO[str], git_dir: Path) -> None:
    """A gitops-gen killed inside `git commit` leaves git's lock files (index.lock, HEAD.lock, a ref's .lock),
    and git then refuses every commit until someone deletes them.

    The lock file still holding a start time, once we hold the flock, means the last holder died without
    finishing; a git lock made since it started is its git's, and nobody else will ever remove it.
    """
    handle.seek(0)
    recorded = handle.read().strip()
    if not recorded:
        return
    with contextlib.suppress(ValueError):
        since = float(recorded) - 1
        candidates = [git_dir / name for name in ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "packed-refs.lock")]
        for lock in [*candidates, *git_dir.glob("refs/**/*.lock")]:
            with contextlib.suppress(OSError):
                if lock.stat().st_mtime >= since:
                    lock.unlink()


def head_commit(directory: Path) -> str | None:
    """The commit HEAD points at, or None in a repository without commits."""
    repo = _open(directory)
    return str(repo.head.commit.hexsha) if repo.head.is_valid() else None


def unstage(directory: Path, paths: Iterable[Path]) -> None:
    """Make the index entries of ``paths`` match HEAD again (undo a ``git add`` of them)."""
    repo = _open(directory)
    root = top_level(directory).resolve()
    relative = sorted({str(path.resolve().relative_to(root)) for path in paths})
    if relative and repo.head.is_valid():
        try:
            repo.git.reset("-q", "HEAD", "--", *relative)
        except GitCommandError as error:
            raise RepoError(f"git could not unstage {', '.join(relative)}: {_first_line(error.stderr)}") from error


def undo_commits(directory: Path, commit: str) -> None:
    """Move the current branch back to ``commit`` (``git reset --keep``: local changes elsewhere survive)."""
    repo = _open(directory)
    try:
        repo.git.reset("--keep", commit)
    except GitCommandError as error:
        raise RepoError(
            f"git could not move {top_level(directory)} back to {commit[:12]}: {_first_line(error.stderr)}; "
            f"run `git reset --keep {commit[:12]}` after resolving it"
        ) from error


@dataclass(frozen=True)
class PushResult:
    """Where a push went and what it took: ``attempts`` pushes, ``rebases`` rebases onto a moved remote."""

    remote: str
    branch: str
    attempts: int
    rebases: int
    commit: str  # what the remote branch now points at: after a rebase, not the commit made before it


def push_with_rebase(
    directory: Path, *, attempts: int = 5, backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep
) -> PushResult:
    """Push the current branch to the branch it tracks, never forcing.

    Before each push the remote is fetched and, if it moved, the local commits are rebased onto it. A push
    that is rejected because the remote moved in between is retried after ``backoff * 2**n`` seconds, at
    most ``attempts`` times in all. A rebase conflict is aborted (the branch is left as it was) and reported.
    """
    repo = _open(directory)
    tracking = _tracking_branch(repo, directory)
    remote, remote_branch = tracking.remote_name, tracking.remote_head
    rebases = 0
    with repo.git.custom_environment(GIT_TERMINAL_PROMPT="0"):
        for attempt in range(1, attempts + 1):
            if _fetch_and_rebase(repo, remote, tracking.path):
                rebases += 1
            try:
                repo.git.push(remote, f"HEAD:refs/heads/{remote_branch}")
            except GitCommandError as error:
                _fetch(repo, remote)
                if not _remote_moved(repo, tracking.path):
                    raise RepoError(f"git push to {remote} failed: {_first_line(error.stderr)}") from error
                if attempt < attempts:
                    sleep(backoff * 2 ** (attempt - 1))
                continue
            return PushResult(remote, remote_branch, attempt, rebases, str(repo.head.commit.hexsha))
    raise RepoError(
        f"the remote branch {remote}/{remote_branch} kept moving: "
        f"{attempts} pushes were rejected; run the command again"
    )


def upstream(directory: Path) -> str:
    """The remote branch the current branch tracks (``origin/main``); ``RepoError`` when there is none."""
    return str(_tracking_branch(_open(directory), directory).name)


def _tracking_branch(repo: git.Repo, directory: Path) -> git.RemoteReference:
    try:
        branch = repo.active_branch
    except TypeError as error:
        raise RepoError(f"{top_level(directory)}: HEAD is detached; check out a branch before --push") from error
    tracking = branch.tracking_branch()
    if tracking is None:
        raise RepoError(
            f"branch {branch.name} tracks no remote branch: "
            f"run `git push -u <remote> {branch.name}` once, or drop --push"
        )
    return tracking


def _fetch(repo: git.Repo, remote: str) -> None:
    try:
        repo.git.fetch("--quiet", remote)
    except GitCommandError as error:
        raise RepoError(f"git fetch {remote} failed: {_first_line(error.stderr)}") from error


def _remote_moved(repo: git.Repo, tracking: str) -> bool:
    """True when the remote-tracking branch has commits that HEAD does not contain."""
    try:
        remote_tip = repo.commit(tracking)
    except (BadName, ValueError):
        return False  # the remote branch does not exist yet: the push creates it
    return not repo.is_ancestor(remote_tip, repo.head.commit)


def _fetch_and_rebase(repo: git.Repo, remote: str, tracking: str) -> bool:
    _fetch(repo, remote)
    if not _remote_moved(repo, tracking):
        return False
    try:
        repo.git.rebase("--autostash", "--no-verify", tracking)
    except GitCommandError as error:
        with contextlib.suppress(GitCommandError):
            repo.git.rebase("--abort")
        raise RepoError(
            f"the remote branch {tracking} changed the same lines; rebase stopped: {_first_line(error.stderr)}"
        ) from error
    return True


def remote_url(directory: Path, remote: str = "origin") -> str | None:
    """The URL of ``remote`` of the repository containing ``directory``, or None (no repository, no remote)."""
    try:
        found = git.Repo(directory, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    if remote not in [r.name for r in found.remotes]:
        return None
    return str(found.remote(remote).url)
