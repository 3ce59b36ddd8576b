"""Routing choices: the Gateway API HTTPRoutes (``expose.type: Gateway``) route exactly as the Ingress does,
alternate domains get their ``/.well-known``, and the federation fields reach Mastodon's configuration; checked
by the real kustomize and, with the real Gateway API CRDs, by the real API server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import run_cli, snapshot
from tests.upstream_crds import gateway_api_crds  # noqa: F401  (a fixture)

DOMAINS = "mastodon: {localDomain: example.net, webDomain: social.example.net, alternateDomains: [example.org]}\n"
GATEWAY = "expose: {type: Gateway, gateway: {parentRefs: [{name: public, namespace: gateway, sectionName: https}]}}\n"
Route = tuple[str, str, str, int]  # host, path prefix, Service, port


def _render(tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, namespace: str = "mastodon"
            ) -> list[dict[str, Any]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "gitops-gen.yaml").write_text(f"{spec}overlays:\n  production: {{namespace: {namespace}}}\n")
    result = run_cli(capsys, "init", str(tmp_path), "--no-commit")
    assert result.code == 0, result.err
    return kustomize.render(tmp_path / "overlays" / "production")


def _ingress_routes(objects: list[dict[str, Any]]) -> set[Route]:
    [ingress] = [o for o in objects if o["kind"] == "Ingress"]
    return {(rule["host"], p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
            for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}


def _http_routes(objects: list[dict[str, Any]]) -> set[Route]:
    found = set()
    for route in (o for o in objects if o["kind"] == "HTTPRoute"):
        for host in route["spec"]["hostnames"]:
            for rule in route["spec"]["rules"]:
                [match] = rule["matches"]
                assert match["path"]["type"] == "PathPrefix"
                for backend in rule["backendRefs"]:
                    found.add((host, match["path"]["value"], backend["name"], backend["port"]))
    return found


@pytest.mark.parametrize("domains", [DOMAINS, "mastodon: {localDomain: example.net}\n"])
def test_the_httproutes_route_every_host_and_path_exactly_as_the_ingress_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], domains: str) -> None:
    by_ingress = _ingress_routes(_render(tmp_path / "ingress", capsys, domains))
    routed = _render(tmp_path / "gateway", capsys, domains + GATEWAY)
    assert not [o for o in routed if o["kind"] == "Ingress"]
    assert _http_routes(routed) == by_ingress


def test_alternate_domains_get_only_well_known_and_a_place_in_the_certificate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    objects = _render(tmp_path, capsys, DOMAINS)
    assert _ingress_routes(objects) == {
        ("social.example.net", "/api/v1/streaming", "mastodon-streaming", 4000),
        ("social.example.net", "/", "mastodon-web", 3000),
        ("example.net", "/.well-known", "mastodon-web", 3000),
        ("example.org", "/.well-known", "mastodon-web", 3000),  # webfinger for accounts addressed @example.org
    }
    [ingress] = [o for o in objects if o["kind"] == "Ingress"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["social.example.net", "example.net", "example.org"]
    [config] = [o for o in objects if o["kind"] == "ConfigMap"]
    assert config["data"]["ALTERNATE_DOMAINS"] == "example.org"


def test_federation_fields_reach_mastodons_configuration_and_are_absent_by_default(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ("mastodon: {trustedProxyIps: [203.0.113.0/24, '2001:db8::1'], authorizedFetch: false, "
            "limitedFederationMode: true, alternateDomains: [a.example.org, b.example.org]}\n")
    [config] = [o for o in _render(tmp_path / "set", capsys, spec) if o["kind"] == "ConfigMap"]
    assert {key: config["data"].get(key) for key in ("TRUSTED_PROXY_IP", "AUTHORIZED_FETCH",
                                                      "LIMITED_FEDERATION_MODE", "ALTERNATE_DOMAINS")} == {
        "TRUSTED_PROXY_IP": "203.0.113.0/24,2001:db8::1",
        "AUTHORIZED_FETCH": "false",  # set: pinned; the admin setting no longer decides
        "LIMITED_FEDERATION_MODE": "true",
        "ALTERNATE_DOMAINS": "a.example.org,b.example.org",
    }
    [default] = [o for o in _render(tmp_path / "default", capsys, "") if o["kind"] == "ConfigMap"]
    # Unset, AUTHORIZED_FETCH must be absent: Mastodon reads its admin setting only when the variable is.
    assert not {"TRUSTED_PROXY_IP", "AUTHORIZED_FETCH", "LIMITED_FEDERATION_MODE", "ALTERNATE_DOMAINS"} & set(
        default["data"])


@pytest.mark.parametrize(("spec", "field"), [
    ("expose: {type: Gateway}\n", "expose.gateway.parentRefs"),
    ("mastodon: {trustedProxyIps: [loopback]}\n", "mastodon.trustedProxyIps"),
    ("mastodon: {localDomain: example.net, alternateDomains: [example.net]}\n", "mastodon.alternateDomains"),
    ("mastodon: {alternateDomains: ['not a domain']}\n", "mastodon.alternateDomains"),
])
def test_bad_routing_input_stops_init_with_one_line_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str, field: str) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(spec)
    before = snapshot(tmp_path)
    result = run_cli(capsys, "init", str(tmp_path), "--no-commit")
    assert result.code == 2
    assert field in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert snapshot(tmp_path) == before


@pytest.mark.cluster
@pytest.mark.usefixtures("gateway_api_crds")
def test_the_api_server_accepts_the_httproutes_by_server_side_apply_with_the_real_gateway_api_crds(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    objects = _render(tmp_path, capsys, DOMAINS + GATEWAY, namespace)
    routes = [o for o in objects if o["kind"] == "HTTPRoute"]
    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                              stdin=yaml.safe_dump_all(routes), check=False)
    assert applied.returncode == 0, applied.stderr
    live = json.loads(cluster.kubectl("get", "httproutes", "-n", namespace, "-o", "json").stdout)["items"]
    assert _http_routes(live) == _http_routes(routes)
    assert {r["metadata"]["name"]: r["spec"]["hostnames"] for r in live} == {
        "mastodon": ["social.example.net"], "mastodon-well-known": ["example.net", "example.org"]}
    [parent] = {json.dumps(ref, sort_keys=True) for r in live for ref in r["spec"]["parentRefs"]}
    assert json.loads(parent) == {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public",
                                  "namespace": "gateway", "sectionName": "https"}
