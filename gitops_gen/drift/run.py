"""``gitops-gen drift`` end to end: render git's committed tree, read the cluster, compare.

The desired state is always the tree *committed* at the ref, exported from git into a temporary directory:
the work tree (and whatever is uncommitted in it) never plays a part.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from gitops_gen import git, kustomize
from gitops_gen.drift import render_cache
from gitops_gen.drift.compare import evaluate, trim_live
from gitops_gen.drift.config import DriftSettings, read_drift_settings
from gitops_gen.drift.ignore_rules import parse_ignore
from gitops_gen.drift.policy import Policy, sync_managers, tracking_selector
from gitops_gen.drift.render_cache import uses_remote_resources
from gitops_gen.drift.result import DriftResult
from gitops_gen.errors import ClusterConfigError, ClusterNotServedError, InputError, KustomizeError
from gitops_gen.objects import KubeObject, object_key

if TYPE_CHECKING:
    from gitops_gen.kube.cluster import Cluster

SPEC_FILE = "gitops-gen.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Kinds read as metadata only unless --secret-values: their data never leaves the API server.
METADATA_ONLY_KINDS = frozenset({("", "Secret")})
# The field manager of the server-mode dry run; nothing is written, so it only shows in the dry-run result.
DRY_RUN_MANAGER = "gitops-gen"
# Kinds of add-ons that gitops-gen writes only when the spec asks for them. A cluster without their CRD cannot
# hold the tree (Argo CD and Flux fail the whole sync on them), which stays an error (exit 2), never "missing":
# the message then names the spec field that brought the kind, besides the CRD to install.
ADD_ON_KINDS = {
    "ServiceMonitor": "metrics.serviceMonitor.enabled (install the Prometheus Operator's CRDs, or turn it off)",
    "HTTPRoute": "expose.type Gateway (install the Gateway API CRDs, or choose another expose.type)",
    "ExternalSecret": "secrets.provider external-secrets (install the External Secrets Operator)",
}


class Mode(StrEnum):
    """How the cluster is compared with git."""

    READ_ONLY = "read-only"
    SERVER = "server"


@dataclass(frozen=True)
class DriftOptions:
    """Everything the command line says."""

    repo: Path
    ref: str = "HEAD"
    overlays: tuple[str, ...] = ()
    kubeconfig: Path | None = None
    context: str | None = None  # every overlay in this context, whatever the spec says
    current_context: bool = False  # every overlay in the kubeconfig's current context (or in-cluster)
    mode: Mode = Mode.READ_ONLY
    concurrency: int = 8
    ignore: tuple[str, ...] = ()
    timeout: float = 10.0
    sync_managers: tuple[str, ...] = ()
    secret_values: bool = False


@dataclass(frozen=True)
class DesiredState:
    """The rendered overlays of one commit, and the spec's drift settings at that commit."""

    commit: str
    overlays: dict[str, list[KubeObject]]
    settings: DriftSettings = field(default_factory=DriftSettings)


@dataclass(frozen=True)
class DriftRun:
    """The results, and how many API requests they took."""

    results: list[DriftResult]
    api_requests: int


def _overlay_names(root: Path) -> list[str]:
    overlays = root / "overlays"
    if not overlays.is_dir():
        return []
    return sorted(
        entry.name for entry in overlays.iterdir()
        if entry.is_dir() and any((entry / name).is_file() for name in KUSTOMIZATION_FILES)
    )


def render_cache_key(directory: Path, commit: str, overlay: str) -> str:
    """The render cache's key for an overlay at a commit: the commit's tree, where the GitOps tree sits in the
    repository, the overlay, and the kustomize that renders it."""
    relative = directory.resolve().relative_to(git.top_level(directory).resolve())
    return render_cache.key(git.tree_id(directory, commit), str(relative), overlay, kustomize.fingerprint())


def render_desired(directory: Path, ref: str, overlays: Sequence[str]) -> DesiredState:
    """Export the tree committed at ``ref`` and render the chosen overlays (all of them when none is named)."""
    top = git.top_level(directory)
    relative = directory.resolve().relative_to(top.resolve())
    with tempfile.TemporaryDirectory(prefix="gitops-gen-drift-") as temporary:
        commit = git.export_tree(directory, ref, Path(temporary))
        root = Path(temporary) / relative
        available = _overlay_names(root)
        names = list(dict.fromkeys(overlays)) or available
        if not names:
            raise InputError(f"no overlays under {relative / 'overlays'} at {ref} ({commit[:12]}): run gitops-gen "
                             "init and commit, or pass --repo")
        for name in names:
            if name not in available:
                raise InputError(f"overlay {name!r} does not exist at {ref} ({commit[:12]}); overlays there: "
                                 f"{', '.join(available) or 'none'}")
        cacheable = not uses_remote_resources(Path(temporary))
        rendered: dict[str, list[KubeObject]] = {}
        for name in names:
            cache_key = render_cache_key(directory, commit, name) if cacheable else ""
            cached = render_cache.load(cache_key) if cacheable else None
            if cached is not None:
                rendered[name] = cached
                continue
            try:
                rendered[name] = kustomize.render(root / "overlays" / name)
            except KustomizeError as error:
                message = str(error).replace(str(root), "").replace(temporary, "")
                raise KustomizeError(f"overlay {name} at {ref} ({commit[:12]}): {message}") from error
            if cacheable:
                render_cache.store(cache_key, rendered[name])
        settings = read_drift_settings(root / SPEC_FILE)
    return DesiredState(commit, rendered, settings)


