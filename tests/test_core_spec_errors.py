"""The one-line errors a user reads for a bad gitops-gen.yaml: the file, the line, the field path and what to do, for
the whole spec (``parse_spec``) and for the sections ``gitops-gen drift`` validates on their own. Each case was a
surviving mutant of benchmarks/mutation.py."""

from __future__ import annotations

from typing import Any

import pytest

from gitops_gen import yamlio
from gitops_gen.errors import SpecError
from gitops_gen.spec.drift import validate_drift_section, validate_overlay_contexts
from gitops_gen.spec.load import parse_spec

TOP_LEVEL = ("name, kubeVersion, images, mastodon, web, streaming, sidekiq, storage, pods, maintenance, expose, "
             "metrics, gitops, secrets, drift, overlays")
SENTINEL = "mastodon:\n  redis:\n    sentinel: {master: m, hosts: [%s]}\n"
NOT_HOST_PORT = ("is not host or host:port (Mastodon splits sentinel entries at ':', so an IPv6 address cannot be "
                 "given: use a DNS name)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # An unknown key: the closest known one, else every known key at that place.
        ("web:\n  foo: 1\n", "gitops-gen.yaml:2: web.foo: unknown field 'foo' (known fields here: replicas, "
         "concurrency, maxThreads, resources)"),
        ("bogus: 1\n", f"gitops-gen.yaml:1: bogus: unknown field 'bogus' (known fields here: {TOP_LEVEL})"),
        ("sidekiq:\n  - name: a\n    queues: [default]\n    foo: 1\n", "gitops-gen.yaml:4: sidekiq[0].foo: unknown "
         "field 'foo' (known fields here: name, queues, concurrency, replicas, resources)"),
        ("web:\n  replica: 2\n", "gitops-gen.yaml:2: web.replica: unknown field 'replica'; did you mean 'replicas'?"),
        # A number out of range or of the wrong type shows what was written.
        ("web:\n  replicas: -1\n", "gitops-gen.yaml:2: web.replicas: Input should be greater than or equal to 0 "
         "(got -1)"),
        ("web:\n  replicas: '2'\n", "gitops-gen.yaml:2: web.replicas: Input should be a valid integer (got '2')"),
        ("expose:\n  nodePorts: {web: 70000}\n", "gitops-gen.yaml:2: expose.nodePorts.web: Input should be less "
         "than or equal to 32767 (got 70000)"),
        ("sidekiq:\n  - name: a\n    queues: [{name: default, weight: 0}]\n", "gitops-gen.yaml:3: "
         "sidekiq[0].queues[0].weight: Input should be greater than 0 (got 0)"),
        # The branches of a union (a quantity is a string or a number; a queue a name or a mapping) are not fields.
        ("web:\n  resources:\n    limits: {cpu: [1]}\n", "gitops-gen.yaml:3: web.resources.limits.cpu: Input "
         "should be a valid string"),
        ("sidekiq:\n  - name: a\n    queues: [7]\n", "gitops-gen.yaml:3: sidekiq[0].queues[0]: Input should be a "
         "valid dictionary or instance of Queue"),
        ("sidekiq:\n  - name: a\n    queues: [{nam: default}]\n", "gitops-gen.yaml:3: sidekiq[0].queues[0].name: "
         "Field required"),
        # A rule of our own: pydantic's "Value error, " is not shown.
        ('drift:\n  install: "a\\nb"\n', 'gitops-gen.yaml:2: drift.install: must be one non-empty line (a shell '
         'command, e.g. pip install "gitops-gen==0.1.0")'),
        ("- a\n", "gitops-gen.yaml:1: the spec must be a mapping of fields (see README.md, 'The spec')"),
    ],
)
def test_a_bad_spec_is_one_line_naming_file_line_field_and_problem(text: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "gitops-gen.yaml")
    assert str(raised.value) == message


@pytest.mark.parametrize("host", ["s:0", "s:65536", "s:2x", "::1", "[::1]:26379", "s:1:2"])
def test_a_sentinel_is_a_host_with_an_optional_port_in_range(host: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(SENTINEL % f"'{host}'", "gitops-gen.yaml")
    assert str(raised.value) == f"gitops-gen.yaml:3: mastodon.redis.sentinel.hosts[0]: '{host}' {NOT_HOST_PORT}"


def test_sentinel_hosts_that_mastodon_can_read_are_accepted() -> None:
    hosts = ["s:65535", "s:1", "10.0.0.1:26379", "sentinel.redis.svc", "s:"]
    spec = parse_spec(SENTINEL % ", ".join(f"'{h}'" for h in hosts))
    sentinel = spec.mastodon.redis.sentinel
    assert sentinel is not None and sentinel.hosts == hosts
    with pytest.raises(SpecError) as raised:
        parse_spec(SENTINEL % "'Bad_Host:1'", "gitops-gen.yaml")
    assert str(raised.value) == ("gitops-gen.yaml:3: mastodon.redis.sentinel.hosts[0]: 'Bad_Host' is not a valid "
                                 "domain name")


def _document(text: str) -> tuple[dict[str, Any], dict[yamlio.FieldPath, int]]:
    document = yamlio.load_round_trip(text, "gitops-gen.yaml")
    return yamlio.to_plain(document), yamlio.line_numbers(document)


def test_drift_reads_each_overlays_context_and_nothing_else() -> None:
    data, lines = _document("overlays:\n  production: {namespace: mastodon, context: prod-ctx}\n  staging: {}\n"
                            "  qa: {context: arn:aws:eks:eu-west-1:1:cluster/qa, replicas: 9}\n")
    assert validate_overlay_contexts(data, "gitops-gen.yaml", lines) == {
        "production": "prod-ctx", "qa": "arn:aws:eks:eu-west-1:1:cluster/qa"}
    assert validate_overlay_contexts({}, "gitops-gen.yaml") == {}
    assert validate_overlay_contexts({"overlays": None}, "gitops-gen.yaml") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\noverlays:\n  production:\n    context: 'a b'\n", "gitops-gen.yaml:4: overlays.production.context: "
         "'a b' is not a kubeconfig context name (no spaces or control characters)"),
        ("overlays:\n  production: [context]\n", "gitops-gen.yaml:2: overlays.production: Input should be a valid "
         "dictionary or instance of _OverlayPlace"),
    ],
)
def test_a_bad_overlay_context_is_named_like_any_spec_error(text: str, message: str) -> None:
    data, lines = _document(text)
    with pytest.raises(SpecError) as raised:
        validate_overlay_contexts(data, "gitops-gen.yaml", lines)
    assert str(raised.value) == message
    with pytest.raises(SpecError) as raised:
        validate_overlay_contexts(data, "gitops-gen.yaml")
    assert str(raised.value) == message.replace(f":{message.split(':')[1]}:", ":", 1)  # no line numbers: no line


def test_a_bad_drift_section_is_named_with_its_line() -> None:
    data, lines = _document("name: x\ndrift:\n  schedule: hourly\n")
    with pytest.raises(SpecError) as raised:
        validate_drift_section(data, "gitops-gen.yaml", lines)
    assert str(raised.value) == ("gitops-gen.yaml:3: drift.schedule: 'hourly' is not a cron schedule of five fields "
                                 '(e.g. "17 */6 * * *")')
    assert validate_drift_section({"drift": None}, "gitops-gen.yaml").schedule == "17 */6 * * *"
