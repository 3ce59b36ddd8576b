"""The spec's rules that span fields or depend on the targeted Mastodon, and what the spec turns into for the
ConfigMap and the pods: the metrics section (Prometheus from Mastodon 4.4, an exporter port of its own, tracing
only with an endpoint), the federation variables, and an overlay's placement. Driven through ``parse_spec``, which
``init`` and ``drift`` read the spec with."""

from __future__ import annotations

import pytest

from gitops_gen.errors import SpecError
from gitops_gen.spec.load import json_schema, parse_spec
from gitops_gen.spec.metrics import otel_config
from gitops_gen.spec.routing import federation_config

QUEUES_OF_4_3 = "sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull, scheduler]}\n"


def _at(tag: str) -> str:
    # A spec that targets Mastodon `tag`, with the sidekiq queues that release has (fasp only from 4.4).
    queues = QUEUES_OF_4_3 if tag.startswith("v4.3") else ""
    return f"images:\n  mastodon: {{repository: ghcr.io/mastodon/mastodon, tag: {tag}}}\n{queues}"


def _refused(text: str) -> str:
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "gitops-gen.yaml")
    return str(raised.value)


def test_the_default_worker_consumes_every_queue_with_the_official_charts_weights() -> None:
    # Mastodon's config/sidekiq.yml lists only these queues: a queue without a worker is never worked off.
    (worker,) = parse_spec("").sidekiq
    assert (worker.name, worker.concurrency, worker.replicas) == ("default", 10, 1)
    assert [(queue.name, queue.weight) for queue in worker.queues] == [
        ("default", 8), ("push", 6), ("ingress", 4), ("mailers", 2), ("pull", None), ("scheduler", None),
        ("fasp", None)]
    # A worker written by hand gets sidekiq's own default concurrency.
    assert parse_spec(_at("v4.3.8")).sidekiq[0].concurrency == 5


def test_the_json_schema_init_writes_is_draft_2020_12_and_speaks_the_files_keys() -> None:
    schema = json_schema()
    # yaml-language-server picks the dialect from $schema; the keys are the YAML's camelCase, and unknown keys are
    # flagged as the spec refuses them.
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "gitops-gen.yaml"
    assert {"kubeVersion", "overlays"} <= set(schema["properties"]) and "kube_version" not in schema["properties"]
    assert schema["additionalProperties"] is False


PROMETHEUS_ON = "metrics:\n  prometheus: {enabled: true}\n"


def test_prometheus_is_refused_for_a_mastodon_before_4_4_which_has_no_exporter() -> None:
    assert _refused(_at("v4.3.8") + PROMETHEUS_ON) == (
        "gitops-gen.yaml:6: metrics.prometheus.enabled: Mastodon 4.3 has no Prometheus exporter (it came with 4.4): "
        "raise images.mastodon.tag, or turn this off (streaming serves /metrics anyway)")
    assert parse_spec(_at("v4.3.8") + "metrics:\n  prometheus: {enabled: false}\n").metrics.prometheus.port == 9394


OTEL_ON = "metrics:\n  otel: {endpoint: 'http://otel-collector:4318'}\n"


def test_tracing_is_refused_for_a_mastodon_before_4_3_which_reads_no_otel_variables() -> None:
    assert _refused(_at("v4.2.9") + OTEL_ON) == (
        "gitops-gen.yaml:4: metrics.otel.endpoint: Mastodon 4.2 has no OpenTelemetry tracing (it came with 4.3): "
        "raise images.mastodon.tag, or drop metrics.otel")
    assert parse_spec(_at("v4.3.0") + OTEL_ON).metrics.otel.endpoint == "http://otel-collector:4318"


@pytest.mark.parametrize("tag", ["v4.4.0", "v4.4.0-beta.1", "latest"])
def test_prometheus_is_accepted_from_4_4_and_for_a_tag_that_is_not_a_version(tag: str) -> None:
    # A 4.4 beta already has the exporter; `latest` targets the newest Mastodon.
    assert parse_spec(_at(tag) + PROMETHEUS_ON).metrics.prometheus.enabled


@pytest.mark.parametrize(("port", "owner"), [(3000, "web"), (4000, "streaming")])
def test_the_exporter_port_must_not_be_webs_or_streamings_own(port: int, owner: str) -> None:
    # Web listens on 3000 and streaming on 4000 in the same pods: the exporter cannot bind there too.
    assert _refused(f"metrics:\n  prometheus: {{port: {port}}}\n") == (
        f"gitops-gen.yaml:2: metrics.prometheus.port: port {port} is web's or streaming's own: the exporter needs "
        "another (default 9394)")


def test_the_exporter_may_take_any_other_unprivileged_port() -> None:
    assert parse_spec("metrics:\n  prometheus: {port: 3001}\n").metrics.prometheus.port == 3001
    assert parse_spec("metrics:\n  prometheus: {port: 4001}\n").metrics.prometheus.port == 4001


