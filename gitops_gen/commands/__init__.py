"""One module per command; ``register`` adds them all to the typer app. With ``cli.py``, the only place that
imports typer: each command parses its options, calls the packages below and renders the outcome."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add every command to ``app`` (idempotent: the CLI may be run many times in one process)."""
    if getattr(app, "_gitops_gen_registered", False):
        return
    app._gitops_gen_registered = True  # type: ignore[attr-defined]
    from gitops_gen.commands import bump, drift, init, promote, secrets, version

    app.command(name="init")(init.init)
    app.command("bump-image")(bump.bump_image)
    app.command("promote")(promote.promote)
    secrets.register(app)
    drift.register(app)
    app.command("version")(version.version)
