"""The command line: registers the commands and turns errors into exit codes, in one place.

``gitops-gen version`` and ``--version`` are answered before typer is imported: typer alone costs more than
the 0.15 s start-up budget allows on a busy runner, and from 0.29 its parameter coercion imports pydantic on
every command invocation (``python -X importtime``). Everything else goes through the typer app."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING

from gitops_gen import __version__
from gitops_gen.errors import EXIT_ERROR, EXIT_OK, GitopsGenError

if TYPE_CHECKING:
    import typer

_VERSION_ARGS = (["version"], ["--version"])


class _Options:
    # A plain class, not a dataclass: dataclasses loads inspect, a tenth of `version`'s start-up.
    debug = False


_options = _Options()


def _version_line() -> str:
    return f"gitops-gen {__version__}"


@cache
def _app() -> typer.Typer:
    """The typer app with every command registered (built once: the CLI may be run many times in a process)."""
    import typer

    # Each command lives in its own module under gitops_gen.commands; this file only wires them in.
    from gitops_gen.commands import register

    app = typer.Typer(
        name="gitops-gen",
        help="GitOps trees for Mastodon on Kubernetes: generate them, bump their images, detect drift.",
        no_args_is_help=True,
        # Plain help: typer's rich formatting imports rich (a third of a second) on every --help.
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )

    def print_version(value: bool) -> None:
        if value:
            typer.echo(_version_line())
            raise typer.Exit()

    @app.callback()
    def _root(
        debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
        version: bool = typer.Option(
            False, "--version", callback=print_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        _options.debug = debug

    register(app)
    return app


def _colour_errors() -> bool | None:
    """False when NO_COLOR is set (https://no-color.org); otherwise click colours only a terminal."""
    return False if os.environ.get("NO_COLOR") else None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0 ok or in sync, 1 drift found, 2 error."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in _VERSION_ARGS:  # the whole command line, so `version --help` and the like still reach typer
        print(_version_line())
        return EXIT_OK
    return _run(args)


def _run(args: list[str]) -> int:
    import traceback

    import typer

    _options.debug = False
    try:
        result = _app()(args=args, prog_name="gitops-gen", standalone_mode=False)
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
