"""Every built-in object `gitops-gen init` writes — for a spec that turns on what the default leaves off — passes
the Kubernetes OpenAPI schema strictly (unknown fields, wrong types, wrong apiVersions are errors), offline.

The default tree is checked across versions in test_init.py; the optional parts (search, metrics, maintenance,
the in-cluster drift job, NodePort exposure, S3, several sidekiq workers, placement) are checked here. Kinds of
CRDs (Argo CD, Flux) have no schema here; the cluster tests apply them to the real API server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, latest_version

from gitops_gen import kustomize
from tests.helpers import init_from_spec

EVERYTHING_ON = """\
drift:
  ci: none
  inCluster: {image: registry.example.org/ops/gitops-gen:0.1.0, cacheVolume: drift-cache}
kubeVersion: "1.36"
mastodon:
  localDomain: example.com
  webDomain: social.example.com
  alternateDomains: [example.net]
  database: {host: pgbouncer, port: 6432, pgbouncer: true, direct: {host: postgresql}}
  redis: {host: redis, cache: {host: redis-cache}}
  s3: {bucket: media, endpoint: "https://s3.example.com", region: eu-west-1, aliasHost: files.example.com}
  smtp: {server: smtp.example.com, fromAddress: "Mastodon <notifications@example.com>"}
  search: {enabled: true, host: elasticsearch}
  extraEnv: {RAILS_LOG_LEVEL: warn}
metrics:
  prometheus: {enabled: true}
  otel: {endpoint: "http://otel-collector:4318"}
maintenance:
  mediaRemoveOrphans: {enabled: true}
  statusesRemove: {enabled: true}
  accountsPrune: {enabled: true}
expose:
  type: NodePort
  nodePorts: {web: 30080, streaming: 30400}
  loadBalancerNodes: [192.0.2.11]
pods:
  nodeSelector: {kubernetes.io/os: linux}
  tolerations: [{key: dedicated, operator: Equal, value: mastodon, effect: NoSchedule}]
  imagePullSecrets: [registry]
  readOnlyRootFilesystem: true
sidekiq:
- name: default
  replicas: 2
  queues: [default, push, ingress, mailers, pull, fasp]
- name: scheduler
  queues: [scheduler]
"""


# The groups of the CRDs a tree may use: Argo CD, Flux (source, kustomize), Prometheus Operator, Gateway API, ESO.
CRD_GROUPS = ("argoproj.io", "toolkit.fluxcd.io", "monitoring.coreos.com", "gateway.networking.k8s.io",
              "external-secrets.io")

INGRESS_AND_NFS = """\
drift: {ci: none}
mastodon:
  localDomain: social.example.com
  search: {enabled: true, host: opensearch, tls: true}
expose:
  ingress: {className: nginx, tlsSecret: social-tls, annotations: {cert-manager.io/cluster-issuer: letsencrypt}}
storage:
  system: {size: 50Gi, storageClass: nfs-client, nfs: {server: 192.0.2.10, path: /export/mastodon}}
metrics:
  prometheus: {enabled: true, webDetailed: true, sidekiqDetailed: true}
  serviceMonitor: {enabled: true}
maintenance:
  mediaRemove: {enabled: false}
secrets:
  provider: external-secrets
  externalSecrets: {store: vault}
web: {replicas: 3}
streaming: {replicas: 1}
overlays:
  production: {namespace: social, localDomain: example.org, web: {replicas: 4}}
"""


def _objects(root: Path) -> list[dict[str, Any]]:
    """What the sync engines apply: every overlay and every kustomization under clusters/, rendered."""
    found: list[dict[str, Any]] = []
    for overlay in sorted((root / "overlays").iterdir()):
        found += kustomize.render(overlay)
    for kustomization in sorted((root / "clusters").rglob("kustomization.yaml")):
        found += kustomize.render(kustomization.parent)
    return found


@pytest.mark.parametrize("spec", [EVERYTHING_ON, INGRESS_AND_NFS], ids=["node-ports-s3", "ingress-nfs"])
def test_every_built_in_object_of_a_tree_with_the_options_on_passes_the_schema_strictly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str) -> None:
    root = tmp_path / "repo"
    assert init_from_spec(capsys, root, spec).code == 0
    objects = _objects(root)
    checked: set[str] = set()
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, latest_version(), strict=True)
        except SchemaNotFoundError:
            # Only a CRD's kind may lack a schema here; a built-in kind at an unknown apiVersion is a bug.
            assert str(obj["apiVersion"]).split("/")[0].endswith(CRD_GROUPS), obj["apiVersion"]
            continue
        except kubernetes_validate.ValidationError as error:
            raise AssertionError(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at "
                                 f"{'/'.join(map(str, error.path))}\n{yaml.safe_dump(obj)}") from None
        checked.add(obj["kind"])
    # What the spec turned on is among what was checked, not skipped.
    assert {"CronJob", "Job", "Service", "Deployment", "ServiceAccount", "PodDisruptionBudget", "ConfigMap"} <= checked
    if "inCluster" in spec:
        assert {"ClusterRole", "Role", "RoleBinding"} <= checked
    if "nfs:" in spec:
        assert {"PersistentVolume", "PersistentVolumeClaim", "Ingress"} <= checked