def build_policy(settings: DriftSettings, options: DriftOptions) -> Policy:
    """The spec's rules and the command line's, and the sync engine's field managers."""
    rules = list(settings.ignore)
    for text in options.ignore:
        try:
            rules.append(parse_ignore(text))
        except ValueError as error:
            raise InputError(f"--ignore: {error}") from error
    return Policy(sync_managers=sync_managers((*settings.sync_managers, *options.sync_managers)),
                  ignore=tuple(rules), secret_values=options.secret_values)


@contextlib.contextmanager
def _add_on_hint(overlay: str) -> Iterator[None]:
    """A kind the cluster does not serve: when gitops-gen wrote it for an add-on, name the spec field."""
    try:
        yield
    except ClusterNotServedError as error:
        cause = ADD_ON_KINDS.get(error.kind)
        if cause is None:
            raise
        raise ClusterNotServedError(f"{error}; overlay {overlay} has it from the spec's {cause}",
                                    kind=error.kind) from error



def overlay_contexts(names: Sequence[str], settings: DriftSettings, options: DriftOptions) -> dict[str, str | None]:
    """The kube context each overlay is checked in (None: the kubeconfig's current one, or in-cluster).

    ``--context`` or ``--current-context`` decide for every overlay; otherwise each overlay's
    ``overlays.<env>.context``. An overlay without one is checked in the current context only when it is the
    only overlay checked: one context for several overlays is how production came out "missing" on a staging
    cluster."""
    if options.context is not None or options.current_context:
        return dict.fromkeys(names, options.context)
    contexts = {name: settings.context_of(name) for name in names}
    unplaced = [name for name, context in contexts.items() if context is None]
    if len(names) > 1 and unplaced:
        raise InputError(f"{len(names)} overlays would be checked, and overlay {unplaced[0]} names no kube context: "
                         f"pass --overlay NAME, or set overlays.{unplaced[0]}.context in {SPEC_FILE}")
    return contexts


def _connect(options: DriftOptions, overlay: str, context: str | None) -> Cluster:
    from gitops_gen.kube import connect as kube

    try:
        return kube.connect(options.kubeconfig, context, timeout=options.timeout, pool_size=options.concurrency)
    except ClusterConfigError as error:
        if context is None or context == options.context:
            raise
        # The context came from the spec: say which overlay named it, and the way out.
        raise ClusterConfigError(f"overlay {overlay} (overlays.{overlay}.context {context!r} in {SPEC_FILE}): "
                                 f"{error}") from error


def run(options: DriftOptions) -> DriftRun:
    """Compare every chosen overlay with the cluster, each in its context; errors are raised, never reported as
    drift."""
    if options.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    desired = render_desired(options.repo, options.ref, options.overlays)
    policy = build_policy(desired.settings, options)
    contexts = overlay_contexts(list(desired.overlays), desired.settings, options)
    connections: dict[str | None, Cluster] = {}
    for name, context in contexts.items():  # every context is reachable before anything is compared
        if context not in connections:
            connections[context] = _connect(options, name, context)
    schemas = {context: connection.openapi_schema() for context, connection in connections.items()}
    results: list[DriftResult] = []
    for name, objects in desired.overlays.items():
        connection, schema = connections[contexts[name]], schemas[contexts[name]]
        for obj in objects:
            # A namespaced object without a namespace lands in the context's namespace, as kubectl would do it.
            with _add_on_hint(name):
                resource = connection.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            metadata = obj.setdefault("metadata", {})
            if resource.namespaced and not metadata.get("namespace"):
                metadata["namespace"] = connection.default_namespace
        selector = tracking_selector(objects)
        partial = frozenset() if options.secret_values else METADATA_ONLY_KINDS
        with _add_on_hint(name):
            state = connection.read_live(objects, selector, concurrency=options.concurrency, keep=trim_live,
                                         metadata_only=partial)
        applied = None
        if options.mode is Mode.SERVER:
            existing = [obj for obj in objects if object_key(obj) in state.objects]
            dry_runs = connection.dry_run_all(existing, DRY_RUN_MANAGER, concurrency=options.concurrency)
            applied = {object_key(obj): trim_live(obj) for obj in dry_runs}
        # Without shared tracking labels nothing tells a stranger from an extra object: report none.
        listed = state.listed if selector else set()
        verdicts = evaluate(objects, state.objects, listed, schema, policy, applied)
        results.append(DriftResult(desired.commit, name, options.mode.value, verdicts))
    return DriftRun(results, sum(connection.request_count for connection in connections.values()))
