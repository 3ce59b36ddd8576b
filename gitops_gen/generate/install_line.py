"""The command a CI job runs to install the gitops-gen that generated the repository, from its install record.

pip writes a PEP 610 record (``direct_url.json``) for a distribution installed from a URL: a VCS URL with the
commit it resolved to, an archive URL, or a local directory (``dir_info``, editable or not). No record means an
index install, pinned by version. A local directory (or a ``file:`` archive) cannot be installed on a CI runner,
and nothing says where its code can be fetched from: the user must say so in ``drift.install``.
"""

from __future__ import annotations

import json
from importlib import metadata
from typing import Any

DISTRIBUTION = "gitops-gen"


class UnknownInstallError(ValueError):
    """The running gitops-gen was installed in a way a CI runner cannot repeat."""


def install_command(record: dict[str, Any] | None, version: str) -> str:
    """The pip command that installs exactly what ``record`` (PEP 610) describes.

    >>> install_command(None, "0.1.0")
    'pip install gitops-gen==0.1.0'
    >>> install_command({"url": "https://git.example/g.git", "vcs_info": {"vcs": "git", "commit_id": "ab12"}}, "0.1.0")
    'pip install "gitops-gen @ git+https://git.example/g.git@ab12"'
    """
    if record is None:
        return f"pip install {DISTRIBUTION}=={version}"
    url = str(record.get("url", ""))
    vcs = record.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") and vcs.get("commit_id"):
        subdirectory = f"#subdirectory={record['subdirectory']}" if record.get("subdirectory") else ""
        return f'pip install "{DISTRIBUTION} @ {vcs["vcs"]}+{url}@{vcs["commit_id"]}{subdirectory}"'
    archive = record.get("archive_info")
    if isinstance(archive, dict) and not url.startswith("file:"):
        digest = archive.get("hash") or next(iter(f"{k}={v}" for k, v in (archive.get("hashes") or {}).items()), "")
        return f'pip install "{DISTRIBUTION} @ {url}{"#" + digest if digest else ""}"'
    raise UnknownInstallError(f"gitops-gen runs from a local path ({url or 'unknown'}), which a CI runner cannot "
                              "install")


def pinned_install_command() -> str:
    """The install command for the gitops-gen that is running now (see the module docstring)."""
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise UnknownInstallError("gitops-gen runs from a source tree that is not installed") from None
    text = distribution.read_text("direct_url.json")
    try:
        record = json.loads(text) if text else None
    except ValueError:
        raise UnknownInstallError("gitops-gen's install record (direct_url.json) is unreadable") from None
    return install_command(record, distribution.version)
