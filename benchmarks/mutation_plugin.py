"""pytest plugin for benchmarks/mutation.py: leave out every test that needs the control plane.

``-m "not cluster"`` does that for the marked tests; this also leaves out a test that asks for the cluster
fixtures without the marker, so that a mutation run never starts (or waits for) a control plane.
"""

from __future__ import annotations

import pytest

CLUSTER_FIXTURES = frozenset({"cluster", "namespace", "flux", "sync_engine_crds"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_cluster = [item for item in items if CLUSTER_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if needs_cluster:
        config.hook.pytest_deselected(items=needs_cluster)
        items[:] = [item for item in items if item not in needs_cluster]
