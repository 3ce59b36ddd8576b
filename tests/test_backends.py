"""PostgreSQL behind PgBouncer (direct host for migrations, read replica, DB_SSLMODE) and Redis (user, Sentinel,
separate cache and Sidekiq Redis): what `gitops-gen init` renders for each process, checked through the real
kustomize and the real API server, and the passwords `gitops-gen secrets` asks for."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gitops_gen import kustomize
from gitops_gen.generate.layout import generate
from gitops_gen.generate.secrets import referenced_secret_keys
from gitops_gen.spec.load import parse_spec
from tests.conftest import REPO_ROOT, Cluster
from tests.helpers import run_cli
from tests.test_sync_cluster import _run_printed

SPEC = """\
mastodon:
  database:
    host: pgbouncer
    port: 6432
    pgbouncer: true
    direct: {host: postgresql, port: 5432}
    replica: {host: postgresql-replica, user: reader}
    sslMode: require
  redis:
    user: mastodon
    sentinel:
      master: mymaster
      hosts: [redis-sentinel-0.redis-sentinel, "redis-sentinel-1.redis-sentinel:26380"]
      ownPassword: true
    cache: {host: redis-cache, port: 6380}
    sidekiq:
      user: sidekiq
      sentinel: {master: sidekiq, hosts: [sentinel-sidekiq], user: sentinel-user}
gitops: {repoURL: "https://git.example.net/ops/mastodon.git"}
drift: {ci: none}
overlays:
  production: {namespace: NAMESPACE}
"""
NEW_KEYS = {"REPLICA_DB_PASS", "REDIS_SENTINEL_PASSWORD", "CACHE_REDIS_PASSWORD", "SIDEKIQ_REDIS_PASSWORD"}


def _init(root: Path, namespace: str, capsys: pytest.CaptureFixture[str], spec: str = SPEC) -> list[dict[str, Any]]:
    root.mkdir(parents=True)
    (root / "gitops-gen.yaml").write_text(spec.replace("NAMESPACE", namespace))
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0 and result.err == "", result.err
    return kustomize.render(root / "overlays" / "production")


def _containers(rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0] for o in rendered
            if o["kind"] in ("Deployment", "Job")}


def _environment(container: dict[str, Any], config: dict[str, str]) -> dict[str, str]:
    """What the process sees: the ConfigMap (envFrom), overridden by the container's own values (env wins)."""
    return {**config, **{e["name"]: e["value"] for e in container.get("env", []) if "value" in e}}


def _secret_refs(container: dict[str, Any]) -> dict[str, bool]:
    refs = [e["valueFrom"]["secretKeyRef"] for e in container.get("env", []) if "valueFrom" in e]
    return {ref["key"]: bool(ref.get("optional")) for ref in refs}


def test_each_process_reads_pgbouncer_the_replica_sentinels_and_separate_redis_under_its_own_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ns = "mastodon"
    rendered = _init(tmp_path / "repo", ns, capsys)
    (config,) = [o["data"] for o in rendered if o["kind"] == "ConfigMap"]
    containers = _containers(rendered)
    svc = f".{ns}.svc.cluster.local"

    rails = {name: c for name, c in containers.items() if name != "mastodon-streaming"}
    assert set(rails) == {"mastodon-web", "mastodon-sidekiq-default", "mastodon-db-migrate-pre",
                          "mastodon-db-migrate-post"}
    for name, container in rails.items():
        env = _environment(container, config)
        assert env["PREPARED_STATEMENTS"] == "false" and env["DB_SSLMODE"] == "require", name
        # Mastodon uses the replica only when REPLICA_DB_NAME is set: written even though it is the primary's.
        assert (env["REPLICA_DB_HOST"], env["REPLICA_DB_PORT"], env["REPLICA_DB_NAME"], env["REPLICA_DB_USER"]) == (
            f"postgresql-replica{svc}", "5432", "mastodon_production", "reader"), name
        assert env["REDIS_SENTINELS"] == "redis-sentinel-0.redis-sentinel:26379,redis-sentinel-1.redis-sentinel:26380"
        assert env["REDIS_SENTINEL_MASTER"] == "mymaster" and env["REDIS_USER"] == "mastodon"
        assert "REDIS_HOST" not in env and "REDIS_PORT" not in env  # the sentinels name the master
        assert (env["CACHE_REDIS_HOST"], env["CACHE_REDIS_PORT"]) == (f"redis-cache{svc}", "6380")
        assert env["SIDEKIQ_REDIS_SENTINELS"] == f"sentinel-sidekiq{svc}:26379"
        assert (env["SIDEKIQ_REDIS_SENTINEL_MASTER"], env["SIDEKIQ_REDIS_USER"],
                env["SIDEKIQ_REDIS_SENTINEL_USERNAME"]) == ("sidekiq", "sidekiq", "sentinel-user")
        refs = _secret_refs(container)
        assert {key: refs[key] for key in NEW_KEYS} == {"REPLICA_DB_PASS": False, "REDIS_SENTINEL_PASSWORD": False,
                                                         "CACHE_REDIS_PASSWORD": True, "SIDEKIQ_REDIS_PASSWORD": True}
        # Migrations go to PostgreSQL itself; everything else through PgBouncer.
        direct = name.startswith("mastodon-db-migrate")
        assert (env["DB_HOST"], env["DB_PORT"]) == ((f"postgresql{svc}", "5432") if direct
                                                    else (f"pgbouncer{svc}", "6432")), name

    streaming = _environment(containers["mastodon-streaming"], config)
    assert (streaming["DB_HOST"], streaming["DB_PORT"]) == (f"pgbouncer{svc}", "6432")
    # streaming/redis.js reads the user as REDIS_USERNAME; streaming/database.js knows no `require`: the nearest
    # mode that encrypts without checking the certificate, as libpq's require does, is `no-verify`.
    assert streaming["REDIS_USERNAME"] == "mastodon" and streaming["DB_SSLMODE"] == "no-verify"
    assert streaming["REDIS_SENTINELS"].startswith("redis-sentinel-0.redis-sentinel:26379")
    assert _secret_refs(containers["mastodon-streaming"]) == {"DB_PASS": False, "REDIS_PASSWORD": True,
                                                               "REDIS_SENTINEL_PASSWORD": False}


