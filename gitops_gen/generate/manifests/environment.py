"""What one overlay (environment) adds to the base: configuration, exposure, storage, disruption budgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_gen.generate.manifests import backends, routes, search
from gitops_gen.generate.manifests.common import (
    KubeObject,
    metadata,
    names,
    pdb_api_version,
    resources,
    selector_labels,
)
from gitops_gen.generate.manifests.pods import uses_shared_volume
from gitops_gen.generate.manifests.workloads import STREAMING_PORT, WEB_PORT
from gitops_gen.spec.metrics import otel_config
from gitops_gen.spec.model import ComponentOverride, Spec
from gitops_gen.spec.model import Ingress as IngressSettings
from gitops_gen.spec.routing import federation_config


@dataclass(frozen=True)
class Workload:
    """A Deployment as one overlay runs it: its name, selector, container and effective replicas."""

    name: str
    component: str
    container: str
    replicas: int
    selector: dict[str, str]
    override: ComponentOverride  # what this overlay sets itself (empty when it sets nothing)

    @property
    def overridden(self) -> bool:
        return self.override.replicas is not None or self.override.resources is not None


def workloads(spec: Spec, overlay: str) -> list[Workload]:
    """Every Deployment of ``overlay`` with the overlay's replicas applied (its resources: ``override``)."""
    n, env = names(spec), spec.overlays[overlay]

    def effective(component: str, name: str, container: str, replicas: int, override: ComponentOverride | None,
                  selector: dict[str, str]) -> Workload:
        over = override or ComponentOverride()
        return Workload(name, component, container, over.replicas if over.replicas is not None else replicas,
                        selector, over)

    found = [
        effective("web", n.workload("web"), "web", spec.web.replicas, env.web, selector_labels(spec, "web")),
        effective("streaming", n.workload("streaming"), "streaming", spec.streaming.replicas, env.streaming,
                  selector_labels(spec, "streaming")),
    ]
    for worker in spec.sidekiq:
        selector = {**selector_labels(spec, "sidekiq"), "gitops-gen.io/sidekiq-worker": worker.name}
        found.append(effective("sidekiq", n.sidekiq(worker.name), "sidekiq", worker.replicas,
                               env.sidekiq.get(worker.name), selector))
    return found


def local_domain(spec: Spec, overlay: str) -> str:
    return spec.overlays[overlay].local_domain or spec.mastodon.local_domain


def config_literals(spec: Spec, overlay: str) -> list[str]:
    """The non-secret configuration, as ``KEY=value`` for kustomize's configMapGenerator."""
    namespace = spec.overlay_namespace(overlay)
    m = spec.mastodon
    values: dict[str, Any] = {
        "LOCAL_DOMAIN": local_domain(spec, overlay),
        "WEB_DOMAIN": m.web_domain,
        "RAILS_ENV": "production",
        "NODE_ENV": "production",
        "RAILS_LOG_TO_STDOUT": "enabled",
        "RAILS_SERVE_STATIC_FILES": "true",
        **backends.database_config(spec, namespace),
        **backends.redis_config(spec, namespace),
    }
    if m.s3:
        values |= {"S3_ENABLED": "true", "S3_BUCKET": m.s3.bucket, "S3_ENDPOINT": m.s3.endpoint,
                   "S3_REGION": m.s3.region, "S3_ALIAS_HOST": m.s3.alias_host}
    if m.smtp:
        values |= {"SMTP_SERVER": m.smtp.server, "SMTP_PORT": m.smtp.port, "SMTP_FROM_ADDRESS": m.smtp.from_address}
    values |= federation_config(spec) | otel_config(spec)
    if m.search:
        values |= search.config(m.search, backends.service_host(m.search.host, namespace))
    values |= m.extra_env
    return [f"{key}={value}" for key, value in values.items() if value is not None]


NGINX_BODY_SIZE = {  # Mastodon accepts uploads up to 99 MB; ingress-nginx's default limit is 1m
    "nginx.ingress.kubernetes.io/proxy-body-size": "99m",  # kubernetes/ingress-nginx
    "nginx.org/client-max-body-size": "99m",  # F5 NGINX Ingress Controller (also class "nginx")
}


