"""Names, labels and API versions shared by every manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_gen.spec.model import Resources, Spec

KubeObject = dict[str, Any]

MASTODON_UID = 991  # the uid and gid of the `mastodon` user in the official images
SYSTEM_MOUNT = "/opt/mastodon/public/system"


@dataclass(frozen=True)
class Names:
    """Object names derived from the spec's ``name``: one place, so references cannot disagree."""

    prefix: str
    secret_name: str

    @property
    def service_account(self) -> str:
        return self.prefix

    @property
    def config(self) -> str:
        return f"{self.prefix}-env"

    @property
    def secret(self) -> str:
        return self.secret_name

    @property
    def system_claim(self) -> str:
        return f"{self.prefix}-system"

    def system_volume(self, overlay: str) -> str:
        return f"{self.prefix}-{overlay}-system"

    def workload(self, component: str) -> str:
        return f"{self.prefix}-{component}"

    def sidekiq(self, worker: str) -> str:
        return f"{self.prefix}-sidekiq-{worker}"

    def instance(self, overlay: str) -> str:
        return f"{self.prefix}-{overlay}"


def names(spec: Spec) -> Names:
    return Names(spec.name, spec.secret_name)


def selector_labels(spec: Spec, component: str) -> dict[str, str]:
    """Labels a selector matches on: stable for the life of the Deployment (selectors are immutable)."""
    return {"app.kubernetes.io/name": "mastodon", "app.kubernetes.io/part-of": spec.name,
            "app.kubernetes.io/component": component}


def labels(spec: Spec, component: str) -> dict[str, str]:
    """The tracking labels on every object; the overlay adds ``app.kubernetes.io/instance``."""
    return {**selector_labels(spec, component), "app.kubernetes.io/managed-by": "gitops-gen"}


def metadata(spec: Spec, name: str, component: str, **extra: Any) -> KubeObject:
    return {"name": name, "labels": labels(spec, component), **extra}


def resources(value: Resources) -> KubeObject:
    """Only the quantities the spec sets; an absent limit stays absent."""
    out: KubeObject = {}
    for kind in ("requests", "limits"):
        quantities = getattr(value, kind).model_dump(exclude_none=True)
        if quantities:
            out[kind] = {key: str(quantity) for key, quantity in quantities.items()}
    return out


def bind_address(spec: Spec, *, uri: bool) -> str:
    """What web and streaming listen on (their ``BIND``): every address, IPv6 too when the Services have it.

    ``::`` is dual stack on Linux. puma puts BIND into a URI (``tcp://BIND:PORT``), so it needs ``[::]``;
    the streaming server passes it to ``listen()``, which needs ``::``.
    """
    if "IPv6" not in (spec.expose.ip_families or []):
        return "0.0.0.0"
    return "[::]" if uri else "::"


def pdb_api_version(spec: Spec) -> str:
    return "policy/v1" if spec.kube_minor >= 21 else "policy/v1beta1"


def cronjob_api_version(spec: Spec) -> str:
    return "batch/v1" if spec.kube_minor >= 21 else "batch/v1beta1"
