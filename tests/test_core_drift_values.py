"""How the comparison of one object (``gitops_gen.drift.compare``) judges values of every shape: a field the
cluster lacks, a value of another shape, booleans, text and quantities without a schema, lists keyed by name
or by position, and what server mode (against the dry-run) adds. Each case was a surviving mutant of
benchmarks/mutation.py."""

from __future__ import annotations

import copy
from typing import Any

from gitops_gen.drift import compare as drift
from gitops_gen.drift.ignore_rules import parse_ignore
from gitops_gen.drift.policy import Policy
from gitops_gen.drift.result import REDACTED, FieldDrift, Status
from gitops_gen.kube import openapi
from gitops_gen.objects import object_key
from tests.test_core_drift_evaluate import THING_API
from tests.test_drift_compare import DESIRED, SCHEMA, live_copy

WEB = "spec.template.spec.containers[name=web]"


def _thing(**spec: Any) -> dict[str, Any]:
    """A custom resource that the schema does not describe (a CRD without one)."""
    return {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "m"},
            "spec": spec}


def _found(found: tuple[FieldDrift, ...]) -> list[tuple[str, Any, Any]]:
    return [(item.path_text, item.desired, item.live) for item in found]


def test_fields_git_sets_that_the_cluster_lacks_are_drift_field_by_field_and_item_by_item() -> None:
    live = live_copy()
    container = live["spec"]["template"]["spec"]["containers"][0]
    for name in ("image", "args", "env", "resources"):
        del container[name]
    assert _found(drift.compare(DESIRED, live, SCHEMA, Policy())) == [
        (f"{WEB}.image", "ghcr.io/mastodon/mastodon:v4.2.0", None),
        (f"{WEB}.args", ["a", "b"], []),
        (f"{WEB}.env[name=A]", {"name": "A", "value": "1"}, None),
        (f"{WEB}.env[name=B]", {"name": "B", "value": "2"}, None),
        (f"{WEB}.resources.requests.cpu", "0.5", None),
        (f"{WEB}.resources.requests.memory", "1024Mi", None),
    ]


def test_a_value_of_another_shape_is_reported_whole() -> None:
    desired = _thing(opts={"a": 1}, args=["a"], listed=["a"], nothing=None, mixed=[["a"], "1"], rows=[["a"]])
    live = _thing(opts="a=1", args="a", listed="['a']", nothing="None", mixed=[["a"], 1], rows=["['a']"])
    # Without a schema, scalars are compared as text; a list, an object or null never equal a text.
    assert _found(drift.compare(desired, live, None, Policy())) == [
        ("spec.opts", {"a": 1}, "a=1"), ("spec.args", ["a"], "a"), ("spec.listed", ["a"], "['a']"),
        ("spec.nothing", None, "None"), ("spec.rows", [["a"]], ["['a']"])]


def test_booleans_equal_only_booleans() -> None:
    desired = _thing(paused=False, one=1, text="True", port="80", same=True)
    live = _thing(paused=True, one=True, text=True, port=80, same=True)
    assert _found(drift.compare(desired, live, None, Policy())) == [
        ("spec.paused", False, True), ("spec.one", 1, True), ("spec.text", "True", True)]


def test_without_a_schema_only_resource_fields_are_compared_as_quantities() -> None:
    desired = _thing(version="1.0", resources={"requests": {"cpu": "0.5"}}, ports=[80, "443"])
    live = _thing(version="1", resources={"requests": {"cpu": "500m"}}, ports=["80", 443])
    assert _found(drift.compare(desired, live, None, Policy())) == [("spec.version", "1.0", "1")]


