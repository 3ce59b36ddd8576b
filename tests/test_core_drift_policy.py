"""Whose writes count as the sync engine's (``--sync-manager`` and ``drift.syncManagers``), and what drift drops
from a live object before it compares. Each case was a surviving or untested mutant of benchmarks/mutation.py."""

from __future__ import annotations

from gitops_gen.drift.compare import trim_live
from gitops_gen.drift.policy import DEFAULT_SYNC_MANAGERS, sync_managers


def test_extra_sync_managers_add_to_the_defaults_unless_they_replace_them() -> None:
    assert sync_managers() == DEFAULT_SYNC_MANAGERS
    assert sync_managers(["helm", ""]) == DEFAULT_SYNC_MANAGERS | {"helm"}
    assert sync_managers(["helm", ""], replace_defaults=True) == frozenset({"helm"})
    # Replacing with nothing keeps the defaults: an empty list must not make every writer a person.
    assert sync_managers([""], replace_defaults=True) == DEFAULT_SYNC_MANAGERS


def test_status_is_dropped_from_a_live_object_and_nothing_else() -> None:
    live = {"kind": "Deployment", "spec": {"replicas": 1}, "status": {"replicas": 1}}
    assert trim_live(live) == {"kind": "Deployment", "spec": {"replicas": 1}}
    assert trim_live({"kind": "ConfigMap"}) == {"kind": "ConfigMap"}
