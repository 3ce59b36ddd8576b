"""`gitops-gen bump-image` on real git repositories, rendered by the real kustomize."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gitops_gen.cli import main
from gitops_gen.kustomize import render
from tests.tree_fixtures import MAIN_IMAGE, STREAMING_IMAGE, build_tree, commit_all, git, snapshot

SHA = "sha256:" + "0123456789abcdef" * 4
OTHER_SHA = "sha256:" + "fedcba9876543210" * 4
PRODUCTION = "overlays/production/kustomization.yaml"

COMMENTED_IMAGES = f"""\
images:
# Mastodon itself: web, every sidekiq worker and the migration Jobs
- name: {MAIN_IMAGE}  # the main image
  newTag: v4.3.0   # keep in step with streaming

# the streaming server
- name: {STREAMING_IMAGE}
  newTag: "v4.3.0" # quoted on purpose
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "repo")


def bump(tree: Path, *args: str) -> int:
    return main(["bump-image", "--repo", str(tree), *args])


def container_images(directory: Path) -> dict[tuple[str, str, str], str]:
    """(kind, object, container) -> image, for every container and init container kustomize renders."""
    images: dict[tuple[str, str, str], str] = {}
    for obj in render(directory):
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            images[(obj["kind"], obj["metadata"]["name"], container["name"])] = container["image"]
    return images


