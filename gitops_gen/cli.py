"""The command line: registers the commands and turns errors into exit codes, in one place."""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass

import typer

from gitops_gen import __version__
from gitops_gen.errors import EXIT_ERROR, EXIT_OK, GitopsGenError

app = typer.Typer(
    name="gitops-gen",
    help="GitOps trees for Mastodon on Kubernetes: generate them, bump their images, detect drift.",
    no_args_is_help=True,
    # Plain help: typer's rich formatting imports rich (a third of a second) on every --help.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


@dataclass
class _Options:
    debug: bool = False


_options = _Options()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gitops-gen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    _options.debug = debug


def _register_commands() -> None:
    # Each command lives in its own module under gitops_gen.commands; this file only wires them in.
    from gitops_gen.commands import register

    register(app)


def _colour_errors() -> bool | None:
    """False when NO_COLOR is set (https://no-color.org); otherwise click colours only a terminal."""
    return False if os.environ.get("NO_COLOR") else None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0 ok or in sync, 1 drift found, 2 error."""
    _options.debug = False
    try:
        _register_commands()
        result = app(args=argv, prog_name="gitops-gen", standalone_mode=False)
    except GitopsGenError as error:
        if _options.debug:
            traceback.print_exc()
        typer.secho(f"gitops-gen: error: {error}", err=True, fg=typer.colors.RED, color=_colour_errors())
        return error.exit_code
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.TyperException as error:  # a usage error: typer prints its usage line and hint
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"gitops-gen: error: {error.format_message()}", err=True)
        return EXIT_ERROR
    except typer.Abort:
        typer.echo("gitops-gen: aborted", err=True)
        return EXIT_ERROR
    except Exception as error:  # noqa: BLE001 - a crash must exit 2, never 1, which CI reads as "drift found"
        if _options.debug:
            traceback.print_exc()
        message = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        typer.secho(f"gitops-gen: internal error: {message} (run with --debug for the traceback, and please "
                    "report it)", err=True, fg=typer.colors.RED, color=_colour_errors())
        return EXIT_ERROR
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
