"""Rules that make drift ignore differences: objects selected by group / kind / namespace / name (globs), fields
selected by JSON pointers; from the spec (``drift.ignore``), the command line (``--ignore``), and implied by an
HorizontalPodAutoscaler (its target's ``spec.replicas``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gitops_gen.drift.fieldpath import FieldPath, Index, Key, scalar_text
from gitops_gen.objects import KubeObject, ObjectKey


@dataclass(frozen=True)
class IgnoreRule:
    """Differences to ignore: objects selected by kind / name / namespace / group (globs; None = any), and
    fields selected by JSON pointers. A pointer ``/`` (or no pointer) ignores the whole object.

    A pointer token matches a field name, a list item by any of its key values (``containers/web``) or
    position, or ``*`` for anything.
    """

    pointers: tuple[str, ...] = ("/",)
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    group: str | None = None

    def selects(self, key: ObjectKey) -> bool:
        group, kind, namespace, name = key
        return all(
            pattern is None or fnmatch.fnmatchcase(value, pattern)
            for pattern, value in ((self.group, group), (self.kind, kind), (self.namespace, namespace),
                                   (self.name, name))
        )

    @property
    def whole_object(self) -> bool:
        return any(pointer in ("", "/") for pointer in self.pointers)

    def covers(self, path: FieldPath) -> bool:
        return any(_pointer_covers(_pointer_tokens(pointer), path) for pointer in self.pointers)


def _pointer_tokens(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.lstrip("/").split("/")]


def _pointer_covers(tokens: Sequence[str], path: FieldPath) -> bool:
    if len(tokens) > len(path):
        return False
    for token, segment in zip(tokens, path, strict=False):
        if token == "*":
            continue
        if isinstance(segment, str):
            matched = token == segment
        elif isinstance(segment, Key):
            matched = token in {scalar_text(value) for _, value in segment.pairs}
        elif isinstance(segment, Index):
            matched = token == str(segment.position)
        else:
            matched = token == scalar_text(segment.value)
        if not matched:
            return False
    return True


def parse_ignore(text: str) -> IgnoreRule:
    """Parse a command-line rule ``[GROUP/]KIND[/NAMESPACE]/NAME:POINTER[,POINTER...]``; globs allowed.

    >>> parse_ignore("Deployment/web:/spec/replicas")
    IgnoreRule(pointers=('/spec/replicas',), kind='Deployment', name='web', namespace=None, group=None)
    >>> parse_ignore("*:/metadata/annotations/team").kind
    '*'
    """
    selector, sep, pointers = text.partition(":")
    if not sep or not selector or not pointers:
        raise ValueError(f"ignore rule {text!r} is not KIND[/NAME]:POINTER (e.g. Deployment/web:/spec/replicas)")
    parts = selector.split("/")
    group = namespace = name = None
    if len(parts) == 1:
        kind = parts[0]
    elif len(parts) == 2:
        kind, name = parts
    elif len(parts) == 3:
        kind, namespace, name = parts
    elif len(parts) == 4:
        group, kind, namespace, name = parts
    else:
        raise ValueError(f"ignore rule {text!r}: the selector is [GROUP/]KIND[/NAMESPACE]/NAME")
    tokens = tuple(pointer.strip() for pointer in pointers.split(",") if pointer.strip())
    for pointer in tokens:
        if not pointer.startswith("/"):
            raise ValueError(f"ignore rule {text!r}: {pointer!r} is not a JSON pointer (it starts with /)")
    return IgnoreRule(tokens, kind=kind, name=name, namespace=namespace, group=group)


def hpa_ignore_rules(objects: Iterable[KubeObject]) -> tuple[IgnoreRule, ...]:
    """An HorizontalPodAutoscaler owns its target's replica count: ignore ``spec.replicas`` there."""
    rules: list[IgnoreRule] = []
    for obj in objects:
        if obj.get("kind") != "HorizontalPodAutoscaler":
            continue
        target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
        if not target.get("kind") or not target.get("name"):
            continue
        namespace = (obj.get("metadata") or {}).get("namespace")
        rules.append(IgnoreRule(("/spec/replicas",), kind=str(target["kind"]), name=str(target["name"]),
                                namespace=str(namespace) if namespace else None))
    return tuple(rules)
