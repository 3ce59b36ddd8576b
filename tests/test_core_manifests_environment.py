"""What one overlay adds for Mastodon's backends, pinned on the tree ``init`` writes (tests/core_trees.py): the
ConfigMap under the names Mastodon reads (``.env.production.sample``, ``config/database.yml``,
``lib/mastodon/redis_configuration.rb``, ``config/initializers/chewy.rb``), what streaming and the migration
Jobs read under names of their own, the ``tootctl search deploy`` Job, the Gateway API routes, and the metrics
exporter and its ServiceMonitors. Each test killed mutants of benchmarks/mutation.py that survived before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core_trees import WrittenTree, tree_scope, written_tree

# Every backend switched on, in two overlays with namespaces of their own and a staging that runs less.
BACKENDS = """\
drift: {ci: none}
name: fedi
mastodon:
  localDomain: example.com
  webDomain: social.example.com
  alternateDomains: [example.net, example.org]
  database:
    host: pgbouncer
    port: 6432
    name: mastodon_db
    user: masto
    pgbouncer: true
    direct: {host: postgresql.db.svc, port: 5433, name: mastodon_direct}
    replica: {host: pg-replica, port: 5434, user: reader}
    sslMode: require
  redis:
    host: redis
    port: 6380
    user: app
    cache: {host: redis-cache.cache.svc, port: 6381, user: cacher}
    sidekiq: {sentinel: {master: queues, hosts: [sentinel-a, "sentinel-b:26380"], user: watcher}}
  smtp: {server: smtp.example.com, port: 2525, fromAddress: "Mastodon <notifications@example.com>"}
  search:
    {host: opensearch, port: 9201, tls: true, preset: small_cluster, prefix: fedi, user: mastodon,
     deploy: {concurrency: 3, batchSize: 50}}
  extraEnv: {RAILS_LOG_LEVEL: warn}
metrics:
  prometheus: {enabled: true, port: 9400, webDetailed: true, sidekiqDetailed: true}
  serviceMonitor: {enabled: true, labels: {release: kube-prometheus}, interval: 30s}
  otel: {endpoint: "http://otel-collector:4318", serviceNamePrefix: fedi}
storage:
  system: {size: 50Gi, nfs: {server: 192.0.2.10, path: /export/mastodon}}
sidekiq:
- name: default
  replicas: 2
  queues: [default, push, ingress, mailers, pull, fasp]
- name: scheduler
  queues: [scheduler]
overlays:
  staging:
    namespace: fedi-staging
    localDomain: staging.example.com
    web: {replicas: 1}
    streaming: {resources: {requests: {cpu: 50m}, limits: {memory: 300Mi}}}
    sidekiq: {default: {replicas: 1}}
  production:
    namespace: fedi
"""

# Media on S3, the main Redis behind sentinels, prepared statements pinned on, search switched off; a Gateway
# in front, dual stack, and the exporter on its default port without a ServiceMonitor.
S3_SENTINELS = """\
drift: {ci: none}
mastodon:
  localDomain: example.com
  webDomain: social.example.com
  alternateDomains: [example.org]
  database: {host: "2001:db8::5", preparedStatements: true}
  redis: {sentinel: {master: mymaster, hosts: ["sentinel.redis.svc:26380", 10.0.0.5]}}
  s3: {bucket: media, endpoint: "https://s3.example.com", region: eu-west-1, aliasHost: files.example.com}
  search: {enabled: false, host: elasticsearch}
expose:
  type: Gateway
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  gateway:
    parentRefs: [{name: public, namespace: gateway, sectionName: https, port: 443}, {name: internal}]
    annotations: {example.com/team: social}
metrics:
  prometheus: {enabled: true}
overlays:
  production: {namespace: mastodon}
"""

# Nothing optional: what Mastodon's own defaults cover is left out. Streaming's ServiceMonitor alone.
PLAIN = """\
drift: {ci: none}
mastodon: {localDomain: example.com}
metrics:
  serviceMonitor: {enabled: true}
storage:
  system: {storageClass: longhorn, size: 20Gi}
overlays:
  production: {namespace: mastodon}
