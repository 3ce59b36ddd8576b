"""``gitops-gen secrets``: the keys the spec's Mastodon needs, and a ready ``kubectl create secret`` command.

The keys follow the spec in ``--repo`` (``gitops-gen.yaml``; without one, the default spec): the targeted Mastodon
version, ``mastodon.s3`` and ``secrets.extraKeys``, exactly as ``init`` wires them into the workloads.

Nothing is written anywhere: the command is printed once, with freshly generated values for the generated keys,
and shell expansions (``${DB_PASS:?...}``) for the keys only the user knows, so that running it without them
fails instead of creating a Secret with placeholder text.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gitops_gen.errors import InputError
from gitops_gen.spec import SPEC_FILE

if TYPE_CHECKING:  # the spec model (pydantic) is imported only when the command runs: --help stays instant
    from gitops_gen.generate.catalogue import SecretKey
    from gitops_gen.spec.model import Spec

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _spec(repo: Path) -> Spec:
    from gitops_gen.spec.load import load_spec, parse_spec

    path = repo / SPEC_FILE
    if path.exists():
        return load_spec(path)
    from gitops_gen.commands.init import default_spec_text

    return parse_spec(default_spec_text(), str(path))


def _how_supplied(key: SecretKey) -> str:
    return f"{key.option} or ${key.name}" if key.option else f"${key.name}"


def describe_keys(keys: tuple[SecretKey, ...], secret_name: str, namespace: str | None) -> str:
    """The human-readable list of keys: which gitops-gen generates, which the user supplies, who reads them."""
    from gitops_gen.generate.catalogue import Source

    where = f"the Secret {secret_name}" + (f" in namespace {namespace}" if namespace else "")
    width = max(len(key.name) for key in keys)
    streaming = ", ".join(key.name for key in keys if key.streaming)
    lines = [f"Mastodon reads these keys from {where}: web, sidekiq and the migration Jobs all of them, "
             f"streaming only {streaming}.", ""]
    lines.append("Generated (fresh random values with --kubectl):")
    lines += [f"  {key.name:<{width}}  {key.how}" for key in keys if key.source is Source.GENERATED]
    lines += ["", "You supply (an option, or the environment variable of the same name when the command runs):"]
    for key in keys:
        if key.source is Source.USER:
            optional = "optional; " if key.optional else ""
            lines.append(f"  {key.name:<{width}}  {optional}{_how_supplied(key)}: {key.how}")
    lines += ["", "Print a ready command: gitops-gen secrets --kubectl [--repo DIR] [--name NAME] [--namespace NS]"]
    return "\n".join(lines)


def _user_value(key: SecretKey, given: str | None) -> str:
    if given is not None:
        return shlex.quote(given)
    if key.optional:
        # Empty when unset: Mastodon runs without Redis or SMTP authentication.
        return f'"${{{key.name}-}}"'
    # `:?` makes the shell stop with this message instead of creating a Secret holding a placeholder.
    return f'"${{{key.name}:?set {key.name}: {key.how}}}"'


def kubectl_command(keys: tuple[SecretKey, ...], secret_name: str, namespace: str | None,
                    supplied: dict[str, str | None]) -> str:
    """A ``kubectl create secret generic`` command with every key of ``keys``; generated values are freshly random.

    Args:
        keys: the spec's catalogue.
        secret_name: the Secret's name.
        namespace: its namespace, or None for the context's namespace.
        supplied: values the user gave for their keys (key name -> value or None).
    """
    from gitops_gen.generate.catalogue import Source
    from gitops_gen.generate.secrets import generate_values

    generated = generate_values(keys)
    lines = [f"kubectl create secret generic {shlex.quote(secret_name)}"
             + (f" --namespace {shlex.quote(namespace)}" if namespace else "")]
    for key in keys:
        if key.source is Source.GENERATED:
            value = shlex.quote(generated[key.name])
        else:
            value = _user_value(key, supplied.get(key.name))
        lines.append(f"--from-literal={key.name}={value}")
    return " \\\n  ".join(lines)


def secrets(
    repo: Annotated[Path, typer.Option(
        "--repo", metavar="DIR", help=f"The tree whose {SPEC_FILE} decides the keys.")] = Path(),
    name: str | None = typer.Option(
        None, "--name", metavar="NAME",
        help="Name of the Secret the workloads read (default: the spec's, <name>-secrets)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n", metavar="NAMESPACE",
        help="Namespace of the Secret."),
    kubectl: bool = typer.Option(
        False, "--kubectl", help="Print a ready `kubectl create secret` command with fresh generated values."),
    db_password: str | None = typer.Option(None, "--db-password", metavar="VALUE",
        help="DB_PASS (else taken from $DB_PASS)."),
    redis_password: str | None = typer.Option(
        None, "--redis-password", metavar="VALUE", help="REDIS_PASSWORD (else $REDIS_PASSWORD, may be empty)."),
    smtp_login: str | None = typer.Option(None, "--smtp-login", metavar="VALUE",
        help="SMTP_LOGIN (else $SMTP_LOGIN, may be empty)."),
    smtp_password: str | None = typer.Option(
        None, "--smtp-password", metavar="VALUE", help="SMTP_PASSWORD (else $SMTP_PASSWORD, may be empty)."),
) -> None:
    """List the secret keys Mastodon needs, or print a command that creates the Secret (never written to disk)."""
    from gitops_gen.generate.catalogue import Source, catalogue

    # fullmatch, not match: `$` also matches before a final newline, which would let "x\n" through.
    if name is not None and (not _DNS_SUBDOMAIN.fullmatch(name) or len(name) > 253):
        raise InputError(f"--name: {name!r} is not a valid Secret name (lowercase letters, digits, '-' and '.')")
    if namespace is not None and (not _DNS_LABEL.fullmatch(namespace) or len(namespace) > 63):
        raise InputError(f"--namespace: {namespace!r} is not a valid namespace name (a DNS label)")
    spec = _spec(repo)
    keys = catalogue(spec)
    secret_name = name or spec.secret_name
    if not kubectl:
        typer.echo(describe_keys(keys, secret_name, namespace))
        return
    supplied = {"DB_PASS": db_password, "REDIS_PASSWORD": redis_password, "SMTP_LOGIN": smtp_login,
                "SMTP_PASSWORD": smtp_password}
    # Only the command goes to stdout, so that it can be piped into a shell; the advice goes to stderr.
    typer.echo(kubectl_command(keys, secret_name, namespace, supplied))
    needed = [key.name for key in keys if key.source is Source.USER and not key.optional
              and supplied.get(key.name) is None]
    optional = [key.name for key in keys if key.source is Source.USER and key.optional]
    typer.echo(f"# Fresh values, shown once and stored nowhere: run this now, in a shell where {', '.join(needed)} "
               f"{'is' if len(needed) == 1 else 'are'} set (and {', '.join(optional)} if you use them).", err=True)


def register(app: typer.Typer) -> None:
    """Add ``secrets`` to the CLI."""
    app.command("secrets")(secrets)
