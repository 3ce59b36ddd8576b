"""The test control plane is a real Kubernetes 1.20.2 API server with controllers behind it."""

from __future__ import annotations

import time

from kubernetes import client

from tests.conftest import Cluster

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "probe"},
    "spec": {
        "selector": {"matchLabels": {"app": "probe"}},
        "template": {
            "metadata": {"labels": {"app": "probe"}},
            "spec": {"containers": [{"name": "probe", "image": "registry.example/probe:1"}]},
        },
    },
}


def test_server_reports_version_1_20_2(cluster: Cluster) -> None:
    info = client.VersionApi(cluster.api_client()).get_code()
    assert info.git_version == "v1.20.2"


def test_server_defaults_fields_and_controllers_create_a_replicaset(cluster: Cluster, namespace: str) -> None:
    apps = client.AppsV1Api(cluster.api_client())
    created = apps.create_namespaced_deployment(namespace, DEPLOYMENT)
    # Fields no client sent: only a real API server fills them in.
    assert created.spec.strategy.type == "RollingUpdate"
    assert created.spec.revision_history_limit == 10
    assert created.spec.template.spec.containers[0].termination_message_path == "/dev/termination-log"

    deadline = time.monotonic() + 20
    owners: list[str] = []
    while time.monotonic() < deadline and not owners:
        replica_sets = apps.list_namespaced_replica_set(namespace).items
        owners = [ref.name for rs in replica_sets for ref in rs.metadata.owner_references or []]
        time.sleep(0.2)
    assert owners == ["probe"], "the controller manager never created a ReplicaSet for the Deployment"


def test_reader_context_has_no_permissions(cluster: Cluster) -> None:
    answer = cluster.kubectl("auth", "can-i", "list", "pods", context="reader", check=False)
    assert answer.stdout.strip() == "no"
    assert cluster.kubectl("auth", "can-i", "list", "pods").stdout.strip() == "yes"
