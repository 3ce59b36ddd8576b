"""The deployment spec (``gitops-gen.yaml``) as a typed model with defaults and per-field validation.

Every field has a default, so an empty file describes a working deployment. Reading a file, rules that span
fields and error messages live in ``spec.load``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from gitops_gen.images import reference as images
from gitops_gen.spec.base import DNS1123_LABEL as DNS1123_LABEL
from gitops_gen.spec.base import (
    SPEC_CONFIG,
    DnsLabel,
    Domain,
    ImageName,
    ImageTag,
    KubeContext,
    ObjectName,
    PositiveInt,
    Quantity,
    Replicas,
    domain,
)
from gitops_gen.spec.base import ResourceList as ResourceList  # re-exported: the manifests read them from here
from gitops_gen.spec.base import Resources as Resources
from gitops_gen.spec.drift import Drift
from gitops_gen.spec.maintenance import Maintenance
from gitops_gen.spec.metrics import Metrics
from gitops_gen.spec.pods import Placement, Pods
from gitops_gen.spec.routing import Gateway
from gitops_gen.spec.secrets import Secrets
from gitops_gen.spec.services import Mastodon
from gitops_gen.spec.versions import SIDEKIQ_QUEUE_WEIGHTS, SIDEKIQ_QUEUES

DEFAULT_MASTODON_VERSION = "v4.6.6"
DEFAULT_KUBE_VERSION = "1.36"
MAIN_IMAGE = images.MASTODON_IMAGE
STREAMING_IMAGE = images.MASTODON_STREAMING_IMAGE


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class ImageRef(_Model):
    """An image as repository plus tag; the tag seeds new overlays (``bump-image`` moves it afterwards)."""

    repository: ImageName
    tag: ImageTag = DEFAULT_MASTODON_VERSION


class Images(_Model):
    mastodon: ImageRef = ImageRef(repository=MAIN_IMAGE)
    streaming: ImageRef = ImageRef(repository=STREAMING_IMAGE)


class Web(_Model):
    replicas: Replicas = 2
    concurrency: PositiveInt = 2
    max_threads: PositiveInt = 5
    resources: Resources = Resources(
        requests=ResourceList(cpu="250m", memory="768Mi"), limits=ResourceList(memory="1Gi")
    )


class Streaming(_Model):
    replicas: Replicas = 2
    resources: Resources = Resources(
        requests=ResourceList(cpu="100m", memory="256Mi"), limits=ResourceList(memory="512Mi")
    )


class Queue(_Model):
    name: str
    weight: PositiveInt | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_]+", value):
            raise ValueError(f"{value!r} is not a sidekiq queue name (known: {', '.join(SIDEKIQ_QUEUES)})")
        return value


def _queue(value: Any) -> Any:
    # A queue is written `default` or `{name: default, weight: 4}`.
    return {"name": value} if isinstance(value, str) else value


class SidekiqWorker(_Model):
    name: DnsLabel
    # Written `default` or `{name: default, weight: 4}`; the JSON Schema says both.
    queues: Annotated[
        list[Annotated[Queue, BeforeValidator(_queue, json_schema_input_type=str | Queue)]], Field(min_length=1)
    ]
    concurrency: PositiveInt = 5
    replicas: Replicas = 1
    resources: Resources = Resources(
        requests=ResourceList(cpu="250m", memory="512Mi"), limits=ResourceList(memory="1Gi")
    )

    @property
    def runs_scheduler(self) -> bool:
        return any(queue.name == "scheduler" for queue in self.queues)


def _default_workers() -> list[SidekiqWorker]:
    # Every queue of the newest Mastodon, weighted as the official chart weighs them.
    queues = [Queue(name=name, weight=weight) for name, weight in SIDEKIQ_QUEUE_WEIGHTS]
    return [SidekiqWorker(name="default", queues=queues, concurrency=10)]


class Nfs(_Model):
    server: str
    path: str

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"{value!r} is not an absolute path on the NFS server")
        return value


class SystemStorage(_Model):
    """``public/system`` (uploaded media), shared by web and sidekiq: ReadWriteMany, unless S3 is used."""

    size: Quantity = "10Gi"
    storage_class: ObjectName | None = None
    nfs: Nfs | None = None


class Storage(_Model):
    system: SystemStorage = SystemStorage()


class NodePorts(_Model):
    web: Annotated[int, Field(strict=True, ge=30000, le=32767)] | None = None
    streaming: Annotated[int, Field(strict=True, ge=30000, le=32767)] | None = None


class Ingress(_Model):
    class_name: ObjectName | None = None
    tls_secret: ObjectName | None = None
    annotations: dict[str, str] = {}


class Expose(_Model):
    type: Literal["Ingress", "Gateway", "NodePort", "ClusterIP"] = "Ingress"
    ingress: Ingress = Ingress()
    gateway: Gateway = Gateway()
    node_ports: NodePorts = NodePorts()
    load_balancer_nodes: list[str] = []
    ip_family_policy: Literal["SingleStack", "PreferDualStack", "RequireDualStack"] | None = None
    ip_families: list[Literal["IPv4", "IPv6"]] | None = None

    @field_validator("load_balancer_nodes")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        # nginx's `server` lines are written from these: an IPv6 address is bracketed there, never here.
        for address in value:
            if "%" in address:
                # A scope id (`fe80::1%eth0`) names an interface of one host, and ipaddress accepts any text
                # after the `%`, newlines included, which would be written into nginx.conf.
                raise ValueError(f"{address!r} has a scope id (%...): give the node's address without one")
            try:
                ipaddress.ip_address(address)
            except ValueError:
                try:
                    domain(address)
                except ValueError:
                    raise ValueError(
                        f"{address!r} is not an IP address or a DNS name (no port, no brackets: "
                        "2001:db8::10, 192.0.2.10 or node1.example.net)"
                    ) from None
        return value


class ComponentOverride(_Model):
    replicas: Replicas | None = None
    resources: Resources | None = None


class WorkerOverride(ComponentOverride):
    pass


class ArgoCDSettings(_Model):
    namespace: DnsLabel = "argocd"


_DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"


class FluxSettings(_Model):
    namespace: DnsLabel = "flux-system"
    interval: Annotated[str, Field(pattern=_DURATION)] = "10m"
    git_secret: str | None = None


class GitOps(_Model):
    """How Argo CD and/or Flux sync each overlay (``clusters/<env>/<engine>/``)."""

    engines: Annotated[list[Literal["argocd", "flux"]], Field(min_length=1)] = ["argocd"]
    # Unset: the repository's `origin` remote, else a placeholder to edit. Spelt as Argo CD spells it.
    repo_url: str | None = Field(default=None, alias="repoURL")
    revision: str = "main"
    argocd: ArgoCDSettings = ArgoCDSettings()
    flux: FluxSettings = FluxSettings()


class Overlay(_Model):
    """What differs in one environment; everything unset falls back to the top-level value."""

    namespace: DnsLabel | None = None
    # Where the overlay lives: the kubeconfig context that `drift` checks it in (`gitops-gen drift` with no
    # --overlay checks each overlay in its own).
    context: KubeContext | None = None
    local_domain: Domain | None = None
    image_tag: ImageTag | None = None
    web: ComponentOverride = ComponentOverride()
    streaming: ComponentOverride = ComponentOverride()
    sidekiq: dict[str, WorkerOverride] = {}
    pods: Placement = Placement()


def _default_overlays() -> dict[str, Overlay]:
    return {
        "staging": Overlay(
            namespace="mastodon-staging",
            local_domain="staging.social.example.com",
            web=ComponentOverride(replicas=1),
            streaming=ComponentOverride(replicas=1),
        ),
        "production": Overlay(namespace="mastodon"),
    }


class Spec(_Model):
    """The whole deployment. See README.md ("The spec") for every field."""

    name: DnsLabel = "mastodon"
    kube_version: str = DEFAULT_KUBE_VERSION
    images: Images = Images()
    mastodon: Mastodon = Mastodon()
    web: Web = Web()
    streaming: Streaming = Streaming()
    sidekiq: Annotated[list[SidekiqWorker], Field(min_length=1)] = Field(default_factory=_default_workers)
    storage: Storage = Storage()
    pods: Pods = Pods()
    maintenance: Maintenance = Maintenance()  # cleanup CronJobs (spec/maintenance.py)
    expose: Expose = Expose()
    metrics: Metrics = Metrics()
    gitops: GitOps = GitOps()
    secrets: Secrets = Secrets()
    drift: Drift = Drift()
    overlays: Annotated[dict[str, Overlay], Field(min_length=1)] = Field(default_factory=_default_overlays)

    @field_validator("kube_version", mode="before")
    @classmethod
    def _kube_version(cls, value: Any) -> Any:
        # `kubeVersion: 1.20` parses as a float, which would read as 1.2: insist on the string form.
        if isinstance(value, float):
            raise ValueError('write the version in quotes, for example "1.20": unquoted, 1.20 is the number 1.2')
        if isinstance(value, str) and not re.fullmatch(r"v?1\.\d+(\.\d+)?", value):
            raise ValueError(f'{value!r} is not a Kubernetes version such as "1.31"')
        return value

    @property
    def kube_minor(self) -> int:
        return int(self.kube_version.lstrip("v").split(".")[1])

    @property
    def secret_name(self) -> str:
        return self.secrets.name or f"{self.name}-secrets"

    def overlay_namespace(self, overlay: str) -> str:
        return self.overlays[overlay].namespace or f"{self.name}-{overlay}"
