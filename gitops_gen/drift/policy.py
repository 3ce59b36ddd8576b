"""Who may write what: the tracking labels that find gitops-gen's objects, the field managers of sync engines
and of Kubernetes itself, and the policy a comparison runs under."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitops_gen.drift.ignore_rules import IgnoreRule
from gitops_gen.objects import KubeObject

MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"
TRACKING_LABELS = (MANAGED_BY, INSTANCE)

# Field managers that apply git's state: Argo CD, Flux, kubectl (server-side and client-side apply), gitops-gen.
DEFAULT_SYNC_MANAGERS = frozenset({
    "argocd-controller", "kustomize-controller", "kubectl", "kubectl-client-side-apply", "gitops-gen",
})
# Kubernetes' own components: what they write (status, bookkeeping, allocations) is never drift.
DEFAULT_CONTROLLER_MANAGERS = frozenset({
    "kube-controller-manager", "kube-scheduler", "kubelet", "kube-apiserver", "cloud-controller-manager",
})


@dataclass(frozen=True)
class Policy:
    """Who is allowed to write what, and which differences to ignore."""

    sync_managers: frozenset[str] = DEFAULT_SYNC_MANAGERS
    controller_managers: frozenset[str] = DEFAULT_CONTROLLER_MANAGERS
    ignore: tuple[IgnoreRule, ...] = ()
    # Secrets are compared by their metadata unless asked: the values need read access to Secret data, and a
    # value git holds encrypted (sops) or not at all (an ExternalSecret's target) never equals the live one.
    secret_values: bool = False


def tracking_selector(objects: Iterable[KubeObject]) -> str:
    """The label selector that every desired object matches: the tracking labels they all share.

    >>> tracking_selector([{"metadata": {"labels": {MANAGED_BY: "gitops-gen", INSTANCE: "m-prod"}}}])
    'app.kubernetes.io/managed-by=gitops-gen,app.kubernetes.io/instance=m-prod'
    """
    common: dict[str, str] | None = None
    for obj in objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        mine = {name: str(labels[name]) for name in TRACKING_LABELS if name in labels}
        common = mine if common is None else {k: v for k, v in common.items() if mine.get(k) == v}
    return ",".join(f"{name}={common[name]}" for name in TRACKING_LABELS if common and name in common)


def sync_managers(extra: Iterable[str] = (), *, replace_defaults: bool = False) -> frozenset[str]:
    """The sync engine's field managers: the defaults plus ``extra`` (or only ``extra``)."""
    names = frozenset(name for name in extra if name)
    return names if replace_defaults and names else DEFAULT_SYNC_MANAGERS | names
