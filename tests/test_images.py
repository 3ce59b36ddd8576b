"""Image references, kustomize's matching, near misses and commit messages: the pure core of bump-image."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from gitops_gen.errors import InputError
from gitops_gen.images.entries import (
    EntryChange,
    ImageEntry,
    VersionRequest,
    entries_from_kustomization,
    plan_change,
    select_entries,
)
from gitops_gen.images.message import commit_message
from gitops_gen.images.reference import (
    ImageReference,
    ImageReferenceError,
    canonical_repository,
    kustomize_matches,
    kustomize_split,
    parse_reference,
    split_domain,
    validate_digest,
    validate_tag,
)

SHA = "sha256:" + "0123456789abcdef" * 4
OTHER_SHA = "sha256:" + "fedcba9876543210" * 4


@pytest.mark.parametrize("tag", ["v4.3.1", "latest", "_x", "4.3", "v4..1", "A-b_c.D", "a" * 128])
def test_valid_tags_pass_the_distribution_grammar(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["v4..1;rm -rf", "", ".v1", "-v1", "a" * 129, "v4.3.1\n", "v4/3", "vé", "v 1"])
def test_malformed_tags_are_rejected(tag: str) -> None:
    with pytest.raises(ImageReferenceError, match="not a valid image tag"):
        validate_tag(tag)


def test_a_digest_is_checked_for_algorithm_length_and_case() -> None:
    assert validate_digest(SHA) == SHA
    assert validate_digest("sha512:" + "ab" * 64).startswith("sha512:")
    with pytest.raises(ImageReferenceError, match="63 hex digits; sha256 needs exactly 64"):
        validate_digest(SHA[:-1])
    with pytest.raises(ImageReferenceError, match="65 hex digits"):
        validate_digest(SHA + "0")
    with pytest.raises(ImageReferenceError, match="upper-case"):
        validate_digest(SHA.upper().replace("SHA256", "sha256"))
    with pytest.raises(ImageReferenceError, match="algorithm 'md5'"):
        validate_digest("md5:" + "0" * 32)
    for malformed in ("sha256:" + "g" * 64, "sha256", SHA + "\n", "256:" + "0" * 64):
        with pytest.raises(ImageReferenceError, match="not a valid digest"):
            validate_digest(malformed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ghcr.io/mastodon/mastodon:v4.3.1", ImageReference("ghcr.io/mastodon/mastodon", "v4.3.1")),
        (f"ghcr.io/mastodon/mastodon@{SHA}", ImageReference("ghcr.io/mastodon/mastodon", None, SHA)),
        (f"ghcr.io/mastodon/mastodon:v4.3.1@{SHA}", ImageReference("ghcr.io/mastodon/mastodon", "v4.3.1", SHA)),
        ("localhost:5000/app:v1", ImageReference("localhost:5000/app", "v1")),
        ("[::1]:5000/app", ImageReference("[::1]:5000/app")),
        ("mastodon/mastodon", ImageReference("mastodon/mastodon")),
    ],
)
def test_references_parse_into_name_tag_and_digest(text: str, expected: ImageReference) -> None:
    assert parse_reference(text) == expected
    assert str(parse_reference(text)) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("GHCR.io/Mastodon/mastodon:v1", "lower case"),
        ("0123456789abcdef" * 4, "bare digest"),
        ("ghcr.io/mastodon/mastodon:v4..1;rm -rf", "NAME"),
        ("ghcr.io/mastodon/mastodon@sha256:abc", "NAME"),  # too short for the grammar's 32 hex digits
        (f"ghcr.io/mastodon/mastodon@{SHA[:-2]}", "62 hex digits"),
        ("ghcr.io//mastodon", "NAME"),
    ],
)
def test_malformed_references_are_rejected(text: str, problem: str) -> None:
    with pytest.raises(ImageReferenceError, match=problem):
        parse_reference(text)


def test_the_grammar_split_differs_from_where_an_image_is_pulled_from() -> None:
    assert split_domain("mastodon/mastodon") == ("mastodon", "mastodon")  # distribution's splitDomain, as is
    assert canonical_repository("mastodon/mastodon") == ("docker.io", "mastodon/mastodon")
    assert canonical_repository("nginx") == ("docker.io", "library/nginx")
    assert canonical_repository("index.docker.io/library/nginx") == ("docker.io", "library/nginx")
    assert canonical_repository("localhost/app") == ("localhost", "app")
    assert canonical_repository("ghcr.io/mastodon/mastodon") == ("ghcr.io", "mastodon/mastodon")


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nginx", ("nginx", "", "")),
        ("nginx:1.2.3", ("nginx", "1.2.3", "")),
        (f"nginx@{SHA}", ("nginx", "", SHA)),
        (f"ghcr.io/mastodon/mastodon:v4@{SHA}", ("ghcr.io/mastodon/mastodon", "v4", SHA)),
        ("localhost:5000/app:v1", ("localhost:5000/app", "v1", "")),
        ("localhost:5000/app", ("localhost:5000/app", "", "")),
    ],
)
def test_images_split_as_kustomize_splits_them(image: str, parts: tuple[str, str, str]) -> None:
    assert kustomize_split(image) == parts


def test_kustomize_matching_is_a_prefix_regex_with_an_optional_tag_and_digest() -> None:
    assert kustomize_matches("ghcr.io/mastodon/mastodon:v4.3.0", "ghcr.io/mastodon/mastodon")
    assert kustomize_matches(f"ghcr.io/mastodon/mastodon:v4@{SHA}", "ghcr.io/mastodon/mastodon")
    assert not kustomize_matches("ghcr.io/mastodon/mastodon-streaming:v4", "ghcr.io/mastodon/mastodon")
    assert not kustomize_matches("docker.io/mastodon/mastodon:v4", "mastodon/mastodon")
    assert kustomize_matches("ghcrXio/mastodon/mastodon:v4", "ghcr.io/mastodon/mastodon")  # `.` is a regex dot
    assert not kustomize_matches("anything", "broken[")


CONTAINER_IMAGES = [
    "ghcr.io/mastodon/mastodon:v4.3.0",
    "ghcr.io/mastodon/mastodon-streaming:v4.3.0",
    f"ghcr.io/mastodon/mastodon@{SHA}",
    f"ghcr.io/mastodon/mastodon:v4.2.0@{SHA}",
    "ghcrXio/mastodon/mastodon:v1",
    "docker.io/mastodon/mastodon:v4.3.0",
    "localhost:5000/app:v1",
    "nginx",
    "docker.io/library/nginx:1.27",
]
ENTRIES = [
    ImageEntry(0, "ghcr.io/mastodon/mastodon", new_tag="v9.9.9"),
    ImageEntry(1, "ghcr.io/mastodon/mastodon-streaming", new_tag="v9.9.9", digest=OTHER_SHA),
    ImageEntry(2, "localhost:5000/app", digest=OTHER_SHA),
    ImageEntry(3, "nginx", new_name="registry.example/mirror/nginx", new_tag="1.28"),
]


def test_entries_render_exactly_what_the_real_kustomize_renders(tmp_path: Path) -> None:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(CONTAINER_IMAGES)]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    images = [
        {key: value for key, value in (("name", e.name), ("newName", e.new_name), ("newTag", e.new_tag),
                                       ("digest", e.digest)) if value}
        for e in ENTRIES
    ]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["pod.yaml"], "images": images}))
    rendered = yaml.safe_load(
        subprocess.run(["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    )
    expected = []
    for image in CONTAINER_IMAGES:
        for entry in ENTRIES:  # kustomize runs one transformer per entry, in order
            image = entry.render(image)
        expected.append(image)
    assert [c["image"] for c in rendered["spec"]["containers"]] == expected
    assert expected[0] == "ghcr.io/mastodon/mastodon:v9.9.9"
    assert expected[1] == f"ghcr.io/mastodon/mastodon-streaming:v9.9.9@{OTHER_SHA}"


def test_selection_reports_the_same_repository_under_another_registry_as_a_near_miss() -> None:
    entries = [ImageEntry(0, "docker.io/mastodon/mastodon", new_tag="v4.3.0"), ImageEntry(1, "redis", new_tag="7")]
    selection = select_entries(entries, ["ghcr.io/mastodon/mastodon", "ghcr.io/mastodon/mastodon-streaming"])
    assert selection.matched == ()
    assert selection.missing == ("ghcr.io/mastodon/mastodon", "ghcr.io/mastodon/mastodon-streaming")
    assert [(near.wanted, near.entry.index) for near in selection.near_misses] == [("ghcr.io/mastodon/mastodon", 0)]
    implied = select_entries([ImageEntry(0, "mastodon/mastodon")], ["docker.io/mastodon/mastodon"])
    assert [near.entry.name for near in implied.near_misses] == ["mastodon/mastodon"]


def test_selection_matches_a_wanted_image_with_a_tag_as_kustomize_would() -> None:
    entries = [ImageEntry(0, "ghcr.io/mastodon/mastodon"), ImageEntry(1, "ghcr.io/mastodon/mastodon-streaming")]
    selection = select_entries(entries, ["ghcr.io/mastodon/mastodon:v4.3.0"])
    assert [entry.index for entry in selection.matched] == [0]
    assert selection.near_misses == ()


def test_a_new_tag_drops_a_stale_digest_and_a_lone_digest_keeps_the_tag() -> None:
    pinned = ImageEntry(0, "ghcr.io/mastodon/mastodon", new_tag="v4.3.0", digest=SHA)
    by_tag = plan_change("production", pinned, VersionRequest("v4.3.1", None))
    assert (by_tag.new_tag, by_tag.digest) == ("v4.3.1", None)
    assert by_tag.field_values() == [("newTag", "v4.3.1"), ("digest", None)]
    by_digest = plan_change("production", pinned, VersionRequest(None, OTHER_SHA, keep_tag=True))
    assert (by_digest.new_tag, by_digest.digest) == ("v4.3.0", OTHER_SHA)
    same = plan_change("production", pinned, VersionRequest("v4.3.0", SHA))
    assert not same.changed


def test_commit_messages_name_overlay_image_and_versions() -> None:
    main = ImageEntry(0, "ghcr.io/mastodon/mastodon", new_tag="v4.3.0")
    streaming = ImageEntry(1, "ghcr.io/mastodon/mastodon-streaming", new_tag="v4.3.0")
    family = [EntryChange("production", entry, "v4.3.1", None) for entry in (main, streaming)]
    message = commit_message("{overlay}: bump {image} {old} -> {new}", family)
    assert message.splitlines()[0] == "production: bump mastodon v4.3.0 -> v4.3.1"
    assert "- production: ghcr.io/mastodon/mastodon-streaming v4.3.0 -> v4.3.1" in message
    one = [EntryChange("staging", streaming, "v4.3.1", SHA)]
    assert commit_message("{image} to {new} in {overlay}", one) == (
        "mastodon-streaming to v4.3.1@sha256:0123456789ab in staging"
    )
    with pytest.raises(InputError, match=r"unknown field \{version\}"):
        commit_message("{version}", one)


def test_a_kustomization_with_a_malformed_images_list_names_the_entry() -> None:
    assert entries_from_kustomization({"resources": []}, "k.yaml") == []
    with pytest.raises(InputError, match=r"k.yaml: images\[1\] must be a mapping with a name"):
        entries_from_kustomization({"images": [{"name": "a"}, {"newTag": "v1"}]}, "k.yaml")
