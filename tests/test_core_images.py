"""What bump-image and promote users rely on, pinned on plain files (no git, no init): how an image reference is
read, which overlays and entries a command picks, and the one-line errors and warnings it prints. Each case was a
surviving mutant of benchmarks/mutation.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gitops_gen.errors import InputError, RepoError
from gitops_gen.images.change import plan_bump, plan_promote, refuse_uncommitted, unified_diff
from gitops_gen.images.entries import (
    EntryChange,
    ImageEntry,
    VersionRequest,
    entries_from_kustomization,
    version_label,
)
from gitops_gen.images.message import commit_message, image_label
from gitops_gen.images.overlays import Overlay, choose_overlays, find_overlays, read_overlay
from gitops_gen.images.reference import (
    ImageReference,
    ImageReferenceError,
    canonical_repository,
    kustomize_split,
    parse_reference,
    short_name,
    split_domain,
    validate_name,
)
from gitops_gen.images.versions import refuse_downgrades, refuse_floating

SHA = "sha256:" + "0123456789abcdef" * 4
OTHER_SHA = "sha256:" + "fedcba9876543210" * 4
MAIN = "ghcr.io/mastodon/mastodon"
STREAMING = "ghcr.io/mastodon/mastodon-streaming"
FAMILY_IMAGES = f"images:\n- name: {MAIN}\n  newTag: v4.3.0\n- name: {STREAMING}\n  newTag: v4.3.0\n"


def _tree(root: Path, overlays: dict[str, str]) -> Path:
    for name, text in overlays.items():
        (root / "overlays" / name).mkdir(parents=True, exist_ok=True)
        (root / "overlays" / name / "kustomization.yaml").write_text(text)
    return root


# --- the reference grammar ----------------------------------------------------------------------------------


def test_reference_errors_say_what_is_wrong_and_how_to_write_it() -> None:
    with pytest.raises(ImageReferenceError) as empty:
        parse_reference("")
    assert str(empty.value) == "image reference is empty: write it as NAME[:TAG][@DIGEST]"
    # All upper case: the lower-case form parses, so the hint is about case.
    with pytest.raises(ImageReferenceError, match="repository names must be lower case"):
        parse_reference("GHCR.IO/MASTODON/MASTODON")
    # Upper case and broken otherwise too: no lower-case hint, the grammar itself is named.
    with pytest.raises(ImageReferenceError, match=r"is not NAME\[:TAG\]\[@DIGEST\]"):
        parse_reference("Ghcr.io//mastodon")


def test_a_repository_name_is_at_most_255_characters_after_its_registry() -> None:
    longest = "ghcr.io/" + "a" * 255
    assert validate_name(longest) == longest
    with pytest.raises(ImageReferenceError, match="is longer than 255 characters"):
        validate_name(longest + "a")
    with pytest.raises(ImageReferenceError, match=r"not a valid repository name \(repository names are lower case\)"):
        validate_name("ghcr.io/Mastodon/mastodon")
    with pytest.raises(ImageReferenceError, match=r"not a valid repository name$"):
        validate_name("ghcr.io/mastodon/mastodon!")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registry.example:5000/team/app:v1", ImageReference("registry.example:5000/team/app", "v1")),
        (f"app@{SHA}", ImageReference("app", None, SHA)),
        (f"localhost:5000/app:v1@{SHA}", ImageReference("localhost:5000/app", "v1", SHA)),
    ],
)
def test_registry_port_tag_and_digest_are_told_apart(text: str, expected: ImageReference) -> None:
    assert parse_reference(text) == expected


def test_where_an_image_is_pulled_from() -> None:
    assert canonical_repository("docker.io/nginx") == ("docker.io", "library/nginx")
    assert canonical_repository("index.docker.io/nginx") == ("docker.io", "library/nginx")
    assert canonical_repository("docker.io/mastodon/mastodon") == ("docker.io", "mastodon/mastodon")
    assert canonical_repository("localhost:5000/app") == ("localhost:5000", "app")
    assert canonical_repository("Registry/app") == ("Registry", "app")  # upper case: a host, never a Hub user
    assert split_domain("localhost:5000/team/app") == ("localhost:5000", "team/app")
    assert split_domain("app") == ("", "app")
    assert split_domain("Not/A/Name") == ("", "Not/A/Name")  # not the grammar's: no domain to split off
    assert short_name("registry.example:5000/team/app") == "app"
    assert short_name("nginx") == "nginx"


# kustomize's image.Split, traced on the edges of its index arithmetic (a separator at position 0, two of them,
# one before the first slash); the test below has the real kustomize render each of them.
SPLITS = [
    ("@x", ("", "", "x")),
    (":x", ("", "x", "")),
    (":x@y", ("", "x", "y")),
    ("a@b@c", ("a", "", "b@c")),  # the first @ splits
    ("@/x", ("@/x", "", "")),  # before the first slash nothing is searched
    (":/b", (":/b", "", "")),
    ("a:1/b", ("a:1/b", "", "")),
    ("a/b:c@d", ("a/b", "c", "d")),
    ("a/b@c/d", ("a/b", "", "c/d")),  # after the first slash, not the last
]


@pytest.mark.parametrize(("image", "parts"), SPLITS)
def test_kustomize_split_on_the_edges(image: str, parts: tuple[str, str, str]) -> None:
    assert kustomize_split(image) == parts


@pytest.mark.parametrize("entry", [ImageEntry(0, ".*", new_tag="v1"), ImageEntry(0, ".*", digest=SHA)])
def test_the_split_edges_render_as_the_real_kustomize_renders_them(tmp_path: Path, entry: ImageEntry) -> None:
    # `.*` matches every image (kustomize pastes the name into a regular expression), so the rendered image shows
    # the name Split kept. (A newName is left out: kustomize's legacy second pass re-splits what the first wrote.)
    command = ["kustomize", "build"] if shutil.which("kustomize") else ["kubectl", "kustomize"]
    images = [image for image, _ in SPLITS]
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    fields = {"newTag": entry.new_tag, "digest": entry.digest}
    images_entry = {"name": entry.name, **{key: value for key, value in fields.items() if value}}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["pod.yaml"], "images": [images_entry]}))
    rendered = yaml.safe_load(subprocess.run([*command, str(tmp_path)], capture_output=True, text=True,
                                             check=True).stdout)
    assert [c["image"] for c in rendered["spec"]["containers"]] == [entry.render(image) for image in images]


# --- overlays -------------------------------------------------------------------------------------------------


def test_overlays_are_the_directories_with_a_kustomization_file_of_any_accepted_name(tmp_path: Path) -> None:
    for name, file_name in (("b", "kustomization.yml"), ("a", "Kustomization"), ("c", "kustomization.yaml")):
        (tmp_path / "overlays" / name).mkdir(parents=True)
        (tmp_path / "overlays" / name / file_name).write_text("resources: []\n")
    (tmp_path / "overlays" / "empty").mkdir()
    (tmp_path / "overlays" / "c" / "kustomization.yml").write_text("resources: []\n")  # .yaml is looked for first
    assert find_overlays(tmp_path) == {
        "a": Overlay("a", tmp_path / "overlays/a/Kustomization"),
        "b": Overlay("b", tmp_path / "overlays/b/kustomization.yml"),
        "c": Overlay("c", tmp_path / "overlays/c/kustomization.yaml"),
    }
    assert find_overlays(tmp_path / "nowhere") == {}


def test_a_kustomization_linked_from_outside_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("resources: []\n")
    repo = tmp_path / "repo"
    (repo / "overlays" / "production").mkdir(parents=True)
    (repo / "overlays" / "production" / "kustomization.yaml").symlink_to(outside)
    with pytest.raises(InputError) as raised:
        find_overlays(repo)
    assert str(raised.value) == (f"{repo}/overlays/production/kustomization.yaml leads outside {repo} (through a "
                                 "symbolic link): gitops-gen edits only files inside the repository")


def test_which_overlays_a_command_changes(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"staging": FAMILY_IMAGES, "production": FAMILY_IMAGES})
    chosen = choose_overlays(tree, ["staging", "production", "staging"], every=False)
    assert [o.name for o in chosen] == ["staging", "production"]  # in the order given, once each
    assert [o.name for o in choose_overlays(tree, [], every=True)] == ["production", "staging"]
    messages = {
        (("staging",), True): "pass either --overlay NAME (repeatable) or --all, not both",
        ((), False): "say which overlays to change: --overlay NAME (repeatable) or --all",
        (("qa",), False): f"unknown overlay 'qa': {tree}/overlays has production, staging",
    }
    for (names, every), message in messages.items():
        with pytest.raises(InputError) as raised:
            choose_overlays(tree, names, every)
        assert str(raised.value) == message
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(InputError) as raised:
        choose_overlays(bare, [], every=True)
    assert str(raised.value) == f"{bare}/overlays holds no overlay with a kustomization.yaml"
    with pytest.raises(InputError) as raised:
        choose_overlays(bare, ["production"], every=False)
    assert str(raised.value) == f"unknown overlay 'production': {bare}/overlays has none"


def test_an_unreadable_kustomization_is_named(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"production": ""})
    overlay = find_overlays(tree)["production"]
    overlay.kustomization.write_bytes(b"images:\n- name: caf\xe9\n")
    with pytest.raises(InputError) as raised:
        read_overlay(overlay, tree)
    assert str(raised.value) == "overlays/production/kustomization.yaml is not UTF-8 text: invalid continuation byte"
    overlay.kustomization.unlink()
    overlay.kustomization.mkdir()
    with pytest.raises(InputError) as raised:
        read_overlay(overlay, tree)
    assert str(raised.value) == "cannot read overlays/production/kustomization.yaml: Is a directory"


def test_a_malformed_images_list_names_the_overlay_file(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"production": "images: {name: a}\n"})
    with pytest.raises(InputError) as raised:
        read_overlay(find_overlays(tree)["production"], tree)
    assert str(raised.value) == "overlays/production/kustomization.yaml: images must be a list of entries with a name"


def test_a_file_with_changes_git_does_not_have_is_refused_by_name(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"production": FAMILY_IMAGES})
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "overlays"]):
        subprocess.run(["git", "-C", str(tree), *args], check=True)
    overlay = find_overlays(tree)["production"]
    plan = plan_bump(tree, [overlay], None, VersionRequest("v4.3.1", None))
    refuse_uncommitted(tree, plan)
    overlay.kustomization.write_text(FAMILY_IMAGES + "# a local edit\n")
    with pytest.raises(RepoError) as raised:
        refuse_uncommitted(tree, plan)
    assert str(raised.value) == ("overlays/production/kustomization.yaml has uncommitted changes: commit or stash them "
                                 "first, so that the change stays a commit of its own")


def test_an_images_list_is_read_field_by_field() -> None:
    data = {"images": [{"name": "a", "newTag": 4.3, "digest": "", "newName": None}]}
    assert entries_from_kustomization(data, "k.yaml") == [ImageEntry(0, "a", None, "4.3", None)]
    for bad, problem in ((["images"], "a kustomization must be a mapping"),
                         ({"images": {"name": "a"}}, "images must be a list of entries with a name"),
                         ({"images": [{"name": ""}]}, "images[0] must be a mapping with a name")):
        with pytest.raises(InputError) as raised:
            entries_from_kustomization(bad, "k.yaml")
        assert str(raised.value) == f"k.yaml: {problem}"


# --- the plan across overlays -------------------------------------------------------------------------------


def test_an_image_missing_from_an_overlay_names_the_entries_there(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"production": FAMILY_IMAGES, "empty": "resources: []\n"})
    overlays = find_overlays(tree)
    with pytest.raises(InputError) as raised:
        plan_bump(tree, [overlays["production"]], ["ghcr.io/nobody/else"], VersionRequest("v1", None))
    assert str(raised.value) == (
        f"overlays/production/kustomization.yaml has no images entry for ghcr.io/nobody/else (its entries: {MAIN}, "
        f"{STREAMING}); add `- name: ghcr.io/nobody/else` under images: first")
    with pytest.raises(InputError) as raised:
        plan_bump(tree, [overlays["empty"]], None, VersionRequest("v4.3.1", None))
    assert str(raised.value) == (
        f"overlays/empty/kustomization.yaml has no images entry for the mastodon images ({MAIN}, {STREAMING}) "
        f"(its entries: none); add `- name: {MAIN}` under images: first")


def test_promote_names_what_the_source_lacks(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"staging": FAMILY_IMAGES, "production": FAMILY_IMAGES, "empty": "resources: []\n"})
    overlays = find_overlays(tree)
    with pytest.raises(InputError) as raised:
        plan_promote(tree, overlays["staging"], [overlays["production"]], ["ghcr.io/nobody/else"])
    assert str(raised.value).startswith(
        "overlays/staging/kustomization.yaml has no images entry for ghcr.io/nobody/else (its entries: ")
    with pytest.raises(InputError) as raised:
        plan_promote(tree, overlays["empty"], [overlays["production"]], None)
    assert str(raised.value) == "overlays/empty/kustomization.yaml has no images entries to promote"


def test_promote_names_the_image_a_target_lacks(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"staging": FAMILY_IMAGES, "web": f"images:\n- name: {MAIN}\n  newTag: v4.3.0\n"})
    overlays = find_overlays(tree)
    with pytest.raises(InputError) as raised:
        plan_promote(tree, overlays["staging"], [overlays["web"]], None)
    assert str(raised.value) == (f"overlays/web/kustomization.yaml has no images entry for {STREAMING} (its entries: "
                                 f"{MAIN}); add `- name: {STREAMING}` under images: first")


def test_promote_warns_when_the_target_keeps_another_new_name(tmp_path: Path) -> None:
    staging = f"images:\n- name: {MAIN}\n  newName: mirror.example/mastodon\n  newTag: v4.3.1\n  digest: {SHA}\n"
    tree = _tree(tmp_path, {"staging": staging, "production": FAMILY_IMAGES})
    overlays = find_overlays(tree)
    plan = plan_promote(tree, overlays["staging"], [overlays["production"]], None)
    assert plan.warnings == ("overlays/production/kustomization.yaml: images[0] keeps newName (none) while staging "
                             "uses mirror.example/mastodon; only tag and digest are promoted",)
    assert [(c.entry.index, c.new_tag, c.digest) for c in plan.changes] == [(0, "v4.3.1", SHA)]
    back = plan_promote(tree, overlays["production"], [overlays["staging"]], [MAIN])
    assert back.warnings == ("overlays/staging/kustomization.yaml: images[0] keeps newName mirror.example/mastodon "
                             "while production uses (none); only tag and digest are promoted",)


def test_the_diff_of_a_file_without_a_final_newline_says_so(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"production": f"images:\n- name: {MAIN}\n  newTag: v4.3.0"})
    overlay = find_overlays(tree)["production"]
    plan = plan_bump(tree, [overlay], [MAIN], VersionRequest("v4.3.1", None))
    assert unified_diff(plan, tree) == (
        "--- a/overlays/production/kustomization.yaml\n+++ b/overlays/production/kustomization.yaml\n"
        "@@ -1,3 +1,3 @@\n images:\n - name: ghcr.io/mastodon/mastodon\n"
        "-  newTag: v4.3.0\n\\ No newline at end of file\n+  newTag: v4.3.1\n\\ No newline at end of file\n")


# --- versions and messages ------------------------------------------------------------------------------------


def test_version_labels_and_image_labels() -> None:
    assert version_label(None, None) == "(base)"
    assert version_label("v4.3.1", SHA) == "v4.3.1@sha256:0123456789ab"
    assert version_label(None, SHA) == "@sha256:0123456789ab"
    entries = [ImageEntry(0, MAIN), ImageEntry(1, "registry.example/team/mastodon")]
    assert image_label([]) == ""
    assert image_label([EntryChange("qa", ImageEntry(0, name), "v2", None) for name in ("a/x", "b/y")]) == "x, y"
    changes = [EntryChange("production", entry, "v2", None) for entry in entries]
    assert image_label(changes) == "mastodon"  # two images of one short name are named once
    assert commit_message("{image} {new}", changes[:1], {"new": "x"}) == "mastodon x"


def test_floating_tags_and_downgrades_are_refused_with_what_to_pass() -> None:
    refuse_floating(None)
    refuse_floating("v4.3.1")
    with pytest.raises(InputError) as raised:
        refuse_floating("latest")
    assert str(raised.value) == ("--tag 'latest' is not a version, so the image behind it can change without a "
                                 "commit; set a release tag (e.g. v4.3.1) or pass --allow-floating")
    entry = ImageEntry(0, MAIN, new_tag="v4.3.0")
    refuse_downgrades([EntryChange("staging", entry, "v4.3.0", OTHER_SHA), EntryChange("qa", entry, "latest", None),
                       EntryChange("qa", ImageEntry(0, MAIN), "v1", None)])
    with pytest.raises(InputError) as raised:
        refuse_downgrades([EntryChange("production", entry, "v4.2.9", None)])
    assert str(raised.value) == (f"production: {MAIN} v4.3.0 -> v4.2.9 is a downgrade (database migrations do not "
                                 "run backwards); pass --allow-downgrade if you mean it")
