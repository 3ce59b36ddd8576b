"""``gitops-gen init``: write (or regenerate) the Kustomize tree from the spec, and commit it."""

from __future__ import annotations

import contextlib
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from gitops_gen.errors import GitopsGenError, InputError
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

    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise InputError(f"{root} is a file: name a directory for the repository (it is created if missing)")
    # A directory inside a repository (a monorepo's apps/mastodon, made by this run or not) is a tree of that
    # repository; anywhere else, init makes the directory a repository of its own.
    anchor = next(path for path in (root, *root.parents) if path.exists())
    had_repo = git.is_repo(anchor)
    # Read, planned, written and committed under the repository lock: a concurrent run waits for this one.
    with git.exclusive(anchor) if had_repo else contextlib.nullcontext():
        return _generate(root, anchor, force=force, no_commit=no_commit, had_repo=had_repo)


def _cloneable_origin(origin: str | None, spec_file: Path) -> tuple[str | None, str | None]:
    """The origin remote as the URL the sync engines clone (refused when no engine could clone it), and a
    warning to show when init succeeds with the placeholder URL instead."""
    from gitops_gen.errors import SpecError
    from gitops_gen.generate.manifests.wiring import PLACEHOLDER_REPO, is_local_path

    if origin is not None and is_local_path(origin):
        raise SpecError(str(spec_file), f"gitops.repoURL is unset and the origin remote {origin} is a path on this "
                        "machine, which Argo CD and Flux cannot clone: set gitops.repoURL to the URL they clone from",
                        field="gitops.repoURL")
    if origin is not None:
        return origin, None
    return None, (f"gitops.repoURL is unset and there is no origin remote: the sync objects clone the placeholder "
                  f"{PLACEHOLDER_REPO.format(name='<name>')}; set gitops.repoURL (or add the remote) and run init "
                  "again")


def _tree(root: Path, anchor: Path, had_repo: bool) -> str:
    """``root`` relative to the top of its repository, POSIX (empty when it is the top, or a new repository)."""
    from gitops_gen import git

    if not had_repo:
        return ""
    return root.relative_to(git.top_level(anchor).resolve()).as_posix().removeprefix(".")


def _generate(root: Path, anchor: Path, *, force: bool, no_commit: bool, had_repo: bool) -> int:
    from gitops_gen import git
    from gitops_gen.errors import SpecError
    from gitops_gen.generate import connections, install_line, tree
    from gitops_gen.spec.load import parse_spec, read_spec_text

    spec_file = root / SPEC_FILE
    new_spec = not spec_file.exists()
    spec_text = default_spec_text() if new_spec else read_spec_text(spec_file)
    spec = parse_spec(spec_text, str(spec_file))

    existed = root.exists()
    tree_dir = _tree(root, anchor, had_repo)
    origin = git.remote_url(anchor)
    warnings: list[str] = []
    if spec.gitops.repo_url is None:
        origin, warning = _cloneable_origin(origin, spec_file)
        warnings += [warning] if warning else []
    warnings += connections.warnings(spec)
    try:
        plan = tree.plan(spec, root, force=force, repo_url=origin, tree=tree_dir)  # raises before any write
    except install_line.UnknownInstallError as error:
        raise SpecError(str(spec_file), f"{error}: set it to the command that installs gitops-gen on the CI runner, "
                        'e.g. pip install "gitops-gen @ git+https://<host>/<repo>.git@<commit>"',
                        field="drift.install") from None
    if new_spec:
        plan.writes[SPEC_FILE] = spec_text
    # Up to date means written *and* committed: a --no-commit run, or a refused commit, left work to commit.
    ours = [plan.path(path) for path in {*plan.unchanged, *plan.changed_paths, SPEC_FILE}]
    if spec.drift.ci == "gitlab" and tree_dir:
        warnings += _gitlab_include_missing(plan.top, tree_dir)
    if spec.drift.ci == "github" and tree_dir:
        _refuse_another_trees_workflow(plan.top, tree_dir)
    uncommitted = had_repo and not no_commit and bool(git.uncommitted(anchor, ours))
    if not plan.changed_paths and not uncommitted:
        plan.remove_leftovers()  # what a run killed after its commit left: up to date, but not clean
        return _done(f"{root}: up to date with {SPEC_FILE}; nothing to commit", warnings)

    # The first commit of the tree: nothing generated on disk yet, or only what an uncommitted run left.
    first_generation = (not had_repo or git.head_commit(anchor) is None
                        or not any((root / top).exists() for top in tree.GENERATED_ROOTS))
    root.mkdir(parents=True, exist_ok=True)
    git.ensure_repo(root)
    with contextlib.ExitStack() as held:
        if not had_repo:  # a repository made just now: hold its lock from here on, as a rerun would
            held.enter_context(git.exclusive(root))
        plan.apply()
        summary = f"{len(plan.writes)} written, {len(plan.deletes)} removed"
        if no_commit:
            return _done(f"{root}: {summary} (not committed)", warnings)
        message = "gitops-gen init: " + ("generate the Mastodon tree" if first_generation else "regenerate from spec")
        try:
            # The spec goes into the same commit: the tree must never be committed without the spec it came from.
            commit = git.commit_paths(root, ours, f"{message}\n\n{summary}")
        except GitopsGenError:
            # All or nothing: the files, the index and a repository made by this run go back to how they were.
            plan.revert()
            if not had_repo:
                shutil.rmtree(root / ".git", ignore_errors=True)
            if not existed and not any(root.iterdir()):
                root.rmdir()
            raise
        return _done(f"{root}: {summary}" + (f"; committed {commit[:12]}" if commit else ""), warnings)


def _refuse_another_trees_workflow(top: Path, tree_dir: str) -> None:
    """Two directories whose names give the same workflow file (``apps/a-b``, ``apps-a/b``) must not take turns
    overwriting it: the second stops, before anything is written."""
    from gitops_gen.generate.manifests.drift_workflow import github_path, workflow_tree

    path = top / github_path(tree_dir)
    owner = workflow_tree(path.read_text(encoding="utf-8")) if path.is_file() else None
    if owner is not None and owner != tree_dir:
        raise InputError(f"{path} is the drift workflow of the tree in {owner or 'the repository root'}, and this "
                         f"tree's directory {tree_dir} gives the same file name: rename one of the two directories")


def _gitlab_include_missing(top: Path, tree_dir: str) -> list[str]:
    """A warning when the repository's ``.gitlab-ci.yml`` (its owners', never written by init in a monorepo) does
    not include the tree's drift job yet."""
    from gitops_gen.generate.manifests.drift_workflow import gitlab_includes, gitlab_path

    job = gitlab_path(tree_dir)
    root_ci = top / ".gitlab-ci.yml"
    text = root_ci.read_text(encoding="utf-8") if root_ci.is_file() else ""
    if job in gitlab_includes(text):
        return []
    return [f"GitLab runs only {root_ci}: add `include: [{{local: {job}}}]` to it so that the scheduled drift "
            "check of this tree runs"]


def _done(message: str, warnings: list[str]) -> int:
    typer.echo(message)
    for warning in warnings:  # after the outcome, and only on success: an error stays the one line on stderr
        typer.secho(f"gitops-gen: warning: {warning}", err=True, fg=typer.colors.YELLOW)
    return 0
