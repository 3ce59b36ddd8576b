"""The external nginx load balancer (``overlays/<env>/nginx.conf``), run by the real nginx.

``gitops-gen init`` writes the file from a NodePort spec whose load balancer node is loopback; a real nginx
(Debian's, 1.22 on Debian 12) includes it as an admin would, two echo servers stand on the node ports, and the
tests assert what the upstream receives and what the client gets back. See ``nginx_harness`` for the only
substitutions made (listen ports, certificate paths).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops_gen.cli import main
from tests.conftest import REPO_ROOT
from tests.nginx_harness import (
    Client,
    echo_servers,
    for_loopback,
    free_port,
    ipv6_loopback,
    main_conf,
    nginx_test,
    running_nginx,
    self_signed_certificate,
    with_certificate,
)

WEB, LOCAL, ALTERNATE = "social.example.net", "example.net", "example.org"
IPV6 = ipv6_loopback()
MB = 1024 * 1024


@dataclass(frozen=True)
class Site:
    client: Client
    web_host: str  # the host the app is served on
    local_host: str | None  # the LOCAL_DOMAIN, when it differs (webDomain set)
    alternate_host: str | None = None  # one of ALTERNATE_DOMAINS


def _generate(root: Path, spec: str) -> str:
    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(spec)
    assert main(["init", str(root), "--no-commit"]) == 0
    return (root / "overlays" / "production" / "nginx.conf").read_text()


# Two deployments: the web domain differs from the local domain (IPv4 node), and a single domain behind an
# IPv6 node (bracketed in the upstream), the home-lab shape.
CASES = {
    "webDomain-ipv4-node": ({"localDomain": LOCAL, "webDomain": WEB, "alternateDomains": f"[{ALTERNATE}]"},
                            "127.0.0.1"),
    "one-domain-ipv6-node": ({"localDomain": WEB}, "::1"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    domains, node = CASES[request.param]
    if ":" in node and not IPV6:
        pytest.skip("this machine has no IPv6 loopback")
    hosts = (node,)
    web_port = free_port(30000, 32767, hosts)
    streaming_port = free_port(web_port + 1, 32767, hosts)
    tmp = tmp_path_factory.mktemp(request.param)
    mastodon = ", ".join(f"{key}: {value}" for key, value in domains.items())
    conf = _generate(tmp / "repo", f"mastodon: {{{mastodon}}}\nexpose:\n  type: NodePort\n"
                                   f"  nodePorts: {{web: {web_port}, streaming: {streaming_port}}}\n"
                                   f"  loadBalancerNodes: ['{node}']\n"
                                   "overlays:\n  production: {namespace: mastodon}\n")
    cert, key = self_signed_certificate(tmp, [WEB, LOCAL, ALTERNATE])
    loopback = for_loopback(conf, free_port(), free_port(25000), cert, key, IPV6)
    (tmp / "nginx").mkdir()
    with echo_servers({"web": web_port, "streaming": streaming_port}, [node]), \
            running_nginx(tmp / "nginx", loopback) as client:
        yield Site(client, WEB, LOCAL if "webDomain" in domains else None,
                   ALTERNATE if "alternateDomains" in domains else None)


def test_plain_http_is_redirected_to_https(site: Site) -> None:
    assert site.client.plain_http("/about?x=1", site.web_host) == (301, f"https://{site.web_host}/about?x=1")


def test_the_app_gets_the_web_domain_https_and_the_client_address(site: Site) -> None:
    seen = site.client.echo("/about", site.web_host)
    assert seen["server"] == "web"
    headers = seen["headers"]
    assert headers["host"] == site.web_host
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-real-ip"] == "127.0.0.1"


def test_a_forwarded_for_sent_by_the_client_is_appended_to_not_passed_on(site: Site) -> None:
    seen = site.client.echo("/", site.web_host, headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


def test_streaming_gets_the_websocket_upgrade_with_the_same_headers(site: Site) -> None:
    status, response = site.client.websocket_handshake("/api/v1/streaming?stream=public", site.web_host)
    assert status.startswith("HTTP/1.1 101"), status
    seen = json.loads(response["x-echo"])
    assert seen["server"] == "streaming"
    headers = seen["headers"]
    assert headers["upgrade"] == "websocket" and headers["connection"].lower() == "upgrade"
    assert headers["host"] == site.web_host and headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-for"] == "127.0.0.1"


def test_plain_streaming_requests_reach_the_streaming_server(site: Site) -> None:
    seen = site.client.echo("/api/v1/streaming/health", site.web_host)
    assert seen["server"] == "streaming" and seen["headers"]["host"] == site.web_host


@pytest.mark.parametrize("path", ["/packs/js/application-3f1c.js", "/system/media_attachments/files/1/original/a.png"])
def test_fingerprinted_assets_and_media_are_cached_as_immutable(site: Site, path: str) -> None:
    seen = site.client.echo(path, site.web_host)
    assert seen["server"] == "web" and seen["headers"]["host"] == site.web_host
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert "immutable" in seen["response_headers"]["cache-control"]


@pytest.mark.parametrize("path", ["/avatars/original/missing.png", "/sounds/boop.mp3", "/emoji/1f600.svg"])
def test_assets_that_keep_their_name_are_not_cached_as_immutable(site: Site, path: str) -> None:
    seen = site.client.echo(path, site.web_host)
    assert seen["server"] == "web" and seen["headers"]["host"] == site.web_host
    assert "immutable" not in seen["response_headers"].get("cache-control", "")


def test_a_50_mb_upload_reaches_the_app(site: Site) -> None:
    seen = site.client.echo("/api/v2/media", site.web_host, method="POST", body=b"x" * (50 * MB))
    assert seen["server"] == "web" and seen["body_length"] == 50 * MB
    assert seen["headers"]["host"] == site.web_host


def test_an_upload_over_99_mb_is_refused_with_413(site: Site) -> None:
    assert site.client.declared_upload("/api/v2/media", site.web_host, 100 * MB) == 413


@pytest.mark.parametrize("site", ["webDomain-ipv4-node"], indirect=True)
def test_the_local_and_alternate_domains_redirect_well_known_to_the_web_domain(site: Site) -> None:
    assert site.local_host is not None and site.alternate_host is not None
    for host in (site.local_host, site.alternate_host):
        for path in (f"/.well-known/webfinger?resource=acct:alice@{host}", "/.well-known/host-meta",
                     "/.well-known/nodeinfo"):
            response, _ = site.client.request("GET", path, host)
            assert response.status == 301, host
            assert response.getheader("Location") == f"https://{site.web_host}{path}"
        response, _ = site.client.request("GET", "/about", host)
        assert response.status == 404  # nothing but /.well-known/ on the other domains
    status, location = site.client.plain_http("/.well-known/host-meta", site.alternate_host)
    assert (status, location) == (301, f"https://{site.alternate_host}/.well-known/host-meta")


def test_the_home_lab_nginx_conf_loads_in_debians_nginx(tmp_path: Path) -> None:
    conf = (REPO_ROOT / "overlays" / "production" / "nginx.conf").read_text()
    generated = _generate(tmp_path / "repo", (REPO_ROOT / "gitops-gen.yaml").read_text())
    assert generated == conf  # what the repository holds is what init writes
    cert, key = self_signed_certificate(tmp_path, [WEB])
    # Only the certificate paths change: nginx -t loads the certificates but binds no port.
    include = tmp_path / "generated.conf"
    include.write_text(with_certificate(conf, cert, key))
    checked = nginx_test(tmp_path, main_conf(tmp_path, include))
    assert checked.returncode == 0, checked.stderr


def test_an_ipv6_node_is_bracketed_and_loads(tmp_path: Path) -> None:
    conf = _generate(tmp_path / "repo", "expose:\n  type: NodePort\n  nodePorts: {web: 31300, streaming: 31400}\n"
                                        "  loadBalancerNodes: ['2001:db8::10', 192.0.2.7]\n")
    assert "server [2001:db8::10]:31300" in conf and "server [2001:db8::10]:31400" in conf
    assert "server 192.0.2.7:31300" in conf
    cert, key = self_signed_certificate(tmp_path, [WEB])
    include = tmp_path / "generated.conf"
    include.write_text(with_certificate(conf, cert, key))
    checked = nginx_test(tmp_path, main_conf(tmp_path, include))
    assert checked.returncode == 0, checked.stderr
