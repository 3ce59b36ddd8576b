"""pytest plugin for benchmarks/mutation.py: leave out every test that needs the control plane, and every test
outside the files ``--tests`` named.

``-m "not cluster"`` does that for the marked tests; this also leaves out a test that asks for the cluster
fixtures without the marker, so that a mutation run never starts (or waits for) a control plane.
``GITOPS_GEN_MUTATION_TESTS`` (set by ``benchmarks/mutation.py --tests``) holds the glob patterns of the test
files to keep, separated by spaces: the score of a module against the fast tests written for it, without every
mutant of the manifests running every ``init`` test.
"""

from __future__ import annotations

import fnmatch
import os

import pytest

CLUSTER_FIXTURES = frozenset({"cluster", "namespace", "flux", "sync_engine_crds"})
SELECTION = "GITOPS_GEN_MUTATION_TESTS"


def _kept_file(item: pytest.Item, patterns: list[str]) -> bool:
    path = item.nodeid.split("::", 1)[0]
    return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    patterns = os.environ.get(SELECTION, "").split()
    left_out = [item for item in items
                if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ()))
                or (patterns and not _kept_file(item, patterns))]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
