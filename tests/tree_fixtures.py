"""Repositories made by ``gitops-gen init`` for the image commands (bump-image, promote, --push), and the git
plumbing their tests share: a bare remote, a second clone, a snapshot of everything a refused command must leave.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

MAIN_IMAGE = "ghcr.io/mastodon/mastodon"
STREAMING_IMAGE = "ghcr.io/mastodon/mastodon-streaming"


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its stdout (the identity comes from the autouse fixture's env)."""
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def spec_text(version: str, overlays: Iterable[str]) -> str:
    """A spec with two sidekiq worker groups (one runs the scheduler) and the given overlays at ``version``."""
    return (
        "name: mastodon\n"
        f"images:\n  mastodon: {{repository: {MAIN_IMAGE}, tag: {version}}}\n"
        f"  streaming: {{repository: {STREAMING_IMAGE}, tag: {version}}}\n"
        "sidekiq:\n"
        "  - {name: default, queues: [default, push, ingress, pull, mailers, fasp], concurrency: 10}\n"
        "  - {name: scheduler, queues: [scheduler], concurrency: 5}\n"
        "overlays:\n" + "".join(f"  {env}: {{namespace: mastodon-{env}}}\n" for env in overlays)
    )


def build_tree(
    root: Path,
    *,
    version: str = "v4.3.0",
    overlays: Iterable[str] = ("staging", "production"),
    extra: Mapping[str, str] | None = None,
) -> Path:
    """A repository made by ``gitops-gen init`` (one commit), plus ``extra`` files committed on top."""
    from gitops_gen.cli import main

    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(spec_text(version, overlays))
    if main(["init", str(root)]) != 0:
        raise AssertionError(f"gitops-gen init failed in {root}")
    if extra:
        write_files(root, extra)
        commit_all(root, "extra files")
    return root


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--no-verify", "-m", message)


def snapshot(root: Path) -> dict[str, object]:
    """Everything a refused command must leave alone: HEAD, index and work tree status, and every file's bytes."""
    files = {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }
    state: dict[str, object] = {"files": files}
    if (root / ".git").exists():
        state["head"] = git(root, "rev-parse", "HEAD")
        state["status"] = git(root, "status", "--porcelain")
        state["index"] = git(root, "ls-files", "--stage")
    return state


def add_remote(root: Path, bare: Path) -> None:
    """Create a bare repository at ``bare``, push ``main`` to it and make ``main`` track it."""
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    git(root, "remote", "add", "origin", str(bare))
    git(root, "push", "--quiet", "-u", "origin", "main")


def clone(bare: Path, destination: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(bare), str(destination)], check=True, capture_output=True)
    return destination
