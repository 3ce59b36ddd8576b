"""``gitops-gen bump-image``: move images of one or more overlays to a new tag or digest, as one small commit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitops_gen.commands.imageflow import REPO_OPTION, report_and_carry_out
from gitops_gen.errors import InputError, RepoError
from gitops_gen.images.entries import VersionRequest
from gitops_gen.images.reference import MASTODON_FAMILY, parse_reference, validate_digest, validate_name, validate_tag

DEFAULT_MESSAGE = "{overlay}: bump {image} {old} -> {new}"


def _request(
    reference: str | None, tag: str | None, digest: str | None, image: str | None
) -> tuple[VersionRequest, list[str] | None]:
    """Validate what to set, before anything is read; return it with the images it applies to (None: family)."""
    if reference is not None:
        if tag is not None or digest is not None or image is not None:
            raise InputError("give either a full reference NAME:TAG[@DIGEST] or --tag/--digest/--image, not both")
        parsed = parse_reference(reference)
        if parsed.tag is None and parsed.digest is None:
            raise InputError(f"reference {reference!r} names no version: write NAME:TAG, NAME@DIGEST or both")
        # A tag is shared by a release's images; a digest belongs to exactly one of them.
        family_move = parsed.digest is None and parsed.name in MASTODON_FAMILY
        return VersionRequest(parsed.tag, parsed.digest), None if family_move else [parsed.name]
    if tag is None and digest is None:
        raise InputError("say what to set: --tag TAG, --digest sha256:<64 hex>, or a full reference NAME:TAG")
    if tag is not None:
        validate_tag(tag)
    if digest is not None:
        validate_digest(digest)
    if image is not None:
        validate_name(image)
    if digest is not None and image is None:
        raise InputError("a digest belongs to one image: pass --image NAME with --digest (or a full reference)")
    return VersionRequest(tag, digest, keep_tag=tag is None), [image] if image else None


def bump_image(
    reference: str | None = typer.Argument(
        None, metavar="[REFERENCE]", show_default=False,
        help="Full reference to set, e.g. ghcr.io/mastodon/mastodon:v4.3.1@sha256:<hex>."
    ),
    tag: str | None = typer.Option(
        None, "--tag", metavar="TAG", help="Tag to set (the Mastodon images move together)."
    ),
    digest: str | None = typer.Option(
        None, "--digest", metavar="DIGEST", help="sha256:<64 hex>; needs --image. Pins --tag, else the tag set."
    ),
    image: str | None = typer.Option(
        None, "--image", metavar="NAME", help="Change only the entry for this image (default: the Mastodon images)."
    ),
    overlay: Annotated[
        list[str] | None, typer.Option("--overlay", metavar="NAME", help="Overlay to change (repeatable).")
    ] = None,
    every: bool = typer.Option(False, "--all", help="Change every overlay under overlays/."),
    repo_dir: Path = REPO_OPTION,
    message: str = typer.Option(
        DEFAULT_MESSAGE, "--message", "-m", metavar="TEMPLATE", help="Commit message: {overlay} {image} {old} {new}."
    ),
    no_commit: bool = typer.Option(False, "--no-commit", help="Write the files but do not commit."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the unified diff and change nothing."),
    push: bool = typer.Option(
        False, "--push", help="Push the commit; if the remote moved, fetch, rebase and retry (never force)."
    ),
    allow_downgrade: bool = typer.Option(
        False, "--allow-downgrade", help="Allow a tag older than the one an overlay runs (compared as versions)."
    ),
    allow_floating: bool = typer.Option(
        False, "--allow-floating", help="Allow a tag that names no version, such as latest or main."
    ),
) -> int:
    """Set the tag or digest of images in overlays' kustomization.yaml, changing nothing else in the files."""
    from gitops_gen import git  # lazily: --help must not pay for GitPython and ruamel.yaml
    from gitops_gen.images.change import plan_bump
    from gitops_gen.images.overlays import choose_overlays
    from gitops_gen.images.versions import refuse_downgrades, refuse_floating

    request, images = _request(reference, tag, digest, image)
    if not allow_floating:
        refuse_floating(request.tag)
    if push and no_commit:
        raise InputError("--push needs a commit to push: drop --no-commit or --push")
    tree = repo_dir.resolve()
    if not git.is_repo(tree):
        raise RepoError(f"{tree} is not inside a git repository: bump-image only edits committed trees")
    # Planned and carried out under the repository lock: a concurrent bump waits, then plans from our commit.
    with git.exclusive(tree):
        overlays = choose_overlays(tree, overlay or [], every)
        plan = plan_bump(tree, overlays, images, request)
        if not allow_downgrade:
            refuse_downgrades(plan.changes)
        return report_and_carry_out(tree, plan, message, dry_run=dry_run, commit=not no_commit, push=push)
