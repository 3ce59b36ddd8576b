"""`gitops-gen promote`: the target overlay ends up rendering exactly the source overlay's images."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_gen.cli import main
from tests.test_bump_image import container_images
from tests.tree_fixtures import MAIN_IMAGE, STREAMING_IMAGE, build_tree, commit_all, git, snapshot

SHA = "sha256:" + "0123456789abcdef" * 4
PRODUCTION = "overlays/production/kustomization.yaml"
STAGING = "overlays/staging/kustomization.yaml"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Staging runs v4.3.1 with the main image pinned by digest; production still runs v4.3.0."""
    root = build_tree(tmp_path / "repo")
    assert main(["bump-image", "--repo", str(root), "--overlay", "staging", "--tag", "v4.3.1"]) == 0
    assert main(["bump-image", "--repo", str(root), "--overlay", "staging", "--image", MAIN_IMAGE,
                 "--digest", SHA]) == 0
    return root


def promote(tree: Path, *args: str) -> int:
    return main(["promote", "--repo", str(tree), *args])


def test_promote_copies_tag_and_digest_and_renders_the_source_images(tree: Path) -> None:
    production = tree / PRODUCTION
    commented = production.read_text().replace(
        f"- name: {MAIN_IMAGE}\n", f"# web, sidekiq, migrations\n- name: {MAIN_IMAGE}  # main\n"
    )
    production.write_text(commented)
    commit_all(tree, "comment production")

    assert promote(tree, "--from", "staging", "--to", "production") == 0

    assert git(tree, "log", "-1", "--format=%s") == (
        "production: promote mastodon v4.3.0 -> v4.3.1@sha256:0123456789ab, v4.3.1 from staging\n"
    )
    assert production.read_text() == commented.replace(
        "  newTag: v4.3.0\n", f"  newTag: v4.3.1\n  digest: {SHA}\n", 1
    ).replace("  newTag: v4.3.0\n", "  newTag: v4.3.1\n")
    assert container_images(tree / "overlays/production") == container_images(tree / "overlays/staging")
    assert container_images(tree / "overlays/production")[("Job", "mastodon-db-migrate-pre", "migrate")] == (
        f"{MAIN_IMAGE}:v4.3.1@{SHA}"
    )
    assert container_images(tree / "overlays/production")[("Deployment", "mastodon-streaming", "streaming")] == (
        f"{STREAMING_IMAGE}:v4.3.1"
    )


def test_promoting_again_is_a_no_op(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert promote(tree, "--from", "staging", "--to", "production") == 0
    before = snapshot(tree)
    capsys.readouterr()
    assert promote(tree, "--from", "staging", "--to", "production") == 0
    assert "nothing to change" in capsys.readouterr().out
    assert snapshot(tree) == before


def test_promote_one_image_and_dry_run(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    assert promote(tree, "--from", "staging", "--to", "production", "--image", STREAMING_IMAGE, "--dry-run") == 0
    out = capsys.readouterr().out
    assert snapshot(tree) == before
    assert "-  newTag: v4.3.0\n+  newTag: v4.3.1\n" in out and "digest" not in out
    assert promote(tree, "--from", "staging", "--to", "production", "--image", STREAMING_IMAGE) == 0
    rendered = container_images(tree / "overlays/production")
    assert rendered[("Deployment", "mastodon-streaming", "streaming")] == f"{STREAMING_IMAGE}:v4.3.1"
    assert rendered[("Deployment", "mastodon-web", "web")] == f"{MAIN_IMAGE}:v4.3.0"


def test_promote_to_several_overlays_is_one_commit(tmp_path: Path) -> None:
    root = build_tree(tmp_path / "repo", overlays=("staging", "canary", "production"))
    assert main(["bump-image", "--repo", str(root), "--overlay", "staging", "--tag", "v4.3.1"]) == 0
    assert promote(root, "--from", "staging", "--to", "canary", "--to", "production") == 0
    subject = git(root, "log", "-1", "--format=%s")
    assert subject == "canary, production: promote mastodon v4.3.0 -> v4.3.1 from staging\n"
    for env in ("canary", "production"):
        assert container_images(root / f"overlays/{env}") == container_images(root / "overlays/staging")


def test_promote_drops_a_digest_the_source_does_not_have(tree: Path) -> None:
    assert promote(tree, "--from", "staging", "--to", "production") == 0
    assert main(["bump-image", "--repo", str(tree), "--overlay", "staging", "--tag", "v4.3.2"]) == 0
    assert promote(tree, "--from", "staging", "--to", "production") == 0
    assert "digest" not in (tree / PRODUCTION).read_text()
    assert container_images(tree / "overlays/production") == container_images(tree / "overlays/staging")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--from", "staging", "--to", "nowhere"], "unknown overlay 'nowhere'"),
        (["--from", "nowhere", "--to", "production"], "unknown overlay 'nowhere'"),
        (["--from", "staging", "--to", "staging"], "both name staging"),
        (["--from", "staging", "--to", "production", "--image", "ghcr.io/nobody/else"], "no images entry for"),
        (["--from", "staging", "--to", "production", "--image", "Not A Name"], "not a valid repository name"),
        (["--from", "staging", "--to", "production", "--push", "--no-commit"], "--push needs a commit"),
    ],
)
def test_bad_promotions_are_refused_with_exit_2_and_nothing_changed(
    tree: Path, args: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tree)
    assert promote(tree, *args) == 2
    assert problem in capsys.readouterr().err
    assert snapshot(tree) == before


def test_a_dirty_target_is_refused(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tree / PRODUCTION).write_text((tree / PRODUCTION).read_text() + "# local\n")
    before = snapshot(tree)
    assert promote(tree, "--from", "staging", "--to", "production") == 2
    assert "has uncommitted changes" in capsys.readouterr().err
    assert snapshot(tree) == before


def test_a_target_naming_the_image_under_another_registry_is_a_near_miss(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    production = tree / PRODUCTION
    production.write_text(production.read_text().replace(f"name: {STREAMING_IMAGE}", "name: docker.io/mastodon/"
                                                         "mastodon-streaming"))
    commit_all(tree, "streaming from docker hub")
    before = snapshot(tree)
    assert promote(tree, "--from", "staging", "--to", "production") == 2
    assert "same repository as ghcr.io/mastodon/mastodon-streaming" in capsys.readouterr().err
    assert snapshot(tree) == before
