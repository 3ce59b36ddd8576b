"""Image references: the OCI grammar, and how kustomize matches an ``images:`` name to a container image.

Three sources of truth are mirrored here and in ``images.entries``, each as closely as Python allows:

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
