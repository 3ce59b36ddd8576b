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
import fnmatch
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from gitops_gen.objects import KubeObject, ObjectKey, object_key
from gitops_gen.quantity import parse_quantity
from gitops_gen.schema import INT_OR_STRING, QUANTITY, Compact, SchemaCursor

REDACTED = "<redacted>"

MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"
TRACKING_LABELS = (MANAGED_BY, INSTANCE)

# Field managers that apply git's state: Argo CD, Flux, kubectl server-side apply, gitops-gen itself.
DEFAULT_SYNC_MANAGERS = frozenset({"argocd-controller", "kustomize-controller", "kubectl", "gitops-gen"})
# Kubernetes' own components: what they write (status, bookkeeping, allocations) is never drift.
DEFAULT_CONTROLLER_MANAGERS = frozenset({
    "kube-controller-manager", "kube-scheduler", "kubelet", "kube-apiserver", "cloud-controller-manager",
})

# Written by tools and controllers as bookkeeping; drift only when git itself specifies them.
_BOOKKEEPING_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",  # also holds Secret data in clear: never show it
    "deployment.kubernetes.io/revision",
    "argocd.argoproj.io/tracking-id",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
})
_BOOKKEEPING_LABEL_PREFIXES = ("kustomize.toolkit.fluxcd.io/",)
_METADATA_COMPARED = frozenset({"labels", "annotations"})
_METADATA_NEVER_COMPARED = frozenset({
    "creationTimestamp", "resourceVersion", "uid", "generation", "managedFields", "selfLink", "deletionTimestamp",
    "deletionGracePeriodSeconds", "ownerReferences", "finalizers", "generateName",
})

# A list-map key the API server defaults when it is left out (ports: protocol TCP).
_KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}

# Values the API server fills in when a field is left out. A manager that *created* an object with a plain
# create/update (not server-side apply) is recorded as the owner of these defaults too; they are not drift.
_SERVER_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "imagePullPolicy": ("IfNotPresent", "Always"),
    "terminationMessagePath": ("/dev/termination-log",),
    "terminationMessagePolicy": ("File",),
    "dnsPolicy": ("ClusterFirst",),
    "restartPolicy": ("Always",),
    "schedulerName": ("default-scheduler",),
    "terminationGracePeriodSeconds": (30,),
    "progressDeadlineSeconds": (600,),
    "revisionHistoryLimit": (10,),
    "protocol": ("TCP",),
    "sessionAffinity": ("None",),
    "type": ("ClusterIP", "Opaque", "RollingUpdate"),
    "maxSurge": ("25%",),
    "maxUnavailable": ("25%",),
    "defaultMode": (420,),
    "timeoutSeconds": (1,),
    "periodSeconds": (10,),
    "successThreshold": (1,),
    "failureThreshold": (3,),
    "scheme": ("HTTP",),
    "volumeMode": ("Filesystem",),
    "replicas": (1,),
    "podManagementPolicy": ("OrderedReady",),
    "concurrencyPolicy": ("Allow",),
    "suspend": (False,),
    "successfulJobsHistoryLimit": (3,),
    "failedJobsHistoryLimit": (1,),
    "backoffLimit": (6,),
    "completions": (1,),
    "parallelism": (1,),
    "externalTrafficPolicy": ("Cluster",),
}

