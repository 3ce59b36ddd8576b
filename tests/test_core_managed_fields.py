"""What ``metadata.managedFields`` (the FieldsV1 trees of server-side apply) say about drift
(gitops_gen/drift/managed_fields.py): which fields a manager owns that git does not specify, which of them are
the server's defaults or bookkeeping rather than a change, whether an entry created the object, and who owns a
reported path. Each case was a surviving mutant of benchmarks/mutation.py."""

from __future__ import annotations

from typing import Any

from gitops_gen.drift.fieldpath import Index, Key, Member, format_path
from gitops_gen.drift.managed_fields import (
    all_specified,
    is_bookkeeping,
    is_creator,
    is_leaf,
    owners,
    parse_field_key,
    walk_owned,
)
from gitops_gen.kube import openapi
from gitops_gen.kube.openapi import SchemaCursor
from tests.test_drift_compare import SCHEMA

# A custom resource whose `sites` are keyed by region then name (not in alphabetical order, as FieldsV1 writes
# keys), with a set of tags and an unkeyed list of steps.
SITE_API: dict[str, Any] = {"definitions": {
    "com.example.v1.Site": {
        "properties": {"spec": {"$ref": "#/definitions/com.example.v1.SiteSpec"}},
        "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Site", "version": "v1"}],
    },
    "com.example.v1.SiteSpec": {"properties": {
        "sites": {"type": "array", "items": {"type": "object"},
                  "x-kubernetes-list-map-keys": ["region", "name"], "x-kubernetes-list-type": "map"},
        "ports": {"type": "array", "items": {"type": "object"}, "x-kubernetes-patch-merge-key": "port"},
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "steps": {"type": "array", "items": {"type": "object"}},
    }},
}}


def _deployment() -> SchemaCursor:
    return SchemaCursor.for_kind(SCHEMA, "apps/v1", "Deployment")


def _site() -> SchemaCursor:
    return SchemaCursor.for_kind(openapi.compact(SITE_API), "example.com/v1", "Site")


def owned(fields: dict[str, Any], desired: Any, live: Any, cursor: SchemaCursor | None = None,
          creator: bool = False) -> list[tuple[str, Any]]:
    """What ``walk_owned`` reports, with the paths written as a report writes them."""
    found = walk_owned(fields, desired, live, cursor or _deployment(), (), creator)
    return [(format_path(path), value) for path, value in found]


def test_a_field_the_manager_owns_and_git_does_not_specify_is_reported_with_its_live_value() -> None:
    fields: dict[str, Any] = {"f:spec": {
        "x:future": {},  # a kind of key this version does not know: skipped, the walk goes on
        "f:gone": {},  # owned once, no longer in the live object
        "f:replicas": {},  # git specifies it: compared as a value, not an addition
        "f:minReadySeconds": {},  # zero, which the server leaves out: nothing to report
        ".": {},
        "f:paused": {},
    }}
    desired = {"spec": {"replicas": 2}}
    live = {"spec": {"replicas": 5, "minReadySeconds": 0, "paused": True}}
    assert owned(fields, desired, live) == [("spec.paused", True)]
    assert owned(fields, {"spec": {"replicas": 2, "paused": False}}, live) == []
    # Git leaving out the whole `spec` does not hide what the manager owns in it.
    assert owned(fields, {}, live) == [("spec.replicas", 5), ("spec.paused", True)]
    assert owned(fields, {}, {"spec": "not an object"}) == []


def test_identity_status_and_metadata_bookkeeping_are_never_additions() -> None:
    fields = {
        "f:apiVersion": {}, "f:kind": {}, "f:status": {"f:replicas": {}},
        "f:metadata": {
            "f:finalizers": {'v:"example.com/x"': {}}, "f:ownerReferences": {}, "f:generateName": {},
            "f:labels": {"f:kustomize.toolkit.fluxcd.io/name": {}, "f:team": {}},
            "f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}, "f:note": {}},
        },
        "f:spec": {"f:status": {}, "f:kind": {}},  # the same names below the top are ordinary fields
    }
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "status": {"replicas": 1},
            "metadata": {"finalizers": ["example.com/x"], "ownerReferences": [{"name": "o"}], "generateName": "w-",
                         "labels": {"kustomize.toolkit.fluxcd.io/name": "apps", "team": "a"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "n"}},
            "spec": {"status": "on", "kind": "k"}}
    assert owned(fields, {}, live) == [
        ("metadata.labels.team", "a"), ("metadata.annotations.note", "n"), ("spec.status", "on"), ("spec.kind", "k")]


