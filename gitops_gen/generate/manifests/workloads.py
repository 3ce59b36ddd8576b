"""Deployments and Services: web (puma), streaming (node), and one Deployment per sidekiq worker group."""

from __future__ import annotations

from typing import Any

from gitops_gen.generate.catalogue import catalogue
from gitops_gen.generate.manifests import backends
from gitops_gen.generate.manifests.common import (
    KubeObject,
    bind_address,
    labels,
    metadata,
    names,
    resources,
    selector_labels,
)
from gitops_gen.generate.manifests.pods import (
    container_security,
    mastodon_pod,
    sidekiq_readiness,
    spread_across_nodes,
)
from gitops_gen.generate.manifests.stages import SERVICE_ACCOUNT_COMPONENT
from gitops_gen.generate.secrets import secret_env, streaming_keys
from gitops_gen.spec.model import SidekiqWorker, Spec

WEB_PORT = 3000
STREAMING_PORT = 4000


def _image(spec: Spec, which: str) -> str:
    ref = getattr(spec.images, which)
    return f"{ref.repository}:{ref.tag}"


def env_sources(spec: Spec) -> list[KubeObject]:
    """Every Mastodon process reads the same configuration (streaming included)."""
    return [{"configMapRef": {"name": names(spec).config}}]


def with_secrets(spec: Spec, env: list[KubeObject], *, streaming: bool = False) -> list[KubeObject]:
    """``env`` plus the keys of the Secret by ``secretKeyRef``: a missing required key stops the pod with a
    clear event instead of starting Mastodon half-configured. Rails processes (web, sidekiq, the Jobs) get the
    spec's whole catalogue; ``streaming`` only the keys the streaming server reads (database and Redis)."""
    keys = catalogue(spec)
    return [*secret_env(names(spec).secret, streaming_keys(keys) if streaming else keys), *env]


def _deployment(spec: Spec, name: str, component: str, replicas: int, pod: KubeObject) -> KubeObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(spec, name, component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(spec, component)},
            "template": {"metadata": {"labels": labels(spec, component)}, "spec": pod},
        },
    }


def mastodon_container(spec: Spec, name: str, command: list[str], env: list[KubeObject]) -> KubeObject:
    """A container of the main image with the shared configuration; used by web, sidekiq and the Jobs."""
    return {
        "name": name,
        "image": _image(spec, "mastodon"),
        "command": command,
        "envFrom": env_sources(spec),
        "env": with_secrets(spec, env),
        # mastodon_pod() sets the same again with the pod's read-only choice; here for a container used alone.
        "securityContext": container_security(read_only_root=False),
    }


def web(spec: Spec) -> KubeObject:
    container = mastodon_container(spec, "web", ["bundle", "exec", "puma", "-C", "config/puma.rb"], [
        {"name": "BIND", "value": bind_address(spec, uri=True)},
        {"name": "PORT", "value": str(WEB_PORT)},
        {"name": "WEB_CONCURRENCY", "value": str(spec.web.concurrency)},
        {"name": "MAX_THREADS", "value": str(spec.web.max_threads)},
    ])
    probe = {"httpGet": {"path": "/health", "port": "http"}}
    container |= {
        "ports": [{"name": "http", "containerPort": WEB_PORT, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
        "livenessProbe": {**probe, "periodSeconds": 30, "failureThreshold": 3, "timeoutSeconds": 5},
        # Boot loads the whole Rails app; give it a few minutes before liveness may kill it.
        "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 60},
        "resources": resources(spec.web.resources),
    }
    pod = mastodon_pod(spec, [container], media=True)
    pod["topologySpreadConstraints"] = spread_across_nodes(selector_labels(spec, "web"))
    return _deployment(spec, names(spec).workload("web"), "web", spec.web.replicas, pod)


def streaming(spec: Spec) -> KubeObject:
    probe = {"httpGet": {"path": "/api/v1/streaming/health", "port": "streaming"}}
    container: KubeObject = {
        "name": "streaming",
        "image": _image(spec, "streaming"),
        "envFrom": env_sources(spec),
        "env": with_secrets(spec, [{"name": "BIND", "value": bind_address(spec, uri=False)},
                                   {"name": "PORT", "value": str(STREAMING_PORT)},
                                   *backends.streaming_env(spec)], streaming=True),
        "ports": [{"name": "streaming", "containerPort": STREAMING_PORT, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 10},
        "livenessProbe": {**probe, "periodSeconds": 30, "timeoutSeconds": 5},
        "resources": resources(spec.streaming.resources),
    }
    pod = mastodon_pod(spec, [container], media=False, rails=False)
    pod["topologySpreadConstraints"] = spread_across_nodes(selector_labels(spec, "streaming"))
    return _deployment(spec, names(spec).workload("streaming"), "streaming", spec.streaming.replicas, pod)


def sidekiq_command(worker: SidekiqWorker) -> list[str]:
    command = ["bundle", "exec", "sidekiq", "-c", str(worker.concurrency)]
    for queue in worker.queues:
        command += ["-q", queue.name if queue.weight is None else f"{queue.name},{queue.weight}"]
    return command


def sidekiq(spec: Spec, worker: SidekiqWorker) -> KubeObject:
    # DB_POOL is derived from the concurrency, never written separately: each sidekiq thread holds a connection.
    env = [{"name": "DB_POOL", "value": str(worker.concurrency)}]
    container = mastodon_container(spec, "sidekiq", sidekiq_command(worker), env)
    container["resources"] = resources(worker.resources)
    probe = sidekiq_readiness(spec)
    if probe:
        container["readinessProbe"] = probe
    pod = mastodon_pod(spec, [container], media=True)
    deployment = _deployment(spec, names(spec).sidekiq(worker.name), "sidekiq", worker.replicas, pod)
    deployment["metadata"]["labels"]["gitops-gen.io/sidekiq-worker"] = worker.name
    deployment["spec"]["selector"]["matchLabels"]["gitops-gen.io/sidekiq-worker"] = worker.name
    deployment["spec"]["template"]["metadata"]["labels"]["gitops-gen.io/sidekiq-worker"] = worker.name
    if worker.runs_scheduler:
        # Two scheduler processes would enqueue every scheduled job twice: never run them side by side.
        deployment["spec"]["strategy"] = {"type": "Recreate"}
    return deployment


def service(spec: Spec, component: str, port: int, port_name: str, node_port: int | None) -> KubeObject:
    expose = spec.expose
    service_spec: dict[str, Any] = {
        "type": "NodePort" if expose.type == "NodePort" else "ClusterIP",
        "selector": selector_labels(spec, component),
        "ports": [{"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}],
    }
    if expose.type == "NodePort" and node_port is not None:
        service_spec["ports"][0]["nodePort"] = node_port
    if expose.ip_family_policy:
        service_spec["ipFamilyPolicy"] = expose.ip_family_policy
    if expose.ip_families:
        service_spec["ipFamilies"] = list(expose.ip_families)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": metadata(spec, names(spec).workload(component), component), "spec": service_spec}


def services(spec: Spec) -> list[KubeObject]:
    ports = spec.expose.node_ports
    return [service(spec, "web", WEB_PORT, "http", ports.web),
            service(spec, "streaming", STREAMING_PORT, "streaming", ports.streaming)]


def service_account(spec: Spec) -> KubeObject:
    # Mastodon never talks to the Kubernetes API: no token in its pods.
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": metadata(spec, names(spec).service_account, SERVICE_ACCOUNT_COMPONENT),
            "automountServiceAccountToken": False}
