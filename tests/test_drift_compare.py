"""The comparison itself, on plain objects: what counts as drift and what does not."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitops_gen.drift import compare as drift
from gitops_gen.drift.fieldpath import Key, format_path
from gitops_gen.drift.ignore_rules import parse_ignore
from gitops_gen.drift.policy import INSTANCE, MANAGED_BY, Policy, tracking_selector
from gitops_gen.drift.result import REDACTED, FieldDrift, Status
from gitops_gen.kube import openapi as schema
from gitops_gen.objects import object_key

# A fragment of a real OpenAPI v2 document (Kubernetes 1.20), enough for Deployments and Services.
OPENAPI: dict[str, Any] = {"definitions": {
    "io.k8s.api.apps.v1.Deployment": {
        "properties": {"spec": {"$ref": "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"}},
        "x-kubernetes-group-version-kind": [{"group": "apps", "kind": "Deployment", "version": "v1"}],
    },
    "io.k8s.api.apps.v1.DeploymentSpec": {"properties": {
        "template": {"$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"},
        "replicas": {"type": "integer"},
    }},
    "io.k8s.api.core.v1.PodTemplateSpec": {
        "properties": {"spec": {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}},
    },
    "io.k8s.api.core.v1.PodSpec": {"properties": {"containers": {
        "type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.Container"},
        "x-kubernetes-patch-merge-key": "name",
    }}},
    "io.k8s.api.core.v1.Container": {"properties": {
        "env": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.EnvVar"},
                "x-kubernetes-patch-merge-key": "name"},
        "ports": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.ContainerPort"},
                  "x-kubernetes-list-map-keys": ["containerPort", "protocol"], "x-kubernetes-list-type": "map"},
        "resources": {"$ref": "#/definitions/io.k8s.api.core.v1.ResourceRequirements"},
        "args": {"type": "array", "items": {"type": "string"}},
    }},
    "io.k8s.api.core.v1.EnvVar": {"properties": {"name": {"type": "string"}}},
    "io.k8s.api.core.v1.ContainerPort": {"properties": {"containerPort": {"type": "integer"}}},
    "io.k8s.api.core.v1.ResourceRequirements": {"properties": {
        "requests": {"type": "object",
                     "additionalProperties": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"}},
    }},
    "io.k8s.api.core.v1.Service": {
        "properties": {"spec": {"$ref": "#/definitions/io.k8s.api.core.v1.ServiceSpec"}},
        "x-kubernetes-group-version-kind": [{"group": "", "kind": "Service", "version": "v1"}],
    },
    "io.k8s.api.core.v1.ServiceSpec": {"properties": {"ports": {
        "type": "array", "items": {"$ref": "#/definitions/io.k8s.api.core.v1.ServicePort"},
        "x-kubernetes-list-map-keys": ["port", "protocol"], "x-kubernetes-list-type": "map",
    }}},
    "io.k8s.api.core.v1.ServicePort": {"properties": {
        "targetPort": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
    }},
}}
SCHEMA = schema.compact(OPENAPI)

DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "m", "labels": {"app.kubernetes.io/name": "web"}},
    "spec": {"replicas": 2, "template": {"spec": {"containers": [{
        "name": "web", "image": "ghcr.io/mastodon/mastodon:v4.2.0", "args": ["a", "b"],
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 3000, "protocol": "TCP", "name": "http"}],
        "resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"}},
    }]}}},
}

APPLIED_FIELDS = {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}}, "f:spec": {
    "f:replicas": {}, "f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {
        ".": {}, "f:name": {}, "f:image": {}, "f:args": {},
        "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}},
                  'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}}},
        "f:ports": {'k:{"containerPort":3000,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}},
        "f:resources": {"f:requests": {"f:cpu": {}, "f:memory": {}}}}}}}}}


def live_copy() -> dict[str, Any]:
    """What the API server returns after a server-side apply of DESIRED, with its defaults and bookkeeping."""
    live = copy.deepcopy(DESIRED)
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["requests"] = {"cpu": "500m", "memory": "1Gi"}
    container["env"].reverse()  # order of a keyed list means nothing
    container.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    live["metadata"].update(uid="u", resourceVersion="7", generation=1, annotations={
        "deployment.kubernetes.io/revision": "1"})
    live["metadata"]["managedFields"] = [
        {"manager": "kubectl", "operation": "Apply", "fieldsV1": copy.deepcopy(APPLIED_FIELDS)},
        {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {
            "f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}},
            "f:status": {"f:replicas": {}}}},
    ]
    live["spec"]["strategy"] = {"type": "RollingUpdate"}
    live["status"] = {"replicas": 2}
    return live


def paths(found: tuple[FieldDrift, ...]) -> list[str]:
    return [item.path_text for item in found]


def test_server_defaults_quantities_and_keyed_list_order_are_not_drift() -> None:
    assert drift.compare(DESIRED, live_copy(), SCHEMA, Policy()) == ()


def test_changed_value_is_reported_with_path_values_and_manager() -> None:
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "evil:1"
    live["metadata"]["managedFields"].append({"manager": "kubectl-set", "operation": "Update", "fieldsV1": {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}}}}})
    [found] = drift.compare(DESIRED, live, SCHEMA, Policy())
    assert (found.path_text, found.desired, found.live, found.manager) == (
        "spec.template.spec.containers[name=web].image", "ghcr.io/mastodon/mastodon:v4.2.0", "evil:1", "kubectl-set")


def test_a_value_the_sync_engine_owns_but_that_differs_has_no_manager() -> None:
    live = live_copy()
    live["spec"]["replicas"] = 5  # kubectl scale: 1.20 records nothing, kubectl keeps owning the field
    [found] = drift.compare(DESIRED, live, SCHEMA, Policy())
    assert (found.path_text, found.desired, found.live, found.manager) == ("spec.replicas", 2, 5, None)


def test_env_var_added_by_hand_is_reported_as_the_whole_item() -> None:
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "FOO", "value": "bar"})
    live["metadata"]["managedFields"].append({"manager": "kubectl-set", "operation": "Update", "fieldsV1": {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:env": {
            'k:{"name":"FOO"}': {".": {}, "f:name": {}, "f:value": {}}}}}}}}}})
    [found] = drift.compare(DESIRED, live, SCHEMA, Policy())
    assert found.path_text == "spec.template.spec.containers[name=web].env[name=FOO]"
    assert (found.desired, found.live, found.manager) == (None, {"name": "FOO", "value": "bar"}, "kubectl-set")


def test_fields_written_by_controllers_or_left_unowned_are_not_drift() -> None:
    live = live_copy()
    live["metadata"]["annotations"]["something.controller/x"] = "1"
    live["metadata"]["managedFields"][1]["fieldsV1"]["f:metadata"]["f:annotations"]["f:something.controller/x"] = {}
    live["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "UNOWNED", "value": "x"})
    assert drift.compare(DESIRED, live, SCHEMA, Policy()) == ()


def test_a_field_the_engine_applied_that_git_no_longer_has_is_a_pending_removal() -> None:
    desired = copy.deepcopy(DESIRED)
    del desired["spec"]["template"]["spec"]["containers"][0]["env"][1]
    [found] = drift.compare(desired, live_copy(), SCHEMA, Policy())
    assert found.path_text == "spec.template.spec.containers[name=web].env[name=B]"
    assert found.manager == "kubectl"


def test_a_plain_create_owns_the_defaults_but_they_are_not_drift() -> None:
    live = live_copy()
    fields = copy.deepcopy(APPLIED_FIELDS)
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    container.update({"f:imagePullPolicy": {}, "f:terminationMessagePath": {}})
    live["metadata"]["managedFields"][0] = {"manager": "kubectl-create", "operation": "Update", "fieldsV1": fields}
    assert drift.compare(DESIRED, live, SCHEMA, Policy()) == ()


def test_an_edit_to_a_defaulted_field_is_drift() -> None:
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    live["metadata"]["managedFields"].append({"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:imagePullPolicy": {}}}}}}}})
    [found] = drift.compare(DESIRED, live, SCHEMA, Policy())
    assert (found.path_text, found.live, found.manager) == (
        "spec.template.spec.containers[name=web].imagePullPolicy", "Always", "kubectl-edit")


def test_order_of_an_unkeyed_list_matters() -> None:
    live = live_copy()
    live["spec"]["template"]["spec"]["containers"][0]["args"] = ["b", "a"]
    assert paths(drift.compare(DESIRED, live, SCHEMA, Policy())) == ["spec.template.spec.containers[name=web].args"]


def test_int_or_string_and_protocol_default_match() -> None:
    desired = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"ports": [{"port": 80, "targetPort": "3000"}]}}
    live = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 3000}], "clusterIP": "10.0.0.1"}}
    assert drift.compare(desired, live, SCHEMA, Policy()) == ()


def test_empty_and_absent_collections_are_equal() -> None:
    desired = copy.deepcopy(DESIRED)
    desired["metadata"]["annotations"] = {}
    desired["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = []
    live = live_copy()
    live["metadata"].pop("annotations")
    assert drift.compare(desired, live, SCHEMA, Policy()) == ()


def test_secret_values_are_redacted_and_string_data_matches_data() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
               "stringData": {"password": "hunter2", "token": "same"}}
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
            "data": {"password": "b3RoZXI=", "token": "c2FtZQ=="}}
    [found] = drift.compare(desired, live, SCHEMA, Policy())
    assert (found.path_text, found.desired, found.live) == ("data.password", REDACTED, REDACTED)
    assert "hunter2" not in repr(found) and "b3RoZXI=" not in repr(found)


def test_ignore_rules_select_objects_and_pointers() -> None:
    live = live_copy()
    live["spec"]["replicas"] = 5
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "x"
    rules = (parse_ignore("Deployment/web:/spec/replicas"),
             parse_ignore("Deployment:/spec/template/spec/containers/web/image"))
    assert drift.compare(DESIRED, live, SCHEMA, Policy(ignore=rules)) == ()
    other = (parse_ignore("Deployment/other:/spec/replicas"),)
    assert paths(drift.compare(DESIRED, live, SCHEMA, Policy(ignore=other)))[0] == "spec.replicas"


def test_an_hpa_makes_its_targets_replicas_ignored() -> None:
    hpa = {"apiVersion": "autoscaling/v2beta2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "m"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}
    live = live_copy()
    live["spec"]["replicas"] = 7
    key = object_key(DESIRED)
    hpa_key = object_key(hpa)
    results = drift.evaluate([DESIRED, hpa], {key: live, hpa_key: copy.deepcopy(hpa)}, set(), SCHEMA, Policy())
    assert [r.status for r in results] == [Status.IN_SYNC, Status.IN_SYNC]


def test_evaluate_reports_missing_and_extra_but_not_controller_children() -> None:
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hand", "namespace": "m"}}
    child = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "child", "namespace": "m", "ownerReferences": [{"controller": True, "name": "x"}]}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "m"}}
    live = {object_key(extra): extra, object_key(child): child}
    results = drift.evaluate([config], live, {("", "ConfigMap", "m")}, SCHEMA, Policy())
    assert [(r.name, r.status) for r in results] == [("cfg", Status.MISSING), ("hand", Status.EXTRA)]


def test_tracking_selector_keeps_only_labels_every_object_shares() -> None:
    a = {"metadata": {"labels": {MANAGED_BY: "gitops-gen", INSTANCE: "m-prod"}}}
    b = {"metadata": {"labels": {MANAGED_BY: "gitops-gen", INSTANCE: "m-stage"}}}
    assert tracking_selector([a, b]) == "app.kubernetes.io/managed-by=gitops-gen"


@pytest.mark.parametrize("text", ["Deployment", ":/x", "Deployment/web:spec/replicas", "a/b/c/d/e:/x"])
def test_malformed_ignore_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ignore rule"):
        parse_ignore(text)


def test_paths_quote_keys_with_dots_and_show_composite_keys() -> None:
    path = ("spec", "ports", Key((("port", 80), ("protocol", "TCP"))), "name")
    assert format_path(path) == "spec.ports[port=80,protocol=TCP].name"
    assert format_path(("metadata", "labels", "team")) == "metadata.labels.team"


def test_quantities_written_as_numbers_match_the_servers_canonical_text() -> None:
    desired = copy.deepcopy(DESIRED)
    desired["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] = {"cpu": 0.5, "memory": "1Gi"}
    assert drift.compare(desired, live_copy(), SCHEMA, Policy()) == ()
    desired["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = 0.25
    assert paths(drift.compare(desired, live_copy(), SCHEMA, Policy())) == [
        "spec.template.spec.containers[name=web].resources.requests.cpu"]


def test_a_client_side_apply_of_git_s_secret_is_not_drift() -> None:
    # Created by server-side apply, later `kubectl apply` (client-side) of a manifest that spells out the
    # server's default `type: Opaque`: kubectl applying git's objects is a sync, not a hand edit.
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
               "data": {"A": "YQ=="}}
    live = {**copy.deepcopy(desired), "type": "Opaque"}
    live["metadata"]["managedFields"] = [
        {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "fieldsV1": {"f:data": {"f:A": {}}}},
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
         "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration":
                                                           {}}}, "f:type": {}}},
    ]
    assert drift.compare(desired, live, SCHEMA, Policy(secret_values=True)) == ()


def _deployment_applied_with(strategy_fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    desired = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
               "spec": {"replicas": 2}}
    live = copy.deepcopy(desired)
    live["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                           "maxUnavailable": "25%"}}
    live["metadata"]["managedFields"] = [{
        "manager": "kustomize-controller", "operation": "Apply", "apiVersion": "apps/v1",
        "fieldsV1": {"f:spec": {"f:replicas": {}, "f:strategy": strategy_fields}},
    }]
    return desired, live


def test_an_empty_object_flux_applied_is_not_a_pending_removal() -> None:
    # Flux converts every object through its Go type before applying, which writes `strategy: {}`; the server
    # fills in the default, and Flux owns the empty object, not its contents.
    desired, live = _deployment_applied_with({})
    assert drift.compare(desired, live, SCHEMA, Policy()) == ()
    # Owning the contents is another matter: git no longer says Recreate/RollingUpdate, the next sync drops it.
    desired, live = _deployment_applied_with({"f:type": {}})
    assert [item.path_text for item in drift.compare(desired, live, SCHEMA, Policy())] == ["spec.strategy.type"]


def test_kubectl_scale_through_the_subresource_is_named_though_kubectl_also_syncs() -> None:
    # Kubernetes 1.22 and later record `kubectl scale` as manager kubectl on the scale subresource; kubectl is
    # also a sync manager (kubectl apply --server-side), which must not hide the hand edit.
    desired = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
               "spec": {"replicas": 2}}
    live = copy.deepcopy(desired)
    live["spec"]["replicas"] = 5
    live["metadata"]["managedFields"] = [
        {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "apps/v1", "fieldsV1": {}},
        {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "subresource": "scale",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}},
    ]
    [found] = drift.compare(desired, live, SCHEMA, Policy())
    assert (found.path_text, found.desired, found.live, found.manager) == ("spec.replicas", 2, 5, "kubectl")
