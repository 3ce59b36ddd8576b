"""The verdict on a whole overlay (``gitops_gen.drift.compare.evaluate``), in both modes, on plain objects:
which objects are missing, modified, in sync or extra, in which order, with which fields, and what a Secret
shows without ``--secret-values``. Each assertion was a surviving mutant of benchmarks/mutation.py."""

from __future__ import annotations

import copy
from typing import Any

from gitops_gen.drift import compare as drift
from gitops_gen.drift.ignore_rules import parse_ignore
from gitops_gen.drift.policy import Policy
from gitops_gen.drift.result import REDACTED, ObjectDrift, Status
from gitops_gen.objects import object_key
from tests.test_drift_compare import DESIRED, SCHEMA, live_copy


def _cm(name: str, namespace: str = "m", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, **extra}}


SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "m", "labels": {"a": "1"}},
          "stringData": {"password": "hunter2"}}
LIVE_SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": {"name": "s", "namespace": "m", "labels": {"a": "2"}}, "data": {"password": "b3RoZXI="}}


def _overlay() -> tuple[list[dict[str, Any]], dict[Any, dict[str, Any]], set[tuple[str, str, str]]]:
    live_web = live_copy()
    live_web["spec"]["replicas"] = 5
    desired = [DESIRED, SECRET, _cm("gone"), _cm("skipped"), _cm("same")]
    live_objects = [live_web, LIVE_SECRET, _cm("same"),
                    _cm("zeta"), _cm("alpha"), _cm("alpha", namespace="a"),  # extras, listed out of order
                    _cm("skip-extra"),  # ignored as a whole
                    _cm("child", ownerReferences=[{"controller": True, "name": "x"}]),  # a controller's
                    _cm("elsewhere", namespace="not-listed")]
    live = {object_key(obj): obj for obj in live_objects}
    return desired, live, {("", "ConfigMap", "m"), ("", "ConfigMap", "a")}


POLICY = Policy(ignore=(parse_ignore("ConfigMap/skip*:/"),))


def test_an_overlay_is_judged_object_by_object_in_render_order_then_the_sorted_extras() -> None:
    desired, live, listed = _overlay()
    results = drift.evaluate(desired, live, listed, SCHEMA, POLICY)
    assert [(r.api_version, r.kind, r.namespace, r.name, r.status) for r in results] == [
        ("apps/v1", "Deployment", "m", "web", Status.MODIFIED),
        ("v1", "Secret", "m", "s", Status.MODIFIED),
        ("v1", "ConfigMap", "m", "gone", Status.MISSING),
        ("v1", "ConfigMap", "m", "same", Status.IN_SYNC),
        ("v1", "ConfigMap", "a", "alpha", Status.EXTRA),
        ("v1", "ConfigMap", "m", "alpha", Status.EXTRA),
        ("v1", "ConfigMap", "m", "zeta", Status.EXTRA),
    ]
    web, secret = results[0], results[1]
    assert [(f.path_text, f.desired, f.live) for f in web.fields] == [("spec.replicas", 2, 5)]
    # Without --secret-values a Secret is judged by its metadata: the data, which differs, is not read.
    assert [(f.path_text, f.desired, f.live) for f in secret.fields] == [('metadata.labels.a', "1", "2")]
    assert results[3] == ObjectDrift("v1", "ConfigMap", "m", "same", Status.IN_SYNC, ())


def test_with_secret_values_the_data_is_compared_and_shown_redacted() -> None:
    desired, live, listed = _overlay()
    results = drift.evaluate(desired, live, listed, SCHEMA, Policy(secret_values=True))
    [secret] = [r for r in results if r.kind == "Secret"]
    assert [(f.path_text, f.desired, f.live) for f in secret.fields] == [
        ("data.password", REDACTED, REDACTED), ("metadata.labels.a", "1", "2")]


def test_server_mode_reports_every_field_where_the_dry_run_and_the_cluster_differ() -> None:
    desired, live, listed = _overlay()
    web_key, secret_key = object_key(DESIRED), object_key(SECRET)
    applied_web = live_copy()  # the server's dry-run of git's object: its defaults included
    live[web_key]["spec"]["paused"] = True  # a field git does not set, added by hand
    live[web_key]["spec"]["template"]["spec"]["containers"][0]["args"] = ["a"]
    applied_secret = copy.deepcopy(LIVE_SECRET)
    applied_secret["metadata"]["labels"] = {"a": "1"}
    results = drift.evaluate(desired, live, listed, SCHEMA, POLICY,
                             applied={web_key: applied_web, secret_key: applied_secret})
    web, secret = results[0], results[1]
    assert [(f.path_text, f.desired, f.live) for f in web.fields] == [
        ("spec.replicas", 2, 5),
        ("spec.template.spec.containers[name=web].args", ["a", "b"], ["a"]),
        ("spec.paused", None, True),
    ]
    assert [(f.path_text, f.desired, f.live) for f in secret.fields] == [("metadata.labels.a", "1", "2")]


