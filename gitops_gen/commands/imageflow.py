"""What bump-image and promote share after planning: report, dry run, refuse dirty files, carry out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gitops_gen.errors import EXIT_OK

if TYPE_CHECKING:
    from gitops_gen.images.change import Plan

REPO_OPTION: Path = typer.Option(
    Path(), "--repo", metavar="DIR", help="The tree (holds overlays/), inside a git work tree.", file_okay=False
)


def report_and_carry_out(
    tree: Path,
    plan: Plan,
    template: str,
    *,
    dry_run: bool,
    commit: bool,
    push: bool,
    extra: Mapping[str, str] | None = None,
) -> int:
    """Print what the plan does, then do it (or, with ``dry_run``, print the diff instead)."""
    from gitops_gen import git
    from gitops_gen.images.change import carry_out, refuse_uncommitted, unified_diff
    from gitops_gen.images.message import commit_message

    for warning in plan.warnings:
        typer.secho(f"gitops-gen: warning: {warning}", err=True, fg=typer.colors.YELLOW)
    for same in plan.unchanged:
        typer.echo(f"{same.overlay}: {same.entry.name} already at {same.new_version}")
    if not plan.changes:
        typer.echo("nothing to change")
        return EXIT_OK
    # The message is rendered before anything is written: a bad --message template must change nothing.
    message = commit_message(template, plan.changes, extra)
    refuse_uncommitted(tree, plan)
    if push:
        git.upstream(tree)  # no upstream: refuse now rather than commit, fail and undo
    for change in plan.changes:
        typer.echo(f"{change.overlay}: {change.entry.name} {change.old_version} -> {change.new_version}")
    if dry_run:
        typer.echo(unified_diff(plan, git.top_level(tree)), nl=False)
        return EXIT_OK
    outcome = carry_out(tree, plan, message=message, commit=commit, push=push)
    # After a rebase the commit that reached the remote is not the one made here: name the one that landed.
    landed = outcome.push.commit if outcome.push else outcome.commit
    if landed:
        typer.echo(f"committed {landed[:12]}: {message.splitlines()[0]}")
    if outcome.push:
        pushed = outcome.push
        retried = f" after {pushed.rebases} rebase(s)" if pushed.rebases else ""
        typer.echo(f"pushed to {pushed.remote}/{pushed.branch} in {pushed.attempts} attempt(s){retried}")
    return EXIT_OK
