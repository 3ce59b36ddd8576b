"""Mastodon's processes as the tree ``init`` writes them (tests/core_trees.py): web (puma on :3000), streaming
(node on :4000), one Deployment per sidekiq worker group, the two migration Jobs and the maintenance CronJobs;
their hardening (Pod Security "restricted", the images' uid 991), placement, labels and names. The facts come from
Mastodon's sources (``config/puma.rb``, ``config/sidekiq.yml``, ``streaming/index.js``, ``lib/mastodon/cli``)
and Kubernetes' semantics. Each test killed mutants of benchmarks/mutation.py that survived before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core_trees import WrittenTree, tree_scope, written_tree

# A non-default name and images, two sidekiq groups (scheduler alone), a read-only root and placement, every
# maintenance task but one, NodePort on dual stack; staging overrides replicas, resources and placement.
TUNED = """\
drift: {ci: none}
name: fedi
images:
  mastodon: {repository: registry.example.com/mastodon, tag: v4.4.3}
  streaming: {repository: registry.example.com/mastodon-streaming, tag: v4.4.3}
mastodon: {localDomain: example.com}
web:
  replicas: 3
  concurrency: 4
  maxThreads: 6
  resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {memory: 2Gi}}
streaming:
  replicas: 1
  resources: {requests: {cpu: 50m}}
sidekiq:
- name: main
  replicas: 2
  concurrency: 12
  queues: [{name: default, weight: 8}, {name: push, weight: 6}, ingress, mailers, pull, fasp]
  resources: {requests: {memory: 700Mi}, limits: {cpu: "2", memory: 1500Mi}}
- name: scheduler
  concurrency: 3
  queues: [scheduler]
pods:
  readOnlyRootFilesystem: true
  nodeSelector: {kubernetes.io/arch: arm64}
  tolerations: [{key: dedicated, value: mastodon, effect: NoSchedule}]
  imagePullSecrets: [regcred]
maintenance:
  mediaRemove: {schedule: "5 2 * * *", days: 3}
  previewCardsRemove: {enabled: false}
  mediaRemoveOrphans: {enabled: true}
  statusesRemove: {enabled: true, days: 30}
  accountsPrune: {enabled: true, schedule: "0 7 * * 6"}
  resources: {requests: {cpu: 200m}, limits: {memory: 800Mi}}
expose:
  type: NodePort
  nodePorts: {web: 30080, streaming: 30400}
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
overlays:
  staging:
    namespace: fedi-staging
    web: {replicas: 1, resources: {requests: {cpu: 100m}}}
    streaming: {replicas: 2}
    sidekiq: {main: {replicas: 1}}
    pods: {nodeSelector: {pool: staging}, tolerations: []}
  production:
    namespace: fedi
"""

# Everything at its default but the media (on S3), an older Kubernetes and a Mastodon before 4.3.
DEFAULTS_S3 = """\
drift: {ci: none}
kubeVersion: "1.20"
images:
  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.2.10}
mastodon:
  localDomain: example.com
  s3: {bucket: media, endpoint: "https://s3.example.com", region: eu-west-1}
overlays:
  production: {namespace: mastodon}
