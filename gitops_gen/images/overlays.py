"""The overlays of a tree (``overlays/<env>/kustomization.yaml``) and the image entries each one holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_gen.errors import InputError
from gitops_gen.images.entries import ImageEntry, entries_from_kustomization
from gitops_gen.yamlio import load_plain

OVERLAYS_DIR = "overlays"
# The file names kustomize itself accepts, in the order it looks for them.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class Overlay:
    """An environment: its name (the directory under ``overlays/``) and its kustomization file."""

    name: str
    kustomization: Path


@dataclass(frozen=True)
class OverlayImages:
    """An overlay with the text of its kustomization as read and the ``images:`` entries in it."""

    overlay: Overlay
    text: str
    entries: tuple[ImageEntry, ...]


def find_overlays(tree: Path) -> dict[str, Overlay]:
    """Every overlay of ``tree`` by name: each directory under ``overlays/`` that holds a kustomization."""
    found: dict[str, Overlay] = {}
    base = tree / OVERLAYS_DIR
    if not base.is_dir():
        return found
    for directory in sorted(base.iterdir()):
        for file_name in KUSTOMIZATION_FILES:
            if (directory / file_name).is_file():
                if not (directory / file_name).resolve().is_relative_to(tree.resolve()):
                    raise InputError(f"{directory / file_name} leads outside {tree} (through a symbolic link): "
                                     "gitops-gen edits only files inside the repository")
                found[directory.name] = Overlay(directory.name, directory / file_name)
                break
    return found


def choose_overlays(tree: Path, names: Sequence[str], every: bool) -> list[Overlay]:
    """The overlays named (in the order given, without repeats), or all of them with ``every``."""
    known = find_overlays(tree)
    if every and names:
        raise InputError("pass either --overlay NAME (repeatable) or --all, not both")
    if every:
        if not known:
            raise InputError(f"{tree / OVERLAYS_DIR} holds no overlay with a kustomization.yaml")
        return list(known.values())
    if not names:
        raise InputError("say which overlays to change: --overlay NAME (repeatable) or --all")
    chosen: list[Overlay] = []
    for name in dict.fromkeys(names):
        if name not in known:
            listing = ", ".join(known) or "none"
            raise InputError(f"unknown overlay {name!r}: {tree / OVERLAYS_DIR} has {listing}")
        chosen.append(known[name])
    return chosen


def read_overlay(overlay: Overlay, tree: Path) -> OverlayImages:
    """Read an overlay's kustomization (bytes as they are: line breaks and encoding survive the edit)."""
    source = str(overlay.kustomization.relative_to(tree))
    try:
        text = overlay.kustomization.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{source} is not UTF-8 text: {error.reason}") from error
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror}") from error
    data = load_plain(text, source)
    return OverlayImages(overlay, text, tuple(entries_from_kustomization(data, source)))
