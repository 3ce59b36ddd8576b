"""What the sync objects are made from: the overlay to sync (``SyncTarget``), each engine's options, and which
components go to which Flux stage. Plain frozen data, checked when made; ``sync.py`` builds the objects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from gitops_gen.errors import InputError
from gitops_gen.generate.manifests.stages import (
    CONFIG_COMPONENT,
    POST_MIGRATE_COMPONENT,
    PRE_MIGRATE_COMPONENT,
    PREREQUISITES,
)

KubeObject = dict[str, Any]
Engine = Literal["argocd", "flux"]

IN_CLUSTER = "https://kubernetes.default.svc"
COMPONENT_LABEL = "app.kubernetes.io/component"

# The pattern Flux's CRDs put on interval, timeout and retryInterval.
_FLUX_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Flux server-side applies an object with this annotation set to IfNotPresent only when it does not exist yet.
FLUX_SSA_ANNOTATION = "kustomize.toolkit.fluxcd.io/ssa"


def _check(value: str, pattern: re.Pattern[str], field: str, what: str) -> None:
    if not pattern.match(value):
        raise InputError(f"{field}: {value!r} is not {what}")


@dataclass(frozen=True)
class SyncTarget:
    """One overlay and where it goes.

    Attributes:
        name: the spec name (``app.kubernetes.io/part-of``), e.g. ``mastodon``.
        env: the overlay, e.g. ``production``; its path is ``overlays/<env>``.
        namespace: the namespace the overlay deploys into.
        repo_url: the git URL the engines clone (the only source the AppProject allows).
        revision: the branch the engines follow.
        deployments: the names of the overlay's Deployments, read from its render (Flux health checks).
        tree: the tree's directory relative to the repository root (``apps/mastodon`` in a monorepo; empty at
            the root): the engines clone the whole repository and look up paths from its root.
    """

    name: str
    env: str
    namespace: str
    repo_url: str
    revision: str = "main"
    deployments: tuple[str, ...] = ()
    tree: str = ""

    def __post_init__(self) -> None:
        _check(self.instance, _DNS_LABEL, "name/env", "a DNS label once joined as <name>-<env>")
        _check(self.namespace, _DNS_LABEL, "namespace", "a DNS label")
        if not self.repo_url.strip():
            raise InputError("repo_url: empty; give the URL the sync engine clones the repository from")
        if not self.revision.strip():
            raise InputError("revision: empty; give the branch the sync engine follows")

    @property
    def instance(self) -> str:
        """``<name>-<env>``: the name of every sync object of this overlay."""
        return f"{self.name}-{self.env}"

    @property
    def overlay_path(self) -> str:
        """The overlay's directory, relative to the repository root."""
        return f"{self.tree}/overlays/{self.env}" if self.tree else f"overlays/{self.env}"


@dataclass(frozen=True)
class ArgoCDOptions:
    """Argo CD settings.

    Attributes:
        namespace: where Argo CD runs and keeps its Applications and AppProjects.
        server: the destination cluster's API server, as registered in Argo CD.
        retry_limit, retry_backoff, retry_factor, retry_max_backoff: the sync retry with exponential backoff.
    """

    namespace: str = "argocd"
    server: str = IN_CLUSTER
    retry_limit: int = 5
    retry_backoff: str = "10s"
    retry_factor: int = 2
    retry_max_backoff: str = "5m"

    def __post_init__(self) -> None:
        _check(self.namespace, _DNS_LABEL, "argocd namespace", "a DNS label")
        _check(self.retry_backoff, _FLUX_DURATION, "argocd retry_backoff", "a duration like 10s")
        _check(self.retry_max_backoff, _FLUX_DURATION, "argocd retry_max_backoff", "a duration like 5m")
        if self.retry_limit < 1 or self.retry_factor < 1:
            raise InputError("argocd retry_limit and retry_factor: must be at least 1")


@dataclass(frozen=True)
class FluxOptions:
    """Flux settings.

    Attributes:
        namespace: where Flux runs and keeps its sources and Kustomizations.
        source_interval: how often the GitRepository is fetched.
        interval: how often each Kustomization reconciles (and so corrects drift).
        retry_interval: how soon a failed reconciliation is retried.
        timeout: how long the app stage may take to apply and become healthy.
        migration_timeout: how long a migration stage may take (its Job runs the migrations).
        git_secret: the Secret with the credentials of a private repository, if any.
    """

    namespace: str = "flux-system"
    source_interval: str = "1m"
    interval: str = "10m"
    retry_interval: str = "2m"
    timeout: str = "10m"
    migration_timeout: str = "30m"
    git_secret: str | None = None

    def __post_init__(self) -> None:
        _check(self.namespace, _DNS_LABEL, "flux namespace", "a DNS label")
        for field in ("source_interval", "interval", "retry_interval", "timeout", "migration_timeout"):
            _check(getattr(self, field), _FLUX_DURATION, f"flux {field}", "a duration like 10m or 1h30m")


@dataclass(frozen=True)
class StageComponents:
    """Which ``app.kubernetes.io/component`` values go to which Flux stage (the rest goes to the app stage).

    ``config`` holds what the pre-deploy migration needs (``stages.prerequisites``), applied with it.
    """

    config: tuple[str, ...] = PREREQUISITES
    pre_migrate: tuple[str, ...] = (PRE_MIGRATE_COMPONENT,)
    post_migrate: tuple[str, ...] = (POST_MIGRATE_COMPONENT,)
    # Jobs that need the fully migrated schema (``tootctl search deploy``): a fourth stage after post-migrate,
    # written only when there are some.
    after_migrate: tuple[str, ...] = ()
    # Objects whose generated names others refer to (the ConfigMap's hash suffix): every stage keeps them, so
    # that kustomize rewrites `envFrom: mastodon-env` to `mastodon-env-<hash>` there too — a stage that deleted
    # them would leave the bare name, which no ConfigMap has. Only the config stage applies them; the others
    # create them only if missing (Flux's `ssa: IfNotPresent`), so they never take the object over.
    referenced: tuple[str, ...] = (CONFIG_COMPONENT,)

    def __post_init__(self) -> None:
        staged = [*self.config, *self.pre_migrate, *self.post_migrate, *self.after_migrate]
        if not self.pre_migrate or not self.post_migrate or len(set(staged)) != len(staged):
            raise InputError("stage components: pre_migrate and post_migrate must be non-empty, and the stages' "
                             "components disjoint")


def owner_labels(target: SyncTarget, *, instance: bool = True) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/managed-by": "gitops-gen",
        "app.kubernetes.io/part-of": target.name,
        "app.kubernetes.io/name": target.name,
        COMPONENT_LABEL: "sync",
    }
    if instance:
        labels["app.kubernetes.io/instance"] = target.instance
    return labels


def argocd_labels(target: SyncTarget) -> dict[str, str]:
    # No app.kubernetes.io/instance on Argo CD's own objects: it is Argo CD's tracking label (the default before
    # 3.0), and an Application labelled with its own name would count itself as a resource to prune.
    return owner_labels(target, instance=False)
