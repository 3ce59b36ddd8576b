"""Migrations run in the right order under Argo CD, and follow the overlay's image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitops_gen import kustomize
from tests.helpers import run_cli


@pytest.fixture
def rendered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    kustomization = tmp_path / "overlays" / "production" / "kustomization.yaml"
    # As bump-image would: only the main image moves.
    kustomization.write_text(kustomization.read_text().replace(
        "- name: ghcr.io/mastodon/mastodon\n  newTag: v4.6.6", "- name: ghcr.io/mastodon/mastodon\n  newTag: v4.7.0"))
    return kustomize.render(tmp_path / "overlays" / "production")


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def test_argo_cd_runs_prerequisites_then_pre_migration_then_deployments_then_post_migration(
        rendered: list[dict[str, Any]]) -> None:
    jobs = {o["metadata"]["labels"]["app.kubernetes.io/component"]: o for o in rendered if o["kind"] == "Job"}
    pre, post = jobs["migrate-pre"], jobs["migrate-post"]
    needed = [o for o in rendered if o["kind"] in ("ConfigMap", "ServiceAccount")]

    def wave(obj: dict[str, Any]) -> int:
        return int(_annotations(obj).get("argocd.argoproj.io/sync-wave", "0"))

    # A Sync-phase hook, so the waves of the Sync phase order it (a PreSync hook would run before all of them).
    assert _annotations(pre)["argocd.argoproj.io/hook"] == "Sync"
    assert _annotations(post)["argocd.argoproj.io/hook"] == "PostSync"
    assert {o["kind"] for o in needed} == {"ConfigMap", "ServiceAccount"}
    deployments = [o for o in rendered if o["kind"] == "Deployment"]
    assert max(map(wave, needed)) < wave(pre) < min(map(wave, deployments))
    for obj in (pre, post):
        # Recreated on every sync, so the next upgrade runs the Jobs again.
        assert _annotations(obj)["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    # Everything else is an ordinary object: pruned when it leaves git, never deleted by a sync.
    assert all("argocd.argoproj.io/hook" not in _annotations(o) for o in rendered if o["kind"] != "Job")


def test_migrations_skip_post_deployment_steps_before_the_rollout_only(rendered: list[dict[str, Any]]) -> None:
    jobs = {o["metadata"]["labels"]["app.kubernetes.io/component"]: o for o in rendered if o["kind"] == "Job"}

    def container(component: str) -> dict[str, Any]:
        return jobs[component]["spec"]["template"]["spec"]["containers"][0]

    assert container("migrate-pre")["command"] == ["bundle", "exec", "rails", "db:prepare"]
    assert {"name": "SKIP_POST_DEPLOYMENT_MIGRATIONS", "value": "true"} in container("migrate-pre")["env"]
    assert container("migrate-post")["command"] == ["bundle", "exec", "rails", "db:migrate"]
    assert all(e["name"] != "SKIP_POST_DEPLOYMENT_MIGRATIONS" for e in container("migrate-post")["env"])


def test_migration_jobs_follow_the_overlay_image_and_flux_recreates_them(rendered: list[dict[str, Any]]) -> None:
    for job in (o for o in rendered if o["kind"] == "Job"):
        assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/mastodon/mastodon:v4.7.0"
        assert _annotations(job)["kustomize.toolkit.fluxcd.io/force"] == "enabled"
