"""The warning about a kustomize known to be slow on large trees: real kustomize binaries, a real large tree,
the command a user types (``gitops-gen drift``, each run its own process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitops_gen import kustomize_speed
from tests.conftest import KUBE_TESTENV, Cluster, _cluster_unavailable
from tests.init_trees import InitTree, commit_file, init_tree

SLOW = "5.0.1"  # scripts/kube-testenv's SLOW_KUSTOMIZE_VERSION: the kustomize of kubectl 1.27 to 1.30


def _built_kustomize(*version: str) -> Path:
    done = subprocess.run([str(KUBE_TESTENV), "kustomize", *version], capture_output=True, text=True)
    if done.returncode != 0:
        _cluster_unavailable(f"kube-testenv kustomize {' '.join(version)} failed: {done.stderr.strip()[-500:]}")
    return Path(done.stdout.strip().splitlines()[-1]) / "kustomize"


SPEC = """\
drift: {ci: none}
overlays:
  one: {namespace: speed-test-one}
  two: {namespace: speed-test-two}
"""


@pytest.fixture(scope="module")
def large_tree(tmp_path_factory: pytest.TempPathFactory) -> InitTree:
    """init's tree, each overlay grown by LARGE_TREE ConfigMaps of the user's own (a warning per run, not per
    overlay), added as README says users add resources: a file beside the overlay, named in its resources."""
    for role in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{role}_NAME", "gitops-gen tests")
        os.environ.setdefault(f"GIT_{role}_EMAIL", "tests@gitops-gen.invalid")
    tree = init_tree(tmp_path_factory.mktemp("large") / "repo", SPEC)
    documents = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"config-{index:04d}"},
                  "data": {"INDEX": str(index)}}
                 for index in range(kustomize_speed.LARGE_TREE)]
    for env in ("one", "two"):
        kustomization = tree.overlay_dir(env) / "kustomization.yaml"
        text = kustomization.read_text(encoding="utf-8")
        assert "\nresources:\n- ../../base\n" in text, text
        commit_file(tree, f"overlays/{env}/configs.yaml", yaml.safe_dump_all(documents), f"{env}: many ConfigMaps")
        commit_file(tree, f"overlays/{env}/kustomization.yaml",
                    text.replace("\nresources:\n", "\nresources:\n- configs.yaml\n"), f"{env}: their file")
    return tree


def _drift(tree: InitTree, cluster: Cluster, kustomize: Path,
           cache: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GITOPS_GEN_KUSTOMIZE=f"{kustomize} build", XDG_CACHE_HOME=str(cache))
    return subprocess.run([sys.executable, "-m", "gitops_gen", "drift", "--repo", str(tree.root), "--kubeconfig",
                           str(cluster.kubeconfig), "--context", "admin", "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.cluster
def test_a_large_render_with_a_slow_kustomize_warns_once(large_tree: InitTree, cluster: Cluster,
                                                          tmp_path: Path) -> None:
    slow = _built_kustomize(SLOW)
    done = _drift(large_tree, cluster, slow, tmp_path / "cache")
    assert done.returncode == 1, done.stderr  # every object is missing: drift, not an error
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, done.stderr
    assert f"kustomize v{SLOW}" in warnings[0] and "5.4 or later" in warnings[0]


@pytest.mark.cluster
def test_the_newest_kustomize_renders_the_same_tree_without_a_warning(large_tree: InitTree,
                                                                      cluster: Cluster, tmp_path: Path) -> None:
    newest = _built_kustomize()
    done = _drift(large_tree, cluster, newest, tmp_path / "cache")
    assert done.returncode == 1, done.stderr
    assert "warning" not in done.stderr, done.stderr


@pytest.mark.parametrize(("reported", "slow"), [
    ("v5.0.1", True), ("kustomize/v5.0.1", True), ("v5.0.4-0.20230601165947-6ce0bf390ce3", True),
    ("v5.3.0", True), ("v5.4.2", False), ("v5.8.1", False), ("v5.10.0", False), ("(devel)", False),
    ("v4.5.7", False),
])
def test_versions_are_compared_as_versions(reported: str, slow: bool) -> None:
    assert kustomize_speed.is_slow(reported) is slow
