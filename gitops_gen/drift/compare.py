"""Drift: what the cluster holds that git does not say. Pure functions over plain dicts, no I/O.

Two questions are asked of every object that exists on both sides (the diff shape follows kopf's
``_cogs/structs/diffs.py``: a diff scoped to the fields one side specifies):

1. *Does the cluster still hold what git specifies?* Only the fields present in the desired object are
   compared, so that server defaults and controller-written fields never count. Values are compared as
   Kubernetes compares them: quantities by value, int-or-string by text, empty equal to absent, and lists
   matched by their merge keys from the server's OpenAPI document rather than by position.
2. *Did anyone add something git does not specify?* ``metadata.managedFields`` records who wrote each field.
   A field that git does not specify is drift when its owner is neither a Kubernetes controller nor the sync
   engine; a field the sync engine last *applied* that git no longer specifies is drift too (a pending
   removal).

Secret values never leave this module: a Secret's data fields are reported as changed with a fixed marker.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gitops_gen.drift.fieldpath import (
    ABSENT,
    KEY_DEFAULTS,
    FieldPath,
    Index,
    Key,
    is_empty,
    is_prefix,
)
from gitops_gen.drift.ignore_rules import hpa_ignore_rules
from gitops_gen.drift.managed_fields import (
    BOOKKEEPING_ANNOTATIONS,
    BOOKKEEPING_LABEL_PREFIXES,
    all_specified,
    is_creator,
    owners,
    walk_owned,
)
from gitops_gen.drift.policy import (
    Policy,
)
from gitops_gen.drift.result import REDACTED, FieldDrift, ObjectDrift, Status
from gitops_gen.kube.openapi import INT_OR_STRING, QUANTITY, Compact, SchemaCursor
from gitops_gen.objects import KubeObject, ObjectKey, object_key
from gitops_gen.quantity import parse_quantity

_METADATA_NEVER_COMPARED = frozenset({
    "creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink", "deletionTimestamp",
    "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "generateName",
})
_QUANTITY_CONTEXT = frozenset({"limits", "requests", "capacity", "hard", "allocatable", "sizeLimit", "storage"})


# -- selection and normalization --------------------------------------------------------------------------------


def trim_live(obj: KubeObject) -> KubeObject:
    """Drop what is never compared (``status``) as soon as an object arrives: 5,000 objects stay small."""
    obj.pop("status", None)
    return obj


def normalize_desired(obj: KubeObject) -> KubeObject:
    """What git specifies, in the form the API server stores: a Secret's ``stringData`` moves into ``data``
    (base64), ``status`` and server bookkeeping in ``metadata`` are dropped."""
    result = {key: value for key, value in obj.items() if key != "status"}
    metadata = {key: value for key, value in (obj.get("metadata") or {}).items()
                if key not in _METADATA_NEVER_COMPARED}
    result["metadata"] = metadata
    if obj.get("kind") == "Secret" and isinstance(obj.get("stringData"), Mapping):
        data = dict(obj.get("data") or {})
        for name, value in obj["stringData"].items():
            data[name] = base64.b64encode(str(value).encode()).decode()
        result["data"] = data
        del result["stringData"]
    return result


# -- value comparison -------------------------------------------------------------------------------------------


def _quantity_equal(a: Any, b: Any) -> bool | None:
    try:
        return parse_quantity(a) == parse_quantity(b)
    except (ValueError, ArithmeticError, TypeError):
        return None


def _scalars_equal(desired: Any, live: Any, cursor: SchemaCursor, path: FieldPath) -> bool:
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return bool(desired == live) and isinstance(desired, bool) and isinstance(live, bool)
    kind = cursor.scalar
    if kind == QUANTITY or (not cursor.known and any(s in _QUANTITY_CONTEXT for s in path if isinstance(s, str))):
        same = _quantity_equal(desired, live)
        if same is not None:
            return same
    if kind == INT_OR_STRING or not cursor.known:
        return str(desired) == str(live)
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return desired == live
    return False


def _item_key(item: Mapping[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple(item.get(name, KEY_DEFAULTS.get(name)) for name in keys)


def _list_keys(cursor: SchemaCursor, *lists: Sequence[Any]) -> tuple[str, ...]:
    keys = cursor.merge_keys
    items = [item for values in lists for item in values]
    if not keys and not cursor.known and items and all(isinstance(i, dict) and "name" in i for i in items):
        keys = ("name",)  # a list the schema does not describe (a CRD without one): by name, if all have one
    if keys and all(isinstance(item, dict) for item in items):
        return keys
    return ()


class _Differ:
    """Walks two values together and collects the differences (``full``: in both directions)."""

    def __init__(self, full: bool) -> None:
        self.full = full
        self.found: list[FieldDrift] = []

    def add(self, path: FieldPath, desired: Any, live: Any) -> None:
        self.found.append(FieldDrift(path, None if desired is ABSENT else desired, None if live is ABSENT else live))

    def value(self, desired: Any, live: Any, cursor: SchemaCursor, path: FieldPath) -> None:
        if desired is ABSENT and not self.full:
            return
        if type(desired) is type(live) and (desired == live):
            return  # the common case, decided by one C-level comparison
        if is_empty(desired) and is_empty(live):
            return
        if isinstance(desired, dict) and (isinstance(live, dict) or is_empty(live)):
            self.mapping(desired, live if isinstance(live, dict) else {}, cursor, path)
        elif isinstance(live, dict) and is_empty(desired) and self.full:
            self.mapping({}, live, cursor, path)
        elif isinstance(desired, list) and (isinstance(live, list) or is_empty(live)):
            self.sequence(desired, live if isinstance(live, list) else [], cursor, path)
        elif isinstance(live, list) and is_empty(desired) and self.full:
            self.sequence([], live, cursor, path)
        elif (desired is ABSENT or live is ABSENT or desired is None or live is None
              or isinstance(desired, dict | list) or isinstance(live, dict | list)
              or not _scalars_equal(desired, live, cursor, path)):
            self.add(path, desired, live)

    def mapping(self, desired: Mapping[str, Any], live: Mapping[str, Any], cursor: SchemaCursor,
                path: FieldPath) -> None:
        names = list(desired)
        if self.full:
            names += [name for name in live if name not in desired]
        for name in names:
            self.value(desired.get(name, ABSENT), live.get(name, ABSENT), cursor.child(name), (*path, name))

    def sequence(self, desired: Sequence[Any], live: Sequence[Any], cursor: SchemaCursor, path: FieldPath) -> None:
        keys = _list_keys(cursor, desired, live)
        item_cursor = cursor.item()
        if keys:
            live_by_key: dict[tuple[Any, ...], Any] = {}
            for item in live:
                live_by_key.setdefault(_item_key(item, keys), item)
            seen: set[tuple[Any, ...]] = set()
            for item in desired:
                key = _item_key(item, keys)
                seen.add(key)
                segment = Key(tuple(zip(keys, key, strict=True)))
                match = live_by_key.get(key, ABSENT)
                if match is ABSENT:
                    self.add((*path, segment), item, ABSENT)
                else:
                    self.value(item, match, item_cursor, (*path, segment))
            if self.full:
                for key, item in live_by_key.items():
                    if key not in seen:
                        self.add((*path, Key(tuple(zip(keys, key, strict=True)))), ABSENT, item)
            return
        if cursor.list_type == "set":
            missing = [item for item in desired if item not in live]
            extra = [item for item in live if item not in desired]
            if missing or (self.full and extra):
                self.add(path, list(desired), list(live))
            return
        if len(desired) != len(live):
            self.add(path, list(desired), list(live))
            return
        if not all(isinstance(item, dict) for item in (*desired, *live)):
            if not all(a == b if isinstance(a, dict | list) else _scalars_equal(a, b, item_cursor, path)
                       for a, b in zip(desired, live, strict=True)):
                self.add(path, list(desired), list(live))
            return
        for position, (a, b) in enumerate(zip(desired, live, strict=True)):
            self.value(a, b, item_cursor, (*path, Index(position)))


def _compared(obj: KubeObject) -> dict[str, Any]:
    """The part of an object a comparison looks at: everything but identity, status and metadata
    bookkeeping; from metadata, the labels and annotations (without bookkeeping keys)."""
    view = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "status", "metadata")}
    metadata = obj.get("metadata") or {}
    kept: dict[str, Any] = {}
    labels, annotations = metadata.get("labels"), metadata.get("annotations")
    if isinstance(labels, Mapping):
        kept["labels"] = {key: value for key, value in labels.items()
                          if not key.startswith(BOOKKEEPING_LABEL_PREFIXES)}
    if isinstance(annotations, Mapping):
        kept["annotations"] = {key: value for key, value in annotations.items()
                               if key not in BOOKKEEPING_ANNOTATIONS}
    view["metadata"] = kept
    return view


def _manager_for(entries: Sequence[Mapping[str, Any]], path: FieldPath, policy: Policy) -> str | None:
    """Who wrote the live value at ``path``: a person or tool first, then a controller. The sync engine is
    reported as None: when the live value differs from git, the engine did not write it (Kubernetes 1.20
    records no manager for a change through the ``scale`` subresource; the engine keeps the ownership).

    A write through a subresource (``kubectl scale``: manager ``kubectl``, subresource ``scale``) is never the
    sync engine's, even under a name the engine also applies with: engines apply objects, not their scale."""
    through_subresource = owners([entry for entry in entries if entry.get("subresource")], path)
    if through_subresource:
        return through_subresource[0]
    found = owners(entries, path)
    for owner in found:
        if owner not in policy.sync_managers and owner not in policy.controller_managers:
            return owner
    for owner in found:
        if owner in policy.controller_managers:
            return owner
    return None


