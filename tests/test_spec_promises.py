"""Every field of the README's spec table does what the table says: `gitops-gen init` on a spec that sets it,
then the tree as the real kustomize renders it (what Argo CD or Flux would apply)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import by_kind, git, init_from_spec, kustomize_build, run_cli

Capsys = pytest.CaptureFixture[str]


def _made(tmp_path: Path, capsys: Capsys, spec: str) -> Path:
    root = tmp_path / "repo"
    init_from_spec(capsys, root, spec)
    return root


def _overlay(root: Path, env: str = "production") -> list[dict[str, Any]]:
    return kustomize_build(root / "overlays" / env)


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = by_kind(objects, "ConfigMap").values()
    return dict(config["data"])


def _secret_refs(container: dict[str, Any]) -> set[str]:
    return {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e}


# --- sidekiq: queues, weights, the scheduler ---

def test_queue_weights_reach_the_sidekiq_command_line(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
sidekiq:
  - name: main
    queues: [{name: default, weight: 5}, {name: push, weight: 3}, ingress, mailers, pull, fasp]
    concurrency: 7
  - {name: scheduler, queues: [scheduler], concurrency: 2}
overlays: {production: {}}
""")
    deployments = by_kind(_overlay(root), "Deployment")
    command = _container(deployments["mastodon-sidekiq-main"])["command"]
    assert command == ["bundle", "exec", "sidekiq", "-c", "7", "-q", "default,5", "-q", "push,3", "-q", "ingress",
                       "-q", "mailers", "-q", "pull", "-q", "fasp"]
    env = {e["name"]: e.get("value") for e in _container(deployments["mastodon-sidekiq-main"])["env"]}
    assert env["DB_POOL"] == "7"


def test_the_default_worker_runs_the_official_weights(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root)).code == 0
    command = _container(by_kind(_overlay(root), "Deployment")["mastodon-sidekiq-default"])["command"]
    queues = [command[i + 1] for i, word in enumerate(command) if word == "-q"]
    assert queues == ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "scheduler", "fasp"]


def test_only_the_scheduler_worker_is_rolled_out_with_recreate(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
sidekiq:
  - {name: main, queues: [default, push, ingress, mailers, pull, fasp], replicas: 3}
  - {name: scheduler, queues: [scheduler]}
overlays: {production: {}}
""")
    deployments = by_kind(_overlay(root), "Deployment")
    assert deployments["mastodon-sidekiq-scheduler"]["spec"]["strategy"] == {"type": "Recreate"}
    for name in ("mastodon-sidekiq-main", "mastodon-web", "mastodon-streaming"):
        assert deployments[name]["spec"].get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate"


# --- disruption budgets and overlay overrides ---

OVERRIDES = """\
sidekiq:
  - {name: main, queues: [default, push, ingress, mailers, pull, fasp], replicas: 1}
  - {name: scheduler, queues: [scheduler]}
overlays:
  staging:
    localDomain: staging.example.org
    web: {replicas: 1}
    streaming: {replicas: 1, resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 64Mi}}}
  production:
    localDomain: example.org
    web: {replicas: 5}
    sidekiq:
      main: {replicas: 3, resources: {requests: {cpu: "2", memory: 2Gi}, limits: {memory: 2Gi}}}