"""

PROD = "overlays/production"
STAGING = "overlays/staging"


@pytest.fixture(scope=tree_scope)
def tuned(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(TUNED, tmp_path_factory.mktemp("tuned"))


@pytest.fixture(scope=tree_scope)
def s3(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(DEFAULTS_S3, tmp_path_factory.mktemp("s3"))


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    template = obj["spec"]["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else obj["spec"]["template"]
    spec: dict[str, Any] = template["spec"]
    return spec


def container(obj: dict[str, Any]) -> dict[str, Any]:
    only: dict[str, Any]
    [only] = pod(obj)["containers"]
    return only


def env(obj: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(obj).get("env", []) if "value" in item}


def secret_keys(obj: dict[str, Any]) -> dict[str, str]:
    """The Secret's keys a container reads, each with the Secret's name."""
    return {item["name"]: item["valueFrom"]["secretKeyRef"]["name"]
            for item in container(obj)["env"] if "valueFrom" in item}


def mounts(obj: dict[str, Any]) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in container(obj).get("volumeMounts", [])}


def volumes(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: {k: x for k, x in v.items() if k != "name"} for v in pod(obj).get("volumes", [])}


def pod_owners(tree: WrittenTree, directory: str) -> list[dict[str, Any]]:
    return [o for o in tree.rendered(directory) if o["kind"] in ("Deployment", "Job", "CronJob")]


# --- web ----------------------------------------------------------------------------------------------------


def test_web_runs_puma_on_3000_with_the_specs_workers_and_threads(tuned: WrittenTree) -> None:
    web = tuned.object(PROD, "Deployment", "fedi-web")
    c = container(web)
    assert c["name"] == "web"
    assert c["image"] == "registry.example.com/mastodon:v4.4.3"
    assert c["command"] == ["bundle", "exec", "puma", "-C", "config/puma.rb"]  # config/puma.rb reads the env
    values = env(web)
    # puma forks WEB_CONCURRENCY workers of MAX_THREADS threads each; it listens on tcp://[BIND]:PORT.
    assert (values["WEB_CONCURRENCY"], values["MAX_THREADS"], values["PORT"]) == ("4", "6", "3000")
    assert values["BIND"] == "[::]"  # dual stack: puma puts BIND into a URI, so IPv6 needs brackets
    assert c["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert web["spec"]["replicas"] == 3


def test_web_probes_read_health_and_give_rails_minutes_to_boot(tuned: WrittenTree) -> None:
    c = container(tuned.object(PROD, "Deployment", "fedi-web"))
    health = {"path": "/health", "port": "http"}  # Mastodon's HealthController, no database call
    assert c["readinessProbe"] == {"httpGet": health, "periodSeconds": 10, "failureThreshold": 3}
    assert c["livenessProbe"] == {"httpGet": health, "periodSeconds": 30, "failureThreshold": 3, "timeoutSeconds": 5}
    # 5 s x 60: five minutes for the boot before liveness may restart it
    assert c["startupProbe"] == {"httpGet": health, "periodSeconds": 5, "failureThreshold": 60}


def test_resources_carry_only_the_quantities_the_spec_sets(tuned: WrittenTree) -> None:
    web = container(tuned.object(PROD, "Deployment", "fedi-web"))
    assert web["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
    streaming = container(tuned.object(PROD, "Deployment", "fedi-streaming"))
    assert streaming["resources"] == {"requests": {"cpu": "50m"}}  # no limit written: none is set
    sidekiq = container(tuned.object(PROD, "Deployment", "fedi-sidekiq-main"))
    assert sidekiq["resources"] == {"requests": {"memory": "700Mi"}, "limits": {"cpu": "2", "memory": "1500Mi"}}


def test_staging_overrides_replicas_and_resources_of_its_own_workloads(tuned: WrittenTree) -> None:
    web = tuned.object(STAGING, "Deployment", "fedi-web")
    assert web["spec"]["replicas"] == 1
    assert container(web)["resources"]["requests"]["cpu"] == "100m"
    assert tuned.object(STAGING, "Deployment", "fedi-streaming")["spec"]["replicas"] == 2
    assert tuned.object(STAGING, "Deployment", "fedi-sidekiq-main")["spec"]["replicas"] == 1
    # production keeps the top-level values
    assert tuned.object(PROD, "Deployment", "fedi-streaming")["spec"]["replicas"] == 1


def test_disruption_budgets_only_for_workloads_above_one_replica(tuned: WrittenTree, s3: WrittenTree) -> None:
    # A budget of maxUnavailable 1 on a single replica would let a drain take the only pod: none is written.
    assert set(tuned.kinds(PROD, "PodDisruptionBudget")) == {"fedi-web", "fedi-sidekiq-main"}
    assert set(tuned.kinds(STAGING, "PodDisruptionBudget")) == {"fedi-streaming"}
    budget = tuned.object(PROD, "PodDisruptionBudget", "fedi-web")
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["selector"]["matchLabels"] == tuned.object(PROD, "Deployment", "fedi-web")["spec"][
        "selector"]["matchLabels"]
    # policy/v1 came with Kubernetes 1.21
    assert {b["apiVersion"] for b in s3.kinds(PROD, "PodDisruptionBudget").values()} == {"policy/v1beta1"}


# --- streaming ----------------------------------------------------------------------------------------------


def test_streaming_runs_its_own_image_on_4000_reading_only_database_and_redis_secrets(tuned: WrittenTree) -> None:
    streaming = tuned.object(PROD, "Deployment", "fedi-streaming")
    c = container(streaming)
    assert c["image"] == "registry.example.com/mastodon-streaming:v4.4.3"
    assert "command" not in c  # the image's own entrypoint (node ./streaming/index.js)
    assert (env(streaming)["PORT"], env(streaming)["BIND"]) == ("4000", "::")  # listen() takes a bare address
    assert c["ports"] == [{"name": "streaming", "containerPort": 4000, "protocol": "TCP"}]
    # streaming/index.js reads no Rails secret: SECRET_KEY_BASE and the rest stay out of its pod
    assert secret_keys(streaming) == {"DB_PASS": "fedi-secrets", "REDIS_PASSWORD": "fedi-secrets"}
    assert c["envFrom"] == [{"configMapRef": {"name": container(tuned.object(PROD, "Deployment", "fedi-web"))[
        "envFrom"][0]["configMapRef"]["name"]}}]
    health = {"path": "/api/v1/streaming/health", "port": "streaming"}
    assert c["readinessProbe"] == {"httpGet": health, "periodSeconds": 10}
    assert c["livenessProbe"] == {"httpGet": health, "periodSeconds": 30, "timeoutSeconds": 5}


def test_rails_processes_read_every_secret_key_of_the_catalogue(tuned: WrittenTree) -> None:
    keys = secret_keys(tuned.object(PROD, "Deployment", "fedi-web"))
    assert {"SECRET_KEY_BASE", "VAPID_PRIVATE_KEY", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "DB_PASS"} <= set(keys)
    assert set(keys.values()) == {"fedi-secrets"}  # the Secret is named after the spec's name
    assert secret_keys(tuned.object(PROD, "Deployment", "fedi-sidekiq-main")) == keys
    assert container(tuned.object(PROD, "Deployment", "fedi-web"))["envFrom"][0]["configMapRef"]["name"].startswith(
        "fedi-env-")  # the overlay's generated ConfigMap, with kustomize's hash suffix


def test_web_and_streaming_services_expose_their_named_ports(tuned: WrittenTree) -> None:
    web = tuned.object(PROD, "Service", "fedi-web")["spec"]
    assert web["type"] == "NodePort"
    assert web["ports"] == [{"name": "http", "port": 3000, "targetPort": "http", "protocol": "TCP", "nodePort": 30080}]
    assert web["selector"] == {"app.kubernetes.io/name": "mastodon", "app.kubernetes.io/part-of": "fedi",
                               "app.kubernetes.io/component": "web"}
    streaming = tuned.object(PROD, "Service", "fedi-streaming")["spec"]
    assert streaming["ports"][0] == {"name": "streaming", "port": 4000, "targetPort": "streaming",
                                          "protocol": "TCP", "nodePort": 30400}
    assert (streaming["ipFamilyPolicy"], streaming["ipFamilies"]) == ("PreferDualStack", ["IPv4", "IPv6"])


def test_default_services_are_cluster_ip_on_ipv4_without_family_fields(s3: WrittenTree) -> None:
    web = s3.object(PROD, "Service", "mastodon-web")["spec"]
    assert web["type"] == "ClusterIP" and "nodePort" not in web["ports"][0]
    assert "ipFamilyPolicy" not in web and "ipFamilies" not in web
    assert env(s3.object(PROD, "Deployment", "mastodon-web"))["BIND"] == "0.0.0.0"
    assert env(s3.object(PROD, "Deployment", "mastodon-streaming"))["BIND"] == "0.0.0.0"


# --- sidekiq ------------------------------------------------------------------------------------------------


def test_each_worker_group_runs_sidekiq_with_its_weighted_queues_and_a_pool_per_thread(tuned: WrittenTree) -> None:
    main = tuned.object(PROD, "Deployment", "fedi-sidekiq-main")
    assert container(main)["name"] == "sidekiq"
    assert container(main)["image"] == "registry.example.com/mastodon:v4.4.3"
    assert container(main)["command"] == ["bundle", "exec", "sidekiq", "-c", "12", "-q", "default,8", "-q", "push,6",
                                          "-q", "ingress", "-q", "mailers", "-q", "pull", "-q", "fasp"]
    assert env(main)["DB_POOL"] == "12"  # each sidekiq thread holds one database connection
    scheduler = tuned.object(PROD, "Deployment", "fedi-sidekiq-scheduler")
    assert container(scheduler)["command"] == ["bundle", "exec", "sidekiq", "-c", "3", "-q", "scheduler"]
    assert env(scheduler)["DB_POOL"] == "3"


def test_every_mastodon_queue_is_consumed_and_scheduler_by_one_process_recreated(s3: WrittenTree) -> None:
    worker = s3.object(PROD, "Deployment", "mastodon-sidekiq-default")
    command = container(worker)["command"]
    queues = [command[i + 1].split(",")[0] for i, arg in enumerate(command) if arg == "-q"]
    assert sorted(queues) == sorted(["default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"])
    assert command[3:5] == ["-c", "10"] and env(worker)["DB_POOL"] == "10"
    assert worker["spec"]["replicas"] == 1
    # Two scheduler processes side by side would enqueue every scheduled job twice: no rolling update.
    assert worker["spec"]["strategy"] == {"type": "Recreate"}


def test_only_the_scheduler_group_is_recreated(tuned: WrittenTree) -> None:
    assert tuned.object(PROD, "Deployment", "fedi-sidekiq-scheduler")["spec"]["strategy"] == {"type": "Recreate"}
    for name in ("fedi-sidekiq-main", "fedi-web", "fedi-streaming"):
        assert "strategy" not in tuned.object(PROD, "Deployment", name)["spec"], name  # rolling updates


def test_sidekiq_workers_are_told_apart_by_a_worker_label_in_selector_and_template(tuned: WrittenTree) -> None:
    for worker in ("main", "scheduler"):
        d = tuned.object(PROD, "Deployment", f"fedi-sidekiq-{worker}")
        assert d["metadata"]["labels"]["gitops-gen.io/sidekiq-worker"] == worker
        # without it both Deployments would select each other's pods
        assert d["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "mastodon", "app.kubernetes.io/part-of": "fedi",
            "app.kubernetes.io/component": "sidekiq", "gitops-gen.io/sidekiq-worker": worker}
        assert d["spec"]["template"]["metadata"]["labels"]["gitops-gen.io/sidekiq-worker"] == worker


def test_sidekiq_readiness_reads_the_file_mastodon_4_3_writes(tuned: WrittenTree, s3: WrittenTree) -> None:
    probe = container(tuned.object(PROD, "Deployment", "fedi-sidekiq-main"))["readinessProbe"]
    assert probe == {"exec": {"command": [
        "cat", "/opt/mastodon/tmp/sidekiq_process_has_started_and_will_begin_processing_jobs"]},
        "initialDelaySeconds": 10, "periodSeconds": 2, "timeoutSeconds": 1, "successThreshold": 1,
        "failureThreshold": 10}
    # 4.2 never writes it: such a probe would keep the pod unready for ever
    assert "readinessProbe" not in container(s3.object(PROD, "Deployment", "mastodon-sidekiq-default"))


# --- hardening and volumes ----------------------------------------------------------------------------------


def test_every_pod_runs_restricted_as_the_images_mastodon_user(tuned: WrittenTree, s3: WrittenTree) -> None:
    for tree in (tuned, s3):
        owners = pod_owners(tree, PROD)
        assert len(owners) >= 6
        for obj in owners:
            spec, name = pod(obj), obj["metadata"]["name"]
            assert spec["securityContext"] == {"runAsUser": 991, "runAsGroup": 991, "runAsNonRoot": True,
                                               "fsGroup": 991, "seccompProfile": {"type": "RuntimeDefault"}}, name
            assert container(obj)["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container(obj)["securityContext"]["capabilities"] == {"drop": ["ALL"]}, name
            # Mastodon never talks to the Kubernetes API
            assert spec["serviceAccountName"] == obj["metadata"]["name"].split("-")[0], name


def test_read_only_root_gets_writable_rails_tmp_and_a_sticky_memory_tmp(tuned: WrittenTree) -> None:
    for name in ("fedi-web", "fedi-sidekiq-main"):
        d = tuned.object(PROD, "Deployment", name)
        assert container(d)["securityContext"]["readOnlyRootFilesystem"] is True
        assert mounts(d) == {"/opt/mastodon/public/system": "system", "/opt/mastodon/tmp": "rails-tmp",
                             "/tmp": "tmp"}
        # Ruby refuses a 0777 /tmp without the sticky bit: tmpfs (1777) it is
        assert volumes(d)["tmp"] == {"emptyDir": {"medium": "Memory"}}
        assert volumes(d)["rails-tmp"] == {"emptyDir": {}}
        assert volumes(d)["system"] == {"persistentVolumeClaim": {"claimName": "fedi-system"}}
    streaming = tuned.object(PROD, "Deployment", "fedi-streaming")
    assert mounts(streaming) == {"/tmp": "tmp"} and volumes(streaming) == {"tmp": {"emptyDir": {}}}


def test_by_default_rails_roots_are_writable_and_streaming_read_only(s3: WrittenTree) -> None:
    web = s3.object(PROD, "Deployment", "mastodon-web")
    assert container(web)["securityContext"]["readOnlyRootFilesystem"] is False
    streaming = s3.object(PROD, "Deployment", "mastodon-streaming")
    assert container(streaming)["securityContext"]["readOnlyRootFilesystem"] is True  # node writes no file
    assert mounts(streaming) == {"/tmp": "tmp"}


def test_media_on_s3_mount_no_shared_volume(s3: WrittenTree) -> None:
    for obj in pod_owners(s3, PROD):
        expected = {"/tmp": "tmp"} if obj["metadata"]["name"] == "mastodon-streaming" else {}
        assert mounts(obj) == expected, obj["metadata"]["name"]
        assert set(volumes(obj)) == set(expected.values()), obj["metadata"]["name"]


def test_web_and_streaming_spread_over_nodes_by_their_own_selector(tuned: WrittenTree) -> None:
    for component in ("web", "streaming"):
        d = tuned.object(PROD, "Deployment", f"fedi-{component}")
        assert pod(d)["topologySpreadConstraints"] == [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": d["spec"]["selector"]["matchLabels"]}}]
