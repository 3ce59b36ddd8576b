"""Plan image changes across overlays, show them as a diff, and carry them out all or nothing.

The plan is computed from the files as they are, before anything is written; carrying it out writes every
file atomically, commits, optionally pushes, and on any failure puts files, index and branch back as they were.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_gen import git
from gitops_gen.atomicfile import write_atomic
from gitops_gen.errors import InputError, RepoError
from gitops_gen.images.entries import EntryChange, ImageEntry, Selection, VersionRequest, plan_change, select_entries
from gitops_gen.images.overlays import Overlay, OverlayImages, read_overlay
from gitops_gen.images.reference import FAMILY_LABEL, MASTODON_FAMILY
from gitops_gen.yamlio import ScalarEdit, edit_scalars

PUSH_ATTEMPTS = 5
PUSH_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class FileChange:
    """One file's text before and after."""

    path: Path
    before: str
    after: str


@dataclass(frozen=True)
class Plan:
    """What a command will do: the entry changes, the entries already right, and the resulting files."""

    changes: tuple[EntryChange, ...]
    unchanged: tuple[EntryChange, ...]
    files: tuple[FileChange, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What carrying out a plan did."""

    commit: str | None
    push: git.PushResult | None


def _source(images: OverlayImages, tree: Path) -> str:
    return str(images.overlay.kustomization.relative_to(tree))


def _refuse_near_misses(selection: Selection, images: OverlayImages, tree: Path) -> None:
    for near in selection.near_misses:
        raise InputError(
            f"{_source(images, tree)}: images[{near.entry.index}] is {near.entry.name}, the same repository as "
            f"{near.wanted} under another registry prefix, and kustomize would not apply an entry for "
            f"{near.wanted} to it; fix that entry's name, or pass --image {near.entry.name}"
        )


def _file_change(images: OverlayImages, changes: Sequence[EntryChange], tree: Path) -> FileChange | None:
    edits = [
        ScalarEdit(("images", change.entry.index, key), value)
        for change in changes
        if change.changed
        for key, value in change.field_values()
    ]
    if not edits:
        return None
    after = edit_scalars(images.text, _source(images, tree), edits)
    return FileChange(images.overlay.kustomization, images.text, after)


def _assemble(per_file: list[tuple[OverlayImages, list[EntryChange]]], tree: Path, warnings: list[str]) -> Plan:
    changes = tuple(c for _, cs in per_file for c in cs if c.changed)
    unchanged = tuple(c for _, cs in per_file for c in cs if not c.changed)
    files = tuple(f for images, cs in per_file if (f := _file_change(images, cs, tree)) is not None)
    return Plan(changes, unchanged, files, tuple(warnings))


def plan_bump(tree: Path, overlays: Sequence[Overlay], images: Sequence[str] | None, request: VersionRequest) -> Plan:
    """Set ``request`` on the entries for ``images`` (default: the Mastodon family) in each overlay."""
    per_file: list[tuple[OverlayImages, list[EntryChange]]] = []
    wanted = list(images) if images else list(MASTODON_FAMILY)
    for overlay in overlays:
        read = read_overlay(overlay, tree)
        selection = select_entries(read.entries, wanted)
        _refuse_near_misses(selection, read, tree)
        if images and selection.missing:
            raise InputError(_missing_message(read, selection.missing[0], tree))
        if not images and selection.matched and selection.missing:
            # The Mastodon images are one release: moving one of them alone would run web and streaming apart.
            raise InputError(_missing_message(read, selection.missing[0], tree)
                             + f" (the {FAMILY_LABEL} images move together), or pass --image NAME to move one image")
        if not selection.matched:
            family = f"the {FAMILY_LABEL} images ({', '.join(MASTODON_FAMILY)})"
            raise InputError(_missing_message(read, family, tree, suggest=MASTODON_FAMILY[0]))
        per_file.append((read, [plan_change(overlay.name, entry, request) for entry in selection.matched]))
    return _assemble(per_file, tree, [])


def plan_promote(tree: Path, source: Overlay, targets: Sequence[Overlay], images: Sequence[str] | None) -> Plan:
    """Copy the tag and digest of the source overlay's entries (those for ``images``, default all) to each
    target overlay's entry for the same image."""
    origin = read_overlay(source, tree)
    entries: Sequence[ImageEntry] = origin.entries
    if images:
        selection = select_entries(origin.entries, images)
        if selection.missing:
            raise InputError(_missing_message(origin, selection.missing[0], tree))
        entries = selection.matched
    if not entries:
        raise InputError(f"{_source(origin, tree)} has no images entries to promote")
    per_file: list[tuple[OverlayImages, list[EntryChange]]] = []
    warnings: list[str] = []
    for target in targets:
        if target == source:
            raise InputError(f"--from and --to both name {source.name}: promote copies between two overlays")
        read = read_overlay(target, tree)
        planned: list[EntryChange] = []
        for entry in entries:
            selection = select_entries(read.entries, [entry.name])
            _refuse_near_misses(selection, read, tree)
            if selection.missing:
                raise InputError(_missing_message(read, entry.name, tree))
            request = VersionRequest(tag=entry.new_tag, digest=entry.digest)
            for match in selection.matched:
                if match.new_name != entry.new_name:
                    warnings.append(
                        f"{_source(read, tree)}: images[{match.index}] keeps newName {match.new_name or '(none)'}"
                        f" while {source.name} uses {entry.new_name or '(none)'}; only tag and digest are promoted"
                    )
                planned.append(plan_change(target.name, match, request))
        per_file.append((read, planned))
    return _assemble(per_file, tree, warnings)


def _missing_message(images: OverlayImages, wanted: str, tree: Path, suggest: str | None = None) -> str:
    names = ", ".join(entry.name for entry in images.entries) or "none"
    return (
        f"{_source(images, tree)} has no images entry for {wanted} (its entries: {names}); "
        f"add `- name: {suggest or wanted}` under images: first"
    )


def unified_diff(plan: Plan, root: Path) -> str:
    """The plan as a git-style unified diff, paths relative to ``root``."""
    chunks: list[str] = []
    for change in plan.files:
        name = change.path.resolve().relative_to(root.resolve()).as_posix()
        chunks.extend(
            difflib.unified_diff(
                change.before.splitlines(keepends=True),
                change.after.splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks)


def refuse_uncommitted(tree: Path, plan: Plan) -> None:
    """Raise ``RepoError`` when a file the plan would write has changes git does not have committed."""
    dirty = git.uncommitted(tree, [change.path for change in plan.files])
    if dirty:
        raise RepoError(
            f"{', '.join(dirty)} has uncommitted changes: commit or stash them first, so that the change "
            "stays a commit of its own"
        )


def carry_out(tree: Path, plan: Plan, *, message: str, commit: bool, push: bool) -> Outcome:
    """Write the plan's files, then commit (and push) them; on any failure undo everything and re-raise."""
    original_head = git.head_commit(tree)
    original_index = git.saved_index(tree)
    written: list[FileChange] = []
    staged = False
    committed: str | None = None
    try:
        for change in plan.files:
            try:
                write_atomic(change.path, change.after.encode("utf-8"))
            except OSError as error:
                raise InputError(f"cannot write {change.path}: {error.strerror}") from error
            written.append(change)
        if not commit:
            return Outcome(None, None)
        staged = True
        committed = git.commit_paths(tree, [change.path for change in plan.files], message)
        pushed = git.push_with_rebase(tree, attempts=PUSH_ATTEMPTS, backoff=PUSH_BACKOFF_SECONDS) if push else None
        return Outcome(committed, pushed)
    except BaseException:  # including Ctrl-C: never leave a half-done change behind, then let it propagate
        _roll_back(tree, written, staged=staged, committed=committed, original_head=original_head)
        if committed is not None:
            git.restore_index(tree, original_index)  # the undo reset the index: what the user staged is back
        raise


def _roll_back(
    tree: Path, written: Sequence[FileChange], *, staged: bool, committed: str | None, original_head: str | None
) -> None:
    if committed is not None and original_head is not None:
        git.undo_commits(tree, original_head)  # also puts the files back: they were clean before we began
        return
    for change in reversed(written):
        write_atomic(change.path, change.before.encode("utf-8"))
    if staged:
        git.unstage(tree, [change.path for change in written])