"""


def test_overlay_overrides_set_replicas_and_resources_of_that_overlay_only(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, OVERRIDES)
    production = by_kind(_overlay(root, "production"), "Deployment")
    staging = by_kind(_overlay(root, "staging"), "Deployment")
    replicas = {env: {n: d["spec"]["replicas"] for n, d in deps.items()}
                for env, deps in (("production", production), ("staging", staging))}
    assert replicas == {
        "production": {"mastodon-web": 5, "mastodon-streaming": 2, "mastodon-sidekiq-main": 3,
                       "mastodon-sidekiq-scheduler": 1},
        "staging": {"mastodon-web": 1, "mastodon-streaming": 1, "mastodon-sidekiq-main": 1,
                    "mastodon-sidekiq-scheduler": 1},
    }
    assert _container(production["mastodon-sidekiq-main"])["resources"] == {
        "requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}
    assert _container(staging["mastodon-streaming"])["resources"] == {
        "requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}}
    assert _container(production["mastodon-streaming"])["resources"] != _container(
        staging["mastodon-streaming"])["resources"]


def test_a_disruption_budget_exists_exactly_for_the_workloads_above_one_replica(tmp_path: Path,
                                                                               capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, OVERRIDES)
    for env, expected in (("production", {"mastodon-web", "mastodon-streaming", "mastodon-sidekiq-main"}),
                          ("staging", set())):
        objects = _overlay(root, env)
        budgets = by_kind(objects, "PodDisruptionBudget")
        assert set(budgets) == expected, env
        deployments = by_kind(objects, "Deployment")
        for name, budget in budgets.items():
            template_labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
            assert budget["spec"]["selector"]["matchLabels"].items() <= template_labels.items()
            assert budget["spec"]["maxUnavailable"] == 1


def test_an_overlay_local_domain_is_its_own(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, OVERRIDES)
    for env, domain in (("production", "example.org"), ("staging", "staging.example.org")):
        objects = _overlay(root, env)
        assert _config(objects)["LOCAL_DOMAIN"] == domain
        (ingress,) = by_kind(objects, "Ingress").values()
        assert [rule["host"] for rule in ingress["spec"]["rules"]] == [domain]
        assert ingress["spec"]["tls"][0]["hosts"] == [domain]


def test_an_overlay_image_tag_seeds_a_new_overlay_only(tmp_path: Path, capsys: Capsys) -> None:
    spec = "overlays:\n  production: {}\n  canary: {imageTag: v4.5.0}\n"
    root = _made(tmp_path, capsys, spec)

    def images(env: str) -> set[str]:
        return {_container(d)["image"] for d in by_kind(_overlay(root, env), "Deployment").values()}

    assert images("canary") == {"ghcr.io/mastodon/mastodon:v4.5.0", "ghcr.io/mastodon/mastodon-streaming:v4.5.0"}
    assert images("production") == {"ghcr.io/mastodon/mastodon:v4.6.6",
                                     "ghcr.io/mastodon/mastodon-streaming:v4.6.6"}
    # The overlay exists now: its images belong to bump-image, and a new seed changes nothing.
    (root / "gitops-gen.yaml").write_text(spec.replace("v4.5.0", "v4.4.0"))
    assert run_cli(capsys, "init", str(root)).code == 0
    assert images("canary") == {"ghcr.io/mastodon/mastodon:v4.5.0", "ghcr.io/mastodon/mastodon-streaming:v4.5.0"}


# --- mastodon.* configuration ---

def test_web_domain_is_written_and_routed(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
mastodon: {localDomain: example.org, webDomain: social.example.org}
overlays: {production: {}}
""")
    objects = _overlay(root)
    config = _config(objects)
    assert (config["LOCAL_DOMAIN"], config["WEB_DOMAIN"]) == ("example.org", "social.example.org")
    (ingress,) = by_kind(objects, "Ingress").values()
    routes = {rule["host"]: [p["path"] for p in rule["http"]["paths"]] for rule in ingress["spec"]["rules"]}
    assert routes == {"social.example.org": ["/api/v1/streaming", "/"], "example.org": ["/.well-known"]}
    assert ingress["spec"]["tls"][0]["hosts"] == ["social.example.org", "example.org"]


def test_without_web_domain_none_is_written(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "overlays: {production: {}}\n")
    assert "WEB_DOMAIN" not in _config(_overlay(root))


