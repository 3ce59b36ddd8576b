"""The commit message of an image change: a ``--message`` template filled in, one line per change below it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gitops_gen.errors import InputError
from gitops_gen.images.entries import EntryChange
from gitops_gen.images.reference import FAMILY_LABEL, MASTODON_FAMILY, short_name


def image_label(changes: Sequence[EntryChange]) -> str:
    """``mastodon`` when the changes move the whole Mastodon family, else the short names of the changed images."""
    names = list(dict.fromkeys(change.entry.name for change in changes))
    if set(names) == set(MASTODON_FAMILY):
        return FAMILY_LABEL
    return ", ".join(dict.fromkeys(short_name(name) for name in names))


def render_message(template: str, values: Mapping[str, str]) -> str:
    """Fill a ``--message`` template; an unknown ``{field}`` is an ``InputError`` that lists the known ones."""
    known = ", ".join("{" + key + "}" for key in values)
    try:
        return template.format_map(dict(values))
    except KeyError as error:
        raise InputError(f"--message: unknown field {{{error.args[0]}}}; use {known}") from error
    except (ValueError, IndexError) as error:
        raise InputError(f"--message: {error}; use {known} and double {{{{ }}}} for literal braces") from error


def commit_message(template: str, changes: Sequence[EntryChange], extra: Mapping[str, str] | None = None) -> str:
    """The commit message: ``template`` filled in for all ``changes``, and one line per change below it when
    there is more than one."""
    values = {
        "overlay": ", ".join(dict.fromkeys(change.overlay for change in changes)),
        "image": image_label(changes),
        "old": ", ".join(dict.fromkeys(change.old_version for change in changes)),
        "new": ", ".join(dict.fromkeys(change.new_version for change in changes)),
        **(extra or {}),
    }
    subject = render_message(template, values)
    if len(changes) < 2:
        return subject
    body = [f"- {c.overlay}: {c.entry.name} {c.old_version} -> {c.new_version}" for c in changes]
    return subject + "\n\n" + "\n".join(body)
