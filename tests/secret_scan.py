"""Find what looks like a secret in generated files: Secrets with values, PEM blocks, high-entropy strings.

Kept apart from the tests so that the test of `init`'s whole tree can use the same scanner.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*-----")
# Runs of the characters keys are written in (hex, alphanumeric, base64url, base64 less "/", which mostly
# separates path segments in these files). "=" only as base64 padding at the end, so that a configMapGenerator
# literal KEY=value is two words, not one token.
_TOKEN = re.compile(r"[A-Za-z0-9+_-]{20,}={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")
# Word-like runs: lowercase or uppercase words, Capitalised words. Names and paths are mostly made of them.
_WORD = re.compile(r"[a-z]{4,}|[A-Z]{4,}|[A-Z][a-z]{3,}")


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` (its own character frequencies)."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def word_coverage(text: str) -> float:
    """The share of ``text`` covered by word-like runs of letters."""
    return sum(len(word) for word in _WORD.findall(text)) / len(text)


def looks_random(token: str) -> bool:
    """Hex of 32+ digits, or a string of high entropy that is not made of words.

    Calibrated on this project's generators and files: of 100,000 fresh 32-character alphanumeric keys (the
    weakest case) about 13 are missed; none of the names, labels and paths of the generated files is flagged.
    """
    if _HEX.fullmatch(token):
        return True
    entropy = shannon_entropy(token)
    return entropy >= 4.4 or (entropy >= 3.8 and word_coverage(token) <= 0.75)


def secret_like_strings(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """Every substring of ``text`` that looks like key material, except the ``allowed`` (public) ones."""
    allow = set(allowed)
    findings = ["PEM block"] if _PEM.search(text) else []
    findings += [token for token in _TOKEN.findall(text) if token not in allow and looks_random(token)]
    return findings


def secrets_with_values(objects: Iterable[dict[str, Any]]) -> list[str]:
    """The Secrets among ``objects`` that carry ``data`` or ``stringData`` values."""
    return [
        f"Secret {obj.get('metadata', {}).get('name')}"
        for obj in objects
        if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData"))
    ]
