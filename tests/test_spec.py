"""The spec: defaults, the seed's file, and every kind of bad input named precisely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitops_gen.commands.init import default_spec_text
from gitops_gen.errors import GitopsGenError
from gitops_gen.spec.load import json_schema, parse_spec
from gitops_gen.spec.model import DEFAULT_KUBE_VERSION
from tests.conftest import REPO_ROOT
from tests.helpers import SEED_SPEC, run_cli, snapshot

PACKAGE = Path(__file__).resolve().parent.parent / "gitops_gen"


def test_an_empty_spec_describes_a_working_default() -> None:
    spec = parse_spec("")
    assert spec.images.mastodon.repository == "ghcr.io/mastodon/mastodon"
    assert spec.images.streaming.repository == "ghcr.io/mastodon/mastodon-streaming"
    assert sorted(spec.overlays) == ["production", "staging"]
    assert spec.expose.type == "Ingress"


def test_the_default_spec_file_matches_the_model_defaults() -> None:
    written = parse_spec(default_spec_text())
    assert written.kube_version == DEFAULT_KUBE_VERSION
    assert written.sidekiq == parse_spec("").sidekiq


def test_the_seed_spec_is_accepted_as_written() -> None:
    spec = parse_spec(SEED_SPEC)
    assert [w.name for w in spec.sidekiq] == ["default", "other", "ingress", "scheduler"]
    assert spec.kube_minor == 20
    assert spec.storage.system.nfs is not None and spec.storage.system.nfs.server == "192.0.2.129"


def test_the_default_spec_runs_every_queue_of_mastodon_with_the_official_charts_weights() -> None:
    (worker,) = parse_spec(default_spec_text()).sidekiq
    assert [(queue.name, queue.weight) for queue in worker.queues] == [
        ("default", 8), ("push", 6), ("ingress", 4), ("mailers", 2), ("pull", None), ("scheduler", None),
        ("fasp", None)]


def test_this_repositorys_own_spec_consumes_every_queue_and_runs_one_scheduler() -> None:
    spec = parse_spec((PACKAGE.parent / "gitops-gen.yaml").read_text())
    consumed = {queue.name for worker in spec.sidekiq for queue in worker.queues}
    assert consumed >= {"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}
    (scheduler,) = [worker for worker in spec.sidekiq if worker.runs_scheduler]
    assert scheduler.replicas == 1
    # The seed's split stays: one group for default, one for mailers, pull and push.
    assert [[q.name for q in w.queues] for w in spec.sidekiq][:2] == [["default"], ["mailers", "pull", "push"]]


ALL_BUT_FASP = "[default, push, ingress, mailers, pull, scheduler]"


@pytest.mark.parametrize(("tag", "accepted"), [
    ("v4.3.8", True), ("v4.2.0", True), ("v4.4.0", False), ("v4.5.0-beta.1", False), ("v4.6.6", False),
    ("latest", False), ("nightly.2025-06-01", False)])
def test_fasp_must_be_consumed_from_mastodon_4_4_and_for_tags_that_are_not_versions(tag: str, accepted: bool) -> None:
    text = (f"images:\n  mastodon: {{repository: ghcr.io/mastodon/mastodon, tag: {tag}}}\n"
            f"sidekiq:\n  - {{name: all, queues: {ALL_BUT_FASP}}}\n")
    if accepted:
        assert parse_spec(text).sidekiq[0].name == "all"
    else:
        with pytest.raises(GitopsGenError, match=r"^gitops-gen.yaml:3: sidekiq: no worker consumes the queue fasp "):
            parse_spec(text)


def test_the_shipped_json_schema_is_the_models_schema() -> None:
    shipped = json.loads((PACKAGE / "spec" / "schema.json").read_text())
    assert shipped == json.loads(json.dumps(json_schema()))


BAD_SPECS = [
    ("unknown key with a near miss", "web:\n  replicsa: 2\n", "gitops-gen.yaml:2: web.replicsa: unknown field "
     "'replicsa'; did you mean 'replicas'?"),
    ("sidekiq concurrency zero", "sidekiq:\n  - name: a\n    queues: [default]\n    concurrency: 0\n",
     "gitops-gen.yaml:4: sidekiq[0].concurrency:"),
    ("sidekiq concurrency not an integer", "sidekiq:\n  - name: a\n    queues: [default]\n    concurrency: 2.5\n",
     "gitops-gen.yaml:4: sidekiq[0].concurrency:"),
    ("two scheduler workers", "sidekiq:\n  - name: a\n    queues: [scheduler]\n  - name: b\n    queues: [pull, "
     "scheduler]\n", "gitops-gen.yaml:5: sidekiq[1].queues: only one sidekiq worker may run the scheduler queue"),
    ("scheduler with two replicas", "sidekiq:\n  - name: a\n    queues: [scheduler]\n    replicas: 2\n",
     "gitops-gen.yaml:4: sidekiq[0].replicas:"),
    ("scheduler scaled in an overlay", "sidekiq:\n  - name: a\n    queues: [scheduler]\noverlays:\n  prod:\n"
     "    sidekiq:\n      a: {replicas: 3}\n", "gitops-gen.yaml:7: overlays.prod.sidekiq.a.replicas:"),
    ("node port out of range", "expose:\n  type: NodePort\n  nodePorts: {web: 8080}\n",
     "gitops-gen.yaml:3: expose.nodePorts.web:"),
    ("node port used twice", "expose:\n  type: NodePort\n  nodePorts: {web: 31000, streaming: 31000}\n",
     "gitops-gen.yaml:3: expose.nodePorts.streaming: node port 31000 is used twice"),
    ("invalid image tag", "images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: 'v4..1;rm -rf'}\n",
     "gitops-gen.yaml:2: images.mastodon.tag:"),
    ("invalid image repository", "images:\n  mastodon: {repository: GHCR.io/Mastodon/Mastodon!}\n",
     "gitops-gen.yaml:2: images.mastodon.repository:"),
    ("quantity 12GB", "web:\n  resources:\n    limits: {memory: 12GB}\n",
     "gitops-gen.yaml:3: web.resources.limits.memory: '12GB' is not a Kubernetes resource quantity"),
    ("negative quantity", "web:\n  resources:\n    requests: {cpu: -1}\n",
     "gitops-gen.yaml:3: web.resources.requests.cpu: -1 is not a Kubernetes resource quantity"),
    ("overlay name not DNS-1123", "overlays:\n  Prod_1: {}\n", "gitops-gen.yaml:2: overlays.Prod_1: 'Prod_1' is not "
     "a DNS-1123 label"),
    ("NFS without path", "storage:\n  system:\n    nfs: {server: 192.0.2.1}\n",
     "gitops-gen.yaml:3: storage.system.nfs.path: Field required"),
    ("NFS without server", "storage:\n  system:\n    nfs: {path: /export}\n",
     "gitops-gen.yaml:3: storage.system.nfs.server: Field required"),
    ("bracketed IPv6 load balancer node", "expose:\n  type: NodePort\n  loadBalancerNodes: ['[2001:db8::10]']\n",
     "gitops-gen.yaml:3: expose.loadBalancerNodes: '[2001:db8::10]' is not an IP address or a DNS name"),
    ("load balancer node with a port", "expose:\n  type: NodePort\n  loadBalancerNodes: [192.0.2.1, '192.0.2.2:313']\n",
     "gitops-gen.yaml:3: expose.loadBalancerNodes: '192.0.2.2:313' is not an IP address or a DNS name"),
    ("queues no worker consumes", "sidekiq:\n  - name: a\n    queues: [default, push]\n  - name: b\n    queues: "
     "[mailers, pull]\n", "gitops-gen.yaml:1: sidekiq: no worker consumes the queues ingress, scheduler, fasp of "
     "Mastodon 4.6 (jobs there would never run); add them to a worker's queues: ingress, fasp (any worker); "
     "scheduler (exactly one worker, with one replica)"),
    ("the seed's old split, without ingress or scheduler", "images:\n  mastodon: {repository: "
     "ghcr.io/mastodon/mastodon, tag: v4.3.8}\nsidekiq:\n  - {name: default, queues: [default]}\n"
     "  - {name: other, queues: [mailers, pull, push]}\n", "gitops-gen.yaml:3: sidekiq: no worker consumes the "
     "queues ingress, scheduler of Mastodon 4.3"),
    ("extra secret key not an env var name", "secrets:\n  extraKeys: [ES_PASS, DEEPL-KEY]\n",
     "gitops-gen.yaml:2: secrets.extraKeys[1].name: 'DEEPL-KEY' is not an environment variable name"),
    ("extra secret key that gitops-gen generates", "secrets:\n  extraKeys:\n    - {name: OTP_SECRET}\n",
     "gitops-gen.yaml:3: secrets.extraKeys[0].name: OTP_SECRET is one of the keys gitops-gen generates"),
    ("extra secret key listed twice", "secrets:\n  extraKeys: [ES_PASS, {name: ES_PASS, optional: true}]\n",
     "gitops-gen.yaml:2: secrets.extraKeys: ES_PASS is listed twice"),
    ("YAML that does not parse", "web:\n  replicas: [1,\nstreaming: {}\n", "gitops-gen.yaml:4:1: YAML does not parse"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD_SPECS], ids=[i for i, _, _ in BAD_SPECS])
def test_bad_spec_is_named_precisely(text: str, expected: str) -> None:
    with pytest.raises(GitopsGenError) as raised:
        parse_spec(text, "gitops-gen.yaml")
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD_SPECS], ids=[i for i, _, _ in BAD_SPECS])
def test_init_with_a_bad_spec_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         text: str, expected: str) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(text)
    before = snapshot(tmp_path)
    result = run_cli(capsys, "init", str(tmp_path))
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert result.err.startswith(f"gitops-gen: error: {tmp_path / expected}")
    assert snapshot(tmp_path) == before
    assert not (tmp_path / ".git").exists()


def _modeline_target(spec: Path) -> Path:
    """Where an editor finds the spec's schema: its first line's yaml-language-server modeline, a path
    relative to the spec's own directory."""
    first = spec.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema="), first
    target = first.split("$schema=", 1)[1].strip()
    assert "://" not in target and not Path(target).is_absolute(), target
    return spec.parent / target