def test_s3_media_need_no_shared_volume_and_add_the_bucket_and_credentials(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
mastodon:
  s3: {bucket: media, endpoint: "https://s3.example.net", region: eu-west-1, aliasHost: files.example.org}
overlays: {production: {}}
""")
    objects = _overlay(root)
    assert by_kind(objects, "PersistentVolumeClaim") == {}
    assert by_kind(objects, "PersistentVolume") == {}
    assert not (root / "overlays/production/storage.yaml").exists()
    for workload in [*by_kind(objects, "Deployment").values(), *by_kind(objects, "Job").values()]:
        pod = workload["spec"]["template"]["spec"]
        assert not [v for v in pod.get("volumes", []) if "persistentVolumeClaim" in v], workload["metadata"]["name"]
        mounts = [m["mountPath"] for c in pod["containers"] for m in c.get("volumeMounts", [])]
        assert not [m for m in mounts if m.endswith("public/system")], workload["metadata"]["name"]
    config = _config(objects)
    assert {k: config[k] for k in ("S3_ENABLED", "S3_BUCKET", "S3_ENDPOINT", "S3_REGION", "S3_ALIAS_HOST")} == {
        "S3_ENABLED": "true", "S3_BUCKET": "media", "S3_ENDPOINT": "https://s3.example.net",
        "S3_REGION": "eu-west-1", "S3_ALIAS_HOST": "files.example.org"}
    web = _container(by_kind(objects, "Deployment")["mastodon-web"])
    keys = {e["name"] for e in web["env"] if "valueFrom" in e}
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= keys
    listed = run_cli(capsys, "secrets", "--repo", str(root))
    assert listed.code == 0 and "AWS_ACCESS_KEY_ID" in listed.out and "AWS_SECRET_ACCESS_KEY" in listed.out


def test_without_s3_web_and_sidekiq_mount_the_shared_claim(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "overlays: {production: {}}\n")
    objects = _overlay(root)
    assert by_kind(objects, "PersistentVolumeClaim")["mastodon-system"]["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("mastodon-web", "mastodon-sidekiq-default"):
        pod = by_kind(objects, "Deployment")[name]["spec"]["template"]["spec"]
        assert pod["volumes"] == [{"name": "system", "persistentVolumeClaim": {"claimName": "mastodon-system"}}]


def test_smtp_and_extra_env_go_into_the_configmap(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
mastodon:
  smtp: {server: smtp.example.net, fromAddress: "Mastodon <notify@example.org>"}
  extraEnv: {ES_ENABLED: "true", ES_HOST: es.search}
overlays: {production: {}}
""")
    config = _config(_overlay(root))
    assert {k: config[k] for k in ("SMTP_SERVER", "SMTP_PORT", "SMTP_FROM_ADDRESS", "ES_ENABLED", "ES_HOST")} == {
        "SMTP_SERVER": "smtp.example.net", "SMTP_PORT": "587", "SMTP_FROM_ADDRESS": "Mastodon <notify@example.org>",
        "ES_ENABLED": "true", "ES_HOST": "es.search"}


def test_storage_class_and_size_of_the_media_claim(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "storage: {system: {size: 25Gi, storageClass: cephfs}}\n"
                                   "overlays: {production: {}}\n")
    claim = by_kind(_overlay(root), "PersistentVolumeClaim")["mastodon-system"]
    assert claim["spec"]["storageClassName"] == "cephfs"
    assert claim["spec"]["resources"]["requests"]["storage"] == "25Gi"


# --- exposure ---

def test_cluster_ip_exposure_writes_no_ingress_and_no_node_ports(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "expose: {type: ClusterIP}\noverlays: {production: {}}\n")
    objects = _overlay(root)
    assert by_kind(objects, "Ingress") == {}
    assert not (root / "overlays/production/ingress.yaml").exists()
    assert not (root / "overlays/production/nginx.conf").exists()
    services = by_kind(objects, "Service")
    assert {n: s["spec"]["type"] for n, s in services.items()} == {"mastodon-web": "ClusterIP",
                                                                   "mastodon-streaming": "ClusterIP"}


