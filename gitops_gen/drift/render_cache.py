"""A cache of rendered overlays, keyed by content: the git tree of the commit, the overlay, and the kustomize
that rendered it. A tree never changes under its id, so a hit is exactly what kustomize would print again;
kustomize is slow on large trees (quadratic in the number of objects), and a scheduled check mostly sees the
same commit. Trees that pull remote resources are never cached: their render can change without a commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from gitops_gen.objects import KubeObject

_REMOTE = re.compile(r"://|git::|\?ref=|^\s*-\s*(github\.com|gitlab\.com|bitbucket\.org)/", re.MULTILINE)
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KEEP = 16


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-gen" / "render"


def uses_remote_resources(root: Path) -> bool:
    """Whether any kustomization under ``root`` refers to a URL or a remote git repository."""
    for name in _KUSTOMIZATION_NAMES:
        for path in root.rglob(name):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                if _REMOTE.search(path.read_text(encoding="utf-8")):
                    return True
    return False


def key(*parts: str) -> str:
    """A cache key from the parts that determine a render."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def load(cache_key: str) -> list[KubeObject] | None:
    """The cached render, or None."""
    path = cache_dir() / f"{cache_key}.json"
    try:
        objects = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(objects, list):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used: kept by the pruning below
    return objects


def store(cache_key: str, objects: list[KubeObject]) -> None:
    """Remember a render; keep only the KEEP most recently used. A failure to write is not an error: the cache
    only saves time."""
    directory = cache_dir()
    # TypeError/ValueError: YAML can hold values JSON cannot (dates); such a render is simply not cached.
    with contextlib.suppress(OSError, TypeError, ValueError):
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f"{cache_key}.{os.getpid()}.tmp"
        partial.write_text(json.dumps(objects, separators=(",", ":")), encoding="utf-8")
        partial.replace(directory / f"{cache_key}.json")
        entries = sorted(directory.glob("*.json"), key=lambda path: path.stat().st_mtime, reverse=True)
        for stale in entries[KEEP:]:
            stale.unlink()
