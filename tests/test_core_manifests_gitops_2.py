"""The opt-in in-cluster drift check (``drift.inCluster``) and the scheduled CI drift check (``drift.ci``), pinned on
the tree ``init`` writes (tests/core_trees.py): what the CronJob clones and runs, what its RBAC grants, and what
the GitHub workflow and the GitLab job install, cache and report. Each test killed mutants of
benchmarks/mutation.py that survived before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core_trees import WrittenTree, tree_scope, written_tree

# The drift check of two overlays in a namespace of its own, with a render cache on a claim, following a release
# branch; the GitHub workflow with an install line of its own.
IN_CLUSTER = """\
name: fedi
kubeVersion: "1.29"
mastodon: {localDomain: example.com}
gitops:
  repoURL: https://git.example.org/ops/fedi-deploy.git
  revision: release
drift:
  ci: github
  schedule: "5 4 * * 1"
  install: pipx install gitops-gen==9.9.9
  inCluster: {image: registry.example.org/ops/gitops-gen:0.1.0, namespace: drift, cacheVolume: drift-cache}
overlays:
  staging: {namespace: fedi-staging}
  prod-eu: {namespace: fedi}
"""

# A tree in a monorepo's apps/mastodon on Kubernetes 1.20, its drift job in the overlay's namespace without a
# cache claim, and the GitLab job without issues.
MONOREPO = """\
kubeVersion: "1.20"
mastodon: {localDomain: example.com}
drift:
  ci: gitlab
  issue: false
  install: pip install gitops-gen
  inCluster: {image: registry.example.org/ops/gitops-gen:0.1.0}
overlays:
  production: {}
"""


@pytest.fixture(scope=tree_scope)
def in_cluster(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(IN_CLUSTER, tmp_path_factory.mktemp("in-cluster"))


@pytest.fixture(scope=tree_scope)
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(MONOREPO, tmp_path_factory.mktemp("mono") / "apps" / "mastodon", tree_dir="apps/mastodon")


def drift_objects(tree: WrittenTree, overlay: str) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in tree.documents(f"clusters/{overlay}/drift/drift-check.yaml")}


def pod(tree: WrittenTree, overlay: str) -> dict[str, Any]:
    spec: dict[str, Any] = drift_objects(tree, overlay)["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def test_the_drift_job_clones_only_the_branch_the_engines_follow(in_cluster: WrittenTree,
                                                                  monorepo: WrittenTree) -> None:
    # A shallow clone of the followed branch: drift compares the cluster with what Argo CD or Flux syncs.
    clone = pod(in_cluster, "staging")["initContainers"][0]
    assert clone["args"] == ["clone", "--depth", "1", "--branch", "release",
                             "https://git.example.org/ops/fedi-deploy.git", "/work/repo"]
    assert pod(monorepo, "production")["initContainers"][0]["args"][4] == "main"
