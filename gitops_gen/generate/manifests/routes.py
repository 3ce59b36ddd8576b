"""Which hosts reach Mastodon and how: shared by the Ingress (``environment.py``) and the Gateway API HTTPRoutes.

The web domain (``webDomain``, else the local domain) gets the whole app: ``/api/v1/streaming`` to streaming,
everything else to web. Every other domain Mastodon answers for — the local domain when a web domain is set, and
each of ``alternateDomains`` — gets ``/.well-known`` only (webfinger, host-meta, nodeinfo): Mastodon accepts those
hosts (``config/initializers/1_hosts.rb`` allows LOCAL_DOMAIN, WEB_DOMAIN and ALTERNATE_DOMAINS) and answers
webfinger for accounts addressed at any of them; the rest of those domains is left to whatever else serves them.

An HTTPRoute's hostnames apply to all of its rules, so the two kinds of host are two routes: ``<name>`` for the
web domain and ``<name>-well-known`` for the others. TLS is the Gateway's (its HTTPS listener holds the
certificate), so a route carries none.
"""

from __future__ import annotations

from typing import NamedTuple

from gitops_gen.generate.manifests.common import KubeObject, metadata, names
from gitops_gen.spec.model import Spec

GATEWAY_API = "gateway.networking.k8s.io/v1"
ROUTE_COMPONENT = "ingress"  # the same component as the Ingress: Flux applies both in the app stage
STREAMING_PREFIX = "/api/v1/streaming"
WELL_KNOWN_PREFIX = "/.well-known"


class Hosts(NamedTuple):
    web: str  # the whole app
    well_known: list[str]  # /.well-known only


def hosts(spec: Spec, overlay: str) -> Hosts:
    """The overlay's hosts.

    >>> from gitops_gen.spec.load import parse_spec
    >>> spec = parse_spec("mastodon: {localDomain: ex.net, webDomain: s.ex.net, alternateDomains: [ex.org]}")
    >>> hosts(spec, "production")
    Hosts(web='s.ex.net', well_known=['ex.net', 'ex.org'])
    """
    local = spec.overlays[overlay].local_domain or spec.mastodon.local_domain
    web = spec.mastodon.web_domain or local
    others = [local] if web != local else []
    return Hosts(web, [*others, *(domain for domain in spec.mastodon.alternate_domains if domain not in others)])


def _backend(spec: Spec, component: str, port: int) -> KubeObject:
    # group and kind written out, as the API server defaults them: drift then sees no server-side difference.
    return {"group": "", "kind": "Service", "name": names(spec).workload(component), "port": port, "weight": 1}


def _rule(prefix: str, backend: KubeObject) -> KubeObject:
    return {"matches": [{"path": {"type": "PathPrefix", "value": prefix}}], "backendRefs": [backend]}


def http_routes(spec: Spec, overlay: str, web_port: int, streaming_port: int) -> list[KubeObject]:
    """The overlay's HTTPRoutes (``expose.type: Gateway``), attached to the spec's Gateways."""
    if spec.expose.type != "Gateway":
        return []
    gateway, found = spec.expose.gateway, hosts(spec, overlay)
    parents = [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                **ref.model_dump(by_alias=True, exclude_none=True)} for ref in gateway.parent_refs]

    def route(name: str, hostnames: list[str], rules: list[KubeObject]) -> KubeObject:
        meta = metadata(spec, name, ROUTE_COMPONENT)
        if gateway.annotations:
            meta["annotations"] = dict(gateway.annotations)
        return {"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": meta,
                "spec": {"parentRefs": parents, "hostnames": hostnames, "rules": rules}}

    web = _backend(spec, "web", web_port)
    routes = [route(spec.name, [found.web], [_rule(STREAMING_PREFIX, _backend(spec, "streaming", streaming_port)),
                                             _rule("/", web)])]
    if found.well_known:
        routes.append(route(f"{spec.name}-well-known", found.well_known, [_rule(WELL_KNOWN_PREFIX, web)]))
    return routes
