"""``gitops-gen version``: the same answer as ``--version``, for people who type it as a command."""

from __future__ import annotations

import typer

from gitops_gen import __version__


def version() -> None:
    """Show the version and exit."""
    typer.echo(f"gitops-gen {__version__}")