"""


@pytest.fixture(scope=tree_scope)
def backends(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(BACKENDS, tmp_path_factory.mktemp("backends"))


@pytest.fixture(scope=tree_scope)
def s3(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(S3_SENTINELS, tmp_path_factory.mktemp("s3"))


@pytest.fixture(scope=tree_scope)
def plain(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(PLAIN, tmp_path_factory.mktemp("plain"))


def config(tree: WrittenTree, overlay: str) -> dict[str, str]:
    """The overlay's ConfigMap as Mastodon's processes see it (kustomize's configMapGenerator literals)."""
    [kustomization] = tree.documents(f"overlays/{overlay}/kustomization.yaml")
    [generator] = kustomization["configMapGenerator"]
    pairs = [literal.split("=", 1) for literal in generator["literals"]]
    assert len({key for key, _ in pairs}) == len(pairs), "a key written twice"
    return dict(pairs)


def env(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def doc(tree: WrittenTree, path: str, kind: str) -> list[dict[str, Any]]:
    return [d for d in tree.documents(path) if d["kind"] == kind]


# --- the ConfigMap ------------------------------------------------------------------------------------------


def test_each_overlay_has_its_own_local_domain_and_every_one_shares_the_web_domain(backends: WrittenTree) -> None:
    staging, production = config(backends, "staging"), config(backends, "production")
    assert (staging["LOCAL_DOMAIN"], production["LOCAL_DOMAIN"]) == ("staging.example.com", "example.com")
    assert staging["WEB_DOMAIN"] == production["WEB_DOMAIN"] == "social.example.com"
    assert production["ALTERNATE_DOMAINS"] == "example.net,example.org"  # Mastodon splits it at commas


def test_the_rails_and_node_processes_run_in_production_mode_logging_to_stdout(plain: WrittenTree) -> None:
    values = config(plain, "production")
    assert values["RAILS_ENV"] == values["NODE_ENV"] == "production"
    assert values["RAILS_LOG_TO_STDOUT"] == "enabled"  # kubectl logs, not a file in the container
    assert values["RAILS_SERVE_STATIC_FILES"] == "true"  # no nginx beside puma serves public/


def test_a_bare_service_name_is_reached_by_its_fqdn_in_each_overlays_namespace(backends: WrittenTree) -> None:
    staging, production = config(backends, "staging"), config(backends, "production")
    assert staging["DB_HOST"] == "pgbouncer.fedi-staging.svc.cluster.local"
    assert production["DB_HOST"] == "pgbouncer.fedi.svc.cluster.local"
    assert production["REDIS_HOST"] == "redis.fedi.svc.cluster.local"
    assert production["REPLICA_DB_HOST"] == "pg-replica.fedi.svc.cluster.local"
    assert production["ES_HOST"] == "https://opensearch.fedi.svc.cluster.local"  # tls: the scheme goes into ES_HOST
    assert production["CACHE_REDIS_HOST"] == "redis-cache.cache.svc"  # a dotted host is used as written


def test_behind_pgbouncer_rails_gets_the_pooler_and_no_prepared_statements(backends: WrittenTree) -> None:
    values = config(backends, "production")
    assert (values["DB_PORT"], values["DB_NAME"], values["DB_USER"]) == ("6432", "mastodon_db", "masto")
    assert values["PREPARED_STATEMENTS"] == "false"  # transaction pooling breaks server-side prepared statements
    assert values["DB_SSLMODE"] == "require"


def test_the_read_replica_defaults_to_the_primarys_database_name(backends: WrittenTree) -> None:
    values = config(backends, "production")
    # Mastodon uses the replica only when REPLICA_DB_NAME is set: so it is always written.
    assert values["REPLICA_DB_NAME"] == "mastodon_db"
    assert (values["REPLICA_DB_PORT"], values["REPLICA_DB_USER"]) == ("5434", "reader")


def test_a_separate_cache_and_sidekiq_redis_get_their_prefixed_copies(backends: WrittenTree) -> None:
    values = config(backends, "production")
    assert (values["REDIS_PORT"], values["REDIS_USER"]) == ("6380", "app")
    assert (values["CACHE_REDIS_PORT"], values["CACHE_REDIS_USER"]) == ("6381", "cacher")
    # Sidekiq's Redis behind sentinels: host and port are not read, the sentinels are asked for the master.
    assert "SIDEKIQ_REDIS_HOST" not in values and "SIDEKIQ_REDIS_PORT" not in values
    assert values["SIDEKIQ_REDIS_SENTINELS"] == ("sentinel-a.fedi.svc.cluster.local:26379,"
                                                 "sentinel-b.fedi.svc.cluster.local:26380")
    assert values["SIDEKIQ_REDIS_SENTINEL_MASTER"] == "queues"
    assert values["SIDEKIQ_REDIS_SENTINEL_USERNAME"] == "watcher"
    assert "REDIS_SENTINELS" not in values and "SIDEKIQ_REDIS_USER" not in values


def test_the_main_redis_behind_sentinels_has_no_host_and_keeps_dotted_and_ip_sentinels(s3: WrittenTree) -> None:
    values = config(s3, "production")
    assert "REDIS_HOST" not in values and "REDIS_PORT" not in values
    assert values["REDIS_SENTINELS"] == "sentinel.redis.svc:26380,10.0.0.5:26379"
    assert values["REDIS_SENTINEL_MASTER"] == "mymaster"
    assert "REDIS_SENTINEL_USERNAME" not in values  # unset: Mastodon uses the Redis user
    assert values["DB_HOST"] == "2001:db8::5"  # an address is used as written, not made a Service name
    assert values["PREPARED_STATEMENTS"] == "true"  # set in the spec: written even without pgbouncer


def test_smtp_otel_and_extra_env_reach_the_configmap(backends: WrittenTree) -> None:
    values = config(backends, "production")
    assert (values["SMTP_SERVER"], values["SMTP_PORT"]) == ("smtp.example.com", "2525")
    assert values["SMTP_FROM_ADDRESS"] == "Mastodon <notifications@example.com>"
    assert values["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert values["OTEL_SERVICE_NAME_PREFIX"] == "fedi"
    assert "OTEL_SERVICE_NAME_SEPARATOR" not in values  # unset: Mastodon's default
    assert values["RAILS_LOG_LEVEL"] == "warn"


def test_search_settings_are_mastodons_es_variables(backends: WrittenTree, s3: WrittenTree) -> None:
    values = config(backends, "production")
    assert values["ES_ENABLED"] == "true"
    assert (values["ES_PORT"], values["ES_PRESET"]) == ("9201", "small_cluster")
    assert (values["ES_PREFIX"], values["ES_USER"]) == ("fedi", "mastodon")
    disabled = config(s3, "production")
    assert disabled["ES_ENABLED"] == "false"  # switched off: no ES_HOST for chewy to try
    assert not any(key.startswith("ES_") and key != "ES_ENABLED" for key in disabled)


def test_s3_settings_are_mastodons_s3_variables(s3: WrittenTree) -> None:
    values = config(s3, "production")
    assert values["S3_ENABLED"] == "true"
    assert (values["S3_BUCKET"], values["S3_ENDPOINT"]) == ("media", "https://s3.example.com")
    assert (values["S3_REGION"], values["S3_ALIAS_HOST"]) == ("eu-west-1", "files.example.com")


def test_what_mastodons_defaults_cover_is_left_out(plain: WrittenTree) -> None:
    values = config(plain, "production")
    for key in ("PREPARED_STATEMENTS", "DB_SSLMODE", "REPLICA_DB_HOST", "REDIS_USER", "REDIS_SENTINELS",
                "CACHE_REDIS_HOST", "SIDEKIQ_REDIS_HOST", "S3_ENABLED", "SMTP_SERVER", "ES_ENABLED",
                "ALTERNATE_DOMAINS", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        assert key not in values, key
    assert values["DB_HOST"] == "postgresql.mastodon.svc.cluster.local"
    assert (values["DB_PORT"], values["DB_NAME"], values["DB_USER"]) == ("5432", "mastodon_production", "mastodon")
    assert (values["REDIS_HOST"], values["REDIS_PORT"]) == ("redis.mastodon.svc.cluster.local", "6379")
    assert "WEB_DOMAIN" not in values  # unset: Mastodon serves on LOCAL_DOMAIN


# --- what streaming and the Jobs read under other names -----------------------------------------------------


def test_streaming_reads_the_redis_user_and_node_postgres_ssl_mode(backends: WrittenTree, plain: WrittenTree) -> None:
    [deployment] = backends.documents("base/streaming.yaml")
    values = env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert values["REDIS_USERNAME"] == "app"  # streaming/redis.js: not REDIS_USER
    assert values["DB_SSLMODE"] == "no-verify"  # libpq's require: TLS without checking the certificate
    [default] = plain.documents("base/streaming.yaml")
    assert not {"REDIS_USERNAME", "DB_SSLMODE"} & set(env(default["spec"]["template"]["spec"]["containers"][0]))


def test_the_migration_jobs_go_around_pgbouncer_to_postgresql_itself(backends: WrittenTree) -> None:
    jobs = {job["metadata"]["name"]: job for job in doc(backends, "overlays/production/migrations.yaml", "Job")}
    assert jobs, "no migration Jobs"
    for job in jobs.values():
        values = env(job["spec"]["template"]["spec"]["containers"][0])
        # Rails' advisory lock around migrations needs a session: PostgreSQL itself, not transaction pooling.
        assert (values["DB_HOST"], values["DB_PORT"], values["DB_NAME"]) == ("postgresql.db.svc", "5433",
                                                                             "mastodon_direct")


# --- tootctl search deploy ----------------------------------------------------------------------------------


def test_search_deploy_runs_after_the_post_deploy_migration_on_every_sync(backends: WrittenTree) -> None:
    [job] = doc(backends, "overlays/production/search-deploy.yaml", "Job")
    assert (job["apiVersion"], job["metadata"]["name"]) == ("batch/v1", "fedi-search-deploy")
    assert job["metadata"]["annotations"] == {
        "argocd.argoproj.io/hook": "PostSync",  # after the post-deploy migration (wave 0)...
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",  # ...recreated on every sync
        "argocd.argoproj.io/sync-wave": "1",
        "kustomize.toolkit.fluxcd.io/force": "enabled",  # Flux recreates it when its template changes
    }
    assert job["spec"]["backoffLimit"] == 2
    assert "activeDeadlineSeconds" not in job["spec"]  # a first import takes hours
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "search-deploy"
    assert pod["spec"]["restartPolicy"] == "Never"
    [container] = pod["spec"]["containers"]
    assert container["name"] == "search-deploy"
    assert container["image"].startswith("ghcr.io/mastodon/mastodon:")  # the main image: bump-image moves it
    assert container["command"] == ["bin/tootctl", "search", "deploy", "--concurrency", "3", "--batch-size", "50"]
    assert env(container)["DB_POOL"] == "3"  # each importer thread holds a database connection
    assert "volumes" not in pod["spec"]  # it reads the database, not the media


def test_no_search_deploy_job_when_search_is_off_or_unset(s3: WrittenTree, plain: WrittenTree) -> None:
    for tree in (s3, plain):
        assert "overlays/production/search-deploy.yaml" not in tree.paths()
        [kustomization] = tree.documents("overlays/production/kustomization.yaml")
        assert "search-deploy.yaml" not in kustomization["resources"]


# --- Gateway API --------------------------------------------------------------------------------------------


def test_the_httproutes_split_the_web_domain_from_the_well_known_hosts(s3: WrittenTree) -> None:
    routes = {r["metadata"]["name"]: r for r in s3.documents("overlays/production/httproute.yaml")}
    assert set(routes) == {"mastodon", "mastodon-well-known"}  # a route's hostnames apply to all its rules
    parents = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateway",
                "sectionName": "https", "port": 443},
               {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "internal"}]

    def backend(component: str, port: int) -> dict[str, Any]:  # group and kind as the API server defaults them
        return {"group": "", "kind": "Service", "name": f"mastodon-{component}", "port": port, "weight": 1}

    def rule(prefix: str, target: dict[str, Any]) -> dict[str, Any]:
        return {"matches": [{"path": {"type": "PathPrefix", "value": prefix}}], "backendRefs": [target]}

    assert routes["mastodon"]["spec"] == {"parentRefs": parents, "hostnames": ["social.example.com"],
                                          "rules": [rule("/api/v1/streaming", backend("streaming", 4000)),
                                                    rule("/", backend("web", 3000))]}
    assert routes["mastodon-well-known"]["spec"] == {"parentRefs": parents,
                                                     "hostnames": ["example.com", "example.org"],
                                                     "rules": [rule("/.well-known", backend("web", 3000))]}
    for route in routes.values():
        assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert route["kind"] == "HTTPRoute"
        assert route["metadata"]["annotations"] == {"example.com/team": "social"}
        assert route["metadata"]["labels"]["app.kubernetes.io/component"] == "ingress"  # Flux's app stage
        assert "tls" not in route["spec"]  # the Gateway's HTTPS listener holds the certificate


# --- metrics ------------------------------------------------------------------------------------------------


def containers(tree: WrittenTree, path: str) -> dict[str, dict[str, Any]]:
    [deployment] = tree.documents(path)
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def test_web_sends_its_metrics_to_an_exporter_sidecar_on_the_pods_loopback(backends: WrittenTree) -> None:
    web = containers(backends, "base/web.yaml")
    assert list(web) == ["web", "prometheus-exporter"]
    main, exporter = web["web"], web["prometheus-exporter"]
    # Every puma worker would bind the same port in-process: they send to one exporter instead.
    assert {k: v for k, v in env(main).items() if "PROMETHEUS" in k} == {
        "MASTODON_PROMETHEUS_EXPORTER_ENABLED": "true", "PROMETHEUS_EXPORTER_HOST": "127.0.0.1",
        "PROMETHEUS_EXPORTER_PORT": "9400", "MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS": "true"}
    assert exporter["image"] == main["image"]  # one images: entry, so bump-image moves both
    assert exporter["command"] == ["./bin/prometheus_exporter"]
    assert exporter["args"] == ["--bind", "0.0.0.0", "--port", "9400"]
    assert exporter["ports"] == [{"name": "prometheus", "containerPort": 9400, "protocol": "TCP"}]
    assert exporter["resources"] == {"requests": {"cpu": "100m", "memory": "180M"}, "limits": {"memory": "250M"}}
    assert exporter["securityContext"] == main["securityContext"]  # as hardened as the app (pod security)
    assert "prometheus" not in {p["name"] for p in main["ports"]}


def test_sidekiq_serves_its_metrics_in_process_on_the_pods_address(backends: WrittenTree) -> None:
    [main] = containers(backends, "base/sidekiq-default.yaml").values()  # no sidecar: one process
    assert {k: v for k, v in env(main).items() if "PROMETHEUS" in k} == {
        "MASTODON_PROMETHEUS_EXPORTER_ENABLED": "true", "MASTODON_PROMETHEUS_EXPORTER_LOCAL": "true",
        "MASTODON_PROMETHEUS_EXPORTER_HOST": "0.0.0.0", "MASTODON_PROMETHEUS_EXPORTER_PORT": "9400",
        "MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS": "true"}
    assert main["ports"][-1] == {"name": "prometheus", "containerPort": 9400, "protocol": "TCP"}
    [streaming] = containers(backends, "base/streaming.yaml").values()  # serves /metrics itself
    assert not any("PROMETHEUS" in key for key in env(streaming))


def test_with_ipv6_the_exporters_listen_on_every_address_and_details_stay_off(
        s3: WrittenTree, plain: WrittenTree) -> None:
    web = containers(s3, "base/web.yaml")
    assert web["prometheus-exporter"]["args"] == ["--bind", "::", "--port", "9394"]  # the default port
    assert "MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS" not in env(web["web"])
    [sidekiq] = containers(s3, "base/sidekiq-default.yaml").values()
    assert env(sidekiq)["MASTODON_PROMETHEUS_EXPORTER_HOST"] == "::"
    assert "MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS" not in env(sidekiq)
    # Without the exporter the processes are as they were: no metrics env, no sidecar, no metrics Services.
    assert list(containers(plain, "base/web.yaml")) == ["web"]
    assert not any("PROMETHEUS" in key for key in env(containers(plain, "base/web.yaml")["web"]))


def test_each_servicemonitor_selects_the_headless_service_carrying_its_port(backends: WrittenTree) -> None:
    objects = backends.documents("base/metrics.yaml")
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceMonitor"}
    assert set(services) == {"fedi-web-metrics", "fedi-sidekiq-metrics"}
    assert set(monitors) == {"fedi-web", "fedi-sidekiq", "fedi-streaming"}
    every_service = {**services, **{s["metadata"]["name"]: s for s in backends.documents("base/services.yaml")}}
    for name, monitor in monitors.items():
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus"  # what the Prometheus selects
        assert monitor["metadata"]["labels"]["app.kubernetes.io/component"] == "metrics"
        [endpoint] = monitor["spec"]["endpoints"]
        assert (endpoint["path"], endpoint["interval"]) == ("/metrics", "30s")
        wanted = monitor["spec"]["selector"]["matchLabels"]
        selected = [s for s in every_service.values() if wanted.items() <= s["metadata"]["labels"].items()]
        assert len(selected) == 1, name  # exactly one Service, which has the port the endpoint names
        assert endpoint["port"] in {p["name"] for p in selected[0]["spec"]["ports"]}, name
    for component in ("web", "sidekiq"):
        service = services[f"fedi-{component}-metrics"]
        assert (service["apiVersion"], service["spec"]["clusterIP"]) == ("v1", "None")  # headless: every pod scraped
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == component
        assert service["spec"]["ports"] == [{"name": "prometheus", "port": 9400, "targetPort": "prometheus",
                                             "protocol": "TCP"}]  # the exporter's named container port
        assert service["metadata"]["labels"]["gitops-gen.io/metrics"] == component
        assert service["metadata"]["labels"]["app.kubernetes.io/component"] == component


def test_without_the_exporter_only_streaming_is_monitored_at_the_prometheus_default_interval(
        plain: WrittenTree, s3: WrittenTree) -> None:
    [monitor] = plain.documents("base/metrics.yaml")
    assert (monitor["kind"], monitor["metadata"]["name"]) == ("ServiceMonitor", "mastodon-streaming")
    assert monitor["spec"]["endpoints"] == [{"port": "streaming", "path": "/metrics"}]
    # Without a ServiceMonitor the exporter's Services alone.
    assert {o["kind"] for o in s3.documents("base/metrics.yaml")} == {"Service"}
