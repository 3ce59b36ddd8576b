"""A kustomization's ``images:`` entries (``name``, ``newName``, ``newTag``, ``digest``): reading them, choosing
the ones a command names, and what a version request makes of each. Pure functions over plain data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitops_gen.errors import InputError
from gitops_gen.images.reference import canonical_repository, kustomize_matches, kustomize_split


@dataclass(frozen=True)
class ImageEntry:
    """One item of a kustomization's ``images:`` list; ``None`` for a field the item does not set."""

    index: int
    name: str
    new_name: str | None = None
    new_tag: str | None = None
    digest: str | None = None

    @property
    def version(self) -> str:
        """How the entry pins the image, for people: ``v4.3.1``, ``v4.3.1@sha256:0123456789ab``, ``@sha256:…``."""
        return version_label(self.new_tag, self.digest)

    def render(self, image: str) -> str:
        """What a container running ``image`` runs after this entry, as kustomize's ``imageTagUpdater`` does."""
        if not kustomize_matches(image, self.name):
            return image
        name, tag, digest = kustomize_split(image)
        if self.new_name:
            name = self.new_name
        if self.new_tag and self.digest:
            tag, digest = self.new_tag, self.digest
        elif self.new_tag:
            tag, digest = self.new_tag, ""
        elif self.digest:
            tag, digest = "", self.digest
        return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def version_label(tag: str | None, digest: str | None) -> str:
    """A short human form of a tag and digest pair (the digest cut to 12 hex digits)."""
    short_digest = ""
    if digest:
        algorithm, _, encoded = digest.partition(":")
        short_digest = f"@{algorithm}:{encoded[:12]}"
    if tag or short_digest:
        return (tag or "") + short_digest
    return "(base)"


def entries_from_kustomization(data: object, source: str) -> list[ImageEntry]:
    """Read the ``images:`` list of a loaded kustomization; raise ``InputError`` naming ``source`` when malformed."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a kustomization must be a mapping")
    images = data.get("images")
    if images is None:
        return []
    if not isinstance(images, list):
        raise InputError(f"{source}: images must be a list of entries with a name")
    entries: list[ImageEntry] = []
    for index, item in enumerate(images):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise InputError(f"{source}: images[{index}] must be a mapping with a name")
        fields: dict[str, str | None] = {}
        for key in ("newName", "newTag", "digest"):
            value = item.get(key)
            fields[key] = None if value is None or value == "" else str(value)
        entries.append(ImageEntry(index, item["name"], fields["newName"], fields["newTag"], fields["digest"]))
    return entries


# --- choosing entries and planning their change ----------------------------------------------------------------


@dataclass(frozen=True)
class NearMiss:
    """An entry that names the wanted repository under another registry (or without the implied one)."""

    wanted: str
    entry: ImageEntry


@dataclass(frozen=True)
class Selection:
    """Which entries of one kustomization the wanted images select."""

    matched: tuple[ImageEntry, ...]
    missing: tuple[str, ...]
    near_misses: tuple[NearMiss, ...]


def select_entries(entries: Sequence[ImageEntry], wanted: Iterable[str]) -> Selection:
    """Match each wanted image to the entries kustomize would apply to it; report near misses.

    An entry is selected for a wanted image when kustomize would apply it to a container running that image.
    When none is, an entry whose name is the same repository under another registry prefix is a near miss:
    editing (or adding) an entry for the wanted name would leave the containers on the old version.
    """
    matched: list[ImageEntry] = []
    missing: list[str] = []
    near: list[NearMiss] = []
    for name in wanted:
        hits = [entry for entry in entries if kustomize_matches(name, entry.name)]
        if hits:
            matched.extend(entry for entry in hits if entry not in matched)
            continue
        missing.append(name)
        wanted_path = canonical_repository(name)[1]
        near.extend(
            NearMiss(name, entry) for entry in entries if canonical_repository(entry.name)[1] == wanted_path
        )
    return Selection(tuple(matched), tuple(missing), tuple(near))


@dataclass(frozen=True)
class VersionRequest:
    """The version to set. ``keep_tag``: leave each entry's tag alone and pin it with ``digest`` (``--digest``)."""

    tag: str | None
    digest: str | None
    keep_tag: bool = False


@dataclass(frozen=True)
class EntryChange:
    """An entry before and after: ``new_tag``/``digest`` are the values it will hold (``None``: key absent)."""

    overlay: str
    entry: ImageEntry
    new_tag: str | None
    digest: str | None

    @property
    def changed(self) -> bool:
        return (self.entry.new_tag, self.entry.digest) != (self.new_tag, self.digest)

    @property
    def old_version(self) -> str:
        return self.entry.version

    @property
    def new_version(self) -> str:
        return version_label(self.new_tag, self.digest)

    def field_values(self) -> list[tuple[str, str | None]]:
        """The ``images[i]`` keys that change, with their new value (``None`` removes the key)."""
        values: list[tuple[str, str | None]] = []
        if self.entry.new_tag != self.new_tag:
            values.append(("newTag", self.new_tag))
        if self.entry.digest != self.digest:
            values.append(("digest", self.digest))
        return values


def plan_change(overlay: str, entry: ImageEntry, request: VersionRequest) -> EntryChange:
    """What ``request`` makes of ``entry``.

    A new tag without a digest drops the entry's old digest: kustomize renders ``name:tag@digest`` and the
    runtime pulls by digest, so a stale digest would silently keep the old version running.
    """
    tag = entry.new_tag if request.keep_tag else request.tag
    return EntryChange(overlay, entry, tag, request.digest)
