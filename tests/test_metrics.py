"""Metrics: Mastodon's Prometheus exporter wired as Mastodon 4.4+ and its chart do it, ServiceMonitors that select
the Services carrying the metrics ports (checked by the real API server's label selection, with the Prometheus
Operator's real CRD), OpenTelemetry settings, and what ``drift`` says when the cluster lacks the CRD."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import run_cli
from tests.test_drift_cluster import reader_bound  # noqa: F401  (a fixture)
from tests.upstream_crds import SERVICE_MONITOR_CRD, gateway_api_crds, service_monitor_crd  # noqa: F401  (fixtures)

METRICS = ("metrics:\n  prometheus: {enabled: true, webDetailed: true}\n"
           "  serviceMonitor: {enabled: true, labels: {release: kps}, interval: 30s}\n"
           "  otel: {endpoint: 'http://otel-collector.monitoring:4318', serviceNamePrefix: social}\n"
           "mastodon: {s3: {bucket: media}}\n"
           "expose: {type: Gateway, gateway: {parentRefs: [{name: public, namespace: gateway}]}}\n")


def _init(root: Path, capsys: pytest.CaptureFixture[str], spec: str, namespace: str = "mastodon") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(f"{spec}overlays:\n  production: {{namespace: {namespace}}}\n")
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0, result.err


def _render(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in kustomize.render(root / "overlays" / "production")}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def test_web_gets_the_exporter_sidecar_and_sidekiq_its_in_process_server(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(tmp_path, capsys, METRICS)
    objects = _render(tmp_path)
    web, exporter = objects["Deployment", "mastodon-web"]["spec"]["template"]["spec"]["containers"]
    assert exporter["name"] == "prometheus-exporter" and exporter["image"] == web["image"]
    assert exporter["command"] == ["./bin/prometheus_exporter"]
    assert exporter["args"] == ["--bind", "0.0.0.0", "--port", "9394"]
    assert {k: v for k, v in _env(web).items() if "PROMETHEUS" in k} == {
        "MASTODON_PROMETHEUS_EXPORTER_ENABLED": "true", "PROMETHEUS_EXPORTER_HOST": "127.0.0.1",
        "PROMETHEUS_EXPORTER_PORT": "9394", "MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS": "true"}
    [sidekiq] = objects["Deployment", "mastodon-sidekiq-default"]["spec"]["template"]["spec"]["containers"]
    assert {k: v for k, v in _env(sidekiq).items() if "PROMETHEUS" in k} == {
        "MASTODON_PROMETHEUS_EXPORTER_ENABLED": "true", "MASTODON_PROMETHEUS_EXPORTER_LOCAL": "true",
        "MASTODON_PROMETHEUS_EXPORTER_HOST": "0.0.0.0", "MASTODON_PROMETHEUS_EXPORTER_PORT": "9394"}
    assert {"name": "prometheus", "containerPort": 9394, "protocol": "TCP"} in sidekiq["ports"]
    # The migrations never start an exporter: the variables are the processes' own, not the shared ConfigMap's.
    [config] = [o for (kind, _), o in objects.items() if kind == "ConfigMap"]
    assert not [key for key in config["data"] if "PROMETHEUS" in key]
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.monitoring:4318"
    assert config["data"]["OTEL_SERVICE_NAME_PREFIX"] == "social"


def test_the_default_tree_has_no_metrics_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(tmp_path, capsys, "")
    objects = _render(tmp_path)
    assert not [key for key in objects if key[0] == "ServiceMonitor" or key[1].endswith("-metrics")]
    assert len(objects["Deployment", "mastodon-web"]["spec"]["template"]["spec"]["containers"]) == 1
    assert not (tmp_path / "base" / "metrics.yaml").exists()


def test_without_the_exporter_only_streaming_is_monitored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _init(tmp_path, capsys, "metrics: {serviceMonitor: {enabled: true}}\n")
    objects = _render(tmp_path)
    assert [name for kind, name in objects if kind == "ServiceMonitor"] == ["mastodon-streaming"]
    assert not [name for kind, name in objects if kind == "Service" and name.endswith("-metrics")]
    monitor = objects["ServiceMonitor", "mastodon-streaming"]["spec"]
    assert monitor["endpoints"] == [{"port": "streaming", "path": "/metrics"}]


@pytest.mark.parametrize(("spec", "field"), [
    ("images: {mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.3.8}}\n"
     "metrics: {prometheus: {enabled: true}}\n", "metrics.prometheus.enabled"),
    ("metrics: {prometheus: {port: 3000}}\n", "metrics.prometheus.port"),
    ("metrics: {otel: {serviceNamePrefix: social}}\n", "metrics.otel.endpoint"),
    ("metrics: {otel: {endpoint: otel-collector:4318}}\n", "metrics.otel.endpoint"),
    ("metrics: {serviceMonitor: {interval: 30 seconds}}\n", "metrics.serviceMonitor.interval"),
])
def test_bad_metrics_input_stops_init_with_one_line_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, field: str) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(spec)
    result = run_cli(capsys, "init", str(tmp_path), "--no-commit")
    assert result.code == 2
    assert field in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert not (tmp_path / "base").exists()


def _apply_overlay(cluster: Cluster, root: Path, namespace: str) -> None:
    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "kubectl", "-f", "-",
                              stdin=kustomize.render_text(root / "overlays" / "production"), check=False)
    assert applied.returncode == 0, applied.stderr


def _selected(cluster: Cluster, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
    query = ",".join(f"{key}={value}" for key, value in selector.items())
    items: list[dict[str, Any]] = json.loads(
        cluster.kubectl("get", "services", "-n", namespace, "-l", query, "-o", "json").stdout)["items"]
    return items


@pytest.mark.cluster
@pytest.mark.usefixtures("service_monitor_crd", "gateway_api_crds")
def test_each_servicemonitor_selects_exactly_the_service_with_its_metrics_port_on_the_real_api_server(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    _init(tmp_path, capsys, METRICS, namespace)
    _apply_overlay(cluster, tmp_path, namespace)
    monitors = json.loads(cluster.kubectl("get", "servicemonitors", "-n", namespace, "-o", "json").stdout)["items"]
    assert {m["metadata"]["name"] for m in monitors} == {"mastodon-web", "mastodon-sidekiq", "mastodon-streaming"}
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "kps"
        [endpoint] = monitor["spec"]["endpoints"]
        assert endpoint["interval"] == "30s" and endpoint["path"] == "/metrics"
        [service] = _selected(cluster, namespace, monitor["spec"]["selector"]["matchLabels"])
        port = next(p for p in service["spec"]["ports"] if p["name"] == endpoint["port"])
        # The Service's port leads to a container port of that name in the pods it selects.
        pods = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
        selected = [d for d in pods if service["spec"]["selector"].items()
                    <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert selected, service["metadata"]["name"]
        for deployment in selected:
            containers = deployment["spec"]["template"]["spec"]["containers"]
            names = {p["name"] for c in containers for p in c.get("ports", [])}
            assert port["targetPort"] in names, (monitor["metadata"]["name"], deployment["metadata"]["name"])


def _wait_for_controllers(cluster: Cluster, namespace: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
        if items and all(d.get("status", {}).get("observedGeneration") == d["metadata"]["generation"]
                         and "deployment.kubernetes.io/revision" in d["metadata"].get("annotations", {})
                         for d in items):
            return
        time.sleep(0.5)


@pytest.mark.cluster
@pytest.mark.usefixtures("service_monitor_crd", "gateway_api_crds", "reader_bound")
def test_drift_sees_servicemonitors_in_sync_and_names_the_spec_field_when_the_crd_is_gone(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    _init(tmp_path, capsys, METRICS, namespace)
    _apply_overlay(cluster, tmp_path, namespace)
    _wait_for_controllers(cluster, namespace)
    drift = ("drift", "--repo", str(tmp_path), "--kubeconfig", str(cluster.kubeconfig), "--overlay", "production",
             "--output", "json")
    result = run_cli(capsys, *drift)
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    assert {o["name"] for o in report["objects"] if o["kind"] == "ServiceMonitor"} == {
        "mastodon-web", "mastodon-sidekiq", "mastodon-streaming"}
    assert {o["name"] for o in report["objects"] if o["kind"] == "HTTPRoute"} == {"mastodon"}
    # The server's defaults (an HTTPRoute's are many) are no drift in server mode either.
    in_server_mode = run_cli(capsys, *drift, "--mode", "server")
    assert in_server_mode.code == 0, in_server_mode.out + in_server_mode.err
    # The in-cluster check's read-only ClusterRole may read both kinds.
    as_reader = run_cli(capsys, *drift, "--context", "reader")
    assert as_reader.code == 0, as_reader.err

    # Without the CRD the tree cannot be applied at all (Argo CD and Flux fail the whole sync): an error naming
    # the kind and the spec field that brought it, never a report of "missing" objects.
    cluster.kubectl("delete", "crd", SERVICE_MONITOR_CRD, "--wait=true")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "servicemonitors" in cluster.kubectl("api-resources", check=False).stdout:
        time.sleep(0.5)
    result = run_cli(capsys, *drift)
    assert result.code == 2, result.out + result.err
    assert result.out == ""
    assert "ServiceMonitor" in result.err and "metrics.serviceMonitor.enabled" in result.err, result.err
    assert len(result.err.strip().splitlines()) == 1
