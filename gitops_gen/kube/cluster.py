"""One API server: discovery, the OpenAPI document, LIST/GET of the desired objects, dry-run apply.

Everything it returns is plain data (dicts as the API server sent them). Every API failure leaves here as a
``ClusterError`` child, chained with ``from``, with the response body cut short so that no Secret content can
reach a message or a traceback. ``kubernetes`` is imported inside functions: importing it costs about a
second, which commands that never talk to a cluster should not pay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gitops_gen.errors import (
    ClusterAuthError,
    ClusterForbiddenError,
    ClusterNotServedError,
    ClusterRequestError,
    ClusterUnreachableError,
)
from gitops_gen.kube import openapi as schema
from gitops_gen.kube.redact import scrub, short, status_message
from gitops_gen.kube.resources import LiveState, Resource
from gitops_gen.objects import KubeObject, ObjectKey, object_key

PAGE_SIZE = 500
# Asks the server for the metadata of each item only (PartialObjectMetadataList): a Secret's data never
# leaves the API server, whatever the RBAC grant allows.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


def cache_dir() -> Path:
    """Where gitops-gen caches what it learnt from servers (``$XDG_CACHE_HOME/gitops-gen``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gitops-gen"


class Cluster:
    """A connection to one API server (one kubeconfig context, or the in-cluster configuration)."""

    def __init__(self, api_client: Any, *, host: str, context: str, default_namespace: str, timeout: float) -> None:
        self._api = api_client
        self._dynamic: Any = None
        self.host = host
        self.context = context
        self.default_namespace = default_namespace
        self.timeout = timeout
        self._resources: dict[tuple[str, str], Resource] = {}
        self._version: str | None = None

    @property
    def request_count(self) -> int:
        """How many HTTP requests this connection has sent (discovery included)."""
        return int(self._api.request_count)

    # -- errors ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as error:
            scrub(error)
            status = getattr(error, "status", None)
            message = status_message(error)
            if status == 401:
                raise ClusterAuthError(
                    f"the API server at {self.host} rejected the credentials of context {self.context!r} "
                    f"while {doing} (401 {message}): renew them in the kubeconfig"
                ) from error
            if status == 403:
                raise ClusterForbiddenError(f"forbidden while {doing}: {message}") from error
            raise ClusterRequestError(f"the API server answered {status} while {doing}: {message}") from error
        except HTTPError as error:
            reason = getattr(error, "reason", None) or error
            raise ClusterUnreachableError(
                f"cannot reach the API server at {self.host} (context {self.context!r}, timeout {self.timeout:g}s) "
                f"while {doing}: {short(reason)}"
            ) from error

    # -- discovery ------------------------------------------------------------------------------------------
    def _client(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            cache_file = self._discovery_cache()
            with contextlib.suppress(OSError):
                cache_file.parent.mkdir(parents=True, exist_ok=True)
            with self._errors("reading the API discovery document"):
                self._dynamic = DynamicClient(self._api, cache_file=str(cache_file))  # type: ignore[no-untyped-call]
        return self._dynamic

    def _discovery_cache(self) -> Path:
        return cache_dir() / "discovery" / (hashlib.sha256(self.host.encode()).hexdigest()[:16] + ".json")

    def server_version(self) -> str:
        """The server's ``gitVersion`` (``v1.20.2``); also the first request, so it proves we can connect."""
        if self._version is None:
            with self._errors("reading the server version"):
                answer = self._api_json("GET", "/version")
            self._version = str(answer.get("gitVersion", "unknown"))
        return self._version

    def resource(self, api_version: str, kind: str) -> Resource:
        """The resource serving ``kind`` at ``api_version``; ``ClusterNotServedError`` when there is none."""
        from kubernetes.dynamic.exceptions import ResourceNotFoundError, ResourceNotUniqueError

        cached = self._resources.get((api_version, kind))
        if cached is not None:
            return cached
        client = self._client()
        try:
            with self._errors(f"discovering {kind} in {api_version}"):
                found = client.resources.get(api_version=api_version, kind=kind)
        except (ResourceNotFoundError, ResourceNotUniqueError) as error:
            raise ClusterNotServedError(
                f"the API server at {self.host} does not serve kind {kind} in {api_version}: "
                "check the apiVersion for this Kubernetes version, or install its CRD", kind=kind
            ) from error
        resource = Resource(api_version, kind, str(found.name), bool(found.namespaced))
        self._resources[(api_version, kind)] = resource
        return resource

    # -- requests -------------------------------------------------------------------------------------------
    def _api_json(self, method: str, path: str, *, query: Iterable[tuple[str, Any]] = (),
                  body: str | None = None, content_type: str = "application/json",
                  accept: str = "application/json") -> dict[str, Any]:
        """One HTTP request through the official client; the JSON object the server answered.

        Anything but a JSON object (a proxy's HTML page, a truncated body) is a ``ClusterRequestError``: drift
        must never read a half-understood answer as "nothing there".
        """
        headers = {"Accept": accept, "Content-Type": content_type}
        request = self._api.param_serialize(
            method, path, query_params=list(query), header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        response = self._api.call_api(*request)
        if not 200 <= response.status <= 299:
            response.read()
            self._api.response_deserialize(response, {})  # raises the client's ApiException for this status
        raw = response.response
        try:
            decoded = json.loads(raw.data)
        except ValueError as error:
            decoded = error
        if not isinstance(decoded, dict):
            kind = raw.headers.get("Content-Type", "no content type") if raw.headers else "no content type"
            raise ClusterRequestError(
                f"{self.host} answered {method} {path} with {kind}, not a Kubernetes JSON object: check that the "
                f"kubeconfig's server (context {self.context!r}) is the API server and not a proxy or a web page"
            )
        return decoded

    def list_objects(self, resource: Resource, namespace: str | None, label_selector: str,
                     keep: Callable[[KubeObject], KubeObject | None] = lambda obj: obj, *,
                     metadata_only: bool = False, field_selector: str = "") -> list[KubeObject]:
        """LIST one kind in one namespace (or cluster-wide), page by page; ``keep`` trims each object early.

        With ``metadata_only`` the items carry ``metadata`` alone (and this resource's apiVersion and kind).
        """
        found: list[KubeObject] = []
        token: str | None = None
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE_SIZE)]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if token:
                query.append(("continue", token))
            where = f" in namespace {namespace}" if resource.namespaced and namespace else ""
            with self._errors(f"listing {resource.display}{where}"), self._unserved_on_404(resource):
                page = self._api_json("GET", resource.path(namespace), query=query,
                                      accept=METADATA_ONLY if metadata_only else "application/json")
            item_version = resource.api_version if metadata_only else page.get("apiVersion", resource.api_version)
            for item in page.get("items") or []:
                # List items come without apiVersion/kind (metadata-only ones as PartialObjectMetadata): make
                # them look like GET results of the resource.
                if metadata_only:
                    item["apiVersion"], item["kind"] = item_version, resource.kind
                item.setdefault("apiVersion", item_version)
                item.setdefault("kind", resource.kind)
                kept = keep(item)
                if kept is not None:
                    found.append(kept)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return found

    @contextlib.contextmanager
    def _unserved_on_404(self, resource: Resource) -> Iterator[None]:
        """A LIST answered 404: the kind is no longer served (its CRD was removed after discovery was cached,
        here or by an earlier run). The discovery cache is dropped, so the next run asks the server afresh."""
        from kubernetes.client.exceptions import ApiException

        try:
            yield
        except ApiException as error:
            if getattr(error, "status", None) != 404:
                raise
            with contextlib.suppress(OSError):
                self._discovery_cache().unlink(missing_ok=True)
            raise ClusterNotServedError(
                f"the API server at {self.host} does not serve kind {resource.kind} in {resource.api_version} "
                "(listing it answered 404): check the apiVersion for this Kubernetes version, or install its CRD",
                kind=resource.kind) from None

    def get_object(self, resource: Resource, namespace: str | None, name: str) -> KubeObject | None:
        """GET one object; None when it does not exist."""
        from kubernetes.client.exceptions import ApiException

        with self._errors(f"reading {resource.kind} {namespace + '/' if namespace else ''}{name}"):
            try:
                return self._api_json("GET", resource.path(namespace, name))
            except ApiException as error:
                if getattr(error, "status", None) == 404:
                    return None
                raise

    def dry_run_apply(self, resource: Resource, obj: KubeObject, field_manager: str) -> KubeObject:
        """Server-side apply ``obj`` with ``dryRun=All`` (forcing conflicts: nothing is written); return what
        the object would become."""
        metadata = obj.get("metadata") or {}
        namespace = metadata.get("namespace") or (self.default_namespace if resource.namespaced else None)
        name = str(metadata.get("name", ""))
        query = [("dryRun", "All"), ("fieldManager", field_manager), ("force", "true")]
        # Secret bodies never reach a message: the object is named, the server's text is left out.
        doing = f"dry-run applying {resource.kind} {namespace + '/' if namespace else ''}{name}"
        with self._errors(doing):
            return self._api_json("PATCH", resource.path(namespace, name), query=query,
                                  body=json.dumps(obj), content_type="application/apply-patch+yaml")

    # -- OpenAPI --------------------------------------------------------------------------------------------
    def openapi_schema(self) -> schema.Compact:
        """The compact schema of the server's OpenAPI document, fetched once per server version and cached."""
        version = self.server_version()
        digest = hashlib.sha256(f"{self.host}|{version}".encode()).hexdigest()[:16]
        path = cache_dir() / "openapi" / f"{version}-{digest}.json"
        with contextlib.suppress(OSError, ValueError):
            cached: schema.Compact = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(cached, dict) and "types" in cached and "kinds" in cached:
                return cached
        with self._errors("reading the OpenAPI document (/openapi/v2)"):
            document = self._api_json("GET", "/openapi/v2")
        compacted = schema.compact(document)
        del document
        # The cache is only an optimisation: a read-only home directory must not turn into an error.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(compacted), encoding="utf-8")
            partial.replace(path)
        return compacted

    # -- live state -----------------------------------------------------------------------------------------
    def read_live(self, desired: list[KubeObject], label_selector: str, *, concurrency: int = 8,
                  keep: Callable[[KubeObject], KubeObject | None] = lambda obj: obj,
                  metadata_only: frozenset[tuple[str, str]] = frozenset()) -> LiveState:
        """Read the live counterpart of every desired object: one LIST per kind and namespace with the
        tracking ``label_selector``, then a GET for each desired object the LISTs did not return.

        Kinds in ``metadata_only`` (``(group, kind)``) are read as metadata alone, and looked up by a LIST
        with a name field selector instead of a GET, so that ``list`` is the only permission they need.
        Every forbidden kind is collected and named in one ``ClusterForbiddenError``.
        """
        self.server_version()
        scopes: dict[tuple[str, str, str], Resource] = {}
        wanted: dict[ObjectKey, tuple[Resource, str | None, str]] = {}
        for obj in desired:
            resource = self.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            namespace = (obj.get("metadata") or {}).get("namespace") or self.default_namespace
            scope_ns = namespace if resource.namespaced else ""
            scopes[(resource.group, resource.kind, scope_ns)] = resource
            key = (resource.group, resource.kind, scope_ns, str(obj["metadata"]["name"]))
            wanted[key] = (resource, scope_ns or None, key[3])

        state = LiveState()
        forbidden: list[tuple[str, str, str]] = []
        lock = threading.Lock()

        def list_scope(scope: tuple[str, str, str]) -> None:
            resource = scopes[scope]
            partial = (resource.group, resource.kind) in metadata_only
            try:
                items = self.list_objects(resource, scope[2] or None, label_selector, keep, metadata_only=partial)
            except ClusterForbiddenError:
                with lock:
                    forbidden.append(("list", resource.display, scope[2]))
                return
            with lock:
                state.listed.add(scope)
                for item in items:
                    state.objects[object_key(item, scope[2])] = item

        def get_one(key: ObjectKey) -> None:
            resource, namespace, name = wanted[key]
            partial = (resource.group, resource.kind) in metadata_only
            try:
                if partial:
                    found = self.list_objects(resource, namespace, "", metadata_only=True,
                                              field_selector=f"metadata.name={name}")
                    item = found[0] if found else None
                else:
                    item = self.get_object(resource, namespace, name)
            except ClusterForbiddenError:
                with lock:
                    forbidden.append(("list" if partial else "get", resource.display, namespace or ""))
                return
            kept = keep(item) if item is not None else None
            if kept is not None:
                with lock:
                    state.objects[key] = kept

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            list(pool.map(list_scope, sorted(scopes)))
            if not forbidden:
                unseen = [key for key in wanted if key not in state.objects]
                list(pool.map(get_one, unseen))
        if forbidden:
            raise ClusterForbiddenError(
                f"context {self.context!r} may not {_refusals(forbidden)}: grant get and list on these kinds "
                "(the drift ClusterRole, see docs/drift.md)"
            )
        return state

    def dry_run_all(self, objects: list[KubeObject], field_manager: str, *, concurrency: int = 8
                    ) -> list[KubeObject]:
        """``dry_run_apply`` every object, ``concurrency`` at a time; results in the order given.

        Forbidden kinds are collected and named together, as in ``read_live``.
        """
        resources = [self.resource(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))) for obj in objects]
        forbidden: list[tuple[str, str, str]] = []
        lock = threading.Lock()

        def apply_one(index: int) -> KubeObject | None:
            try:
                return self.dry_run_apply(resources[index], objects[index], field_manager)
            except ClusterForbiddenError:
                with lock:
                    namespace = (objects[index].get("metadata") or {}).get("namespace") or ""
                    forbidden.append(("patch", resources[index].display, str(namespace)))
                return None

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            results = list(pool.map(apply_one, range(len(objects))))
        if forbidden:
            raise ClusterForbiddenError(
                f"context {self.context!r} may not {_refusals(forbidden)}: --mode server needs patch permission; "
                "use the default --mode read-only with get/list only"
            )
        return [result for result in results if result is not None]


def _refusals(refused: Iterable[tuple[str, str, str]]) -> str:
    """``list secrets, services in namespace m; get ...``: every refused (verb, resource, namespace), grouped."""
    grouped: dict[tuple[str, str], set[str]] = {}
    for verb, resource, namespace in refused:
        grouped.setdefault((verb, namespace), set()).add(resource)
    return "; ".join(
        f"{verb} {', '.join(sorted(resources))}" + (f" in namespace {namespace}" if namespace else "")
        for (verb, namespace), resources in sorted(grouped.items())
    )
