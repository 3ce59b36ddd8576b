"""The Ingress (``expose.type: Ingress``): hosts and TLS for the web domain, the local domain's /.well-known,
and the body-size limit for nginx-based controllers; accepted by the real API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from gitops_gen import kustomize
from gitops_gen.generate.layout import generate
from gitops_gen.spec.load import parse_spec
from tests.conftest import Cluster
from tests.helpers import run_cli

SPLIT = "mastodon: {localDomain: example.net, webDomain: social.example.net}\n"
BODY_SIZE = "nginx.ingress.kubernetes.io/proxy-body-size"


def _ingress(spec_text: str, overlay: str = "production") -> dict[str, Any]:
    for file in generate(parse_spec(spec_text)):
        if file.path == f"overlays/{overlay}/ingress.yaml":
            [ingress] = file.data
            return dict(ingress)
    raise AssertionError("no ingress.yaml")


def _routes(ingress: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {rule["host"]: {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
            for rule in ingress["spec"]["rules"]}


def test_with_a_web_domain_the_app_and_its_certificate_are_on_the_web_domain() -> None:
    ingress = _ingress(SPLIT)
    routes = _routes(ingress)
    assert routes["social.example.net"] == {"/": "mastodon-web", "/api/v1/streaming": "mastodon-streaming"}
    assert routes["example.net"] == {"/.well-known": "mastodon-web"}  # webfinger, host-meta, nodeinfo only
    [tls] = ingress["spec"]["tls"]
    assert tls["hosts"][0] == "social.example.net" and "example.net" in tls["hosts"]


def test_without_a_web_domain_the_local_domain_serves_everything() -> None:
    ingress = _ingress("mastodon: {localDomain: example.net}\n")
    assert _routes(ingress) == {"example.net": {"/": "mastodon-web", "/api/v1/streaming": "mastodon-streaming"}}
    assert ingress["spec"]["tls"][0]["hosts"] == ["example.net"]


@pytest.mark.parametrize("ingress", ["className: nginx", "className: ingress-nginx", "className: nginx-public",
                                     "annotations: {nginx.ingress.kubernetes.io/ssl-redirect: 'true'}"])
def test_nginx_based_controllers_get_mastodons_99m_body_limit(ingress: str) -> None:
    annotations = _ingress(f"expose:\n  ingress: {{{ingress}}}\n")["metadata"]["annotations"]
    assert annotations[BODY_SIZE] == "99m"
    assert annotations["nginx.org/client-max-body-size"] == "99m"


def test_a_body_limit_the_user_set_is_kept() -> None:
    spec = f"expose:\n  ingress: {{className: nginx, annotations: {{{BODY_SIZE}: 200m}}}}\n"
    assert _ingress(spec)["metadata"]["annotations"][BODY_SIZE] == "200m"


@pytest.mark.parametrize("ingress", ["className: traefik", "{}"])
def test_other_controllers_get_no_nginx_annotations(ingress: str) -> None:
    ingress_object = _ingress(f"expose:\n  ingress: {ingress if ingress == '{}' else '{' + ingress + '}'}\n")
    assert "annotations" not in ingress_object["metadata"]


@pytest.mark.cluster
def test_the_api_server_accepts_the_ingress_with_both_domains_by_server_side_apply(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(
        f"{SPLIT}expose:\n  ingress: {{className: nginx, annotations: {{cert-manager.io/cluster-issuer: le}}}}\n"
        f"overlays:\n  production: {{namespace: {namespace}}}\n")
    assert run_cli(capsys, "init", str(tmp_path), "--no-commit").code == 0
    ingresses = [o for o in kustomize.render(tmp_path / "overlays" / "production") if o["kind"] == "Ingress"]
    applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                              stdin=yaml.safe_dump_all(ingresses), check=False)
    assert applied.returncode == 0, applied.stderr
    live = client.NetworkingV1Api(cluster.api_client()).read_namespaced_ingress("mastodon", namespace)
    routes = {rule.host: {p.path: p.backend.service.name for p in rule.http.paths} for rule in live.spec.rules}
    assert routes == {"social.example.net": {"/api/v1/streaming": "mastodon-streaming", "/": "mastodon-web"},
                      "example.net": {"/.well-known": "mastodon-web"}}
    assert live.spec.tls[0].hosts == ["social.example.net", "example.net"]
    assert live.spec.ingress_class_name == "nginx"
    assert live.metadata.annotations[BODY_SIZE] == "99m"
    assert live.metadata.annotations["cert-manager.io/cluster-issuer"] == "le"
