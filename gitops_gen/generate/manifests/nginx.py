"""The external nginx load balancer in front of NodePort Services: ``overlays/<env>/nginx.conf``.

Modelled on Mastodon's ``dist/nginx.conf``, for the nginx admins run (Debian 12 ships 1.22; tested with it):

- nginx inherits ``proxy_set_header`` into a ``location`` only when the location sets none of its own, so every
  location repeats the forwarding headers (Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto) with its own.
- HTTP/2 is switched on with ``listen 443 ssl http2``: the ``http2 on`` directive is unknown before 1.25.1 and
  stops the server; the ``listen`` parameter loads everywhere (from 1.25.1 with a deprecation warning).
- Only fingerprinted assets (``/packs/``) and media (``/system/``, whose paths never change) are cached as
  immutable; ``/avatars``, ``/sounds``, ``/emoji`` keep their names across upgrades, so they are not.
- With ``mastodon.webDomain``, the app is served on the web domain; the local domain only redirects its
  ``/.well-known/`` (webfinger, host-meta, nodeinfo) there, as Mastodon's documentation of WEB_DOMAIN asks; so
  does each of ``mastodon.alternateDomains`` (Mastodon answers webfinger for accounts addressed at them).
"""

from __future__ import annotations

import ipaddress

from gitops_gen.generate.manifests import routes
from gitops_gen.spec.model import Spec

BODY_SIZE = "99m"  # Mastodon accepts uploads up to 99 MB (video)
CERTIFICATE_DIR = "/etc/nginx/tls"
IMMUTABLE = '"public, max-age=31536000, immutable"'


def upstream_server(node: str, port: int) -> str:
    """``host:port`` as nginx's ``server`` wants it: an IPv6 address in brackets.

    >>> upstream_server("2001:db8::10", 31300)
    '[2001:db8::10]:31300'
    """
    try:
        is_v6 = ipaddress.ip_address(node).version == 6
    except ValueError:
        is_v6 = False  # a DNS name
    return f"[{node}]:{port}" if is_v6 else f"{node}:{port}"


def _forwarding(indent: str) -> str:
    # Repeated in every location: a location's own proxy_set_header drops every inherited one.
    lines = ("proxy_set_header Host $host;", "proxy_set_header X-Real-IP $remote_addr;",
             "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
             "proxy_set_header X-Forwarded-Proto $scheme;", 'proxy_set_header Proxy "";')
    return "".join(f"{indent}{line}\n" for line in lines)


def _web_location(match: str, upstream: str, extra: str = "") -> str:
    i = " " * 8
    return (f"    location {match} {{\n{_forwarding(i)}{i}proxy_set_header Connection \"\";\n"
            f"{i}proxy_pass http://{upstream}_web;\n{extra}    }}\n")


def _tls(host: str) -> str:
    return (f"    listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    server_name {host};\n"
            f"    ssl_certificate     {CERTIFICATE_DIR}/{host}/fullchain.pem;\n"
            f"    ssl_certificate_key {CERTIFICATE_DIR}/{host}/privkey.pem;\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n")


def nginx_conf(spec: Spec, overlay: str, local_domain: str) -> str | None:
    """The configuration for ``overlay``, or None unless exposure is NodePort with nodes and both node ports."""
    ports, nodes = spec.expose.node_ports, spec.expose.load_balancer_nodes
    if spec.expose.type != "NodePort" or not nodes or ports.web is None or ports.streaming is None:
        return None
    web_domain, others = routes.hosts(spec, overlay)
    u = f"{spec.name}_{overlay}".replace("-", "_")
    i = " " * 8

    def servers(port: int) -> str:
        return "".join(f"    server {upstream_server(node, port)} max_fails=3 fail_timeout=10s;\n" for node in nodes)

    cached = (f"{i}proxy_hide_header Cache-Control;\n{i}add_header Cache-Control {IMMUTABLE};\n")
    text = (f"# nginx load balancer for {web_domain}: include this file in the http block (nginx 1.22 and later).\n"
            f"# Node ports: web {ports.web}, streaming {ports.streaming}; nodes: {', '.join(nodes)}.\n"
            f"# Certificates: {CERTIFICATE_DIR}/<host>/fullchain.pem and privkey.pem.\n"
            f"upstream {u}_web {{\n{servers(ports.web)}    keepalive 32;\n}}\n\n"
            f"upstream {u}_streaming {{\n{servers(ports.streaming)}    keepalive 32;\n}}\n\n"
            f"map $http_upgrade ${u}_connection {{\n    default upgrade;\n    ''      close;\n}}\n\n"
            f"server {{\n    listen 80;\n    listen [::]:80;\n"
            f"    server_name {' '.join([web_domain, *others])};\n"
            "    location / { return 301 https://$host$request_uri; }\n}\n\n"
            f"server {{\n{_tls(web_domain)}"
            f"    client_max_body_size {BODY_SIZE};\n    keepalive_timeout 70;\n"
            "    proxy_http_version 1.1;\n    proxy_redirect off;\n\n"
            f"    location ^~ /api/v1/streaming {{\n{_forwarding(i)}"
            f"{i}proxy_set_header Upgrade $http_upgrade;\n{i}proxy_set_header Connection ${u}_connection;\n"
            f"{i}proxy_pass http://{u}_streaming;\n{i}proxy_buffering off;\n{i}proxy_read_timeout 1h;\n"
            f"{i}tcp_nodelay on;\n    }}\n\n"
            f"{_web_location('^~ /packs/', u, cached)}\n"
            f"{_web_location('^~ /system/', u, cached + f'{i}add_header X-Content-Type-Options nosniff;' + chr(10))}\n"
            f"{_web_location('/', u)}}}\n")
    for host in others:
        role = "the LOCAL_DOMAIN (the accounts' domain)" if host == local_domain else "one of ALTERNATE_DOMAINS"
        text += (f"\n# {host} is {role}: only its /.well-known/ is answered,\n"
                 f"# by a redirect to the web domain.\nserver {{\n{_tls(host)}"
                 f"    location /.well-known/ {{\n{i}add_header Access-Control-Allow-Origin \"*\";\n"
                 f"{i}return 301 https://{web_domain}$request_uri;\n    }}\n"
                 "    location / { return 404; }\n}\n")
    return text
