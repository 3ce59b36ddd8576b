"""How requests reach Mastodon and whom it federates with: the Gateway API route (``expose.gateway``) and the
``mastodon`` fields for other domains, trusted proxies and the federation modes (``Federation``, which the
``mastodon`` section inherits)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, field_validator

from gitops_gen.spec.base import SPEC_CONFIG, DnsLabel, Domain, ObjectName

if TYPE_CHECKING:
    from gitops_gen.spec.model import Spec

Problems = list[tuple[tuple[str | int, ...], str]]


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class ParentRef(_Model):
    """A Gateway the route attaches to (Gateway API ``parentRefs``): by name, in its namespace, optionally one
    listener (``sectionName``, e.g. the HTTPS listener) or port."""

    name: ObjectName
    namespace: DnsLabel | None = None  # default: the overlay's namespace
    section_name: ObjectName | None = None  # a listener name (Gateway API: a DNS-1123 subdomain)
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None


class Gateway(_Model):
    """``expose.type: Gateway``: one HTTPRoute per overlay, attached to Gateways somebody else runs."""

    parent_refs: list[ParentRef] = []
    annotations: dict[str, str] = {}


def _proxy(value: str) -> str:
    # Rails reads each entry with IPAddr.new, the streaming server with Express's `trust proxy`: an address or
    # a CIDR range is what both accept.
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or CIDR range (192.0.2.10, 10.0.0.0/8, 2001:db8::/32)")\
            from None
    return value


class Federation(_Model):
    """The ``mastodon`` fields that shape how the instance meets the fediverse and its own proxies."""

    alternate_domains: list[Domain] = []
    trusted_proxy_ips: list[Annotated[str, Field(min_length=1)]] = []
    # Unset leaves AUTHORIZED_FETCH out, so the admin setting decides: Mastodon reads the setting only when the
    # variable is absent (`ENV.fetch('AUTHORIZED_FETCH') { Setting.authorized_fetch }`). true/false pin it.
    authorized_fetch: bool | None = None
    limited_federation_mode: bool = False  # implies secure mode in Mastodon itself

    @field_validator("trusted_proxy_ips")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        return [_proxy(item) for item in value]


def federation_config(spec: Spec) -> dict[str, str | None]:
    """The ConfigMap keys of ``Federation``; None leaves a key out (Mastodon's own default applies)."""
    m = spec.mastodon
    return {
        "ALTERNATE_DOMAINS": ",".join(m.alternate_domains) or None,
        "TRUSTED_PROXY_IP": ",".join(m.trusted_proxy_ips) or None,
        "AUTHORIZED_FETCH": None if m.authorized_fetch is None else str(m.authorized_fetch).lower(),
        "LIMITED_FEDERATION_MODE": "true" if m.limited_federation_mode else None,
    }


def problems(spec: Spec) -> Problems:
    """Rules across fields of the routing choices."""
    found: Problems = []
    expose = spec.expose
    if expose.type == "Gateway" and not expose.gateway.parent_refs:
        found.append((("expose", "gateway", "parentRefs"), "expose.type Gateway needs expose.gateway.parentRefs: "
                      "the Gateway(s) the HTTPRoute attaches to, e.g. [{name: public, namespace: gateway}]"))
    domains = {spec.mastodon.local_domain, spec.mastodon.web_domain,
               *(overlay.local_domain for overlay in spec.overlays.values())}
    for index, alternate in enumerate(spec.mastodon.alternate_domains):
        if alternate in domains:
            found.append((("mastodon", "alternateDomains", index), f"{alternate} is already the local or web "
                          "domain: list only other domains"))
    return found
