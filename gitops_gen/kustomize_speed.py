"""Whether the kustomize that renders is one known to be slow on large trees, and the one warning that says so.

Every kustomize v5 release checks each resource it adds against all those already added (``resWrangler.Append``),
so rendering time grows with the square of the number of objects in every version. The releases before v5.4
(kustomize v5.0.x, which kubectl 1.27 to 1.30 carry) take about twice the CPU time of v5.4 to v5.8 on the same
tree: at a few thousand objects that is minutes more per render. docs/drift.md has the measurements.

Versions are compared by ``packaging``, never by a regular expression of our own.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

# A render of this many objects or more is "large": there the releases below FAST_SINCE cost seconds more per
# render (1,000 objects: v5.0.1 about 6 s of CPU, v5.4.2 to v5.8.2 about 4.5 s), growing with the square.
LARGE_TREE = 1000
FAST_SINCE = Version("5.4.0")
ADVICE = ("install a current kustomize v5 (5.4 or later; `go install sigs.k8s.io/kustomize/kustomize/v5@latest`) "
          "and put it first on PATH, or use kubectl 1.31 or later")

_warned = False


def parse_version(text: str) -> Version | None:
    """The release a kustomize version string names: ``v5.8.2``, ``kustomize/v5.0.1`` (kustomize's own release
    builds), ``v5.0.4-0.20230601165947-6ce0bf390ce3`` (a pseudo-version, as kubectl 1.28 to 1.30 report it);
    None for ``(devel)`` or anything else that names no release."""
    text = text.strip().rpartition("/")[2]
    for candidate in (text, text.partition("-")[0]):
        try:
            return Version(candidate)
        except InvalidVersion:
            continue
    return None


@functools.cache
def renderer_version(command: tuple[str, ...]) -> str | None:
    """The version of the kustomize that ``command`` (``kustomize build`` or ``kubectl kustomize``) runs, as the
    binary reports it; None when it cannot say."""
    kubectl = Path(command[0]).name.startswith("kubectl")
    query = [command[0], "version", "--client", "-o", "json"] if kubectl else [command[0], "version"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    if kubectl:
        try:
            reported = json.loads(done.stdout).get("kustomizeVersion")
        except ValueError:
            return None
        return reported if isinstance(reported, str) else None
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


def is_slow(version: str) -> bool:
    """Whether ``version`` is a kustomize v5 release known to be slow on large trees (an unknown one is not)."""
    parsed = parse_version(version)
    return parsed is not None and parsed.major == 5 and parsed < FAST_SINCE


def slow_warning(command: list[str], objects: int) -> str | None:
    """The warning for a render of ``objects`` objects by ``command``, or None when there is nothing to say."""
    if objects < LARGE_TREE:
        return None
    version = renderer_version(tuple(command))
    if version is None or not is_slow(version):
        return None
    return (f"kustomize {version} ({' '.join(command)}) is slow on large trees ({objects} objects here; its time "
            f"grows with the square of that number): {ADVICE}")


def warn_if_slow(command: list[str], objects: int) -> None:
    """Print the warning on stderr, once per process."""
    global _warned
    if _warned:
        return
    message = slow_warning(command, objects)
    if message is not None:
        _warned = True
        print(f"gitops-gen: warning: {message}", file=sys.stderr)