def test_without_a_schema_a_list_is_keyed_by_name_only_when_every_item_on_both_sides_has_one() -> None:
    named = [{"name": "a", "v": 1}, {"name": "b", "v": 2}]
    assert drift.compare(_thing(items=named), _thing(items=named[::-1]), None, Policy()) == ()
    unnamed = [{"x": 1}, {"x": 2}]
    assert _found(drift.compare(_thing(items=unnamed), _thing(items=unnamed[::-1]), None, Policy())) == [
        ("spec.items[0].x", 1, 2), ("spec.items[1].x", 2, 1)]
    # One side with an item that has no name: by position.
    assert _found(drift.compare(_thing(items=[{"name": "a"}]), _thing(items=[{"name": "a"}, {"x": 1}]), None,
                                Policy())) == [("spec.items", [{"name": "a"}], [{"name": "a"}, {"x": 1}])]
    assert _found(drift.compare(_thing(items=[{"name": "a"}, {"x": 1}]), _thing(items=[{"name": "a"}, {"name": "b"}]),
                                None, Policy())) == [("spec.items[1].x", 1, None)]


def test_a_keyed_list_with_a_repeated_key_is_in_sync_when_both_sides_are_the_same() -> None:
    # The API server keeps both of two env vars of one name (the last wins in the container).
    desired = copy.deepcopy(DESIRED)
    desired["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"},
                                                                   {"name": "A", "value": "2"}]
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["env"] = copy.deepcopy(
        desired["spec"]["template"]["spec"]["containers"][0]["env"])
    assert drift.compare(desired, live, SCHEMA, Policy()) == ()


def test_server_mode_reports_values_of_another_shape_and_lists_only_the_cluster_has() -> None:
    applied = _thing(x="a", y="b", tags=["a", "b"])
    live = _thing(x={"b": 1}, y=["b"], tags=["b", "a"], z=["c"], w=[{"name": "n"}])
    assert _found(drift.compare_applied(applied, applied, live, None, Policy())) == [
        ("spec.x", "a", {"b": 1}), ("spec.y", "b", ["b"]), ("spec.tags", ["a", "b"], ["b", "a"]),
        ("spec.z", [], ["c"]), ("spec.w[name=n]", None, {"name": "n"})]
    # With the schema `tags` is a set: the same members in another order are in sync, one more is not.
    thing = {**applied, "kind": "Thing", "spec": {"tags": ["a", "b"]}}
    schema = openapi.compact(THING_API)
    assert drift.compare_applied(thing, thing, {**thing, "spec": {"tags": ["b", "a"]}}, schema, Policy()) == ()
    assert _found(drift.compare_applied(thing, thing, {**thing, "spec": {"tags": ["b", "a", "c"]}}, schema,
                                        Policy())) == [("spec.tags", ["a", "b"], ["b", "a", "c"])]


def test_evaluate_compares_with_the_schema_in_both_modes() -> None:
    schema = openapi.compact(THING_API)
    thing = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t", "namespace": "m"},
             "spec": {"tags": ["a", "b"]}}
    live = {object_key(thing): {**thing, "spec": {"tags": ["b", "a"]}}}
    assert [r.status for r in drift.evaluate([thing], live, set(), schema, Policy())] == [Status.IN_SYNC]
    assert [r.status for r in drift.evaluate([thing], live, set(), schema, Policy(),
                                             applied={object_key(thing): thing})] == [Status.IN_SYNC]
    assert [r.status for r in drift.evaluate([thing], live, set(), None, Policy())] == [Status.MODIFIED]


def _secret(labels: dict[str, str], **body: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "m", "labels": labels},
            **body}


def test_a_secret_without_its_values_is_judged_by_metadata_in_both_modes_and_ignore_rules_apply() -> None:
    desired = _secret({"a": "1"}, stringData={"p": "x"})
    live = _secret({"a": "2", "extra": "x"}, data={"p": "eQ=="})
    key = object_key(desired)
    [git] = drift.evaluate([desired], {key: live}, set(), SCHEMA, Policy())
    assert _found(git.fields) == [("metadata.labels.a", "1", "2")]
    applied = _secret({"a": "1"}, data={"p": "eA=="})
    [server] = drift.evaluate([desired], {key: live}, set(), SCHEMA, Policy(), applied={key: applied})
    assert _found(server.fields) == [("metadata.labels.a", "1", "2"), ("metadata.labels.extra", None, "x")]
    rule = Policy(ignore=(parse_ignore("Secret/s:/metadata/labels/a"),))
    assert drift.evaluate([desired], {key: live}, set(), SCHEMA, rule)[0].status == Status.IN_SYNC


