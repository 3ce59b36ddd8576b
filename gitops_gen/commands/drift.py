"""``gitops-gen drift``: what changed in the cluster that git does not say."""

from __future__ import annotations

import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gitops_gen.errors import EXIT_DRIFT, EXIT_OK, InputError

_CURRENT_DIRECTORY = Path()


class Output(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


class ModeOption(StrEnum):
    READ_ONLY = "read-only"
    SERVER = "server"


def drift(
    ref: Annotated[str, typer.Option(
        "--ref", metavar="REF", help="The commit whose tree is the desired state.")] = "HEAD",
    overlay: Annotated[list[str] | None, typer.Option(
        "--overlay", metavar="NAME",
        help="An overlay under overlays/ to check; repeatable. Default: every overlay, each in its "
        "overlays.<env>.context.")] = None,
    repo: Annotated[Path, typer.Option(
        "--repo", metavar="DIR", help="The GitOps repository (default: the current directory).")] = _CURRENT_DIRECTORY,
    kubeconfig: Annotated[Path | None, typer.Option(
        "--kubeconfig", metavar="FILE",
        help="Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else in-cluster).")] = None,
    context: Annotated[str | None, typer.Option(
        "--context", metavar="NAME", help="Kubeconfig context for every overlay checked (default: each "
        "overlay's overlays.<env>.context; else, for a single overlay, the current one).")] = None,
    current_context: Annotated[bool, typer.Option(
        "--current-context", help="Check every overlay in the kubeconfig's current context (or in-cluster), "
        "whatever the spec says: for a kubeconfig that belongs to the overlay, as in the CI job.")] = False,
    mode: Annotated[ModeOption, typer.Option(
        "--mode", metavar="read-only|server",
        help="read-only: get/list only; server: server-side apply dry-run per object (needs patch).",
    )] = ModeOption.READ_ONLY,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", metavar="N", min=1, help="Requests in flight at once.")] = 8,
    output: Annotated[Output, typer.Option(
        "--output", "-o", metavar="text|json|markdown",
        help="text, json (one document per overlay) or markdown.")] = Output.TEXT,
    ignore: Annotated[list[str] | None, typer.Option(
        "--ignore", metavar="RULE",
        help="Ignore differences: KIND:POINTER or KIND/NAME:POINTER, e.g. Deployment/web:/spec/replicas.",
    )] = None,
    sync_manager: Annotated[list[str] | None, typer.Option(
        "--sync-manager", metavar="NAME",
        help="A field manager of your sync engine, besides the defaults; repeatable.")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", min=0.001, help="Seconds to wait to connect and for each answer.")] = 10.0,
    json_file: Annotated[Path | None, typer.Option(
        "--json-file", metavar="FILE", help="Also write the JSON report to this file (for a CI artifact).")] = None,
    secret_values: Annotated[bool, typer.Option(
        "--secret-values", help="Also compare Secret values (reads Secret data; values are never shown). "
        "Default: Secrets by their metadata only.")] = False,
    stats: Annotated[bool, typer.Option(
        "--stats", hidden=True, help="Print the API request count and the time to stderr.")] = False,
) -> int:
    """Compare the cluster with the tree committed at --ref. Exit 0 in sync, 1 drift, 2 error."""
    from gitops_gen.drift import report
    from gitops_gen.drift.run import DriftOptions, Mode, run

    started = time.monotonic()
    options = DriftOptions(
        repo=repo, ref=ref, overlays=tuple(overlay or ()), kubeconfig=kubeconfig, context=context,
        current_context=current_context,
        mode=Mode(mode.value), concurrency=concurrency, ignore=tuple(ignore or ()), timeout=timeout,
        sync_managers=tuple(sync_manager or ()), secret_values=secret_values,
    )
    if json_file is not None:
        _check_writable(json_file)  # before any work: a report must not be printed and then end in an error
    outcome = run(options)
    if json_file is not None:
        try:
            json_file.write_text(report.render_json(outcome.results), encoding="utf-8")
        except OSError as error:
            raise InputError(f"--json-file {json_file}: cannot write: {error.strerror}") from error
    if output is Output.JSON:
        text = report.render_json(outcome.results)
    elif output is Output.MARKDOWN:
        text = report.render_markdown(outcome.results)
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        text = report.render_text(outcome.results, style=typer.style) if colour else report.render_text(outcome.results)
    typer.echo(text, nl=False)
    if stats:
        typer.echo(f"gitops-gen drift: {outcome.api_requests} API requests in {time.monotonic() - started:.2f}s",
                   err=True)
    return EXIT_DRIFT if any(result.drifted for result in outcome.results) else EXIT_OK


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"--json-file {path} is a directory: name a file")
    if not path.parent.is_dir():
        raise InputError(f"--json-file {path}: directory {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"--json-file {path}: not writable")


def register(app: typer.Typer) -> None:
    """Add ``drift`` to the CLI."""
    app.command("drift")(drift)
