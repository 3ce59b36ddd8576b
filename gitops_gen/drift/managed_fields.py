"""``metadata.managedFields``: who wrote which field of a live object (the FieldsV1 format of server-side apply).

Pure functions over the plain dicts the API server returns.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from gitops_gen.drift.fieldpath import (
    ABSENT,
    FieldPath,
    Index,
    Key,
    Member,
    Segment,
    find_item,
    is_empty,
    segment_matches,
)
from gitops_gen.kube.openapi import SchemaCursor

# Written by tools and controllers as bookkeeping; drift only when git itself specifies them.
BOOKKEEPING_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration",  # also holds Secret data in clear: never show it
    "deployment.kubernetes.io/revision",
    "argocd.argoproj.io/tracking-id",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
})
BOOKKEEPING_LABEL_PREFIXES = ("kustomize.toolkit.fluxcd.io/",)
METADATA_COMPARED = frozenset({"labels", "annotations"})

# Values the API server fills in when a field is left out. A manager that *created* an object with a plain
# create/update (not server-side apply) is recorded as the owner of these defaults too; they are not drift.
SERVER_DEFAULTS: dict[str, tuple[Any, ...]] = {
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
ALLOCATED = frozenset({"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "nodePort", "volumeName"})


def is_bookkeeping(path: FieldPath) -> bool:
    """A ``(labels|annotations, key)`` pair that tools and controllers write as bookkeeping."""
    if len(path) == 2 and path[0] == "annotations" and path[1] in BOOKKEEPING_ANNOTATIONS:
        return True
    return len(path) == 2 and path[0] == "labels" and isinstance(path[1], str) \
        and path[1].startswith(BOOKKEEPING_LABEL_PREFIXES)


@functools.lru_cache(maxsize=8192)
def parse_field_key(raw: str) -> Segment | None:
    """``f:name`` -> ``"name"``, ``k:{"name":"web"}`` -> ``Key``, ``v:...`` -> ``Member``, ``i:N`` -> ``Index``."""
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


def is_leaf(node: Any) -> bool:
    """A FieldsV1 node that owns a value as a whole (no owned sub-fields)."""
    return not isinstance(node, dict) or not node or (len(node) == 1 and "." in node)


def _resolve(value: Any, path: FieldPath) -> Any:
    for segment in path:
        if isinstance(segment, str):
            value = value.get(segment, ABSENT) if isinstance(value, dict) else ABSENT
        elif isinstance(segment, Key):
            value = find_item(value, segment)
        elif isinstance(segment, Index):
            value = value[segment.position] if isinstance(value, list) and segment.position < len(value) else ABSENT
        else:
            value = segment.value if isinstance(value, list) and segment.value in value else ABSENT
        if value is ABSENT:
            break
    return value


def _leaf_paths(node: Mapping[str, Any], path: FieldPath = ()) -> Iterator[FieldPath]:
    for raw, child in node.items():
        segment = parse_field_key(raw)
        if segment is None:
            continue
        if is_leaf(child):
            yield (*path, segment)
        else:
            yield from _leaf_paths(child, (*path, segment))


def all_specified(node: Mapping[str, Any], desired: Any) -> bool:
    """Whether git specifies every field of a managedFields tree: then the entry cannot own an addition.
    A quick, conservative pass (no schema, no live values) that spares most objects the full walk."""
    for raw, child in node.items():
        if raw == ".":
            continue
        segment = parse_field_key(raw)
        if isinstance(segment, str):
            value = desired.get(segment, ABSENT) if isinstance(desired, dict) else ABSENT
        elif isinstance(segment, Key):
            value = find_item(desired, segment)
        else:
            return False
        if value is ABSENT:
            return False
        if not is_leaf(child) and not all_specified(child, value):
            return False
    return True


def is_creator(fields: Mapping[str, Any], desired: Any, live: Any) -> bool:
    """Whether a plain create/update wrote this entry's fields wholesale: it owns a value git specifies, with
    git's value. Such an entry also owns every default the server filled in, which is not drift. An entry
    that only changed something (``kubectl edit``, ``kubectl set``) owns no value equal to git's."""
    for path in _leaf_paths(fields):
        if path and path[0] in ("status", "metadata"):
            continue
        wanted = _resolve(desired, path)
        if wanted is ABSENT or isinstance(wanted, dict | list):
            continue
        if wanted == _resolve(live, path):
            return True
    return False