@pytest.mark.cluster
def test_the_tree_and_the_printed_secret_with_every_new_password_are_accepted_by_the_api_server(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    rendered = _init(root, namespace, capsys)
    listing = run_cli(capsys, "secrets", "--repo", str(root))
    assert listing.code == 0 and all(f"  {key} " in listing.out for key in NEW_KEYS)
    printed = run_cli(capsys, "secrets", "--kubectl", "--repo", str(root), "--namespace", namespace)
    assert printed.code == 0
    values = {"DB_PASS": "db", "REPLICA_DB_PASS": "replica", "REDIS_SENTINEL_PASSWORD": "sentinel",
              "CACHE_REDIS_PASSWORD": "cache"}
    done = _run_printed(printed.out, cluster, tmp_path, shell="sh", **values)
    assert done.returncode == 0, done.stderr

    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                              stdin=kustomize.render_text(root / "overlays" / "production"), check=False)
    assert applied.returncode == 0, applied.stderr
    secret = json.loads(cluster.kubectl("get", "secret", "mastodon-secrets", "-n", namespace, "-o", "json").stdout)
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert {key: data[key] for key in values} == values and data["SIDEKIQ_REDIS_PASSWORD"] == ""
    assert referenced_secret_keys(rendered)["mastodon-secrets"] <= set(data)

    # What the server stored: the Jobs' own DB_HOST, streaming's own names, the ConfigMap's keys.
    def live_env(kind: str, name: str) -> dict[str, str]:
        obj = json.loads(cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e.get("value", "<secret>") for e in container["env"]}

    for job in ("mastodon-db-migrate-pre", "mastodon-db-migrate-post"):
        assert live_env("job", job)["DB_HOST"] == f"postgresql.{namespace}.svc.cluster.local"
    assert live_env("deployment", "mastodon-streaming")["REDIS_USERNAME"] == "mastodon"
    (config_name,) = [o["metadata"]["name"] for o in rendered if o["kind"] == "ConfigMap"]
    config = json.loads(cluster.kubectl("get", "configmap", config_name, "-n", namespace, "-o", "json").stdout)
    assert config["data"]["REDIS_SENTINEL_MASTER"] == "mymaster" and config["data"]["PREPARED_STATEMENTS"] == "false"


def test_the_default_spec_has_none_of_these_keys_or_variables(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root)).code == 0
    rendered = kustomize.render(root / "overlays" / "production")
    (config,) = [o["data"] for o in rendered if o["kind"] == "ConfigMap"]
    assert not {key for key in config if key.startswith(("REPLICA_", "CACHE_", "SIDEKIQ_", "PREPARED", "DB_SSL"))}
    assert "REDIS_HOST" in config and "REDIS_SENTINELS" not in config
    for name, container in _containers(rendered).items():
        assert not set(_secret_refs(container)) & NEW_KEYS, name
    assert not NEW_KEYS & set(run_cli(capsys, "secrets", "--repo", str(root)).out.split())


def test_the_external_secret_fetches_the_new_passwords_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = SPEC.replace("drift: {ci: none}\n", "drift: {ci: none}\nsecrets:\n  provider: external-secrets\n"
                        "  externalSecrets: {store: vault, remoteKeyPrefix: mastodon/}\n")
    rendered = _init(tmp_path / "repo", "mastodon", capsys, spec)
    (external,) = [o for o in rendered if o["kind"] == "ExternalSecret"]
    remote = {d["secretKey"]: d["remoteRef"]["key"] for d in external["spec"]["data"]}
    assert {key: remote[key] for key in NEW_KEYS} == {key: f"mastodon/{key}" for key in NEW_KEYS}
    assert referenced_secret_keys(rendered)["mastodon-secrets"] <= set(remote)


