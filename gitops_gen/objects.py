"""Plain Kubernetes objects as dicts, and how they are identified. No I/O, no client library."""

from __future__ import annotations

from typing import Any

KubeObject = dict[str, Any]
# (group, kind, namespace or "", name): how objects are matched between git and the cluster. The version is
# left out on purpose: the server returns an object at whichever served version it is asked for.
ObjectKey = tuple[str, str, str, str]


def object_key(obj: KubeObject, default_namespace: str = "") -> ObjectKey:
    """The identity of an object: ``(group, kind, namespace, name)``.

    >>> object_key({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "m"}})
    ('apps', 'Deployment', 'm', 'web')
    """
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    metadata = obj.get("metadata") or {}
    namespace = str(metadata.get("namespace") or default_namespace)
    return group, str(obj.get("kind", "")), namespace, str(metadata.get("name", ""))
