"""Renders Kustomize trees with the real kustomize and loads what it prints."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from gitops_gen.errors import KustomizeError

# libyaml's loader is several times faster on large renders; PyYAML may be built without it.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KubeObject = dict[str, Any]


def kustomize_command() -> list[str]:
    """The command that renders a directory: ``$GITOPS_GEN_KUSTOMIZE``, ``kustomize build`` or ``kubectl kustomize``."""
    override = os.environ.get("GITOPS_GEN_KUSTOMIZE")
    if override:
        return override.split()
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise KustomizeError("neither kustomize nor kubectl is on PATH: install kustomize v5 or kubectl >= 1.27")


def render_text(directory: Path) -> str:
    """Run kustomize on ``directory`` and return the YAML it prints."""
    command = [*kustomize_command(), str(directory)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise KustomizeError(f"cannot run {command[0]}: {error.strerror}") from error
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise KustomizeError(f"kustomize failed on {directory}: {redact_secret_literals(reason, directory)}")
    return done.stdout


# Shorter values would blank out ordinary words of the message; a real secret is longer than this.
_MIN_REDACTED = 3


def redact_secret_literals(message: str, directory: Path) -> str:
    """``message`` with every secretGenerator value of the tree at ``directory`` replaced by ``<redacted>``.

    kustomize quotes a generator's literals in its errors (``literal sources [DB_PASS=...]``); its message must
    not carry them into a CI log. The kustomizations reachable through local ``resources`` and ``components``
    are read, and so are the ``envs`` files of their secretGenerators.
    """
    values = sorted(_secret_values(directory), key=len, reverse=True)
    for value in values:
        message = message.replace(value, "<redacted>")
    return message


def _secret_values(directory: Path, seen: set[Path] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    directory = directory.resolve()
    if directory in seen or len(seen) > 200:
        return set()
    seen.add(directory)
    document = next((_load_quietly(directory / name) for name in ("kustomization.yaml", "kustomization.yml",
                                                                  "Kustomization") if (directory / name).is_file()),
                    None)
    if not isinstance(document, dict):
        return set()
    found: set[str] = set()
    for generator in document.get("secretGenerator") or []:
        if not isinstance(generator, dict):
            continue
        lines = [str(item) for item in generator.get("literals") or []]
        for env_file in generator.get("envs") or []:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                lines += (directory / str(env_file)).read_text(encoding="utf-8").splitlines()
        for line in lines:
            value = line.partition("=")[2] if "=" in line else line  # a malformed literal is all value
            if len(value.strip()) >= _MIN_REDACTED:
                found.add(value.strip())
    for entry in [*(document.get("resources") or []), *(document.get("components") or [])]:
        if isinstance(entry, str) and (directory / entry).is_dir():
            found |= _secret_values(directory / entry, seen)
    return found


def _load_quietly(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def load_objects(text: str, source: str) -> list[KubeObject]:
    """Parse a multi-document YAML stream into objects; skip empty documents, flatten ``*List`` kinds."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as error:
        raise KustomizeError(f"{source}: output is not valid YAML: {error}") from error
    objects: list[KubeObject] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict) or "apiVersion" not in document or "kind" not in document:
            raise KustomizeError(f"{source}: a document has no apiVersion or kind")
        if document["kind"].endswith("List") and isinstance(document.get("items"), list):
            objects.extend(document["items"])
        else:
            objects.append(document)
    return objects


def render(directory: Path) -> list[KubeObject]:
    """Render ``directory`` with kustomize and return its objects; warn (once) if that kustomize is slow for a tree
    of this size."""
    # Imported here: a drift run whose renders are all cached never loads packaging's version parser.
    from gitops_gen import kustomize_speed

    objects = load_objects(render_text(directory), str(directory))
    kustomize_speed.warn_if_slow(kustomize_command(), len(objects))
    return objects


def fingerprint() -> str:
    """What identifies the kustomize that renders: its command, and the size and time of its binary."""
    command = kustomize_command()
    binary = shutil.which(command[0])
    if binary is None:
        return " ".join(command)
    stat = Path(binary).stat()
    return f"{' '.join(command)}|{binary}|{stat.st_size}|{stat.st_mtime_ns}"
