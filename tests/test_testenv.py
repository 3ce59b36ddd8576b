"""The test control plane: a current Kubernetes API server, its controllers and scheduler, and a KWOK node."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.conftest import Cluster
from tests.helpers import wait_for

pytestmark = pytest.mark.cluster

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "probe"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "probe"}},
        "template": {
            "metadata": {"labels": {"app": "probe"}},
            "spec": {"containers": [{"name": "probe", "image": "registry.example/probe:1"}]},
        },
    },
}


def _job(name: str, service_account: str | None = None) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"restartPolicy": "Never",
                                "containers": [{"name": "run", "image": "registry.example/job:1"}]}
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"spec": pod_spec}}}


def test_server_is_current_and_kubectl_matches_it(cluster: Cluster) -> None:
    info = client.VersionApi(cluster.api_client()).get_code()
    # The product's default kubeVersion is 1.36: the server must be at least that.
    assert (int(info.major), int(info.minor)) >= (1, 36), info.git_version
    assert info.git_version.startswith(f"v{info.major}.{info.minor}.")
    # The kubectl the tests run is the one built with the server (see scripts/test).
    client_version = cluster.kubectl("version", "--client", "-o", "json").stdout
    assert f'"gitVersion": "{info.git_version}"' in client_version


def test_server_defaults_fields_and_a_deployment_becomes_ready(cluster: Cluster, namespace: str) -> None:
    apps = client.AppsV1Api(cluster.api_client())
    created = apps.create_namespaced_deployment(namespace, DEPLOYMENT)
    # Fields no client sent: only a real API server fills them in.
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.revision_history_limit == 10
    assert created.spec.template.spec.containers[0].termination_message_path == "/dev/termination-log"

    # Controller manager (ReplicaSet, pods), scheduler (onto the KWOK node), KWOK (Running and Ready).
    ready = wait_for(lambda: apps.read_namespaced_deployment("probe", namespace).status.ready_replicas == 2, 60)
    assert ready, "the Deployment never had two ready replicas"
    pods = client.CoreV1Api(cluster.api_client()).list_namespaced_pod(namespace).items
    assert {(p.spec.node_name, p.status.phase) for p in pods} == {("kwok-node", "Running")}


def test_a_job_completes(cluster: Cluster, namespace: str) -> None:
    batch = client.BatchV1Api(cluster.api_client())
    batch.create_namespaced_job(namespace, _job("once"))

    def complete() -> bool:
        conditions = batch.read_namespaced_job("once", namespace).status.conditions or []
        return any(c.type == "Complete" and c.status == "True" for c in conditions)

    assert wait_for(complete, 60), "the Job never completed"
    assert batch.read_namespaced_job("once", namespace).status.succeeded == 1


def test_a_job_whose_service_account_is_missing_fails_to_create_its_pod(cluster: Cluster, namespace: str) -> None:
    batch, core = client.BatchV1Api(cluster.api_client()), client.CoreV1Api(cluster.api_client())
    batch.create_namespaced_job(namespace, _job("early", service_account="not-yet"))

    def failed_create() -> list[str]:
        events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=early").items
        return [e.message for e in events if e.reason == "FailedCreate"]

    messages = wait_for(failed_create, 60)
    assert messages and 'serviceaccount "not-yet" not found' in messages[0]
    assert core.list_namespaced_pod(namespace).items == []


def test_reader_context_has_no_permissions(cluster: Cluster) -> None:
    answer = cluster.kubectl("auth", "can-i", "list", "pods", context="reader", check=False)
    assert answer.stdout.strip() == "no"
    assert cluster.kubectl("auth", "can-i", "list", "pods").stdout.strip() == "yes"