def test_bookkeeping_labels_and_annotations_written_by_someone_else_are_not_drift_but_their_neighbours_are() -> None:
    desired = copy.deepcopy(DESIRED)
    live = live_copy()
    live["metadata"]["labels"].update({"kustomize.toolkit.fluxcd.io/name": "apps", "team": "a"})
    live["metadata"]["annotations"].update({"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "x"})
    live["metadata"]["managedFields"].append({"manager": "helm", "operation": "Update", "fieldsV1": {"f:metadata": {
        "f:labels": {"f:kustomize.toolkit.fluxcd.io/name": {}, "f:team": {}},
        "f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}, "f:note": {}}}}})
    found = drift.compare(desired, live, SCHEMA, Policy())
    assert [(f.path_text, f.live, f.manager) for f in found] == [
        ("metadata.labels.team", "a", "helm"), ("metadata.annotations.note", "x", "helm")]


# A custom resource whose schema has a set, a positional list of objects and a keyed list.
THING_API: dict[str, Any] = {"definitions": {
    "com.example.v1.Thing": {
        "properties": {"spec": {"$ref": "#/definitions/com.example.v1.ThingSpec"}},
        "x-kubernetes-group-version-kind": [{"group": "example.com", "kind": "Thing", "version": "v1"}],
    },
    "com.example.v1.ThingSpec": {"properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
        "steps": {"type": "array", "items": {"$ref": "#/definitions/com.example.v1.Step"}},
        "rows": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "parts": {"type": "array", "items": {"$ref": "#/definitions/com.example.v1.Step"},
                  "x-kubernetes-list-map-keys": ["name"], "x-kubernetes-list-type": "map"},
        "extra": {"type": "object", "additionalProperties": {"type": "string"}},
    }},
    "com.example.v1.Step": {"properties": {"name": {"type": "string"}, "run": {"type": "string"}}},
}}


def _thing(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t", "namespace": "m"}, "spec": spec}


def test_sets_positional_lists_and_keyed_lists_are_compared_each_their_own_way() -> None:
    from gitops_gen.kube import openapi

    thing_schema = openapi.compact(THING_API)
    desired = _thing(tags=["a", "b"], steps=[{"name": "x", "run": "1"}, {"name": "y", "run": "2"}],
                     rows=[["a"], ["b"]], parts=[{"name": "p", "run": "1"}, {"name": "q", "run": "1"}])
    same = _thing(tags=["b", "a"], steps=[{"name": "x", "run": "1"}, {"name": "y", "run": "2"}],
                  rows=[["a"], ["b"]], parts=[{"name": "q", "run": "1"}, {"name": "p", "run": "1"}])
    assert drift.compare(desired, same, thing_schema, Policy()) == ()
    changed = _thing(tags=["a", "c"], steps=[{"name": "x", "run": "1"}, {"name": "y", "run": "3"}],
                     rows=[["a"], ["c"]], parts=[{"name": "p", "run": "2"}, {"name": "r", "run": "1"}])
    assert [(f.path_text, f.desired, f.live) for f in drift.compare(desired, changed, thing_schema, Policy())] == [
        ("spec.tags", ["a", "b"], ["a", "c"]),
        ("spec.steps[1].run", "2", "3"),
        ("spec.rows", [["a"], ["b"]], [["a"], ["c"]]),
        ("spec.parts[name=p].run", "1", "2"),
        ("spec.parts[name=q]", {"name": "q", "run": "1"}, None),
    ]
    # A set with one more member than git says is not drift against git; against the dry-run it is.
    wider = _thing(tags=["a", "b", "z"], steps=desired["spec"]["steps"], rows=desired["spec"]["rows"],
                   parts=[*desired["spec"]["parts"], {"name": "s", "run": "1"}], extra={"k": "v"})
    assert drift.compare(desired, wider, thing_schema, Policy()) == ()
    assert [(f.path_text, f.desired, f.live) for f in drift.compare_applied(
        desired, desired, wider, thing_schema, Policy())] == [
        ("spec.tags", ["a", "b"], ["a", "b", "z"]),
        ("spec.parts[name=s]", None, {"name": "s", "run": "1"}),
        ("spec.extra.k", None, "v"),  # a map git leaves out, walked key by key
    ]