def nginx_like(settings: IngressSettings) -> bool:
    """An nginx-based controller: the class says so (``nginx``, ``ingress-nginx``…) or its annotations do."""
    return "nginx" in (settings.class_name or "").lower() or any(
        key.startswith(("nginx.ingress.kubernetes.io/", "nginx.org/")) for key in settings.annotations)


def ingress(spec: Spec, overlay: str) -> KubeObject | None:
    """One Ingress: the web domain's routes and TLS; the other domains' ``/.well-known/`` (``routes.hosts``).

    The local and alternate domains' ``/.well-known/`` (webfinger, host-meta, nodeinfo) goes to Mastodon itself,
    which answers for LOCAL_DOMAIN and ALTERNATE_DOMAINS as well as WEB_DOMAIN (all are allowed hosts). A
    redirect would need the request URI in the target, which ingress-nginx's annotation validation rejects
    (``$request_uri``), and it is controller-specific; routing works with every controller.
    """
    if spec.expose.type != "Ingress":
        return None
    n, settings = names(spec), spec.expose.ingress
    web, well_known = routes.hosts(spec, overlay)

    def path(prefix: str, component: str, port: int) -> KubeObject:
        return {"path": prefix, "pathType": "Prefix",
                "backend": {"service": {"name": n.workload(component), "port": {"number": port}}}}

    rules: list[KubeObject] = [{"host": web, "http": {"paths": [path(routes.STREAMING_PREFIX, "streaming",
                                                                     STREAMING_PORT), path("/", "web", WEB_PORT)]}}]
    rules += [{"host": host, "http": {"paths": [path(routes.WELL_KNOWN_PREFIX, "web", WEB_PORT)]}}
              for host in well_known]
    hosts = [web, *well_known]
    ingress_spec: KubeObject = {"tls": [{"hosts": hosts, "secretName": settings.tls_secret or f"{spec.name}-tls"}],
                                "rules": rules}
    if settings.class_name:
        ingress_spec = {"ingressClassName": settings.class_name, **ingress_spec}
    meta = metadata(spec, spec.name, "ingress")
    annotations = {**NGINX_BODY_SIZE, **settings.annotations} if nginx_like(settings) else dict(settings.annotations)
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": ingress_spec}


def storage(spec: Spec, overlay: str) -> list[KubeObject]:
    """The ReadWriteMany claim for ``public/system``: from a storage class, or bound to a static NFS volume."""
    if not uses_shared_volume(spec):
        return []
    n, system = names(spec), spec.storage.system
    claim_spec: KubeObject = {"accessModes": ["ReadWriteMany"],
                              "resources": {"requests": {"storage": str(system.size)}}}
    objects: list[KubeObject] = []
    if system.nfs:
        volume = n.system_volume(overlay)
        # Bound by label, and with an empty class so no provisioner races to create a volume of its own.
        claim_spec |= {"storageClassName": "", "selector": {"matchLabels": {"gitops-gen.io/volume": volume}}}
        pv_meta = metadata(spec, volume, "storage")
        pv_meta["labels"]["gitops-gen.io/volume"] = volume
        objects.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": pv_meta, "spec": {
            "capacity": {"storage": str(system.size)},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "nfs": {"server": system.nfs.server, "path": system.nfs.path},
        }})
    elif system.storage_class:
        claim_spec["storageClassName"] = system.storage_class
    objects.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": metadata(spec, n.system_claim, "storage"), "spec": claim_spec})
    return objects


def disruption_budgets(spec: Spec, overlay: str) -> list[KubeObject]:
    """One PodDisruptionBudget per workload that runs more than one replica in this overlay."""
    return [{"apiVersion": pdb_api_version(spec), "kind": "PodDisruptionBudget",
             "metadata": metadata(spec, w.name, w.component),
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(w.selector)}}}
            for w in workloads(spec, overlay) if w.replicas > 1]


def workload_patches(spec: Spec, overlay: str) -> list[KubeObject]:
    """Strategic-merge patches for the workloads whose replicas or resources differ in this overlay."""
    patches = []
    for w in workloads(spec, overlay):
        if not w.overridden:
            continue
        changes = w.override
        patch_spec: KubeObject = {}
        if changes.replicas is not None:
            patch_spec["replicas"] = changes.replicas
        if changes.resources is not None:
            patch_spec["template"] = {"spec": {"containers": [{"name": w.container,
                                                                "resources": resources(changes.resources)}]}}
        patches.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": w.name},
                        "spec": patch_spec})
    return patches