# -- one object -------------------------------------------------------------------------------------------------


def _redact(kind: str, found: FieldDrift) -> FieldDrift:
    if kind != "Secret" or not found.path or found.path[0] not in ("data", "stringData"):
        return found

    def hide(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict):
            return {name: REDACTED for name in value}
        return REDACTED

    return replace(found, desired=hide(found.desired), live=hide(found.live))


def _extras(entries: Sequence[Mapping[str, Any]], desired: Any, live: Any, cursor: SchemaCursor,
            policy: Policy) -> list[FieldDrift]:
    """Fields that managedFields ``entries`` attribute to someone other than a controller, that git does not
    specify. The sync engine counts only for what it last *applied* (a pending removal)."""
    found: list[FieldDrift] = []
    for entry in entries:
        manager = str(entry.get("manager") or "")
        operation = entry.get("operation")
        fields = entry.get("fieldsV1") or {}
        if manager in policy.controller_managers or not isinstance(fields, dict):
            continue
        is_sync = manager in policy.sync_managers
        if is_sync and operation != "Apply":
            continue  # an engine's plain create/update also owns the server's defaults: not a statement of git
        if all_specified(fields, desired):
            continue
        creator = operation != "Apply" and is_creator(fields, desired, live)
        found.extend(FieldDrift(path, None, value, manager or None)
                     for path, value in walk_owned(fields, desired, live, cursor, (), creator))
    return found


