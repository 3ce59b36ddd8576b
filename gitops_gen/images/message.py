"""The commit message of an image change: a ``--message`` template filled in, one line per change below it."""

from __future__ import annotations

import string
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
    """Fill a ``--message`` template with the plain placeholders ``values`` names; anything else (an unknown
    ``{field}``, ``{overlay.__class__}``, ``{old[0]}``, ``{new!r}``) is an ``InputError`` listing the known ones."""
    known = ", ".join("{" + key + "}" for key in values)
    try:
        fields = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(template)
                  if field is not None]
    except ValueError as error:
        raise InputError(f"--message: {error}; use {known} and double {{{{ }}}} for literal braces") from error
    for field, spec, conversion in fields:
        if field not in values or spec or conversion:
            written = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            what = "unknown field" if field not in values else "not a plain placeholder"
            raise InputError(f"--message: {what} {written}; use {known}")
    return template.format_map(dict(values))


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