@pytest.mark.parametrize(("mode", "streaming"), [("disable", "disable"), ("prefer", "disable"),
                                                 ("require", "no-verify"), ("verify-ca", "verify-full"),
                                                 ("verify-full", "verify-full")])
def test_streaming_gets_the_nearest_ssl_mode_node_postgres_knows(mode: str, streaming: str) -> None:
    files = generate(parse_spec(f"mastodon:\n  database: {{sslMode: {mode}}}\n"))
    (deployment,) = next(f.data for f in files if f.path == "base/streaming.yaml")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DB_SSLMODE"] == streaming


# --- the connection budget -----------------------------------------------------------------------------------

def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "database connections" in line]


def test_init_warns_that_the_home_lab_needs_more_connections_than_postgresql_allows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO_ROOT / "gitops-gen.yaml", tmp_path / "gitops-gen.yaml")
    result = run_cli(capsys, "init", str(tmp_path), "--no-commit")
    assert result.code == 0
    (line,) = _warnings(result.err)
    assert line.startswith("gitops-gen: warning: overlays.production: Mastodon may open 157 database connections")
    for part in ("web 2x2x3 = 12", "streaming 2x10 = 20", "sidekiq-default 2x20 = 40", "sidekiq-other 2x20 = 40",
                 "sidekiq-ingress 2x20 = 40", "sidekiq-scheduler 1x5 = 5", "maxConnections 100"):
        assert part in line

    # The 112 is this spec before its ingress and scheduler workers existed (12 + 40 + 40 + 20).
    spec = tmp_path / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace(
        "production: {namespace: bluecore-net}",
        "production: {namespace: bluecore-net, sidekiq: {ingress: {replicas: 0}, scheduler: {replicas: 0}}}"))
    (line,) = _warnings(run_cli(capsys, "init", str(tmp_path), "--no-commit").err)
    assert "Mastodon may open 112 database connections" in line


def test_the_budget_is_per_overlay_with_its_replicas_and_against_pgbouncer_when_it_is_in_front(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root)).code == 0
    assert _warnings(capsys.readouterr().err) == []  # the default: production 50, staging 30

    spec = root / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("database: {host: postgresql, port: 5432}",
                                             "database: {host: postgresql, port: 5432, maxConnections: 40}"))
    (line,) = _warnings(run_cli(capsys, "init", str(root)).err)
    assert "overlays.production: Mastodon may open 50 " in line and "PostgreSQL's max_connections" in line

    spec.write_text(spec.read_text().replace(
        "maxConnections: 40}", "maxConnections: 25, pgbouncer: true, direct: {host: postgresql}}").replace(
        "port: 5432,", "port: 6432,"))
    lines = _warnings(run_cli(capsys, "init", str(root)).err)
    assert [line.split(":")[2].strip() for line in lines] == ["overlays.staging", "overlays.production"]
    assert "may open 30 " in lines[0] and all("PgBouncer's max_client_conn" in line for line in lines)


# --- bad input -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "field", "message"), [
    ("mastodon:\n  database: {pgbouncer: true}\n", "mastodon.database.pgbouncer", "needs mastodon.database.direct"),
    ("images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.2.10}\nmastodon:\n"
     "  redis: {sentinel: {master: m, hosts: [s]}}\n", "mastodon.redis.sentinel",
     "Sentinel needs Mastodon 4.3 or later"),
    ("images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.2.10}\nmastodon:\n"
     "  redis: {cache: {host: c, user: u}}\n", "mastodon.redis.cache.user", "need Mastodon 4.3 or later"),
    ("images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.1.0}\nmastodon:\n"
     "  database: {replica: {host: r}}\n", "mastodon.database.replica", "need Mastodon 4.2 or later"),
    ("mastodon:\n  redis: {sentinel: {master: m, hosts: ['2001:db8::1']}}\n", "mastodon.redis.sentinel.hosts[0]",
     "IPv6 address cannot be given"),
    ("mastodon:\n  redis: {sidekiq: {port: 6380}}\n", "mastodon.redis.sidekiq", "give its host"),
    ("mastodon:\n  database: {sslMode: strict}\n", "mastodon.database.sslMode", "verify-full"),
    ("mastodon:\n  extraEnv: {CACHE_REDIS_PASSWORD: x}\n", "mastodon.extraEnv.CACHE_REDIS_PASSWORD", "in plain text"),
])
def test_a_bad_backend_field_stops_init_with_one_line_naming_it_and_writes_nothing(
        spec: str, field: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(spec)
    result = run_cli(capsys, "init", str(tmp_path))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert "gitops-gen.yaml:" in result.err and f"{field}:" in result.err and message in result.err, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gitops-gen.yaml"]
