"""Atomic file replacement: a reader (or a crash) sees the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")


def is_leftover(path: Path) -> bool:
    """A temporary file of ``write_atomic`` that a killed process left behind (``.<name>.<random>.tmp``)."""
    return bool(_TEMPORARY.fullmatch(path.name))


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: write a temporary file in the same directory, fsync it, rename it over.

    A rewritten file keeps its permission bits; a new one gets the mode ``open()`` would give it (0666 less the
    umask), not the 0600 of the temporary file. The directory is fsynced too, so the rename survives a crash.
    """
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    _fsync_directory(path.parent)


def _umask() -> int:
    # The only way to read the umask is to set it; put it straight back (gitops-gen writes from one thread).
    current = os.umask(0o022)
    os.umask(current)
    return current


def _fsync_directory(directory: Path) -> None:
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems do not let a directory be opened; the rename is still atomic there
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def write_atomically(path: Path, text: str) -> None:
    """``write_atomic`` for text (UTF-8), making the parent directories first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode("utf-8"))