def test_ingress_class_tls_secret_annotations_and_host(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
mastodon: {localDomain: example.org}
expose:
  ingress:
    className: traefik
    tlsSecret: example-org-cert
    annotations: {cert-manager.io/cluster-issuer: letsencrypt}
overlays: {production: {}}
""")
    (ingress,) = by_kind(_overlay(root), "Ingress").values()
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [{"hosts": ["example.org"], "secretName": "example-org-cert"}]
    # Not an nginx class: gitops-gen adds no body-size annotation of its own.
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["example.org"]


def test_default_ingress_host_and_tls_secret(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "mastodon: {localDomain: example.org}\noverlays: {production: {}}\n")
    (ingress,) = by_kind(_overlay(root), "Ingress").values()
    assert ingress["spec"]["tls"] == [{"hosts": ["example.org"], "secretName": "mastodon-tls"}]
    assert "ingressClassName" not in ingress["spec"]


# --- name, secrets.name ---

def test_a_non_default_name_prefixes_every_object_and_labels_it(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "name: toot\noverlays: {production: {}}\n")
    objects = _overlay(root)
    assert set(by_kind(objects, "Deployment")) == {"toot-web", "toot-streaming", "toot-sidekiq-default"}
    for obj in objects:
        assert obj["metadata"]["name"].startswith("toot"), obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "toot"
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "toot-production"
        assert obj["metadata"]["namespace"] == "toot-production"
    assert all(_secret_refs(_container(d)) == {"toot-secrets"} for d in by_kind(objects, "Deployment").values())


def test_secrets_name_is_the_secret_every_container_reads(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "secrets: {name: mastodon-keys}\noverlays: {production: {}}\n")
    objects = _overlay(root)
    workloads = [*by_kind(objects, "Deployment").values(), *by_kind(objects, "Job").values()]
    assert len(workloads) == 5
    for workload in workloads:
        assert _secret_refs(_container(workload)) == {"mastodon-keys"}, workload["metadata"]["name"]


# --- gitops.* and drift.* (the files the engines and the CI read) ---

def test_gitops_settings_reach_the_argocd_objects(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
gitops:
  repoURL: https://git.example.org/ops/social.git
  revision: release
  argocd: {namespace: gitops}
overlays: {production: {namespace: social}}
""")
    objects = kustomize_build(root / "clusters/production/argocd")
    app = by_kind(objects, "Application")["mastodon-production"]
    project = by_kind(objects, "AppProject")["mastodon-production"]
    assert {o["metadata"]["namespace"] for o in objects} == {"gitops"}
    assert app["spec"]["source"] == {"repoURL": "https://git.example.org/ops/social.git",
                                     "targetRevision": "release", "path": "overlays/production"}
    assert app["spec"]["destination"]["namespace"] == "social"
    assert project["spec"]["sourceRepos"] == ["https://git.example.org/ops/social.git"]


def test_gitops_settings_reach_the_flux_objects(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
gitops:
  engines: [flux]
  repoURL: https://git.example.org/ops/social.git
  revision: release
  flux: {namespace: gitops-flux, interval: 3m, gitSecret: social-auth}
overlays: {production: {}}
""")
    assert not (root / "clusters/production/argocd").exists()
    objects = kustomize_build(root / "clusters/production/flux")
    (repository,) = by_kind(objects, "GitRepository").values()
    assert repository["metadata"]["namespace"] == "gitops-flux"
    assert repository["spec"]["url"] == "https://git.example.org/ops/social.git"
    assert repository["spec"]["ref"] == {"branch": "release"}
    assert repository["spec"]["secretRef"] == {"name": "social-auth"}
    stages = by_kind(objects, "Kustomization")
    assert len(stages) == 3
    for stage in stages.values():
        assert stage["metadata"]["namespace"] == "gitops-flux"
        assert stage["spec"]["interval"] == "3m"  # how often Flux reconciles (and undoes hand edits)
        assert stage["spec"]["sourceRef"] == {"kind": "GitRepository", "name": repository["metadata"]["name"]}


def test_drift_schedule_and_install_are_read_from_the_spec(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, """\
drift: {schedule: "5 4 * * 1", install: "pip install gitops-gen==1.2.3"}
overlays: {production: {}}
""")
    workflow = yaml.safe_load((root / ".github/workflows/drift.yaml").read_text())
    triggers = workflow["on"]
    assert triggers["schedule"] == [{"cron": "5 4 * * 1"}]
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "pip install gitops-gen==1.2.3" in runs


def test_init_commits_the_spec_with_the_tree(tmp_path: Path, capsys: Capsys) -> None:
    root = _made(tmp_path, capsys, "name: toot\noverlays: {production: {}}\n")
    assert "gitops-gen.yaml" in git(root, "ls-files").split()
    assert git(root, "status", "--porcelain") == ""
