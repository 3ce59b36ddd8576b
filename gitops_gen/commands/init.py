"""``gitops-gen init``: write (or regenerate) the Kustomize tree from the spec, and commit it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from gitops_gen.spec import SPEC_FILE


def default_spec_text() -> str:
    return (files("gitops_gen.spec") / "default.yaml").read_text(encoding="utf-8")


def init(
    directory: Annotated[Path, typer.Argument(
        metavar="[DIR]", help="The repository to write into (created if missing).")] = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite generated files that were edited by hand.")] = False,
    no_commit: Annotated[bool, typer.Option("--no-commit", help="Write the files but do not commit them.")] = False,
) -> int:
    """Generate base/ and overlays/<env>/ from gitops-gen.yaml (written with defaults if missing), and commit."""
    # Imported here, not at the top: `gitops-gen --help` must not pay for pydantic, GitPython or the generator.
    from gitops_gen import git
    from gitops_gen.errors import SpecError
    from gitops_gen.generate import install_line, tree
    from gitops_gen.spec.load import parse_spec

    root = directory.resolve()
    spec_file = root / SPEC_FILE
    new_spec = not spec_file.exists()
    spec_text = default_spec_text() if new_spec else spec_file.read_text(encoding="utf-8")
    spec = parse_spec(spec_text, str(spec_file))

    origin = git.remote_url(root) if root.exists() else None
    try:
        plan = tree.plan(spec, root, force=force, repo_url=origin)  # raises before anything is written
    except install_line.UnknownInstallError as error:
        raise SpecError(str(spec_file), f"{error}: set it to the command that installs gitops-gen on the CI runner, "
                        'e.g. pip install "gitops-gen @ git+https://<host>/<repo>.git@<commit>"',
                        field="drift.install") from None
    if new_spec:
        plan.writes[SPEC_FILE] = spec_text
    if not plan.changed_paths:
        typer.echo(f"{root}: up to date with {SPEC_FILE}; nothing to commit")
        return 0

    first_generation = not any((root / top).exists() for top in tree.GENERATED_ROOTS)
    root.mkdir(parents=True, exist_ok=True)
    git.ensure_repo(root)
    plan.apply()
    summary = f"{len(plan.writes)} written, {len(plan.deletes)} removed"
    if no_commit:
        typer.echo(f"{root}: {summary} (not committed)")
        return 0
    message = "gitops-gen init: " + ("generate the Mastodon tree" if first_generation else "regenerate from spec")
    # The spec goes into the same commit: the tree must never be committed without the spec it came from.
    paths = [root / path for path in {*plan.changed_paths, SPEC_FILE}]
    commit = git.commit_paths(root, paths, f"{message}\n\n{summary}")
    typer.echo(f"{root}: {summary}" + (f"; committed {commit[:12]}" if commit else ""))
    return 0
