"""Prometheus metrics (``metrics.prometheus``, ``metrics.serviceMonitor``), as Mastodon 4.4+ and its chart do it.

- web (puma, several processes): Mastodon's instrumentation sends what it measures to a ``prometheus_exporter``
  server, which the pod runs as a second container from the same image (``bin/prometheus_exporter``, the chart's
  ``prometheus-exporter`` sidecar); web reaches it on the pod's loopback (``PROMETHEUS_EXPORTER_HOST``/``_PORT``).
  An in-process server would not do: every puma worker would try to bind the same port (Mastodon's docs).
- sidekiq (one process): the in-process server (``MASTODON_PROMETHEUS_EXPORTER_LOCAL``) listens on the pod's
  address, no sidecar.
- streaming serves ``/metrics`` on its own port, always.

The scrape targets get headless Services of their own (``<name>-web-metrics``, ``<name>-sidekiq-metrics``) rather
than a port on the web Service: with ``expose.type: NodePort`` every port of that Service would open on the
nodes. ServiceMonitors (one per component) select those Services and the streaming Service.
"""

from __future__ import annotations

from typing import Any

from gitops_gen.generate.manifests.common import KubeObject, bind_address, metadata, names, selector_labels
from gitops_gen.spec.model import Spec

PORT_NAME = "prometheus"
METRICS_LABEL = "gitops-gen.io/metrics"  # on the Services a ServiceMonitor selects: which component they serve
MONITORING_API = "monitoring.coreos.com/v1"
METRICS_COMPONENT = "metrics"
EXPORTER_CONTAINER = "prometheus-exporter"
# The official chart's figures for the exporter sidecar (its requests, and its memory limit).
EXPORTER_RESOURCES = {"requests": {"cpu": "100m", "memory": "180M"}, "limits": {"memory": "250M"}}


def _env(values: dict[str, str]) -> list[KubeObject]:
    return [{"name": key, "value": value} for key, value in values.items()]


def _port(port: int) -> KubeObject:
    return {"name": PORT_NAME, "containerPort": port, "protocol": "TCP"}


def instrument(spec: Spec, deployment: KubeObject) -> KubeObject:
    """``deployment`` with the exporter wired in when ``metrics.prometheus`` is on (web and sidekiq; others as
    they are). Changes the object in place and returns it."""
    prometheus = spec.metrics.prometheus
    component = deployment["metadata"]["labels"].get("app.kubernetes.io/component")
    if not prometheus.enabled or component not in ("web", "sidekiq"):
        return deployment
    pod = deployment["spec"]["template"]["spec"]
    main = pod["containers"][0]
    settings = {"MASTODON_PROMETHEUS_EXPORTER_ENABLED": "true"}
    if component == "web":
        settings |= {"PROMETHEUS_EXPORTER_HOST": "127.0.0.1", "PROMETHEUS_EXPORTER_PORT": str(prometheus.port)}
        if prometheus.web_detailed:
            settings["MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS"] = "true"
        pod["containers"].append({
            "name": EXPORTER_CONTAINER,
            "image": main["image"],  # the same image entry, so bump-image moves both
            "command": ["./bin/prometheus_exporter"],
            "args": ["--bind", bind_address(spec, uri=False), "--port", str(prometheus.port)],
            "ports": [_port(prometheus.port)],
            "resources": EXPORTER_RESOURCES,
            "securityContext": dict(main["securityContext"]),
        })
    else:
        settings |= {"MASTODON_PROMETHEUS_EXPORTER_LOCAL": "true",
                     "MASTODON_PROMETHEUS_EXPORTER_HOST": bind_address(spec, uri=False),
                     "MASTODON_PROMETHEUS_EXPORTER_PORT": str(prometheus.port)}
        if prometheus.sidekiq_detailed:
            settings["MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS"] = "true"
        main["ports"] = [*main.get("ports", []), _port(prometheus.port)]
    main["env"] = [*main.get("env", []), *_env(settings)]
    return deployment


def _metrics_service(spec: Spec, component: str) -> KubeObject:
    name = f"{names(spec).workload(component)}-metrics"
    meta = metadata(spec, name, component)
    meta["labels"][METRICS_LABEL] = component
    port = spec.metrics.prometheus.port
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {
        "clusterIP": "None",  # headless: Prometheus scrapes every pod, not one behind a virtual IP
        "selector": selector_labels(spec, component),
        "ports": [{"name": PORT_NAME, "port": port, "targetPort": PORT_NAME, "protocol": "TCP"}],
    }}


def _service_monitor(spec: Spec, component: str, selector: dict[str, str], port: str) -> KubeObject:
    monitor = spec.metrics.service_monitor
    meta = metadata(spec, names(spec).workload(component), METRICS_COMPONENT)
    meta["labels"] |= monitor.labels
    endpoint: dict[str, Any] = {"port": port, "path": "/metrics"}
    if monitor.interval:
        endpoint["interval"] = monitor.interval
    return {"apiVersion": MONITORING_API, "kind": "ServiceMonitor", "metadata": meta,
            "spec": {"selector": {"matchLabels": selector}, "endpoints": [endpoint]}}


def objects(spec: Spec) -> list[KubeObject]:
    """``base/metrics.yaml``: the metrics Services, and the ServiceMonitors when asked for."""
    exporters = ("web", "sidekiq") if spec.metrics.prometheus.enabled else ()
    found: list[KubeObject] = [_metrics_service(spec, component) for component in exporters]
    if spec.metrics.service_monitor.enabled:
        part_of = {"app.kubernetes.io/part-of": spec.name}
        found += [_service_monitor(spec, component, {**part_of, METRICS_LABEL: component}, PORT_NAME)
                  for component in exporters]
        found.append(_service_monitor(spec, "streaming", selector_labels(spec, "streaming"), "streaming"))
    return found