def _check_jsonschema(schema: Path, spec: Path) -> subprocess.CompletedProcess[str]:
    # check-jsonschema validates as editors (yaml-language-server) and CI linters do.
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), str(spec)],
                          capture_output=True, text=True)


def test_the_modeline_of_the_default_spec_names_a_committed_schema_that_accepts_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "init", str(tmp_path / "repo")).code == 0
    # What someone who cloned the repository has: nothing from gitops-gen's own package.
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(tmp_path / "repo"), str(clone)], check=True)
    spec = clone / "gitops-gen.yaml"
    schema = _modeline_target(spec)
    assert schema.is_file()
    done = _check_jsonschema(schema, spec)
    assert done.returncode == 0, done.stdout + done.stderr
    # The schema checks something: a typo'd field and a wrong type are refused.
    spec.write_text(spec.read_text().replace("kubeVersion:", "kubeVersoin:"))
    assert _check_jsonschema(schema, spec).returncode == 1
    header = "".join(line for line in spec.read_text().splitlines(keepends=True) if line.startswith("#"))
    assert "gitops_gen/" not in header  # nothing that is only in gitops-gen's source tree


def test_the_home_lab_spec_names_its_schema_by_modeline_and_it_accepts_the_spec() -> None:
    spec = REPO_ROOT / "gitops-gen.yaml"
    done = _check_jsonschema(_modeline_target(spec), spec)
    assert done.returncode == 0, done.stdout + done.stderr
