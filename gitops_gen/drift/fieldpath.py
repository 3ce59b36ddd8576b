"""Paths into Kubernetes objects: fields, list items matched by their keys, and how a path is written.

``spec.template.spec.containers[name=web].env[name=FOO]``: dots between fields, ``[key=value]`` for a list
item matched by its merge keys, ``[N]`` for a position, ``["..."]`` for a map key that is not a plain word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# A list-map key the API server defaults when it is left out (ports: protocol TCP).
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


class _Absent:
    """A field that is not there at all (``None`` is a value a field can hold)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Key:
    """A list item matched by its merge keys: ``[name=web]``, ``[containerPort=3000,protocol=TCP]``."""

    pairs: tuple[tuple[str, Any], ...]

    def matches(self, other: Key) -> bool:
        return dict(self.pairs) == dict(other.pairs)

    def __str__(self) -> str:
        return "[" + ",".join(f"{name}={scalar_text(value)}" for name, value in self.pairs) + "]"


@dataclass(frozen=True)
class Index:
    """A list item matched by position, for lists whose order means something."""

    position: int

    def __str__(self) -> str:
        return f"[{self.position}]"


@dataclass(frozen=True)
class Member:
    """An item of a list that is a set (``x-kubernetes-list-type: set``)."""

    value: Any

    def __str__(self) -> str:
        return f"[{scalar_text(self.value)}]"


Segment = str | Key | Index | Member
FieldPath = tuple[Segment, ...]


def scalar_text(value: Any) -> str:
    """A value as it appears inside a path: strings bare, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def format_path(path: FieldPath) -> str:
    """Dots between fields, ``[key=value]`` for keyed list items; map keys that are not plain words are
    quoted (labels and annotations carry dots and slashes).

    >>> format_path(("spec", "template", "spec", "containers", Key((("name", "web"),)), "image"))
    'spec.template.spec.containers[name=web].image'
    >>> format_path(("metadata", "labels", "app.kubernetes.io/name"))
    'metadata.labels["app.kubernetes.io/name"]'
    """
    text = ""
    for segment in path:
        if isinstance(segment, str):
            if _PLAIN_KEY.match(segment):
                text += ("." if text else "") + segment
            else:
                text += "[" + json.dumps(segment) + "]"
        else:
            text += str(segment)
    return text


def segment_matches(a: Segment, b: Segment) -> bool:
    """Equal segments; keyed items are equal whatever the order of their keys."""
    if isinstance(a, Key) and isinstance(b, Key):
        return a.matches(b)
    return a == b


def is_prefix(prefix: FieldPath, path: FieldPath) -> bool:
    """Whether ``path`` lies at or under ``prefix``."""
    return len(prefix) <= len(path) and all(segment_matches(x, y) for x, y in zip(prefix, path, strict=False))


def is_empty(value: Any) -> bool:
    """Absent, null, or a zero value that Go's ``omitempty`` leaves out of what the server returns."""
    # Go's omitempty drops these, so a desired zero value and an absent live field are the same thing.
    if value is ABSENT or value is None:
        return True
    if isinstance(value, list | dict | str | bool):
        return not value
    return isinstance(value, int) and value == 0


def find_item(values: Any, segment: Key) -> Any:
    """The item of list ``values`` that ``segment`` names (a left-out protocol counts as TCP), or ABSENT."""
    if not isinstance(values, list):
        return ABSENT
    wanted = dict(segment.pairs)
    names = list(wanted)
    for item in values:
        if isinstance(item, dict) and all(
            item.get(name, KEY_DEFAULTS.get(name)) == wanted[name] for name in names
        ):
            return item
    return ABSENT
