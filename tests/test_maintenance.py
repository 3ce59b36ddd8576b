"""The maintenance CronJobs (`maintenance:`): what init renders, that bump-image moves them, where each engine
applies them, and that the real API server takes them and drift sees them in sync."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import git, run_cli, snapshot
from tests.test_sync import _render_like_flux

KubeObject = dict[str, Any]
ALL_TASKS = """\
maintenance:
  mediaRemove: {schedule: "0 2 * * *", days: 3}
  previewCardsRemove: {days: 30}
  mediaRemoveOrphans: {enabled: true}
  statusesRemove: {enabled: true, days: 120}
  accountsPrune: {enabled: true, schedule: "0 7 1 * *"}
"""


def _init(root: Path, capsys: pytest.CaptureFixture[str], spec: str = "") -> list[KubeObject]:
    root.mkdir(parents=True)
    (root / "gitops-gen.yaml").write_text(f"drift: {{ci: none}}\ngitops: {{engines: [argocd, flux]}}\n{spec}")
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0, result.err
    return kustomize.render(root / "overlays" / "production")


def _named(objects: list[KubeObject], kind: str) -> dict[str, KubeObject]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _pod(obj: KubeObject) -> KubeObject:
    template = obj["spec"]["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else obj["spec"]["template"]
    return dict(template["spec"])


def test_a_default_tree_removes_cached_media_and_preview_cards_on_a_schedule_never_overlapping(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rendered = _init(tmp_path / "repo", capsys)
    cronjobs = _named(rendered, "CronJob")
    assert set(cronjobs) == {"mastodon-media-remove", "mastodon-preview-cards-remove"}
    sidekiq = _pod(_named(rendered, "Deployment")["mastodon-sidekiq-default"])
    (worker,) = sidekiq["containers"]
    commands = {}
    for name, cronjob in cronjobs.items():
        assert cronjob["apiVersion"] == "batch/v1"
        assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
        pod = _pod(cronjob)
        (container,) = pod["containers"]
        commands[name] = container["command"]
        # Same image entry, configuration, Secret keys, media volume, ServiceAccount and user as sidekiq.
        assert container["image"] == worker["image"]
        assert container["envFrom"] == worker["envFrom"]
        assert [e for e in container["env"] if "valueFrom" in e] == [e for e in worker["env"] if "valueFrom" in e]
        assert container["volumeMounts"] == worker["volumeMounts"]
        for field in ("volumes", "serviceAccountName", "securityContext"):
            assert pod[field] == sidekiq[field], field
        assert cronjob["metadata"]["labels"]["app.kubernetes.io/instance"] == "mastodon-production"
    assert commands == {"mastodon-media-remove": ["bin/tootctl", "media", "remove", "--days", "7"],
                        "mastodon-preview-cards-remove": ["bin/tootctl", "preview_cards", "remove", "--days", "180"]}


def test_tasks_schedules_and_retention_follow_the_spec_and_s3_means_no_volume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rendered = _init(tmp_path / "repo", capsys, ALL_TASKS + "mastodon:\n  s3: {bucket: media}\n")
    cronjobs = _named(rendered, "CronJob")
    commands = {name: _pod(c)["containers"][0]["command"][1:] for name, c in cronjobs.items()}
    assert commands == {
        "mastodon-media-remove": ["media", "remove", "--days", "3"],
        "mastodon-preview-cards-remove": ["preview_cards", "remove", "--days", "30"],
        "mastodon-media-remove-orphans": ["media", "remove-orphans"],
        "mastodon-statuses-remove": ["statuses", "remove", "--days", "120"],
        "mastodon-accounts-prune": ["accounts", "prune"],
    }
    assert cronjobs["mastodon-media-remove"]["spec"]["schedule"] == "0 2 * * *"
    assert cronjobs["mastodon-accounts-prune"]["spec"]["schedule"] == "0 7 1 * *"
    assert all("volumes" not in _pod(c) and "volumeMounts" not in _pod(c)["containers"][0]
               for c in cronjobs.values())

    off = _init(tmp_path / "off", capsys, "maintenance:\n  mediaRemove: {enabled: false}\n"
                                          "  previewCardsRemove: {enabled: false}\n")
    assert _named(off, "CronJob") == {}
    assert not (tmp_path / "off" / "base" / "maintenance.yaml").exists()


def test_bump_image_moves_the_cronjobs_with_the_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    _init(root, capsys)
    result = run_cli(capsys, "bump-image", "--repo", str(root), "--overlay", "production", "--tag", "v4.6.7")
    assert result.code == 0, result.err
    assert git(root, "log", "-1", "--format=%s") == "production: bump mastodon v4.6.6 -> v4.6.7\n"
    rendered = kustomize.render(root / "overlays" / "production")
    images = {c["metadata"]["name"]: _pod(c)["containers"][0]["image"] for c in _named(rendered, "CronJob").values()}
    assert images == {"mastodon-media-remove": "ghcr.io/mastodon/mastodon:v4.6.7",
                      "mastodon-preview-cards-remove": "ghcr.io/mastodon/mastodon:v4.6.7"}


def test_a_bad_schedule_stops_init_with_the_field_named_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text("maintenance:\n  statusesRemove: {enabled: true, schedule: weekly}\n")
    before = snapshot(root)
    result = run_cli(capsys, "init", str(root))
    assert result.code == 2
    assert "maintenance.statusesRemove.schedule" in result.err and "cron" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert snapshot(root) == before


def test_flux_applies_the_cronjobs_in_the_app_stage_and_argo_cd_as_ordinary_objects(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    rendered = _init(root, capsys)
    for cronjob in _named(rendered, "CronJob").values():
        assert "argocd.argoproj.io/hook" not in cronjob["metadata"]["annotations"]
        assert "argocd.argoproj.io/sync-wave" not in cronjob["metadata"]["annotations"]
    stages = {o["metadata"]["name"]: o for o in kustomize.render(root / "clusters" / "production" / "flux")
              if o["kind"] == "Kustomization"}
    holding = {name: set(_named(_render_like_flux(root, stage, tmp_path / "stages"), "CronJob"))
               for name, stage in stages.items()}
    assert holding == {"mastodon-production-config": set(), "mastodon-production-post-migrate": set(),
                       "mastodon-production-app": {"mastodon-media-remove", "mastodon-preview-cards-remove"}}


@pytest.mark.cluster
def test_the_api_server_takes_every_cronjob_and_drift_sees_them_in_sync_with_their_jobs(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]
    minor = "".join(ch for ch in version["minor"] if ch.isdigit())
    root = tmp_path / "repo"
    rendered = _init(root, capsys, f'kubeVersion: "1.{minor}"\noverlays:\n  production: {{namespace: {namespace}}}\n'
                     + ALL_TASKS)
    assert len(_named(rendered, "CronJob")) == 5
    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "kubectl", "-f", "-",
                              stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": rendered}), check=False)
    assert applied.returncode == 0, applied.stderr
    # A run, as the CronJob controller starts one: a Job owned by the CronJob, with its tracking labels.
    cluster.kubectl("create", "job", "media-remove-now", "--from=cronjob/mastodon-media-remove", "-n", namespace)
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "pods", "-n", namespace, "-l", "job-name=media-remove-now", "-o", "name"
                          ).stdout.strip() == "" and time.monotonic() < deadline:
        time.sleep(0.5)

    result = run_cli(capsys, "drift", "--repo", str(root), "--kubeconfig", str(cluster.kubeconfig),
                     "--overlay", "production", "--output", "json")
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    report = report[0] if isinstance(report, list) else report
    statuses = {(o["kind"], o["name"]): o["status"] for o in report["objects"]}
    assert {name for kind, name in statuses if kind == "CronJob"} == set(_named(rendered, "CronJob"))
    assert set(statuses.values()) == {"in-sync"}