def test_a_secret_s_data_and_string_data_are_compared_together_and_a_config_map_s_data_is_shown() -> None:
    desired = _secret({}, data={"a": "eA=="}, stringData={"b": "y"})
    live = _secret({}, data={"a": "eg==", "b": "eQ=="})
    assert _found(drift.compare(desired, live, SCHEMA, Policy())) == [("data.a", REDACTED, REDACTED)]
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    assert _found(drift.compare(config, {**config, "data": {"a": "2"}}, SCHEMA, Policy())) == [("data.a", "1", "2")]


def test_server_mode_compares_the_body_not_identity_or_status() -> None:
    applied = _thing(size=1)
    live = {**_thing(size=1), "apiVersion": "example.com/v2", "kind": "Other", "status": {"ready": True}}
    assert drift.compare_applied(applied, applied, live, None, Policy()) == ()


def _with_entries(*entries: dict[str, Any]) -> dict[str, Any]:
    live = live_copy()
    live["spec"].update(paused=True, minReadySeconds=5)
    live["metadata"]["managedFields"].extend(entries)
    return live


def test_every_other_writer_s_addition_is_reported_once_with_its_manager() -> None:
    paused: dict[str, Any] = {"f:spec": {"f:paused": {}}}
    live = _with_entries(
        {"manager": "kustomize-controller", "operation": "Update", "fieldsV1": paused},  # a sync's plain update
        {"operation": "Update", "fieldsV1": paused},  # a writer that gave no name: named after another owner
        {"manager": "kubectl-patch", "operation": "Update", "fieldsV1": {"f:spec": {"f:paused": {},
                                                                                    "f:minReadySeconds": {}}}},
    )
    assert [(item.path_text, item.live, item.manager) for item in drift.compare(DESIRED, live, SCHEMA, Policy())] == [
        ("spec.paused", True, "kubectl-patch"), ("spec.minReadySeconds", 5, "kubectl-patch")]
    ignored = Policy(ignore=(parse_ignore("Deployment:/spec/paused"),))
    assert [item.path_text for item in drift.compare(DESIRED, live, SCHEMA, ignored)] == ["spec.minReadySeconds"]


def test_an_ignored_extra_object_does_not_hide_the_extras_after_it() -> None:
    def config_map(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "m"}}

    live = {object_key(obj): obj for obj in (config_map("skip"), config_map("kept"))}
    policy = Policy(ignore=(parse_ignore("ConfigMap/skip:/"),))
    results = drift.evaluate([], live, {("", "ConfigMap", "m")}, SCHEMA, policy)
    assert [(r.name, r.status) for r in results] == [("kept", Status.EXTRA)]


def test_a_value_the_schema_does_not_expect_is_compared_as_it_stands() -> None:
    # `template` is an object and `containers` a list keyed by name in the schema; a cluster that holds something
    # else there (an API server without validation) is compared by value: numbers as numbers, lists by position.
    def deployment(template: Any) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"template": template}}

    assert drift.compare(deployment(1), deployment(1.0), SCHEMA, Policy()) == ()
    assert _found(drift.compare(deployment("a"), deployment("b"), SCHEMA, Policy())) == [("spec.template", "a", "b")]
    desired, live = deployment({"spec": {"containers": ["web", 1]}}), deployment({"spec": {"containers": ["web", 2]}})
    assert _found(drift.compare(desired, live, SCHEMA, Policy())) == [
        ("spec.template.spec.containers", ["web", 1], ["web", 2])]


def test_a_field_only_the_cluster_has_is_drift_in_server_mode_whatever_its_text() -> None:
    applied = _thing(size=1)
    live = _thing(size=1, note="ABSENT", empty="")
    assert _found(drift.compare_applied(applied, applied, live, None, Policy())) == [("spec.note", None, "ABSENT")]
