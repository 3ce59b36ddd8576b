"""The tree ``gitops-gen init`` writes for a spec, built in-process for the fast core tests of the manifests.

``written_tree`` runs what ``init`` runs between reading the spec and committing — the spec loader
(``parse_spec``), the planner and its atomic writes (``generate.tree``) — into a directory, without git; the
overlays are then rendered by the real kustomize, as Argo CD or Flux would. So a core test asserts on the files
``init`` commits (test_init.py checks that they are the same), in a few tenths of a second per spec and overlay:
fast enough to run for each mutant of ``generate/manifests`` (benchmarks/mutation.py --tests 'tests/test_core_*.py').
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from gitops_gen.generate import tree
from gitops_gen.spec.load import parse_spec
from tests.helpers import kustomize_build

REPO_URL = "https://git.example.org/ops/mastodon.git"


def tree_scope(fixture_name: str, config: pytest.Config) -> Literal["function", "module"]:
    """The scope of a fixture that builds a tree: ``@pytest.fixture(scope=tree_scope)``.

    mutmut credits a function to the tests during which it ran: a tree built once per module would be credited to
    the first test alone, and a mutant would then skip the tests that read it. So while mutmut maps the tests
    ("stats"), each test builds its own tree; otherwise one per module, to keep a mutant's run short."""
    return "function" if os.environ.get("MUTANT_UNDER_TEST") == "stats" else "module"


@dataclass
class WrittenTree:
    root: Path
    _rendered: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def text(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def documents(self, relative: str) -> list[Any]:
        """The YAML documents of one written file (a kustomization, a patch, a CI workflow)."""
        return [doc for doc in yaml.safe_load_all(self.text(relative)) if doc is not None]

    def paths(self) -> set[str]:
        return {path.relative_to(self.root).as_posix() for path in self.root.rglob("*") if path.is_file()}

    def rendered(self, directory: str) -> list[dict[str, Any]]:
        """``directory`` (an overlay, a clusters/ directory) rendered by the real kustomize; once per tree."""
        if directory not in self._rendered:
            self._rendered[directory] = kustomize_build(self.root / directory)
        return self._rendered[directory]

    def object(self, directory: str, kind: str, name: str) -> dict[str, Any]:
        """One rendered object of ``directory``; fails naming what is there when it is missing."""
        found = [o for o in self.rendered(directory) if o["kind"] == kind and o["metadata"]["name"] == name]
        there = sorted((o["kind"], o["metadata"]["name"]) for o in self.rendered(directory))
        assert found, f"no {kind}/{name} in {directory}: {there}"
        return found[0]

    def kinds(self, directory: str, kind: str) -> dict[str, dict[str, Any]]:
        """The rendered objects of one kind in ``directory``, by name."""
        return {o["metadata"]["name"]: o for o in self.rendered(directory) if o["kind"] == kind}


def written_tree(spec: str, root: Path, *, repo_url: str | None = REPO_URL, tree_dir: str = "") -> WrittenTree:
    """Write the tree ``init`` writes for ``spec`` (YAML text) into ``root``; ``repo_url`` plays the origin remote."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(spec)
    parsed = parse_spec(spec)
    tree.plan(parsed, root, repo_url=repo_url, tree=tree_dir).apply()
    return WrittenTree(root)
