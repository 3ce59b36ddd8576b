"""The rest of Mastodon's pods in the tree ``init`` writes (tests/core_trees.py; the first half is
test_core_manifests_pods.py): per-overlay placement, the two migration Jobs and how each engine orders them, the
``tootctl`` maintenance CronJobs, labels and names. Each test killed mutants of benchmarks/mutation.py that
survived before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core_trees import WrittenTree, tree_scope, written_tree
from tests.test_core_manifests_pods import (
    DEFAULTS_S3,
    PROD,
    STAGING,
    TUNED,
    container,
    env,
    mounts,
    pod,
    pod_owners,
)


@pytest.fixture(scope=tree_scope)
def tuned(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(TUNED, tmp_path_factory.mktemp("tuned"))


@pytest.fixture(scope=tree_scope)
def s3(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(DEFAULTS_S3, tmp_path_factory.mktemp("s3"))


def cronjob_commands(tree: WrittenTree) -> dict[str, list[str]]:
    return {name: container(c)["command"] for name, c in tree.kinds(PROD, "CronJob").items()}


# --- placement ----------------------------------------------------------------------------------------------


def test_placement_reaches_every_deployment_job_and_cronjob(tuned: WrittenTree) -> None:
    owners = pod_owners(tuned, PROD)
    assert {o["kind"] for o in owners} == {"Deployment", "Job", "CronJob"}
    for obj in owners:
        spec, name = pod(obj), obj["metadata"]["name"]
        assert spec["nodeSelector"] == {"kubernetes.io/arch": "arm64"}, name
        assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "mastodon",
                                        "effect": "NoSchedule"}], name
        assert spec["imagePullSecrets"] == [{"name": "regcred"}], name


def test_an_overlays_placement_replaces_the_top_level_one_field_by_field(tuned: WrittenTree) -> None:
    for obj in pod_owners(tuned, STAGING):
        spec, name = pod(obj), obj["metadata"]["name"]
        assert spec["nodeSelector"] == {"pool": "staging"}, name  # replaced, not merged with arch
        assert "tolerations" not in spec, name  # an empty list in the overlay: none
        assert spec["imagePullSecrets"] == [{"name": "regcred"}], name  # unset in the overlay: the top level's


def test_no_placement_writes_no_placement_patch(s3: WrittenTree) -> None:
    assert not any(path.startswith("overlays/production/patches/placement") for path in s3.paths())
    for obj in pod_owners(s3, PROD):
        assert not {"nodeSelector", "tolerations", "imagePullSecrets"} & set(pod(obj)), obj["metadata"]["name"]


# --- migrations ---------------------------------------------------------------------------------------------


def test_pre_deploy_job_skips_post_deployment_migrations_and_post_runs_them_all(tuned: WrittenTree) -> None:
    pre = tuned.object(PROD, "Job", "fedi-db-migrate-pre")
    post = tuned.object(PROD, "Job", "fedi-db-migrate-post")
    # db:prepare loads the schema on an empty database (first install) and migrates an existing one
    assert container(pre)["command"] == ["bundle", "exec", "rails", "db:prepare"]
    assert env(pre)["SKIP_POST_DEPLOYMENT_MIGRATIONS"] == "true"
    assert container(post)["command"] == ["bundle", "exec", "rails", "db:migrate"]
    assert "SKIP_POST_DEPLOYMENT_MIGRATIONS" not in env(post)
    for job in (pre, post):
        assert container(job)["name"] == "migrate"
        assert container(job)["image"] == "registry.example.com/mastodon:v4.4.3"  # moved by bump-image too
        assert pod(job)["restartPolicy"] == "Never"
        assert job["spec"]["backoffLimit"] == 3 and job["spec"]["activeDeadlineSeconds"] == 3600
        assert "/opt/mastodon/public/system" not in mounts(job)  # migrations touch no media
        assert job["spec"]["template"]["metadata"]["labels"] == job["metadata"]["labels"]


def test_argocd_runs_pre_as_a_sync_hook_after_its_prerequisites_and_post_after_sync(tuned: WrittenTree) -> None:
    pre = tuned.object(PROD, "Job", "fedi-db-migrate-pre")["metadata"]
    post = tuned.object(PROD, "Job", "fedi-db-migrate-post")["metadata"]
    assert pre["labels"]["app.kubernetes.io/component"] == "migrate-pre"
    assert post["labels"]["app.kubernetes.io/component"] == "migrate-post"
    # a Job is immutable: each sync deletes and recreates it; Flux forces the same
    assert pre["annotations"] == {"argocd.argoproj.io/hook": "Sync",
                                  "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                                  "argocd.argoproj.io/sync-wave": "-1", "kustomize.toolkit.fluxcd.io/force": "enabled"}
    assert post["annotations"] == {"argocd.argoproj.io/hook": "PostSync",
                                   "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                                   "kustomize.toolkit.fluxcd.io/force": "enabled"}
    # what the pre-deploy Pod refers to goes into wave -2, before it
    for obj in tuned.rendered(PROD):
        if obj["kind"] in ("ServiceAccount", "ConfigMap", "Secret"):
            assert obj["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-2", obj["metadata"]["name"]
    assert tuned.object(PROD, "ServiceAccount", "fedi")["metadata"]["annotations"] == {
        "argocd.argoproj.io/sync-wave": "-2"}
    # nothing else: the Deployments and the claim stay in wave 0
    for obj in tuned.rendered(PROD):
        if obj["kind"] in ("Deployment", "PersistentVolumeClaim", "Service", "CronJob"):
            assert "argocd.argoproj.io/sync-wave" not in obj["metadata"].get("annotations", {}), obj["metadata"]


def test_the_service_account_mounts_no_token(tuned: WrittenTree) -> None:
    account = tuned.object(PROD, "ServiceAccount", "fedi")
    assert account["apiVersion"] == tuned.object(PROD, "Service", "fedi-web")["apiVersion"] == "v1"  # the core group
    assert account["automountServiceAccountToken"] is False  # Mastodon never calls the Kubernetes API
    assert account["metadata"]["labels"]["app.kubernetes.io/component"] == "serviceaccount"


# --- maintenance --------------------------------------------------------------------------------------------


def test_each_enabled_task_is_a_tootctl_cronjob_on_its_schedule(tuned: WrittenTree) -> None:
    assert cronjob_commands(tuned) == {
        "fedi-media-remove": ["bin/tootctl", "media", "remove", "--days", "3"],
        "fedi-media-remove-orphans": ["bin/tootctl", "media", "remove-orphans"],
        "fedi-statuses-remove": ["bin/tootctl", "statuses", "remove", "--days", "30"],
        "fedi-accounts-prune": ["bin/tootctl", "accounts", "prune"],
    }  # preview cards switched off
    schedules = {name: c["spec"]["schedule"] for name, c in tuned.kinds(PROD, "CronJob").items()}
    assert schedules == {"fedi-media-remove": "5 2 * * *", "fedi-media-remove-orphans": "10 4 * * 0",
                         "fedi-statuses-remove": "10 5 * * 0", "fedi-accounts-prune": "0 7 * * 6"}


def test_default_maintenance_removes_cached_media_and_preview_cards(s3: WrittenTree) -> None:
    # tootctl's own retention defaults
    assert cronjob_commands(s3) == {
        "mastodon-media-remove": ["bin/tootctl", "media", "remove", "--days", "7"],
        "mastodon-preview-cards-remove": ["bin/tootctl", "preview_cards", "remove", "--days", "180"],
    }
    cron = s3.object(PROD, "CronJob", "mastodon-preview-cards-remove")
    assert cron["spec"]["schedule"] == "40 3 * * *"
    assert cron["apiVersion"] == "batch/v1beta1"  # batch/v1 CronJob came with Kubernetes 1.21
    assert container(cron)["resources"] == {"requests": {"cpu": "100m", "memory": "512Mi"},
                                            "limits": {"memory": "1Gi"}}


def test_a_cronjob_never_overlaps_itself_and_keeps_a_failed_pods_log(tuned: WrittenTree) -> None:
    cron = tuned.object(PROD, "CronJob", "fedi-statuses-remove")
    assert cron["apiVersion"] == "batch/v1"
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] == 3600  # else 100 missed schedules stop the CronJob for good
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 2
    assert pod(cron)["restartPolicy"] == "Never"
    c = container(cron)
    assert c["name"] == "statuses-remove"
    assert c["image"] == "registry.example.com/mastodon:v4.4.3"
    assert c["resources"] == {"requests": {"cpu": "200m"}, "limits": {"memory": "800Mi"}}
    assert mounts(cron)["/opt/mastodon/public/system"] == "system"  # the tasks delete files there
    # one failed weekly cleanup must not mark the whole Application Degraded (Argo CD 3.2+)
    assert cron["metadata"]["annotations"] == {"argocd.argoproj.io/ignore-healthcheck": "true"}
    labels = cron["metadata"]["labels"]
    assert (labels["app.kubernetes.io/component"], labels["gitops-gen.io/task"]) == ("maintenance", "statuses-remove")
    assert spec["jobTemplate"]["metadata"]["labels"]["gitops-gen.io/task"] == "statuses-remove"
    assert spec["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["gitops-gen.io/task"] == "statuses-remove"


# --- labels and names ---------------------------------------------------------------------------------------


def test_every_object_is_named_after_the_spec_and_carries_the_tracking_labels(tuned: WrittenTree) -> None:
    for obj in tuned.rendered(PROD):
        meta: dict[str, Any] = obj["metadata"]
        assert meta["name"].startswith("fedi"), meta["name"]
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "mastodon", meta["name"]
        assert labels["app.kubernetes.io/part-of"] == "fedi", meta["name"]
        assert labels["app.kubernetes.io/managed-by"] == "gitops-gen", meta["name"]
        # the overlay's instance, so that two overlays in one cluster are told apart
        assert labels["app.kubernetes.io/instance"] == "fedi-production", meta["name"]
    components = {o["metadata"]["name"]: o["metadata"]["labels"]["app.kubernetes.io/component"]
                  for o in tuned.rendered(PROD) if o["kind"] in ("Deployment", "Service")}
    assert components == {"fedi-web": "web", "fedi-streaming": "streaming", "fedi-sidekiq-main": "sidekiq",
                          "fedi-sidekiq-scheduler": "sidekiq"}
    web = tuned.object(PROD, "Deployment", "fedi-web")
    # the selector is immutable: it holds only the stable labels, the pods carry the rest too
    assert web["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "mastodon",
                                                      "app.kubernetes.io/part-of": "fedi",
                                                      "app.kubernetes.io/component": "web"}
    assert web["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gitops-gen"
