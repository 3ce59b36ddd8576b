"""What the comparison needs to know from the server's OpenAPI document, in a small cacheable form.

The OpenAPI v2 document of a 1.20 API server is about 4 MB; the comparison needs only three things from it:
how each list is merged (``x-kubernetes-list-map-keys`` / ``x-kubernetes-patch-merge-key`` /
``x-kubernetes-list-type``), which fields are quantities, and which are int-or-string. ``compact`` keeps just
that (a few hundred kB), and ``SchemaCursor`` walks it alongside an object. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

QUANTITY = "quantity"
INT_OR_STRING = "int-or-string"

_QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INT_OR_STRING_REF = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

# A compact node: {"ref": type} | {"scalar": kind} | {"props": {...}} | {"values": node}
# | {"items": node, "keys": [...], "listType": "map" | "set" | "atomic"}
Node = dict[str, Any]
Compact = dict[str, Any]


def _field(schema: Mapping[str, Any]) -> Node | None:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name == _QUANTITY_REF:
            return {"scalar": QUANTITY}
        if name == _INT_OR_STRING_REF:
            return {"scalar": INT_OR_STRING}
        return {"ref": name}
    if schema.get("format") == INT_OR_STRING or schema.get("x-kubernetes-int-or-string"):
        return {"scalar": INT_OR_STRING}
    kind = schema.get("type")
    if kind == "array":
        node: Node = {}
        items = _field(schema.get("items") or {})
        if items:
            node["items"] = items
        keys = schema.get("x-kubernetes-list-map-keys")
        merge_key = schema.get("x-kubernetes-patch-merge-key")
        if keys:
            node["keys"] = list(keys)
        elif merge_key:
            node["keys"] = [merge_key]
        list_type = schema.get("x-kubernetes-list-type")
        if list_type:
            node["listType"] = list_type
        elif "keys" in node:
            node["listType"] = "map"
        return node or None
    props = _properties(schema)
    values = schema.get("additionalProperties")
    node = {}
    if props:
        node["props"] = props
    if isinstance(values, Mapping):
        value_node = _field(values)
        if value_node:
            node["values"] = value_node
    return node or None


def _properties(schema: Mapping[str, Any]) -> dict[str, Node]:
    props: dict[str, Node] = {}
    for name, sub in (schema.get("properties") or {}).items():
        node = _field(sub)
        if node:
            props[name] = node
    return props


def compact(document: Mapping[str, Any]) -> Compact:
    """Reduce an OpenAPI v2 document to what the comparison uses.

    Returns ``{"types": {definition: node}, "kinds": {"group/version/Kind": definition}}``.
    """
    types: dict[str, Node] = {}
    kinds: dict[str, str] = {}
    for name, definition in (document.get("definitions") or {}).items():
        # Kept even when empty: a known type without merge keys is not an unknown one.
        types[name] = _field({key: value for key, value in definition.items() if key != "$ref"}) or {}
        for gvk in definition.get("x-kubernetes-group-version-kind") or []:
            group, version, kind = gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")
            kinds[f"{group}/{version}/{kind}"] = name
    return {"types": types, "kinds": kinds}


def kind_key(api_version: str, kind: str) -> str:
    """``apps/v1`` + ``Deployment`` -> ``apps/v1/Deployment``; the core group is empty: ``/v1/Service``."""
    group, _, version = api_version.rpartition("/")
    return f"{group}/{version}/{kind}"


class SchemaCursor:
    """A position in the compact schema; an unknown position answers ``None`` to every question.

    Cursors are shared and remember their children: comparing 5,000 objects of a few kinds walks the same
    few hundred positions over and over.
    """

    __slots__ = ("_children", "_items", "known", "list_type", "merge_keys", "node", "scalar", "schema")

    def __init__(self, schema: Compact | None, node: Node | None) -> None:
        self.schema = schema
        self.node = node
        resolved = self._resolve(node)
        self.known: bool = resolved is not None
        #: The keys that identify an item of the list here (empty when none are declared).
        self.merge_keys: tuple[str, ...] = tuple(resolved.get("keys") or ()) if resolved is not None else ()
        #: ``map``, ``set``, ``atomic`` or None when the schema says nothing.
        self.list_type: str | None = resolved.get("listType") if resolved is not None else None
        #: ``quantity`` or ``int-or-string`` when the field here is one of those.
        self.scalar: str | None = resolved.get("scalar") if resolved is not None else None
        self._children: dict[str, SchemaCursor] = {}
        self._items: SchemaCursor | None = None

    def _resolve(self, node: Node | None) -> Node | None:
        seen = 0
        while node is not None and "ref" in node and self.schema is not None and seen < 8:
            node = self.schema["types"].get(node["ref"])
            seen += 1
        return node

    @classmethod
    def for_kind(cls, schema: Compact | None, api_version: str, kind: str) -> SchemaCursor:
        """The cursor at the root of objects of this kind (unknown when the schema does not have it)."""
        if not schema:
            return cls(None, None)
        roots = _roots(schema)
        found = roots.get((api_version, kind))
        if found is None:
            name = schema["kinds"].get(kind_key(api_version, kind))
            found = roots[(api_version, kind)] = cls(schema, {"ref": name} if name else None)
        return found

    def child(self, key: str) -> SchemaCursor:
        """The schema of field ``key`` of the object at this position."""
        found = self._children.get(key)
        if found is None:
            node = self._resolve(self.node)
            if node is None:
                target = None
            else:
                props = node.get("props") or {}
                target = props[key] if key in props else node.get("values")
            found = self._children[key] = SchemaCursor(self.schema, target)
        return found

    def item(self) -> SchemaCursor:
        """The schema of the items of the list at this position."""
        if self._items is None:
            node = self._resolve(self.node)
            self._items = SchemaCursor(self.schema, None if node is None else node.get("items"))
        return self._items


# Root cursors per schema document (held with the document, so an id is never reused while cached).
_ROOTS: dict[int, tuple[Compact, dict[tuple[str, str], SchemaCursor]]] = {}


def _roots(schema: Compact) -> dict[tuple[str, str], SchemaCursor]:
    entry = _ROOTS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_ROOTS) > 8:
            _ROOTS.clear()
        entry = _ROOTS[id(schema)] = (schema, {})
    return entry[1]