# Values the API server allocates at creation; owned by whoever created the object with a plain create.
_ALLOCATED = frozenset({"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "nodePort", "volumeName"})

_QUANTITY_CONTEXT = frozenset({"limits", "requests", "capacity", "hard", "allocatable", "sizeLimit", "storage"})
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class _Absent:
    """A field that is not there at all (``None`` is a value a field can hold)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


class Status(StrEnum):
    """What became of one object."""

    IN_SYNC = "in-sync"
    MODIFIED = "modified"
    MISSING = "missing"
    EXTRA = "extra"


# -- paths ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A list item matched by its merge keys: ``[name=web]``, ``[containerPort=3000,protocol=TCP]``."""

    pairs: tuple[tuple[str, Any], ...]

    def matches(self, other: Key) -> bool:
        return dict(self.pairs) == dict(other.pairs)

    def __str__(self) -> str:
        return "[" + ",".join(f"{name}={_scalar_text(value)}" for name, value in self.pairs) + "]"


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
        return f"[{_scalar_text(self.value)}]"


Segment = str | Key | Index | Member
FieldPath = tuple[Segment, ...]


def _scalar_text(value: Any) -> str:
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


def _segment_matches(a: Segment, b: Segment) -> bool:
    if isinstance(a, Key) and isinstance(b, Key):
        return a.matches(b)
    return a == b


def _is_prefix(prefix: FieldPath, path: FieldPath) -> bool:
    return len(prefix) <= len(path) and all(_segment_matches(x, y) for x, y in zip(prefix, path, strict=False))


# -- findings ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDrift:
    """One field that differs: its path, git's value, the cluster's value, and who wrote the cluster's."""

    path: FieldPath
    desired: Any
    live: Any
    manager: str | None = None

    @property
    def path_text(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class ObjectDrift:
    """The verdict on one object."""

    api_version: str
    kind: str
    namespace: str
    name: str
    status: Status
    fields: tuple[FieldDrift, ...] = ()

    @property
    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class DriftResult:
    """Everything ``drift`` found for one overlay at one commit."""

    ref: str
    overlay: str
    mode: str
    objects: tuple[ObjectDrift, ...]

    @property
    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for obj in self.objects:
            counts[obj.status.value] += 1
        return counts

    @property
    def drifted(self) -> bool:
        return any(obj.status is not Status.IN_SYNC for obj in self.objects)


# -- ignore rules -----------------------------------------------------------------------------------------------


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
            matched = token in {_scalar_text(value) for _, value in segment.pairs}
        elif isinstance(segment, Index):
            matched = token == str(segment.position)
        else:
            matched = token == _scalar_text(segment.value)
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


@dataclass(frozen=True)
class Policy:
    """Who is allowed to write what, and which differences to ignore."""

    sync_managers: frozenset[str] = DEFAULT_SYNC_MANAGERS
    controller_managers: frozenset[str] = DEFAULT_CONTROLLER_MANAGERS
    ignore: tuple[IgnoreRule, ...] = ()


# -- selection and normalization --------------------------------------------------------------------------------


def tracking_selector(objects: Iterable[KubeObject]) -> str:
    """The label selector that every desired object matches: the tracking labels they all share.

    >>> tracking_selector([{"metadata": {"labels": {MANAGED_BY: "gitops-gen", INSTANCE: "m-prod"}}}])
    'app.kubernetes.io/managed-by=gitops-gen,app.kubernetes.io/instance=m-prod'
    """
    common: dict[str, str] | None = None
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        mine = {name: str(labels[name]) for name in TRACKING_LABELS if name in labels}
        common = mine if common is None else {k: v for k, v in common.items() if mine.get(k) == v}
    return ",".join(f"{name}={common[name]}" for name in TRACKING_LABELS if common and name in common)


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


def _empty(value: Any) -> bool:
    # Go's omitempty drops these, so a desired zero value and an absent live field are the same thing.
    if value is ABSENT or value is None:
        return True
    if isinstance(value, list | dict | str | bool):
        return not value
    return isinstance(value, int) and value == 0


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
    return tuple(item.get(name, _KEY_DEFAULTS.get(name)) for name in keys)


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
        if _empty(desired) and _empty(live):
            return
        if isinstance(desired, dict) and (isinstance(live, dict) or _empty(live)):
            self.mapping(desired, live if isinstance(live, dict) else {}, cursor, path)
        elif isinstance(live, dict) and _empty(desired) and self.full:
            self.mapping({}, live, cursor, path)
        elif isinstance(desired, list) and (isinstance(live, list) or _empty(live)):
            self.sequence(desired, live if isinstance(live, list) else [], cursor, path)
        elif isinstance(live, list) and _empty(desired) and self.full:
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
                          if not key.startswith(_BOOKKEEPING_LABEL_PREFIXES)}
    if isinstance(annotations, Mapping):
        kept["annotations"] = {key: value for key, value in annotations.items()
                               if key not in _BOOKKEEPING_ANNOTATIONS}
    view["metadata"] = kept
    return view


def _bookkeeping(path: FieldPath) -> bool:
    if len(path) == 2 and path[0] == "annotations" and path[1] in _BOOKKEEPING_ANNOTATIONS:
        return True
    return len(path) == 2 and path[0] == "labels" and isinstance(path[1], str) \
        and path[1].startswith(_BOOKKEEPING_LABEL_PREFIXES)


# -- managedFields ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _parse_field_key(raw: str) -> Segment | None:
    prefix, body = raw[:2], raw[2:]
    try:
        if prefix == "f:":
            return body
        if prefix == "k:":
            value = json.loads(body)
            return Key(tuple(value.items())) if isinstance(value, dict) else None
        if prefix == "v:":
            return Member(json.loads(body))
        if prefix == "i:":
            return Index(int(body))
    except ValueError:
        return None
    return None


def _is_leaf(node: Any) -> bool:
    return not isinstance(node, dict) or not node or (len(node) == 1 and "." in node)


def _find_item(values: Any, segment: Key, keys: Sequence[str]) -> Any:
    if not isinstance(values, list):
        return ABSENT
    wanted = dict(segment.pairs)
    names = list(wanted)
    for item in values:
        if isinstance(item, dict) and all(
            item.get(name, _KEY_DEFAULTS.get(name)) == wanted[name] for name in names
        ):
            return item
    return ABSENT


def _resolve(value: Any, path: FieldPath, cursor: SchemaCursor) -> Any:
    for segment in path:
        if isinstance(segment, str):
            value = value.get(segment, ABSENT) if isinstance(value, dict) else ABSENT
            cursor = cursor.child(segment)
        elif isinstance(segment, Key):
            value = _find_item(value, segment, cursor.merge_keys)
            cursor = cursor.item()
        elif isinstance(segment, Index):
            value = value[segment.position] if isinstance(value, list) and segment.position < len(value) else ABSENT
            cursor = cursor.item()
        else:
            value = segment.value if isinstance(value, list) and segment.value in value else ABSENT
            cursor = cursor.item()
        if value is ABSENT:
            break
    return value


def _leaf_paths(node: Mapping[str, Any], path: FieldPath = ()) -> Iterator[FieldPath]:
    for raw, child in node.items():
        segment = _parse_field_key(raw) if raw != "." else None
        if segment is None:
            continue
        if _is_leaf(child):
            yield (*path, segment)
        else:
            yield from _leaf_paths(child, (*path, segment))


def _all_specified(node: Mapping[str, Any], desired: Any) -> bool:
    """Whether git specifies every field of a managedFields tree: then the entry cannot own an addition.
    A quick, conservative pass (no schema, no live values) that spares most objects the full walk."""
    for raw, child in node.items():
        if raw == ".":
            continue
        segment = _parse_field_key(raw)
        if isinstance(segment, str):
            value = desired.get(segment, ABSENT) if isinstance(desired, dict) else ABSENT
        elif isinstance(segment, Key):
            value = _find_item(desired, segment, ())
        else:
            return False
        if value is ABSENT:
            return False
        if not _is_leaf(child) and not _all_specified(child, value):
            return False
    return True


def _is_creator(fields: Mapping[str, Any], desired: Any, live: Any, cursor: SchemaCursor) -> bool:
    """Whether a plain create/update wrote this entry's fields wholesale: it owns a value git specifies, with
    git's value. Such an entry also owns every default the server filled in, which is not drift. An entry
    that only changed something (``kubectl edit``, ``kubectl set``) owns no value equal to git's."""
    for path in _leaf_paths(fields):
        if path and path[0] in ("status", "metadata"):
            continue
        wanted = _resolve(desired, path, cursor)
        if wanted is ABSENT or isinstance(wanted, dict | list):
            continue
        if wanted == _resolve(live, path, cursor):
            return True
    return False


def _walk_owned(node: Mapping[str, Any], desired: Any, live: Any, cursor: SchemaCursor, path: FieldPath,
                manager: str | None, creator_defaults: bool) -> Iterator[FieldDrift]:
    for raw, child in node.items():
        if raw == ".":
            continue
        segment = _parse_field_key(raw)
        if segment is None:
            continue
        if not path and segment in ("status", "apiVersion", "kind"):
            continue
        if path == ("metadata",) and segment not in _METADATA_COMPARED:
            continue
        if len(path) == 2 and path[0] == "metadata" and _bookkeeping((path[1], segment)):
            continue
        sub_path = (*path, segment)
        if isinstance(segment, str):
            live_value = live.get(segment, ABSENT) if isinstance(live, dict) else ABSENT
            desired_value = desired.get(segment, ABSENT) if isinstance(desired, dict) else ABSENT
            sub_cursor = cursor.child(segment)
        elif isinstance(segment, Key):
            keys = cursor.merge_keys or tuple(name for name, _ in segment.pairs)
            segment = Key(tuple(sorted(segment.pairs, key=lambda pair: keys.index(pair[0])
                                       if pair[0] in keys else len(keys))))
            sub_path = (*path, segment)
            live_value = _find_item(live, segment, keys)
            desired_value = _find_item(desired, segment, keys)
            sub_cursor = cursor.item()
        elif isinstance(segment, Index):
            live_value = live[segment.position] if isinstance(live, list) and segment.position < len(live) else ABSENT
            desired_value = desired[segment.position] \
                if isinstance(desired, list) and segment.position < len(desired) else ABSENT
            sub_cursor = cursor.item()
        else:
            live_value = segment.value if isinstance(live, list) and segment.value in live else ABSENT
            desired_value = segment.value if isinstance(desired, list) and segment.value in desired else ABSENT
            sub_cursor = cursor.item()
        if live_value is ABSENT:
            continue
        if not _is_leaf(child) and not isinstance(segment, Key | Member):
            yield from _walk_owned(child, desired_value, live_value, sub_cursor, sub_path, manager, creator_defaults)
            continue
        if isinstance(segment, Key) and desired_value is not ABSENT and not _is_leaf(child):
            yield from _walk_owned(child, desired_value, live_value, sub_cursor, sub_path, manager, creator_defaults)
            continue
        if desired_value is not ABSENT or _empty(live_value):
            continue
        name = segment if isinstance(segment, str) else None
        if creator_defaults and name is not None and (
            name in _ALLOCATED or live_value in _SERVER_DEFAULTS.get(name, ())
        ):
            continue
        yield FieldDrift(sub_path, None, live_value, manager)


def _owners(entries: Sequence[Mapping[str, Any]], path: FieldPath) -> list[str]:
    owners: list[str] = []
    for entry in entries:
        node: Any = entry.get("fieldsV1") or {}
        owned = True
        for segment in path:
            if _is_leaf(node):
                break  # owning a leaf that contains the path (an atomic map or list) owns all of it
            step = None
            for raw, child in node.items():
                parsed = _parse_field_key(raw)
                if parsed is not None and _segment_matches(parsed, segment):
                    step = child
                    break
            if step is None:
                owned = False
                break
            node = step
        if owned and entry.get("manager"):
            owners.append(str(entry["manager"]))
    return owners


def _manager_for(entries: Sequence[Mapping[str, Any]], path: FieldPath, policy: Policy) -> str | None:
    """Who wrote the live value at ``path``: a person or tool first, then a controller. The sync engine is
    reported as None: when the live value differs from git, the engine did not write it (Kubernetes 1.20
    records no manager for a change through the ``scale`` subresource; the engine keeps the ownership)."""
    owners = _owners(entries, path)
    for owner in owners:
        if owner not in policy.sync_managers and owner not in policy.controller_managers:
            return owner
    for owner in owners:
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
        if _all_specified(fields, desired):
            continue
        creator = operation != "Apply" and _is_creator(fields, desired, live, cursor)
        found.extend(_walk_owned(fields, desired, live, cursor, (), manager or None, creator))
    return found


def _finish(kind: str, key: ObjectKey, found: Iterable[FieldDrift], live: KubeObject, policy: Policy
            ) -> tuple[FieldDrift, ...]:
    entries = _entries(live)
    rules = [rule for rule in policy.ignore if rule.selects(key)]
    kept: list[FieldDrift] = []
    for item in found:
        if any(rule.covers(item.path) for rule in rules):
            continue
        if any(_is_prefix(other.path, item.path) for other in kept):
            continue  # already reported as part of a larger value
        kept = [other for other in kept if not _is_prefix(item.path, other.path)]
        manager = item.manager if item.manager is not None else _manager_for(entries, item.path, policy)
        kept.append(_redact(kind, replace(item, manager=manager)))
    return tuple(kept)


def compare(desired: KubeObject, live: KubeObject, schema: Compact | None, policy: Policy) -> tuple[FieldDrift, ...]:
    """Read-only comparison of one object: the fields git specifies that the cluster holds differently, and
    the fields someone other than the sync engine or a controller added (from ``managedFields``)."""
    wanted = normalize_desired(desired)
    cursor = SchemaCursor.for_kind(schema, str(desired.get("apiVersion", "")), str(desired.get("kind", "")))
    differ = _Differ(full=False)
    differ.mapping(_compared(wanted), _compared(live), cursor, ())
    found = [*differ.found, *_extras(_entries(live), _compared(wanted), _compared(live), cursor, policy)]
    return _finish(str(desired.get("kind", "")), object_key(wanted), found, live, policy)


def compare_applied(desired: KubeObject, applied: KubeObject, live: KubeObject, schema: Compact | None,
                    policy: Policy) -> tuple[FieldDrift, ...]:
    """Server-mode comparison: ``applied`` is the server's dry-run of applying git's object; every field where
    it differs from ``live`` is drift, plus the fields added by others that git does not specify."""
    wanted = normalize_desired(desired)
    cursor = SchemaCursor.for_kind(schema, str(desired.get("apiVersion", "")), str(desired.get("kind", "")))
    differ = _Differ(full=True)
    differ.mapping(_compared(applied), _compared(live), cursor, ())
    found = [*differ.found, *_extras(_entries(live), _compared(wanted), _compared(live), cursor, policy)]
    return _finish(str(desired.get("kind", "")), object_key(wanted), found, live, policy)


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
        if applied is not None and key in applied:
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


def sync_managers(extra: Iterable[str] = (), *, replace_defaults: bool = False) -> frozenset[str]:
    """The sync engine's field managers: the defaults plus ``extra`` (or only ``extra``)."""
    names = frozenset(name for name in extra if name)
    return names if replace_defaults and names else DEFAULT_SYNC_MANAGERS | names


__all__ = [
    "ABSENT", "DEFAULT_CONTROLLER_MANAGERS", "DEFAULT_SYNC_MANAGERS", "REDACTED", "DriftResult", "FieldDrift",
    "IgnoreRule", "Index", "Key", "Member", "ObjectDrift", "Policy", "Status", "compare", "compare_applied",
    "evaluate", "format_path", "hpa_ignore_rules", "normalize_desired", "object_key", "parse_ignore", "sync_managers",
    "tracking_selector", "trim_live",
]
