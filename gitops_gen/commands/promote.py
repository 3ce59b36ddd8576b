"""``gitops-gen promote``: give one overlay exactly the image versions another one runs, as one small commit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitops_gen.commands.imageflow import REPO_OPTION, report_and_carry_out
from gitops_gen.errors import InputError, RepoError
from gitops_gen.images.reference import validate_name

DEFAULT_MESSAGE = "{overlay}: promote {image} {old} -> {new} from {source}"


def promote(
    source: Annotated[
        str, typer.Option("--from", metavar="OVERLAY", help="Overlay whose image versions are copied.")
    ],
    targets: Annotated[
        list[str], typer.Option("--to", metavar="OVERLAY", help="Overlay that receives them (repeatable).")
    ],
    image: Annotated[
        list[str] | None,
        typer.Option("--image", metavar="NAME", help="Promote only this image (repeatable; default: all)."),
    ] = None,
    repo_dir: Path = REPO_OPTION,
    message: str = typer.Option(
        DEFAULT_MESSAGE,
        "--message",
        "-m",
        metavar="TEMPLATE",
        help="Commit message: {overlay} {image} {old} {new} {source}.",
    ),
    no_commit: bool = typer.Option(False, "--no-commit", help="Write the files but do not commit."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the unified diff and change nothing."),
    push: bool = typer.Option(
        False, "--push", help="Push the commit; if the remote moved, fetch, rebase and retry (never force)."
    ),
) -> int:
    """Copy the tag and digest of every images: entry of --from to the same image's entry in --to."""
    from gitops_gen import git  # lazily: --help must not pay for GitPython and ruamel.yaml
    from gitops_gen.images.change import plan_promote
    from gitops_gen.images.overlays import choose_overlays

    for name in image or []:
        validate_name(name)
    if push and no_commit:
        raise InputError("--push needs a commit to push: drop --no-commit or --push")
    tree = repo_dir.resolve()
    if not git.is_repo(tree):
        raise RepoError(f"{tree} is not inside a git repository: promote only edits committed trees")
    with git.exclusive(tree):  # see bump-image: plan and commit under the repository lock
        origin = choose_overlays(tree, [source], False)[0]
        plan = plan_promote(tree, origin, choose_overlays(tree, targets, False), image or None)
        return report_and_carry_out(
            tree, plan, message, dry_run=dry_run, commit=not no_commit, push=push, extra={"source": source}
        )