def _finish(kind: str, key: ObjectKey, found: Iterable[FieldDrift], live: KubeObject, policy: Policy
            ) -> tuple[FieldDrift, ...]:
    entries = _entries(live)
    rules = [rule for rule in policy.ignore if rule.selects(key)]
    kept: list[FieldDrift] = []
    for item in found:
        if any(rule.covers(item.path) for rule in rules):
            continue
        if any(is_prefix(other.path, item.path) for other in kept):
            continue  # already reported as part of a larger value
        kept = [other for other in kept if not is_prefix(item.path, other.path)]
        manager = item.manager if item.manager is not None else _manager_for(entries, item.path, policy)
        kept.append(_redact(kind, replace(item, manager=manager)))
    return tuple(kept)


def compare(desired: KubeObject, live: KubeObject, schema: Compact | None, policy: Policy) -> tuple[FieldDrift, ...]:
    """Read-only comparison of one object: the fields git specifies that the cluster holds differently, and
    the fields someone other than the sync engine or a controller added (from ``managedFields``)."""
    return _compare(desired, None, live, schema, policy)


def compare_applied(desired: KubeObject, applied: KubeObject, live: KubeObject, schema: Compact | None,
                    policy: Policy) -> tuple[FieldDrift, ...]:
    """Server-mode comparison: ``applied`` is the server's dry-run of applying git's object; every field where
    it differs from ``live`` is drift, plus the fields added by others that git does not specify."""
    return _compare(desired, applied, live, schema, policy)


