"""The ``metrics`` section: Mastodon's Prometheus exporter, ServiceMonitors for the Prometheus Operator, and
OpenTelemetry tracing. Names and behaviour follow Mastodon's configuration documentation ("Prometheus Metrics",
"OpenTelemetry") and the official chart's ``mastodon.metrics`` / ``mastodon.otel`` values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from gitops_gen.spec.base import SPEC_CONFIG
from gitops_gen.spec.versions import describe, mastodon_release

if TYPE_CHECKING:
    from gitops_gen.spec.model import Spec

Problems = list[tuple[tuple[str | int, ...], str]]

#: The Ruby processes export Prometheus metrics from Mastodon 4.4 (its configuration docs' version history).
PROMETHEUS_SINCE = (4, 4)
#: OpenTelemetry tracing replaced StatsD in Mastodon 4.3; an older release ignores the OTEL_* variables.
OTEL_SINCE = (4, 3)
_DURATION = r"^([0-9]+(ms|s|m|h))+$"  # the Prometheus Operator's Duration pattern


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class Prometheus(_Model):
    """Web and sidekiq metrics (``MASTODON_PROMETHEUS_EXPORTER_*``). Streaming always serves ``/metrics``."""

    enabled: bool = False
    port: Annotated[int, Field(strict=True, ge=1024, le=65535)] = 9394
    web_detailed: bool = False  # per controller/action metrics for every request (costs some overhead)
    sidekiq_detailed: bool = False  # per job metrics for every job


class ServiceMonitor(_Model):
    """``monitoring.coreos.com/v1`` ServiceMonitors: needs the Prometheus Operator's CRDs in the cluster."""

    enabled: bool = False
    labels: dict[str, str] = {}  # what your Prometheus's serviceMonitorSelector matches (e.g. `release`)
    interval: Annotated[str, Field(pattern=_DURATION)] | None = None  # default: the Prometheus's own


class OpenTelemetry(_Model):
    """Tracing of the Ruby processes (Mastodon 4.3+): on once an endpoint is set."""

    endpoint: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None  # OTEL_EXPORTER_OTLP_ENDPOINT
    service_name_prefix: Annotated[str, Field(min_length=1)] | None = None  # OTEL_SERVICE_NAME_PREFIX
    service_name_separator: Annotated[str, Field(min_length=1)] | None = None  # OTEL_SERVICE_NAME_SEPARATOR


class Metrics(_Model):
    prometheus: Prometheus = Prometheus()
    service_monitor: ServiceMonitor = ServiceMonitor()
    otel: OpenTelemetry = OpenTelemetry()


def otel_config(spec: Spec) -> dict[str, str | None]:
    """The ConfigMap keys of ``metrics.otel``; None leaves a key out (Mastodon's default applies)."""
    otel = spec.metrics.otel
    if otel.endpoint is None:
        return {}
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": otel.endpoint, "OTEL_SERVICE_NAME_PREFIX": otel.service_name_prefix,
            "OTEL_SERVICE_NAME_SEPARATOR": otel.service_name_separator}


def problems(spec: Spec) -> Problems:
    """Rules across fields of the metrics section."""
    found: Problems = []
    tag = spec.images.mastodon.tag
    release = mastodon_release(tag)
    if spec.metrics.prometheus.enabled and release is not None and release < PROMETHEUS_SINCE:
        found.append((("metrics", "prometheus", "enabled"), f"{describe(tag)} has no Prometheus exporter (it came "
                      "with 4.4): raise images.mastodon.tag, or turn this off (streaming serves /metrics anyway)"))
    if spec.metrics.prometheus.port in (3000, 4000):  # web's and streaming's ports (generate.manifests.workloads)
        found.append((("metrics", "prometheus", "port"), f"port {spec.metrics.prometheus.port} is web's or "
                      "streaming's own: the exporter needs another (default 9394)"))
    otel = spec.metrics.otel
    if otel.endpoint is not None and release is not None and release < OTEL_SINCE:
        found.append((("metrics", "otel", "endpoint"), f"{describe(tag)} has no OpenTelemetry tracing (it came "
                      "with 4.3): raise images.mastodon.tag, or drop metrics.otel"))
    if otel.endpoint is None and (otel.service_name_prefix or otel.service_name_separator):
        found.append((("metrics", "otel", "endpoint"), "OpenTelemetry is on only with an endpoint: set "
                      "metrics.otel.endpoint (the OTLP collector's URL) or drop the service name fields"))
    return found