def test_bookkeeping_is_a_flux_label_or_a_known_annotation_and_nothing_else() -> None:
    assert is_bookkeeping(("labels", "kustomize.toolkit.fluxcd.io/namespace"))
    assert is_bookkeeping(("annotations", "deployment.kubernetes.io/revision"))
    assert not is_bookkeeping(("annotations", "kustomize.toolkit.fluxcd.io/name"))
    assert not is_bookkeeping(("labels", "deployment.kubernetes.io/revision"))
    assert not is_bookkeeping(("labels", "team"))
    assert not is_bookkeeping(("labels", Key((("name", "kustomize.toolkit.fluxcd.io/x"),))))
    assert not is_bookkeeping(("metadata", "labels", "kustomize.toolkit.fluxcd.io/name"))
    assert not is_bookkeeping(("metadata", "annotations", "deployment.kubernetes.io/revision"))


CONTAINER_FIELDS = {"f:spec": {"f:template": {"f:spec": {"f:containers": {
    'k:{"name":"gone"}': {".": {}, "f:name": {}},  # a container that is no longer there
    'k:{"name":"web"}': {".": {}, "f:name": {}, "f:workingDir": {}, "f:env": {
        'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}},
        'k:{"name":"FOO"}': {".": {}, "f:name": {}, "f:value": {}},
    }},
    'k:{"name":"sidecar"}': {".": {}, "f:name": {}, "f:image": {}},
}}}}}


