"""The one-line errors a user reads for a bad gitops-gen.yaml: the file, the line, the field path and what to do, for
the whole spec (``parse_spec``) and for the sections ``gitops-gen drift`` validates on their own; and the defaults
and Mastodon releases the rules depend on. Each case was a surviving mutant of benchmarks/mutation.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitops_gen import yamlio
from gitops_gen.errors import GitopsGenError, SpecError
from gitops_gen.spec import versions
from gitops_gen.spec.drift import validate_drift_section, validate_overlay_contexts
from gitops_gen.spec.load import load_spec, parse_spec, read_spec_text

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
        # Inside a mapping of the user's own keys (an overlay's name), the known fields are the overlay's.
        ("overlays:\n  prod:\n    webb: {}\n", "gitops-gen.yaml:3: overlays.prod.webb: unknown field 'webb'; did you "
         "mean 'web'?"),
        ("overlays:\n  prod:\n    web: {foo: 1}\n", "gitops-gen.yaml:3: overlays.prod.web.foo: unknown field 'foo' "
         "(known fields here: replicas, resources)"),
        ("sidekiq:\n  - name: a\n    queues: [default]\n    foo: 1\n", "gitops-gen.yaml:4: sidekiq[0].foo: unknown "
         "field 'foo' (known fields here: name, queues, concurrency, replicas, resources)"),
        ("web:\n  replica: 2\n", "gitops-gen.yaml:2: web.replica: unknown field 'replica'; did you mean 'replicas'?"),
        # The known fields of the model at that place, found through list items and camelCase keys.
        ("sidekiq:\n  - name: a\n    queues: [{name: default, foo: 1}]\n", "gitops-gen.yaml:3: "
         "sidekiq[0].queues[0].foo: unknown field 'foo' (known fields here: name, weight)"),
        ("expose:\n  nodePorts: {foo: 1}\n", "gitops-gen.yaml:2: expose.nodePorts.foo: unknown field 'foo' (known "
         "fields here: web, streaming)"),
        # Under a key the user names (an overlay), the overlay's fields are offered.
        ("overlays:\n  prod:\n    replicsa: 1\n", "gitops-gen.yaml:3: overlays.prod.replicsa: unknown field "
         "'replicsa' (known fields here: namespace, context, localDomain, imageTag, web, streaming, sidekiq, pods)"),
        ("mastodon:\n  trustedProxyIps: [proxy]\n", "gitops-gen.yaml:2: mastodon.trustedProxyIps: 'proxy' is not an IP "
         "address or CIDR range (192.0.2.10, 10.0.0.0/8, 2001:db8::/32)"),
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
        ("web:\n  resources:\n    limits: {memory: 12GB}\n", "gitops-gen.yaml:3: web.resources.limits.memory: '12GB' "
         "is not a Kubernetes resource quantity (examples: 500m, 0.5, 512Mi, 1Gi)"),
        # YAML's true is no quantity (the API server refuses it), not one CPU.
        ("web:\n  resources:\n    limits: {cpu: true}\n", "gitops-gen.yaml:3: web.resources.limits.cpu: True is not "
         "a Kubernetes resource quantity (examples: 500m, 0.5, 512Mi, 1Gi)"),
        # A user's key named like one of pydantic's union branches (`int`) or with brackets is kept in the path.
        ("mastodon:\n  extraEnv:\n    int: [1]\n", "gitops-gen.yaml:3: mastodon.extraEnv.int: Input should be a valid "
         "string"),
        ("pods:\n  nodeSelector:\n    a[b]: {c: d}\n", "gitops-gen.yaml:3: pods.nodeSelector[\"a[b]\"]: Input should "
         "be a valid string"),
        # An extra key of the Secret is an environment variable that gitops-gen does not generate itself.
        ("secrets:\n  extraKeys: [DEEPL-KEY]\n", "gitops-gen.yaml:2: secrets.extraKeys[0].name: 'DEEPL-KEY' is not "
         "an environment variable name (letters, digits and '_', not starting with a digit, e.g. DEEPL_API_KEY)"),
        ("secrets:\n  extraKeys: [OTP_SECRET]\n", "gitops-gen.yaml:2: secrets.extraKeys[0].name: OTP_SECRET is one "
         "of the keys gitops-gen generates (gitops-gen secrets lists them); list only keys you supply"),
    ],
)
def test_a_bad_spec_is_one_line_naming_file_line_field_and_problem(text: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "gitops-gen.yaml")
    assert str(raised.value) == message


def test_yaml_that_does_not_parse_is_named_with_the_file_line_and_column() -> None:
    with pytest.raises(GitopsGenError) as raised:
        parse_spec("web:\n  replicas: [1,\nstreaming: {}\n", "conf/gitops-gen.yaml")
    assert str(raised.value) == ("conf/gitops-gen.yaml:4:1: YAML does not parse: expected ',' or ']', but got "
                                 "'<stream end>'")


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


ALL_QUEUES = "[default, push, ingress, mailers, pull, scheduler, fasp]"
TWO_WORKERS = "sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull, fasp]}\n" \
              "  - {name: s, queues: [scheduler]}\n"
AT_4_2 = "images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.2.0}\n" \
         "sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull, scheduler]}\n"
LB_NEEDS = ("expose.loadBalancerNodes: the external nginx needs expose.type: NodePort and both nodePorts (web and "
            "streaming) to point its upstreams at")
IN_THE_SECRET = ("is a key of the Secret mastodon-secrets: extraEnv goes into a ConfigMap in git, in plain text; set "
                 "it in the Secret (gitops-gen secrets lists how)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("overlays:\n  Prod: {}\n", "2: overlays.Prod: 'Prod' is not a DNS-1123 label: use lower-case letters, digits "
         "and '-' (it names directories and objects)"),
        (f"sidekiq:\n  - {{name: a, queues: {ALL_QUEUES}}}\n  - {{name: a, queues: [default]}}\n",
         "3: sidekiq[1].name: sidekiq workers need distinct names; 'a' is taken"),
        (f"sidekiq:\n  - {{name: a, queues: {ALL_QUEUES}}}\n  - {{name: b, queues: [scheduler]}}\n",
         "3: sidekiq[1].queues: only one sidekiq worker may run the scheduler queue; 'a' already does"),
        (f"sidekiq:\n  - {{name: a, queues: {ALL_QUEUES}, replicas: 2}}\n", "2: sidekiq[0].replicas: worker 'a' runs "
         "the scheduler queue, so it must have at most one replica"),
        (TWO_WORKERS + "overlays:\n  prod:\n    sidekiq:\n      x: {replicas: 1}\n",
         "7: overlays.prod.sidekiq.x: no sidekiq worker is named 'x' (workers: a, s)"),
        (TWO_WORKERS + "overlays:\n  prod:\n    sidekiq:\n      s: {replicas: 2}\n", "7: overlays.prod.sidekiq.s."
         "replicas: worker 's' runs the scheduler queue, so it must have at most one replica"),
        ("secrets:\n  provider: external-secrets\n", "2: secrets.provider: provider external-secrets needs "
         "secrets.externalSecrets.store: the SecretStore to read from"),
        ("secrets:\n  provider: sops\n", "2: secrets.provider: provider sops needs secrets.sops.ageRecipients: the age "
         "public keys that may decrypt"),
        ("storage:\n  system:\n    nfs: {server: 192.0.2.1, path: /x}\nmastodon:\n  s3: {bucket: b}\n",
         "3: storage.system.nfs: NFS storage and mastodon.s3 exclude each other: media go to one of them"),
        ("expose:\n  type: NodePort\n  nodePorts: {web: 31000, streaming: 31000}\n", "3: expose.nodePorts.streaming: "
         "node port 31000 is used twice (web and streaming): give each its own"),
        ("expose:\n  type: Ingress\n  loadBalancerNodes: [192.0.2.1]\n", f"3: {LB_NEEDS}"),
        ("expose:\n  type: NodePort\n  nodePorts: {web: 31000}\n  loadBalancerNodes: [192.0.2.1]\n", f"4: {LB_NEEDS}"),
        ("expose:\n  type: NodePort\n  nodePorts: {streaming: 31000}\n  loadBalancerNodes: [192.0.2.1]\n",
         f"4: {LB_NEEDS}"),
        ("mastodon:\n  extraEnv: {OTP_SECRET: x}\n", f"2: mastodon.extraEnv.OTP_SECRET: OTP_SECRET {IN_THE_SECRET}"),
        ("mastodon:\n  extraEnv: {DB_PASS: x}\n", f"2: mastodon.extraEnv.DB_PASS: DB_PASS {IN_THE_SECRET}"),
        ("mastodon:\n  extraEnv: {ES_PASS: x}\nsecrets:\n  extraKeys: [ES_PASS]\n",
         f"2: mastodon.extraEnv.ES_PASS: ES_PASS {IN_THE_SECRET}"),
        ("expose:\n  type: Gateway\n  gateway: {}\n", "3: expose.gateway.parentRefs: expose.type Gateway needs "
         "expose.gateway.parentRefs: the Gateway(s) the HTTPRoute attaches to, e.g. [{name: public, namespace: "
         "gateway}]"),
        ("mastodon:\n  localDomain: a.example\n  alternateDomains: [b.example, a.example]\n", "3: mastodon."
         "alternateDomains[1]: a.example is already the local or web domain: list only other domains"),
        ("mastodon:\n  database: {pgbouncer: true}\n", "2: mastodon.database.pgbouncer: a PgBouncer in front needs "
         "mastodon.database.direct: {host, port} of PostgreSQL itself, for the migration Jobs (migrations cannot run "
         "through transaction pooling)"),
        (AT_4_2.replace("v4.2.0", "v4.1.0") + "mastodon:\n  database: {replica: {host: r}}\n",
         "6: mastodon.database.replica: read replicas (REPLICA_DB_*) need Mastodon 4.2 or later; Mastodon 4.1 is "
         "targeted (images.mastodon.tag)"),
        (AT_4_2 + "mastodon:\n  redis: {user: u}\n", "6: mastodon.redis.user: Redis users need Mastodon 4.3 or later; "
         "Mastodon 4.2 is targeted (images.mastodon.tag)"),
        (AT_4_2 + "mastodon:\n  redis: {cache: {host: c, sentinel: {master: m, hosts: [s]}}}\n",
         "6: mastodon.redis.cache.sentinel: Redis Sentinel needs Mastodon 4.3 or later; Mastodon 4.2 is targeted "
         "(images.mastodon.tag)"),
        (AT_4_2 + "mastodon:\n  redis: {sidekiq: {host: c, user: u}}\n", "6: mastodon.redis.sidekiq.user: Redis "
         "users need Mastodon 4.3 or later; Mastodon 4.2 is targeted (images.mastodon.tag)"),
        ("sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull, scheduler]}\n", "1: sidekiq: no "
         "worker consumes the queue fasp of Mastodon 4.6 (jobs there would never run); add them to a worker's queues: "
         "fasp (any worker)"),
        ("sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull, fasp]}\n", "1: sidekiq: no worker "
         "consumes the queue scheduler of Mastodon 4.6 (jobs there would never run); add them to a worker's queues: "
         "scheduler (exactly one worker, with one replica)"),
        ("sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, scheduler]}\n", "1: sidekiq: no worker "
         "consumes the queues pull, fasp of Mastodon 4.6 (jobs there would never run); add them to a worker's queues: "
         "pull, fasp (any worker)"),
        ("sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull]}\n", "1: sidekiq: no worker "
         "consumes the queues scheduler, fasp of Mastodon 4.6 (jobs there would never run); add them to a worker's "
         "queues: fasp (any worker); scheduler (exactly one worker, with one replica)"),
    ],
)
def test_each_rule_across_fields_names_the_field_to_fix(text: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "gitops-gen.yaml")
    assert str(raised.value) == f"gitops-gen.yaml:{message}"


@pytest.mark.parametrize("text", [
    TWO_WORKERS + "overlays:\n  prod:\n    sidekiq:\n      s: {replicas: 1}\n      a: {replicas: 5}\n",
    "expose:\n  type: NodePort\n  nodePorts: {web: 31000, streaming: 31001}\n  loadBalancerNodes: [192.0.2.1]\n",
    "expose:\n  type: NodePort\n",
    "mastodon:\n  s3: {bucket: media}\n",  # S3 without NFS
    "mastodon:\n  trustedProxyIps: [10.0.0.1/8, 2001:db8::1]\n",  # host bits set: Rails' IPAddr masks them
    "mastodon:\n  redis: {user: u, sentinel: {master: m, hosts: [s]}}\n  database: {replica: {host: r}}\n",
    "secrets:\n  provider: sops\n  sops:\n    ageRecipients:\n"
    "      - age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq\n",
])
def test_specs_that_keep_the_rules_are_accepted(text: str) -> None:
    assert parse_spec(text).name == "mastodon"


def test_the_spec_file_is_read_as_utf8_or_named_with_what_to_do(tmp_path: Path) -> None:
    assert load_spec(tmp_path / "gitops-gen.yaml") == parse_spec("")  # no file yet: the defaults
    spec = tmp_path / "gitops-gen.yaml"
    spec.write_text("web:\n  replicas: -1\n")
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    assert str(raised.value).startswith(f"{spec}:2: web.replicas: ")
    spec.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    assert str(raised.value) == f"{spec}: is not UTF-8 text (byte 9): save it as UTF-8"
    spec.unlink()
    spec.mkdir()
    with pytest.raises(SpecError) as raised:
        load_spec(spec)
    assert str(raised.value) == f"{spec}: is a directory, not a file: move it away and run gitops-gen init again"
    with pytest.raises(SpecError) as raised:
        read_spec_text(tmp_path / "missing.yaml")
    assert str(raised.value) == f"{tmp_path / 'missing.yaml'}: cannot be read (No such file or directory): check " \
                                "its permissions"


LONGEST_NAME = "a." * 126 + "a"  # 253 characters: the most a DNS name or a Kubernetes object name may have
ENV_NAME = "is not an environment variable name (no '=', spaces or control characters)"
CONTEXT = "is not a kubeconfig context name (no spaces or control characters)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"mastodon:\n  localDomain: {LONGEST_NAME}b\n", f"mastodon.localDomain: '{LONGEST_NAME}b' is not a valid "
         "domain name"),
        (f"expose:\n  ingress: {{className: {LONGEST_NAME}b}}\n", f"expose.ingress.className: '{LONGEST_NAME}b' is "
         "not a Kubernetes object name (lower-case letters, digits, '-' and '.')"),
        ("expose:\n  ingress: {className: Bad_Class}\n", "expose.ingress.className: 'Bad_Class' is not a Kubernetes "
         "object name (lower-case letters, digits, '-' and '.')"),
        ("overlays:\n  prod: {namespace: Bad_NS}\n", "overlays.prod.namespace: 'Bad_NS' is not a DNS-1123 label "
         "(lower-case letters, digits and '-', at most 63)"),
        ("mastodon:\n  extraEnv: {'A=B': x}\n", f"mastodon.extraEnv[\"A=B\"]: 'A=B' {ENV_NAME}"),
        ("mastodon:\n  extraEnv: {'A B': x}\n", f"mastodon.extraEnv[\"A B\"]: 'A B' {ENV_NAME}"),
        ("mastodon:\n  extraEnv: {'': x}\n", f"mastodon.extraEnv[\"\"]: '' {ENV_NAME}"),
        ("overlays:\n  prod: {context: ''}\n", f"overlays.prod.context: '' {CONTEXT}"),
        (f"overlays:\n  prod: {{context: {'c' * 254}}}\n", f"overlays.prod.context: '{'c' * 254}' {CONTEXT}"),
        ("mastodon:\n  redis: {sentinel: {master: 'a b', hosts: [s]}}\n", "mastodon.redis.sentinel.master: 'a b' must "
         "be one word without spaces, ',', ':', '@' or '/'"),
        ("maintenance:\n  mediaRemove: {schedule: '* * * * * *'}\n", "maintenance.mediaRemove.schedule: "
         "'* * * * * *' is not a cron schedule of five fields (e.g. \"17 */6 * * *\")"),
    ],
)
def test_field_types_name_the_value_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "gitops-gen.yaml")
    assert str(raised.value) == f"gitops-gen.yaml:2: {message}"


def test_values_at_the_edges_of_the_field_types_are_accepted() -> None:
    spec = parse_spec(f"mastodon:\n  localDomain: {LONGEST_NAME}\n  extraEnv: {{a.b-c: x}}\n"
                      "  database: {host: '2001:db8::1'}\n"
                      f"expose:\n  ingress: {{className: {LONGEST_NAME}}}\n"
                      f"overlays:\n  prod: {{context: {'c' * 253}}}\n"
                      "web:\n  resources:\n    requests: {cpu: 0.5, memory: 1}\n"
                      "maintenance:\n  mediaRemove: {schedule: '1 2 3 4 5'}\n")
    assert spec.mastodon.local_domain == LONGEST_NAME
    assert spec.mastodon.database.host == "2001:db8::1"
    assert (spec.web.resources.requests.cpu, spec.web.resources.requests.memory) == ("0.5", "1")  # written as text
    assert spec.maintenance.media_remove.schedule == "1 2 3 4 5"
    assert spec.overlays["prod"].context == "c" * 253


def test_a_feature_is_accepted_from_the_release_that_brought_it() -> None:
    at_4_3 = ("images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.3.0}\n"
              "sidekiq:\n  - {name: a, queues: [default, push, ingress, mailers, pull, scheduler]}\n")
    spec = parse_spec(at_4_3 + "mastodon:\n  redis: {user: u}\n")
    assert spec.mastodon.redis.user == "u"
    replica = parse_spec(AT_4_2 + "mastodon:\n  database: {replica: {host: r}}\n").mastodon.database.replica
    assert replica is not None and replica.host == "r"


def test_an_empty_spec_has_a_staging_and_a_production_overlay() -> None:
    spec = parse_spec("")
    staging, production = spec.overlays["staging"], spec.overlays["production"]
    assert (staging.namespace, staging.local_domain) == ("mastodon-staging", "staging.social.example.com")
    assert (staging.web.replicas, staging.streaming.replicas) == (1, 1)
    assert (production.namespace, production.local_domain, production.web.replicas) == ("mastodon", None, None)
    named = parse_spec("name: social\noverlays:\n  qa: {}\n  prod: {namespace: live}\n")
    assert (named.overlay_namespace("qa"), named.overlay_namespace("prod")) == ("social-qa", "live")


@pytest.mark.parametrize(("tag", "release", "described", "otp_secret"), [
    ("v4.3.8", (4, 3), "Mastodon 4.3", True),
    ("4.2", (4, 2), "Mastodon 4.2", True),
    ("v4.4.0-beta.1", (4, 4), "Mastodon 4.4", False),
    ("v5", (5, 0), "Mastodon 5.0", False),
    ("latest", None, "Mastodon 'latest' (taken as the newest)", False),
])
def test_the_targeted_release_is_read_from_the_image_tag(tag: str, release: tuple[int, int] | None, described: str,
                                                         otp_secret: bool) -> None:
    assert versions.mastodon_release(tag) == release
    assert versions.describe(tag) == described
    assert versions.reads_otp_secret(tag) is otp_secret