def walk_owned(node: Mapping[str, Any], desired: Any, live: Any, cursor: SchemaCursor, path: FieldPath,
               creator_defaults: bool) -> Iterator[tuple[FieldPath, Any]]:
    """The fields of one managedFields tree ``node`` that ``live`` holds and git (``desired``) does not
    specify, as (path, live value). ``creator_defaults``: the entry created the object with a plain create, so
    server defaults and allocations it owns are skipped."""
    for raw, child in node.items():
        segment = parse_field_key(raw)
        if segment is None:
            continue
        if not path and segment in ("status", "apiVersion", "kind"):
            continue
        if path == ("metadata",) and segment not in METADATA_COMPARED:
            continue
        if len(path) == 2 and path[0] == "metadata" and is_bookkeeping((path[1], segment)):
            continue
        if isinstance(segment, str):
            live_value = live.get(segment, ABSENT) if isinstance(live, dict) else ABSENT
            desired_value = desired.get(segment, ABSENT) if isinstance(desired, dict) else ABSENT
            sub_cursor = cursor.child(segment)
        else:
            sub_cursor = cursor.item()
            if isinstance(segment, Key):
                keys = cursor.merge_keys or tuple(name for name, _ in segment.pairs)
                segment = Key(tuple(sorted(segment.pairs, key=lambda pair: keys.index(pair[0])
                                           if pair[0] in keys else len(keys))))
                live_value = find_item(live, segment)
                desired_value = find_item(desired, segment)
            elif isinstance(segment, Index):
                live_value = live[segment.position] \
                    if isinstance(live, list) and segment.position < len(live) else ABSENT
                desired_value = desired[segment.position] \
                    if isinstance(desired, list) and segment.position < len(desired) else ABSENT
            else:
                live_value = segment.value if isinstance(live, list) and segment.value in live else ABSENT
                desired_value = segment.value if isinstance(desired, list) and segment.value in desired else ABSENT
        sub_path = (*path, segment)
        if live_value is ABSENT:
            continue
        if not is_leaf(child) and not isinstance(segment, Key | Member):
            yield from walk_owned(child, desired_value, live_value, sub_cursor, sub_path, creator_defaults)
            continue
        if isinstance(segment, Key) and desired_value is not ABSENT and not is_leaf(child):
            yield from walk_owned(child, desired_value, live_value, sub_cursor, sub_path, creator_defaults)
            continue
        if desired_value is not ABSENT or is_empty(live_value):
            continue
        if isinstance(live_value, dict) and isinstance(segment, str):
            # Owning a whole object without any of its fields (a field with owned sub-fields was walked into
            # above): the manager sent an empty object. Flux does so for every struct it round-trips through
            # the typed API (`strategy: {}` on a Deployment git wrote without one); what the object holds came
            # from the server's defaults, not from that manager.
            continue
        if creator_defaults and isinstance(segment, str) and (
            segment in ALLOCATED or live_value in SERVER_DEFAULTS.get(segment, ())
        ):
            continue
        yield sub_path, live_value


def owners(entries: Sequence[Mapping[str, Any]], path: FieldPath) -> list[str]:
    """The managers whose entries own the field at ``path`` (or a whole value containing it)."""
    owners: list[str] = []
    for entry in entries:
        node: Any = entry.get("fieldsV1") or {}
        if not node:
            continue  # owns no field at all: an empty root is not the whole-value leaf an empty child is
        owned = True
        for segment in path:
            if is_leaf(node):
                break  # owning a leaf that contains the path (an atomic map or list) owns all of it
            step = None
            for raw, child in node.items():
                parsed = parse_field_key(raw)
                if parsed is not None and segment_matches(parsed, segment):
                    step = child
                    break
            if step is None:
                owned = False
                break
            node = step
        if owned and entry.get("manager"):
            owners.append(str(entry["manager"]))
    return owners