def _pod(*containers: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": list(containers)}}}}


def test_a_keyed_item_git_lacks_is_reported_whole_and_one_git_has_is_walked_field_by_field() -> None:
    desired = _pod({"name": "web", "env": [{"name": "A", "value": "1"}]})
    env = [{"name": "FOO", "value": "x"}, {"name": "A", "value": "2"}]
    live = _pod({"name": "sidecar", "image": "s:1"}, {"name": "web", "workingDir": "/w", "env": env})
    web = "spec.template.spec.containers[name=web]"
    assert owned(CONTAINER_FIELDS, desired, live) == [
        (f"{web}.workingDir", "/w"),
        (f"{web}.env[name=FOO]", {"name": "FOO", "value": "x"}),
        ("spec.template.spec.containers[name=sidecar]", {"name": "sidecar", "image": "s:1"}),
    ]
    # Without a schema a keyed item is still found by its key.
    assert owned(CONTAINER_FIELDS, desired, live, SchemaCursor(None, None))[0] == (f"{web}.workingDir", "/w")


def test_a_keyed_path_lists_its_keys_in_the_schema_s_order_then_any_other_key() -> None:
    fields: dict[str, Any] = {"f:spec": {
        "f:sites": {'k:{"name":"a","region":"eu"}': {".": {}, "f:name": {}, "f:region": {}}},
        # An older schema knows only `port` as the merge key; the server also keys by protocol.
        "f:ports": {'k:{"protocol":"UDP","port":53}': {".": {}, "f:port": {}}},
    }}
    live = {"spec": {"sites": [{"name": "a", "region": "eu"}], "ports": [{"port": 53, "protocol": "UDP"}]}}
    assert owned(fields, {}, live, _site()) == [
        ("spec.sites[region=eu,name=a]", {"name": "a", "region": "eu"}),
        ("spec.ports[port=53,protocol=UDP]", {"port": 53, "protocol": "UDP"}),
    ]
    # Where the schema says nothing, the keys stay in the order the entry wrote them.
    assert owned(fields, {}, live, SchemaCursor(None, None))[0][0] == "spec.sites[name=a,region=eu]"


def test_set_members_and_positional_items_are_reported_when_git_lacks_them() -> None:
    fields = {"f:spec": {
        "f:tags": {'v:"gone"': {}, 'v:"a"': {}, 'v:"z"': {}},
        "f:steps": {"i:5": {}, "i:2": {}, "i:0": {"f:run": {}, "f:name": {}}, "i:1": {}},
    }}
    desired = {"spec": {"tags": ["a"], "steps": [{"name": "x"}]}}
    live = {"spec": {"tags": ["a", "z"], "steps": [{"name": "x", "run": "1"}, {"name": "y"}]}}
    assert owned(fields, desired, live, _site()) == [
        ("spec.tags[z]", "z"), ("spec.steps[0].run", "1"), ("spec.steps[1]", {"name": "y"})]
    assert owned(fields, {"spec": {"tags": "not a list", "steps": {}}}, live, _site()) == [
        ("spec.tags[a]", "a"), ("spec.tags[z]", "z"), ("spec.steps[0].run", "1"), ("spec.steps[0].name", "x"),
        ("spec.steps[1]", {"name": "y"})]
    assert owned(fields, {}, {"spec": {"tags": {"a": 1}, "steps": {"0": 1}}}, _site()) == []


def test_an_owned_empty_object_is_not_an_addition_but_an_owned_value_is() -> None:
    # Flux applies `strategy: {}` for a Deployment git wrote without one; the server filled in the rest.
    fields: dict[str, Any] = {"f:spec": {"f:strategy": {}, "f:selector": {".": {}}, "f:template": {"f:metadata": {}},
                         "f:securityContext": {".": {}, "f:runAsUser": {}}}}
    live = {"spec": {"strategy": {"type": "RollingUpdate"}, "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}}, "securityContext": {"runAsUser": 1000}}}
    # An object with a field owned in it is walked into: the field is the addition.
    assert owned(fields, {}, live) == [("spec.securityContext.runAsUser", 1000)]
    assert owned({"f:spec": {"f:strategy": {"f:type": {}}}}, {}, live) == [("spec.strategy.type", "RollingUpdate")]


def test_a_node_owns_a_whole_value_when_it_names_no_field_inside_it() -> None:
    assert is_leaf({}) and is_leaf({".": {}}) and is_leaf(None)
    assert not is_leaf({"f:limits": {}}) and not is_leaf({".": {}, "f:limits": {}})


def test_a_creator_owns_the_server_s_defaults_and_allocations_but_not_other_values() -> None:
    fields: dict[str, Any] = {"f:spec": {"f:clusterIP": {}, "f:ipFamilies": {}, "f:type": {}, "f:sessionAffinity": {},
                         "f:externalName": {}, "f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}}}}}
    live = {"spec": {"clusterIP": "10.0.0.1", "ipFamilies": ["IPv4"], "type": "ClusterIP",
                     "sessionAffinity": "ClientIP", "externalName": "x", "ports": [{"port": 80, "protocol": "TCP"}]}}
    service = SchemaCursor.for_kind(SCHEMA, "v1", "Service")
    everything = [("spec.clusterIP", "10.0.0.1"), ("spec.ipFamilies", ["IPv4"]), ("spec.type", "ClusterIP"),
                  ("spec.sessionAffinity", "ClientIP"), ("spec.externalName", "x"),
                  ("spec.ports[port=80,protocol=TCP]", {"port": 80, "protocol": "TCP"})]
    assert owned(fields, {}, live, service) == everything
    assert owned(fields, {}, live, service, creator=True) == [
        ("spec.sessionAffinity", "ClientIP"), ("spec.externalName", "x"),
        ("spec.ports[port=80,protocol=TCP]", {"port": 80, "protocol": "TCP"})]
    # Inside a keyed item git specifies too: the container's defaulted pull policy.
    container: dict[str, Any] = {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:name": {}, "f:imagePullPolicy": {}}}}}}}
    desired = _pod({"name": "web"})
    live = _pod({"name": "web", "imagePullPolicy": "IfNotPresent"})
    assert owned(container, desired, live, creator=True) == []
    assert owned(container, desired, live) == [
        ("spec.template.spec.containers[name=web].imagePullPolicy", "IfNotPresent")]


def test_a_plain_create_is_told_from_an_edit_by_owning_one_of_git_s_values() -> None:
    desired = _pod({"name": "web", "image": "a:1", "args": ["x"]})
    desired["metadata"] = {"labels": {"team": "a"}}
    live = _pod({"name": "web", "image": "a:1", "args": ["x"], "imagePullPolicy": "IfNotPresent"})
    live["metadata"] = {"labels": {"team": "a"}}

    def entry(*leaf: str, key: str = 'k:{"name":"web"}') -> dict[str, Any]:
        node: dict[str, Any] = {".": {}, **{f"f:{name}": {} for name in leaf}}
        for raw in reversed(("f:spec", "f:template", "f:spec", "f:containers", key)):
            node = {raw: node}
        return node

    assert is_creator(entry("image"), desired, live)  # kubectl create: git's image, as git says
    assert not is_creator(entry("imagePullPolicy"), desired, live)  # kubectl edit of a default
    assert not is_creator(entry("workingDir"), desired, live)  # owned once, set on neither side
    assert not is_creator(entry("args"), desired, live)  # a list is not a value of git's to match
    assert is_creator(entry("imagePullPolicy", "args", "image"), desired, live)  # any one of git's values will do
    assert not is_creator(entry("image", key='k:{"name":"other"}'), desired, live)
    assert not is_creator({"f:metadata": {"f:labels": {"f:team": {}}}}, desired, live)
    assert not is_creator({"f:status": {"f:team": {}}}, {"status": {"team": 1}}, {"status": {"team": 1}})
    assert is_creator({"f:metadata": {"f:labels": {"f:team": {}}}, "f:spec": {"f:replicas": {}}},
                      {"metadata": {"labels": {"team": "a"}}, "spec": {"replicas": 2}}, {"spec": {"replicas": 2}})
    changed = _pod({"name": "web", "image": "b:2"})
    assert not is_creator(entry("image"), desired, changed)  # kubectl set image
    assert is_creator({"f:spec": {"f:replicas": {}}}, {"spec": {"replicas": 2}}, {"spec": {"replicas": 2}})
    assert not is_creator({"f:spec": {"f:replicas": {}}}, {"spec": None}, {"spec": None})
    # Positions and set members are followed too.
    steps = {"spec": {"steps": [{"run": "a"}], "tags": ["t"]}}
    assert is_creator({"f:spec": {"f:steps": {"i:0": {"f:run": {}}}}}, steps, steps)
    assert not is_creator({"f:spec": {"f:steps": {"i:1": {"f:run": {}}}}}, steps, steps)
    assert is_creator({"f:spec": {"f:tags": {'v:"t"': {}}}}, steps, steps)
    assert not is_creator({"f:spec": {"f:tags": {'v:"u"': {}}}}, steps, steps)


def test_an_entry_whose_every_field_git_specifies_cannot_own_an_addition() -> None:
    desired = _pod({"name": "web", "image": "a:1"})
    assert all_specified({"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:name": {}, "f:image": {}}}}}}}, desired)
    assert not all_specified({"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:name": {}, "f:imagePullPolicy": {}}}}}}}, desired)
    assert not all_specified({"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"sidecar"}': {".": {}}}}}}}, desired)
    assert not all_specified({"f:spec": {"f:paused": {}}}, desired)
    assert not all_specified({"f:spec": {"f:replicas": {}}}, {"spec": "not an object"})
    # Positions, set members and keys this version cannot read are never taken as specified.
    assert not all_specified({"f:spec": {"f:tags": {'v:"a"': {}}}}, {"spec": {"tags": ["a"]}})
    assert not all_specified({"f:spec": {"x:tags": {}}}, {"spec": {"tags": ["a"]}})
    assert all_specified({".": {}, "f:spec": {".": {}, "f:tags": {}}}, {"spec": {"tags": ["a"]}})


def test_owners_are_the_managers_whose_entries_own_the_path_or_a_whole_value_around_it() -> None:
    path = ("spec", "template", "spec", "containers", Key((("name", "web"),)), "image")
    entries: list[dict[str, Any]] = [
        {"manager": "kubectl", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            'k:{"name":"web"}': {"f:image": {}}}}}}}},
        {"manager": "other-image", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
            'k:{"name":"sidecar"}': {"f:image": {}}}}}}}},
        {"manager": "atomic", "fieldsV1": {"f:spec": {"f:template": {}}}},  # owns the whole template
        {"manager": "status", "fieldsV1": {"f:status": {"f:replicas": {}}}},
        {"fieldsV1": {"f:spec": {}}},  # no manager named: nobody to report
        {"manager": "unreadable", "fieldsV1": {"x:spec": {"f:a": {}}, "f:spec": {"f:b": {}}}},
    ]
    assert owners(entries, path) == ["kubectl", "atomic"]
    assert owners(entries, ("spec",)) == ["kubectl", "other-image", "atomic", "unreadable"]


def test_an_entry_that_owns_no_field_owns_no_path() -> None:
    # A manager's empty apply (`fieldsV1: {}`) or an entry without fieldsV1 owns nothing; only an empty node
    # *under* a field marks that field as a whole value.
    path = ("spec", "replicas")
    entries: list[dict[str, Any]] = [{"manager": "empty-apply", "fieldsV1": {}}, {"manager": "no-fields"},
                                     {"manager": "kubectl-scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
    assert owners(entries, path) == ["kubectl-scale"]


def test_field_keys_of_each_kind_are_read_and_malformed_ones_are_skipped() -> None:
    assert parse_field_key("f:spec") == "spec"
    assert parse_field_key('k:{"name":"web","port":80}') == Key((("name", "web"), ("port", 80)))
    assert parse_field_key('v:"example.com/x"') == Member("example.com/x")
    assert parse_field_key("i:3") == Index(3)
    for raw in ('k:["web"]', "k:{bad", "i:three", "x:spec", "."):
        assert parse_field_key(raw) is None
