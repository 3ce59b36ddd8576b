"""Image references and the edits of a kustomization's ``images:`` entries, as pure functions over plain data.

Three sources of truth are mirrored here, each as closely as Python allows:

- the reference grammar of ``github.com/distribution/reference`` (``regexp.go``; ``normalize.go`` for how a
  familiar name such as ``mastodon/mastodon`` belongs to ``docker.io``), with the digest rules of
  ``github.com/opencontainers/go-digest`` (known algorithm, lower-case hex of the algorithm's exact length);
- kustomize's image transformer (``api/image/image.go`` ``IsImageMatched`` and ``Split``,
  ``api/filters/imagetag/updater.go``): which ``images[].name`` applies to a container image, and what the
  container's image becomes;
- the four fields of an ``images:`` entry: ``name``, ``newName``, ``newTag``, ``digest``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from gitops_gen.errors import InputError

MASTODON_IMAGE = "ghcr.io/mastodon/mastodon"
MASTODON_STREAMING_IMAGE = "ghcr.io/mastodon/mastodon-streaming"
# The images one Mastodon release is made of: they move to the same version together unless --image says otherwise.
MASTODON_FAMILY: tuple[str, ...] = (MASTODON_IMAGE, MASTODON_STREAMING_IMAGE)
FAMILY_LABEL = "mastodon"


class ImageReferenceError(InputError):
    """An image name, tag, digest or reference breaks the OCI distribution grammar."""


# --- distribution/reference regexp.go, production by production (same names, same order) -------------------


def _optional(*parts: str) -> str:
    return "(?:" + "".join(parts) + ")?"


def _any_times(*parts: str) -> str:
    return "(?:" + "".join(parts) + ")*"


def _capture(*parts: str) -> str:
    return "(" + "".join(parts) + ")"


def _anchored(*parts: str) -> str:
    # Go's `$` (without the m flag) is the end of the text; Python's `$` also matches before a final newline.
    return "^" + "".join(parts) + r"\Z"


_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_LOCALHOST = "localhost"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_OPTIONAL_PORT = r"(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"  # [[:xdigit:]] in RE2
_IDENTIFIER = r"([a-f0-9]{64})"
_IPV6_ADDRESS = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = _DOMAIN_NAME_COMPONENT + r"(?:\." + _DOMAIN_NAME_COMPONENT + ")*"
_HOST = "(?:" + _DOMAIN_NAME + "|" + _IPV6_ADDRESS + ")"
_DOMAIN_AND_PORT = _HOST + _OPTIONAL_PORT
_PATH_COMPONENT = _ALPHANUMERIC + _any_times(_SEPARATOR + _ALPHANUMERIC)
_REMOTE_NAME = _PATH_COMPONENT + _any_times("/" + _PATH_COMPONENT)
_NAME = _optional(_DOMAIN_AND_PORT + "/") + _REMOTE_NAME
_REFERENCE = _anchored(_capture(_NAME), _optional(":", _capture(_TAG)), _optional("@", _capture(_DIGEST)))

# RE2's \w is ASCII only; so is Python's with re.ASCII.
_ANCHORED_TAG = re.compile(_anchored(_TAG), re.ASCII)
_ANCHORED_DIGEST = re.compile(_anchored(_DIGEST), re.ASCII)
_ANCHORED_NAME = re.compile(_anchored(_NAME), re.ASCII)
_ANCHORED_IDENTIFIER = re.compile(_anchored(_IDENTIFIER), re.ASCII)
_REFERENCE_RE = re.compile(_REFERENCE, re.ASCII)

REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255
_DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_REPO_PREFIX = "library/"

# go-digest: the algorithms it can verify, and the length of their lower-case hex encoding.
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


def validate_tag(tag: str) -> str:
    """Return ``tag`` if the distribution grammar accepts it, else raise ``ImageReferenceError``.

    >>> validate_tag("v4.3.1")
    'v4.3.1'
    """
    if not _ANCHORED_TAG.match(tag):
        raise ImageReferenceError(
            f"tag {tag!r} is not a valid image tag: it must be 1 to 128 of A-Z a-z 0-9 _ . - and not start with . or -"
        )
    return tag


def validate_digest(digest: str) -> str:
    """Return ``digest`` if it is well formed (distribution) and verifiable (go-digest), else raise.

    >>> validate_digest("sha256:" + "0" * 64) == "sha256:" + "0" * 64
    True
    """
    if not _ANCHORED_DIGEST.match(digest):
        raise ImageReferenceError(f"digest {digest!r} is not a valid digest: write it as sha256:<64 hex digits>")
    algorithm, _, encoded = digest.partition(":")
    expected = _DIGEST_HEX_LENGTH.get(algorithm)
    if expected is None:
        raise ImageReferenceError(f"digest {digest!r} uses algorithm {algorithm!r}: use sha256, sha384 or sha512")
    if len(encoded) != expected:
        raise ImageReferenceError(
            f"digest {digest!r} has {len(encoded)} hex digits; {algorithm} needs exactly {expected}"
        )
    if encoded != encoded.lower():
        raise ImageReferenceError(f"digest {digest!r} has upper-case hex digits; write them in lower case")
    return digest


def validate_name(name: str) -> str:
    """Return ``name`` (an image name without tag or digest) if the grammar accepts it, else raise."""
    if not _ANCHORED_NAME.match(name):
        hint = " (repository names are lower case)" if _ANCHORED_NAME.match(name.lower()) else ""
        raise ImageReferenceError(f"image name {name!r} is not a valid repository name{hint}")
    if len(split_domain(name)[1]) > REPOSITORY_NAME_TOTAL_LENGTH_MAX:
        raise ImageReferenceError(f"image name {name!r} is longer than {REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters")
    return name


@dataclass(frozen=True)
class ImageReference:
    """A parsed reference ``name[:tag][@digest]``; ``name`` is kept exactly as written."""

    name: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse_reference(text: str) -> ImageReference:
    """Parse a full image reference as distribution's ``reference.Parse`` does, digest rules included.

    >>> parse_reference("ghcr.io/mastodon/mastodon:v4.3.1")
    ImageReference(name='ghcr.io/mastodon/mastodon', tag='v4.3.1', digest=None)
    """
    if not text:
        raise ImageReferenceError("image reference is empty: write it as NAME[:TAG][@DIGEST]")
    if _ANCHORED_IDENTIFIER.match(text):
        raise ImageReferenceError(f"image reference {text!r} is a bare digest: write it as NAME@sha256:{text}")
    match = _REFERENCE_RE.match(text)
    if match is None:
        if text.lower() != text and _REFERENCE_RE.match(text.lower()):
            raise ImageReferenceError(f"image reference {text!r}: repository names must be lower case")
        raise ImageReferenceError(f"image reference {text!r} is not NAME[:TAG][@DIGEST] (OCI distribution grammar)")
    name, tag, digest = match.group(1), match.group(2), match.group(3)
    validate_name(name)
    if digest is not None:
        validate_digest(digest)
    return ImageReference(name=name, tag=tag, digest=digest)


def split_domain(name: str) -> tuple[str, str]:
    """Split a name into (domain, path) the way distribution's ``splitDomain`` does; domain may be ``''``.

    Note that this is the grammar's split, not Docker's: ``mastodon/mastodon`` has domain ``mastodon``. Use
    ``canonical_repository`` to learn which registry an image is really pulled from.
    """
    match = re.match(_anchored(_optional(_capture(_DOMAIN_AND_PORT), "/"), _capture(_REMOTE_NAME)), name, re.ASCII)
    if match is None:
        return "", name
    return match.group(1) or "", match.group(2)


def canonical_repository(name: str) -> tuple[str, str]:
    """The (registry, path) a container runtime pulls ``name`` from (distribution's ``splitDockerDomain``).

    >>> canonical_repository("mastodon/mastodon")
    ('docker.io', 'mastodon/mastodon')
    >>> canonical_repository("ghcr.io/mastodon/mastodon")
    ('ghcr.io', 'mastodon/mastodon')
    """
    first, slash, rest = name.partition("/")
    if not slash:
        return _DEFAULT_DOMAIN, _OFFICIAL_REPO_PREFIX + name
    if first == _LOCALHOST or any(c in first for c in ".:") or first.lower() != first:
        domain, remote = first, rest
    else:
        domain, remote = _DEFAULT_DOMAIN, name
    if domain == _LEGACY_DEFAULT_DOMAIN:
        domain = _DEFAULT_DOMAIN
    if domain == _DEFAULT_DOMAIN and "/" not in remote:
        remote = _OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def short_name(name: str) -> str:
    """The last path component of an image name: ``ghcr.io/mastodon/mastodon-streaming`` -> ``mastodon-streaming``."""
    return name.rsplit("/", 1)[-1]


# --- kustomize's image transformer -----------------------------------------------------------------------------


def kustomize_split(image: str) -> tuple[str, str, str]:
    """Split a container image into (name, tag, digest) exactly as kustomize's ``image.Split`` does."""
    slash = image.find("/")
    if slash > 0:
        search = image[slash:]
    else:
        search, slash = image, 0
    at = search.find("@")
    colon = search.find(":")
    if colon < 0 and at < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        at += slash
        return image[:at], "", image[at + 1 :]
    if at >= 0 and colon >= 0:
        at += slash
        colon += slash
        return image[:colon], image[colon + 1 : at], image[at + 1 :]
    colon += slash
    return image[:colon], image[colon + 1 :], ""


def kustomize_matches(image: str, entry_name: str) -> bool:
    """True when the ``images:`` entry named ``entry_name`` applies to a container running ``image``.

    kustomize's ``IsImageMatched`` pastes the entry name into a regular expression unescaped, so a ``.`` in it
    matches any character; that is mirrored here on purpose. A name that does not compile matches nothing
    (kustomize would crash on it).
    """
    try:
        pattern = re.compile("^" + entry_name + r"(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?\Z")
    except re.error:
        return False
    return pattern.search(image) is not None


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


def image_label(changes: Sequence[EntryChange]) -> str:
    """``mastodon`` when the changes move the whole Mastodon family, else the short names of the changed images."""
    names = list(dict.fromkeys(change.entry.name for change in changes))
    if set(names) == set(MASTODON_FAMILY):
        return FAMILY_LABEL
    return ", ".join(dict.fromkeys(short_name(name) for name in names))


def render_message(template: str, values: Mapping[str, str]) -> str:
    """Fill a ``--message`` template; an unknown ``{field}`` is an ``InputError`` that lists the known ones."""
    known = ", ".join("{" + key + "}" for key in values)
    try:
        return template.format_map(dict(values))
    except KeyError as error:
        raise InputError(f"--message: unknown field {{{error.args[0]}}}; use {known}") from error
    except (ValueError, IndexError) as error:
        raise InputError(f"--message: {error}; use {known} and double {{{{ }}}} for literal braces") from error


def commit_message(template: str, changes: Sequence[EntryChange], extra: Mapping[str, str] | None = None) -> str:
    """The commit message: ``template`` filled in for all ``changes``, and one line per change below it when
    there is more than one."""
    values = {
        "overlay": ", ".join(dict.fromkeys(change.overlay for change in changes)),
        "image": image_label(changes),
        "old": ", ".join(dict.fromkeys(change.old_version for change in changes)),
        "new": ", ".join(dict.fromkeys(change.new_version for change in changes)),
        **(extra or {}),
    }
    subject = render_message(template, values)
    if len(changes) < 2:
        return subject
    body = [f"- {c.overlay}: {c.entry.name} {c.old_version} -> {c.new_version}" for c in changes]
    return subject + "\n\n" + "\n".join(body)
