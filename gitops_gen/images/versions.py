"""Tags as versions: which tags float (``latest``, ``main``) and which change moves an image backwards.

Versions are compared by ``packaging`` (PEP 440 ordering, which reads Mastodon's ``v4.3.1`` and
``v4.4.0-rc.1`` tags as releases and pre-releases), never by a regular expression of our own.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import InvalidVersion, Version

from gitops_gen.errors import InputError
from gitops_gen.images.entries import EntryChange


def as_version(tag: str | None) -> Version | None:
    """The version a tag names, or None for a tag that is not a version (``latest``, ``main``, ``edge``).

    >>> as_version("v4.3.1") > as_version("v4.3.0")
    True
    >>> as_version("latest") is None
    True
    """
    if not tag:
        return None
    try:
        return Version(tag)
    except InvalidVersion:
        return None


def refuse_floating(tag: str | None) -> None:
    """Raise ``InputError`` for a tag that names no version: the image behind it changes without a commit."""
    if tag is not None and as_version(tag) is None:
        raise InputError(
            f"--tag {tag!r} is not a version, so the image behind it can change without a commit; "
            "set a release tag (e.g. v4.3.1) or pass --allow-floating"
        )


def refuse_downgrades(changes: Sequence[EntryChange]) -> None:
    """Raise ``InputError`` naming the first change that moves an image to an older version."""
    for change in changes:
        old, new = as_version(change.entry.new_tag), as_version(change.new_tag)
        if old is not None and new is not None and new < old:
            raise InputError(
                f"{change.overlay}: {change.entry.name} {change.entry.new_tag} -> {change.new_tag} is a downgrade "
                "(database migrations do not run backwards); pass --allow-downgrade if you mean it"
            )