def test_bump_commits_only_the_tag_lines_and_keeps_comments(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kustomization = tree / PRODUCTION
    original = kustomization.read_text()
    start = original.index("images:\n")
    commented = original[:start] + COMMENTED_IMAGES
    kustomization.write_text(commented)
    commit_all(tree, "comment the images")

    assert bump(tree, "--overlay", "production", "--tag", "v4.3.1") == 0

    assert git(tree, "log", "-1", "--format=%s") == "production: bump mastodon v4.3.0 -> v4.3.1\n"
    changed = [
        line for line in git(tree, "show", "--format=", "--unified=0", "HEAD").splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        "-  newTag: v4.3.0   # keep in step with streaming",
        "+  newTag: v4.3.1   # keep in step with streaming",
        '-  newTag: "v4.3.0" # quoted on purpose',
        '+  newTag: "v4.3.1" # quoted on purpose',
    ]
    assert git(tree, "show", "--format=", "--name-only", "HEAD").split() == [PRODUCTION]
    assert kustomization.read_text() == commented.replace("v4.3.0", "v4.3.1")
    assert git(tree, "status", "--porcelain") == ""
    assert "committed" in capsys.readouterr().out


def test_the_bumped_overlay_renders_the_new_tag_on_every_mastodon_container(tree: Path) -> None:
    assert bump(tree, "--overlay", "production", "--tag", "v4.3.1") == 0

    production = container_images(tree / "overlays/production")
    main_users = {key for key, image in production.items() if image.startswith(MAIN_IMAGE + ":")}
    assert {(kind, name) for kind, name, _ in main_users} == {
        ("Deployment", "mastodon-web"), ("Deployment", "mastodon-sidekiq-default"),
        ("Deployment", "mastodon-sidekiq-scheduler"),
        ("Job", "mastodon-db-migrate-pre"), ("Job", "mastodon-db-migrate-post"),
    }
    assert {production[key] for key in main_users} == {f"{MAIN_IMAGE}:v4.3.1"}
    assert production[("Deployment", "mastodon-streaming", "streaming")] == f"{STREAMING_IMAGE}:v4.3.1"
    staging = container_images(tree / "overlays/staging")
    assert set(staging.values()) == {f"{MAIN_IMAGE}:v4.3.0", f"{STREAMING_IMAGE}:v4.3.0"}


def test_digest_and_full_reference_render_pinned_references(tree: Path) -> None:
    web, streaming = ("Deployment", "mastodon-web", "web"), ("Deployment", "mastodon-streaming", "streaming")
    production = tree / "overlays/production"

    assert bump(tree, "--overlay", "production", "--image", MAIN_IMAGE, "--tag", "v4.3.1", "--digest", SHA) == 0
    assert container_images(production)[web] == f"{MAIN_IMAGE}:v4.3.1@{SHA}"
    assert container_images(production)[streaming] == f"{STREAMING_IMAGE}:v4.3.0"

    assert bump(tree, "--overlay", "production", f"{STREAMING_IMAGE}@{OTHER_SHA}") == 0
    assert container_images(production)[streaming] == f"{STREAMING_IMAGE}@{OTHER_SHA}"
    assert f"{STREAMING_IMAGE}\n  digest: {OTHER_SHA}\n" in (tree / PRODUCTION).read_text()  # newTag removed

    assert bump(tree, "--overlay", "production", "--image", MAIN_IMAGE, "--digest", OTHER_SHA) == 0
    assert container_images(production)[web] == f"{MAIN_IMAGE}:v4.3.1@{OTHER_SHA}"  # the tag is kept

    assert bump(tree, "--overlay", "production", f"{MAIN_IMAGE}:v4.3.2") == 0  # a tag moves the family
    rendered = container_images(production)
    assert (rendered[web], rendered[streaming]) == (f"{MAIN_IMAGE}:v4.3.2", f"{STREAMING_IMAGE}:v4.3.2")
    assert "digest" not in (tree / PRODUCTION).read_text()  # a stale digest would pin the old version
    assert git(tree, "log", "--format=%s").splitlines()[:4] == [
        "production: bump mastodon v4.3.1@sha256:fedcba987654, @sha256:fedcba987654 -> v4.3.2",
        "production: bump mastodon v4.3.1@sha256:0123456789ab -> v4.3.1@sha256:fedcba987654",
        "production: bump mastodon-streaming v4.3.0 -> @sha256:fedcba987654",
        "production: bump mastodon v4.3.0 -> v4.3.1@sha256:0123456789ab",
    ]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--overlay", "production", "--tag", "v4..1;rm -rf"], "not a valid image tag"),
        (["--overlay", "production", "--image", MAIN_IMAGE, "--digest", SHA[:-1]], "63 hex digits"),
        (["--overlay", "production", f"{MAIN_IMAGE}@{SHA}0"], "65 hex digits"),
        (["--overlay", "nowhere", "--tag", "v4.3.1"], "unknown overlay 'nowhere'"),
        (["--tag", "v4.3.1"], "--overlay NAME"),
        (["--overlay", "production", "--digest", SHA], "pass --image"),
        (["--overlay", "production", "--image", "ghcr.io/nobody/else", "--tag", "v1"], "no images entry for"),
        (["--overlay", "production", "--tag", "v4.3.1", "--message", "{version}"], "unknown field"),
        (["--overlay", "production", f"{MAIN_IMAGE}:v4.3.1", "--tag", "v4.3.2"], "not both"),
        (["--overlay", "production", MAIN_IMAGE], "names no version"),
        (["--overlay", "production", "--tag", "v4.3.1", "--push", "--no-commit"], "--push needs a commit"),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_nothing_changed(
    tree: Path, args: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tree)
    assert bump(tree, *args) == 2
    assert problem in capsys.readouterr().err
    assert snapshot(tree) == before


def test_a_file_with_uncommitted_changes_is_refused(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kustomization = tree / PRODUCTION
    kustomization.write_text(kustomization.read_text() + "# a local edit\n")
    before = snapshot(tree)
    assert bump(tree, "--overlay", "production", "--tag", "v4.3.1") == 2
    assert "overlays/production/kustomization.yaml has uncommitted changes" in capsys.readouterr().err
    assert snapshot(tree) == before
    # a dirty file the bump does not touch is no obstacle
    git(tree, "checkout", "--", PRODUCTION)
    (tree / "overlays/staging/kustomization.yaml").write_text("# staged elsewhere\n")
    assert bump(tree, "--overlay", "production", "--tag", "v4.3.1") == 0
    assert git(tree, "status", "--porcelain") == " M overlays/staging/kustomization.yaml\n"


def test_a_tree_outside_git_is_refused(tmp_path: Path, tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(tree, plain, ignore=shutil.ignore_patterns(".git"))
    before = snapshot(plain)
    assert bump(plain, "--overlay", "production", "--tag", "v4.3.1") == 2
    assert "is not inside a git repository" in capsys.readouterr().err
    assert snapshot(plain) == before


def test_a_near_miss_under_another_registry_is_reported_not_added(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kustomization = tree / PRODUCTION
    kustomization.write_text(kustomization.read_text().replace(f"name: {MAIN_IMAGE}\n", "name: mastodon/mastodon\n"))
    commit_all(tree, "use docker hub")
    before = snapshot(tree)
    assert bump(tree, "--overlay", "production", "--image", MAIN_IMAGE, "--tag", "v4.3.1") == 2
    error = capsys.readouterr().err
    assert "images[0] is mastodon/mastodon, the same repository as ghcr.io/mastodon/mastodon" in error
    assert snapshot(tree) == before


def test_the_version_already_set_is_a_no_op_without_a_commit(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    assert bump(tree, "--overlay", "production", "--tag", "v4.3.0") == 0
    assert "already at v4.3.0" in capsys.readouterr().out
    assert snapshot(tree) == before


def test_dry_run_prints_the_diff_and_changes_nothing(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    assert bump(tree, "--all", "--tag", "v4.3.1", "--dry-run") == 0
    out = capsys.readouterr().out
    assert snapshot(tree) == before
    assert "--- a/overlays/production/kustomization.yaml\n+++ b/overlays/production/kustomization.yaml\n" in out
    assert out.count("-  newTag: v4.3.0\n+  newTag: v4.3.1\n") == 4  # two images in two overlays


def test_all_overlays_move_in_one_commit_with_a_templated_message(tree: Path) -> None:
    assert bump(tree, "--all", "--tag", "v4.3.1", "--message", "deploy {new} to {overlay} (was {old}) [{image}]") == 0
    message = git(tree, "log", "-1", "--format=%B")
    assert message.startswith("deploy v4.3.1 to production, staging (was v4.3.0) [mastodon]\n")
    assert sorted(git(tree, "show", "--format=", "--name-only", "HEAD").split()) == [
        PRODUCTION, "overlays/staging/kustomization.yaml"
    ]


def test_no_commit_writes_the_files_and_leaves_them_uncommitted(tree: Path) -> None:
    head = git(tree, "rev-parse", "HEAD")
    assert bump(tree, "--overlay", "staging", "--tag", "v4.3.1", "--no-commit") == 0
    assert git(tree, "rev-parse", "HEAD") == head
    assert git(tree, "status", "--porcelain") == " M overlays/staging/kustomization.yaml\n"


def test_a_failing_commit_leaves_files_and_index_as_they_were(
    tree: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(tree)
    monkeypatch.setenv("GIT_AUTHOR_DATE", "not a date")  # a real git failure at the last step
    assert bump(tree, "--all", "--tag", "v4.3.1") == 2
    assert "git refused the commit" in capsys.readouterr().err
    assert snapshot(tree) == before


def test_a_downgrade_is_refused_unless_allowed(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    assert bump(tree, "--tag", "v4.2.9", "--overlay", "production") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "v4.3.0 -> v4.2.9 is a downgrade" in err and "--allow-downgrade" in err
    assert snapshot(tree) == before
    # Compared as versions, not as text: v4.10.0 is newer than v4.9.0 although "1" < "9".
    assert bump(tree, "--tag", "v4.10.0", "--overlay", "production") == 0
    assert bump(tree, "--tag", "v4.9.0", "--overlay", "production") == 2
    assert bump(tree, "--tag", "v4.9.0", "--overlay", "production", "--allow-downgrade") == 0
    assert "newTag: v4.9.0" in (tree / PRODUCTION).read_text()


@pytest.mark.parametrize("tag", ["latest", "main", "edge"])
def test_a_floating_tag_is_refused_unless_allowed(tree: Path, tag: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    assert bump(tree, "--tag", tag, "--overlay", "production") == 2
    assert "is not a version" in capsys.readouterr().err and snapshot(tree) == before
    assert bump(tree, "--tag", tag, "--overlay", "production", "--allow-floating") == 0
    assert f"newTag: {tag}" in (tree / PRODUCTION).read_text()


@pytest.mark.parametrize("template", ["{overlay.__class__}", "{old[0]}", "{new!r}", "{image:>40}"])
def test_a_message_template_may_use_only_the_plain_placeholders(tree: Path, template: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(tree)
    assert bump(tree, "--tag", "v4.3.1", "--overlay", "production", "--message", template) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("not a plain placeholder" in err or "unknown field" in err)
    assert snapshot(tree) == before


def test_a_family_bump_refuses_an_overlay_that_lacks_one_of_the_images(tree: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tree / PRODUCTION
    text = path.read_text()
    start = text.index(f"- name: {STREAMING_IMAGE}")
    path.write_text(text[:start] + text[text.index("\n", text.index("newTag", start)) + 1:])
    commit_all(tree, "production without a streaming entry")
    before = snapshot(tree)
    assert bump(tree, "--tag", "v4.3.1", "--overlay", "production") == 2
    err = capsys.readouterr().err
    assert f"no images entry for {STREAMING_IMAGE}" in err and "move together" in err and "--image" in err
    assert snapshot(tree) == before
    assert bump(tree, "--tag", "v4.3.1", "--overlay", "production", "--image", MAIN_IMAGE) == 0
