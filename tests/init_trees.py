"""Committed trees made by `gitops-gen init` from a spec, for the tests that compare a cluster with git.

Drift is checked on what `init` writes, never on a tree built by hand or by the product's own functions: a
test of drift then also proves that init's output can be applied, reconciled and found in sync.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import git


@dataclass(frozen=True)
class InitTree:
    """A repository `gitops-gen init` generated and committed."""

    root: Path

    @property
    def commit(self) -> str:
        return git(self.root, "rev-parse", "HEAD").strip()

    def overlay_dir(self, env: str) -> Path:
        return self.root / "overlays" / env


def init_tree(root: Path, spec: str) -> InitTree:
    """Write ``spec`` as ``root/gitops-gen.yaml`` and run `gitops-gen init root`; it must succeed."""
    from gitops_gen.cli import main

    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(spec, encoding="utf-8")
    # What init prints is not what the test looks at: the test's own captured output starts after it.
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["init", str(root)])
    if code != 0:
        raise AssertionError(f"gitops-gen init failed in {root}: {out.getvalue()}{err.getvalue()}")
    return InitTree(root)


def commit_file(tree: InitTree, relative: str, text: str, message: str) -> str:
    """Write one file into the tree (a user's edit) and commit it; return the new commit."""
    path = tree.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    git(tree.root, "add", relative)
    git(tree.root, "commit", "-qm", message)
    return tree.commit


def rendered_text(tree: InitTree, env: str) -> str:
    """The overlay as the real kustomize renders it."""
    return subprocess.run(["kubectl", "kustomize", str(tree.overlay_dir(env))], capture_output=True, text=True,
                          check=True).stdout