OTEL_NEEDS_ENDPOINT = ("metrics.otel.endpoint: OpenTelemetry is on only with an endpoint: set metrics.otel.endpoint "
                       "(the OTLP collector's URL) or drop the service name fields")


@pytest.mark.parametrize("field", ["serviceNamePrefix: social", "serviceNameSeparator: '-'"])
def test_a_tracing_service_name_without_an_endpoint_is_refused(field: str) -> None:
    # Without OTEL_EXPORTER_OTLP_ENDPOINT Mastodon does not trace: a service name alone would do nothing.
    assert _refused(f"metrics:\n  otel:\n    {field}\n") == f"gitops-gen.yaml:2: {OTEL_NEEDS_ENDPOINT}"


def test_tracing_sets_the_otel_variables_only_with_an_endpoint() -> None:
    assert otel_config(parse_spec("")) == {}
    spec = parse_spec("metrics:\n  otel: {endpoint: 'http://otel:4318', serviceNamePrefix: social}\n")
    # An unset name stays None: the key is left out and Mastodon's own default applies.
    assert otel_config(spec) == {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
                                 "OTEL_SERVICE_NAME_PREFIX": "social", "OTEL_SERVICE_NAME_SEPARATOR": None}
    spec = parse_spec("metrics:\n  otel: {endpoint: 'https://otel', serviceNameSeparator: '-'}\n")
    assert otel_config(spec)["OTEL_SERVICE_NAME_SEPARATOR"] == "-"


def test_federation_fields_are_left_out_of_the_config_map_by_default() -> None:
    # Absent variables let Mastodon (or its admin settings, for AUTHORIZED_FETCH) decide.
    assert federation_config(parse_spec("")) == {"ALTERNATE_DOMAINS": None, "TRUSTED_PROXY_IP": None,
                                                 "AUTHORIZED_FETCH": None, "LIMITED_FEDERATION_MODE": None}


def test_federation_fields_become_mastodons_variables_as_it_parses_them() -> None:
    # Mastodon splits ALTERNATE_DOMAINS and TRUSTED_PROXY_IP at commas, and reads booleans written `true`/`false`.
    spec = parse_spec("mastodon:\n  alternateDomains: [a.example, b.example]\n  trustedProxyIps: [10.0.0.0/8, "
                      "2001:db8::1]\n  authorizedFetch: true\n  limitedFederationMode: true\n")
    assert federation_config(spec) == {"ALTERNATE_DOMAINS": "a.example,b.example",
                                       "TRUSTED_PROXY_IP": "10.0.0.0/8,2001:db8::1", "AUTHORIZED_FETCH": "true",
                                       "LIMITED_FEDERATION_MODE": "true"}
    # false pins secure mode off, whatever the admin setting says; it is not the same as unset.
    pinned_off = parse_spec("mastodon:\n  authorizedFetch: false\n  limitedFederationMode: false\n")
    assert federation_config(pinned_off)["AUTHORIZED_FETCH"] == "false"
    assert federation_config(pinned_off)["LIMITED_FEDERATION_MODE"] is None


PODS = ("pods:\n  nodeSelector: {pool: general}\n  tolerations: [{key: dedicated, value: mastodon, effect: NoSchedule}]"
        "\n  imagePullSecrets: [registry]\n")


def test_an_overlay_without_placement_runs_where_every_pod_runs() -> None:
    spec = parse_spec(PODS + "overlays:\n  production: {}\n")
    placement = spec.pods.effective(spec.overlays["production"].pods)
    assert placement.node_selector == {"pool": "general"}
    assert [(t.key, t.value, t.effect) for t in placement.tolerations or []] == [("dedicated", "mastodon",
                                                                                 "NoSchedule")]
    assert placement.image_pull_secrets == ["registry"]


def test_an_overlays_placement_replaces_each_field_it_sets_whole() -> None:
    spec = parse_spec(PODS + "overlays:\n  production:\n    pods:\n      nodeSelector: {pool: big}\n"
                             "      tolerations: [{operator: Exists}]\n      imagePullSecrets: [mirror]\n"
                             "  staging:\n    pods: {nodeSelector: {}, tolerations: [], imagePullSecrets: []}\n")
    production = spec.pods.effective(spec.overlays["production"].pods)
    assert production.node_selector == {"pool": "big"}  # not merged with pool: general
    assert [(t.key, t.operator) for t in production.tolerations or []] == [(None, "Exists")]
    assert production.image_pull_secrets == ["mirror"]
    # Empty is a value: staging runs anywhere, tolerates nothing and pulls anonymously.
    staging = spec.pods.effective(spec.overlays["staging"].pods)
    assert (staging.node_selector, staging.tolerations, staging.image_pull_secrets) == ({}, [], [])