def _compare(desired: KubeObject, applied: KubeObject | None, live: KubeObject, schema: Compact | None,
             policy: Policy) -> tuple[FieldDrift, ...]:
    wanted = normalize_desired(desired)
    cursor = SchemaCursor.for_kind(schema, str(desired.get("apiVersion", "")), str(desired.get("kind", "")))
    # Against git's object only the fields it specifies count; against the server's dry-run, every field.
    differ = _Differ(full=applied is not None)
    differ.mapping(_compared(wanted if applied is None else applied), _compared(live), cursor, ())
    found = [*differ.found, *_extras(_entries(live), _compared(wanted), _compared(live), cursor, policy)]
    return _finish(str(desired.get("kind", "")), object_key(wanted), found, live, policy)


def _metadata_drift(desired: KubeObject, live: KubeObject, applied: KubeObject | None, schema: Compact | None,
                    policy: Policy) -> tuple[FieldDrift, ...]:
    """A Secret compared by its metadata only: labels and annotations as git says, nobody else's added."""

    def view(obj: KubeObject) -> KubeObject:
        return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": obj.get("metadata") or {}}

    found = _compare(view(desired), view(applied) if applied is not None else None, view(live), schema, policy)
    return tuple(item for item in found if item.path_text.startswith("metadata."))


def _entries(live: KubeObject) -> list[Mapping[str, Any]]:
    entries = (live.get("metadata") or {}).get("managedFields") or []
    return [entry for entry in entries if isinstance(entry, Mapping)]


# -- a whole overlay --------------------------------------------------------------------------------------------


def _controlled(obj: KubeObject) -> bool:
    return any(ref.get("controller") for ref in (obj.get("metadata") or {}).get("ownerReferences") or [])


def evaluate(desired: Sequence[KubeObject], live: Mapping[ObjectKey, KubeObject],
             listed: Iterable[tuple[str, str, str]], schema: Compact | None, policy: Policy,
             applied: Mapping[ObjectKey, KubeObject] | None = None) -> tuple[ObjectDrift, ...]:
    """The verdict on every object: desired objects in render order, then the extra ones.

    ``live`` holds what the cluster returned (keyed like ``object_key``); ``listed`` the (group, kind, namespace)
    scopes that were LISTed with the tracking selector, where objects git lacks are "extra". With ``applied``
    (server mode: the dry-run result per key) objects are compared with ``compare_applied``.
    """
    policy = replace(policy, ignore=(*policy.ignore, *hpa_ignore_rules(desired)))
    results: list[ObjectDrift] = []
    wanted_keys: set[ObjectKey] = set()
    for obj in desired:
        key = object_key(obj)
        wanted_keys.add(key)
        if any(rule.whole_object and rule.selects(key) for rule in policy.ignore):
            continue
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        current = live.get(key)
        if current is None:
            results.append(ObjectDrift(api_version, kind, key[2], key[3], Status.MISSING))
            continue
        if kind == "Secret" and not policy.secret_values:
            fields = _metadata_drift(obj, current, applied.get(key) if applied else None, schema, policy)
        elif applied is not None and key in applied:
            fields = compare_applied(obj, applied[key], current, schema, policy)
        else:
            fields = compare(obj, current, schema, policy)
        results.append(ObjectDrift(api_version, kind, key[2], key[3],
                                   Status.MODIFIED if fields else Status.IN_SYNC, fields))
    scopes = set(listed)
    extras: list[ObjectDrift] = []
    for key, current in live.items():
        if key in wanted_keys or key[:3] not in scopes or _controlled(current):
            continue
        if any(rule.whole_object and rule.selects(key) for rule in policy.ignore):
            continue
        extras.append(ObjectDrift(str(current.get("apiVersion", "")), key[1], key[2], key[3], Status.EXTRA))
    results.extend(sorted(extras, key=lambda item: (item.kind, item.namespace, item.name)))
    return tuple(results)
