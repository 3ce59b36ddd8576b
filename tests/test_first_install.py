"""A first install into an empty namespace, applied the way each engine applies it, on the real API server.

Argo CD: hooks and resources grouped by phase (PreSync, Sync, PostSync), then by sync wave, each group applied
after the one before it. Flux: the three Kustomizations of ``clusters/<env>/flux``, each built as
kustomize-controller builds it (the overlay plus the stage's patches), in ``dependsOn`` order. Everything is
applied with server-side apply. The test control plane runs the Job controller (and no kubelet): the
pre-deploy migration Job's Pod is created only if everything its admission needs exists — the ServiceAccount
first of all (``FailedCreate … serviceaccount "mastodon" not found`` otherwise).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.conftest import Cluster
from tests.helpers import run_cli
from tests.test_sync import _render_like_flux

pytestmark = pytest.mark.cluster

KubeObject = dict[str, Any]
PHASES = ("PreSync", "Sync", "PostSync")
# gitops-engine's kind order inside one wave (kubernetesResourceOrder); custom resources come last.
KIND_ORDER = ("Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount",
              "Secret", "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "ClusterRole",
              "ClusterRoleBinding", "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet",
              "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "Ingress")
PROVIDERS = {
    "existing": "",
    "external-secrets": "secrets:\n  provider: external-secrets\n  externalSecrets: {store: vault}\n",
    "sops": "secrets:\n  provider: sops\n  sops: {ageRecipients: "
            "[age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p]}\n",
}
EXTERNAL_SECRET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "externalsecrets.external-secrets.io"},
    "spec": {"group": "external-secrets.io", "scope": "Namespaced",
             "names": {"kind": "ExternalSecret", "plural": "externalsecrets", "singular": "externalsecret"},
             "versions": [{"name": "v1beta1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def _annotations(obj: KubeObject) -> dict[str, str]:
    return obj["metadata"].get("annotations") or {}


def argocd_steps(objects: list[KubeObject]) -> list[list[KubeObject]]:
    """The overlay as Argo CD syncs it: one step per (phase, wave), in order; inside a step, by kind and name."""
    steps: dict[tuple[int, int], list[KubeObject]] = {}
    for obj in objects:
        hook = _annotations(obj).get("argocd.argoproj.io/hook", "Sync").split(",")[0]
        wave = int(_annotations(obj).get("argocd.argoproj.io/sync-wave", "0"))
        steps.setdefault((PHASES.index(hook), wave), []).append(obj)

    def kind_rank(obj: KubeObject) -> tuple[int, str]:
        kind = obj["kind"]
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), obj["metadata"]["name"])

    return [sorted(steps[key], key=kind_rank) for key in sorted(steps)]


def flux_steps(root: Path, overlay: str, scratch: Path) -> list[list[KubeObject]]:
    """The overlay as Flux applies it: each Kustomization's build, in dependsOn order."""
    stages = [doc for path in sorted((root / "clusters" / overlay / "flux").glob("*.yaml"))
              for doc in yaml.safe_load_all(path.read_text()) if doc
              and doc.get("apiVersion", "").startswith("kustomize.toolkit.fluxcd.io")]
    ordered: list[KubeObject] = []
    while stages:
        ready = [s for s in stages if all(d["name"] in {o["metadata"]["name"] for o in ordered}
                                          for d in s["spec"].get("dependsOn", []))]
        assert ready, "dependsOn has a cycle"
        ordered.append(ready[0])
        stages.remove(ready[0])
    return [_render_like_flux(root, stage, scratch) for stage in ordered]


def _server_minor(cluster: Cluster) -> int:
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)["serverVersion"]
    return int("".join(ch for ch in version["minor"] if ch.isdigit()))


def _init(root: Path, namespace: str, provider: str, minor: int, capsys: pytest.CaptureFixture[str]) -> Path:
    root.mkdir(parents=True)
    (root / "gitops-gen.yaml").write_text(
        f'kubeVersion: "1.{minor}"\ngitops:\n  engines: [argocd, flux]\n  repoURL: https://git.example.net/m.git\n'
        f"{PROVIDERS[provider]}overlays:\n  production: {{namespace: {namespace}}}\n")
    assert run_cli(capsys, "init", str(root)).code == 0
    if provider == "sops":
        # What Flux applies once it decrypted the user's file (README, step 1): the Secret, labelled as told.
        overlay = root / "overlays" / "production"
        (overlay / "secrets.enc.yaml").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mastodon-secrets", "labels": {
                "app.kubernetes.io/component": "secrets"}}, "stringData": {"DB_PASS": "stand-in"}}))
        kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
        kustomization["resources"].append("secrets.enc.yaml")
        (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return root


def _exists(cluster: Cluster, namespace: str, resource: str, name: str) -> bool:
    return cluster.kubectl("get", resource, name, "-n", namespace, check=False).returncode == 0


def _pod_or_failure(cluster: Cluster, namespace: str, job: str, timeout: float = 90) -> tuple[bool, str]:
    """Wait until the Job controller created a Pod for ``job`` (True) or reported ``FailedCreate`` (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = cluster.kubectl("get", "pods", "-n", namespace, "-l", f"job-name={job}", "-o", "name").stdout
        if pods.strip():
            return True, pods.strip()
        events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "--field-selector",
                                            f"involvedObject.name={job},reason=FailedCreate", "-o", "json").stdout)
        if events["items"]:
            return False, events["items"][0]["message"]
        time.sleep(1)
    return False, f"no Pod and no FailedCreate event for Job {job} after {timeout}s"


def _needs_in_place(cluster: Cluster, namespace: str, job: KubeObject, provider: str) -> list[str]:
    """What the Job's pod refers to and that is not in the namespace (the Secret: it, or its source)."""
    pod = job["spec"]["template"]["spec"]
    wanted = [("serviceaccount", pod["serviceAccountName"])]
    for container in pod["containers"]:
        wanted += [("configmap", ref["configMapRef"]["name"]) for ref in container.get("envFrom", [])]
        secret_kind = "externalsecrets.external-secrets.io" if provider == "external-secrets" else "secret"
        wanted += [(secret_kind, e["valueFrom"]["secretKeyRef"]["name"]) for e in container.get("env", [])
                   if "secretKeyRef" in e.get("valueFrom", {})]
    wanted += [("persistentvolumeclaim", v["persistentVolumeClaim"]["claimName"])
               for v in pod.get("volumes", []) if "persistentVolumeClaim" in v]
    return [f"{kind}/{name}" for kind, name in dict.fromkeys(wanted) if not _exists(cluster, namespace, kind, name)]


@pytest.fixture(scope="module")
def external_secret_crd(cluster: Cluster) -> None:
    name = EXTERNAL_SECRET_CRD["metadata"]["name"]
    if not _exists(cluster, "default", "crd", name):
        cluster.kubectl("create", "-f", "-", stdin=json.dumps(EXTERNAL_SECRET_CRD))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}")


@pytest.mark.parametrize(("engine", "provider"), [("argocd", "existing"), ("argocd", "external-secrets"),
                                                  ("flux", "existing"), ("flux", "external-secrets"),
                                                  ("flux", "sops")])
def test_first_install_creates_the_pre_deploy_migration_pod_before_any_deployment(
        engine: str, provider: str, cluster: Cluster, namespace: str, external_secret_crd: None, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", namespace, provider, _server_minor(cluster), capsys)
    if provider == "existing":  # the user's step before the first sync (README, "The Secret first")
        cluster.kubectl("create", "secret", "generic", "mastodon-secrets", "-n", namespace,
                        "--from-literal=DB_PASS=stand-in")
    overlay = root / "overlays" / "production"
    steps = (argocd_steps(kustomize.render(overlay)) if engine == "argocd"
             else flux_steps(root, "production", tmp_path / "stages"))
    pre = next(o for step in steps for o in step if o["kind"] == "Job"
               and o["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate-pre")

    deployments_seen = False
    for step in steps:
        deployments_seen |= any(o["kind"] == "Deployment" for o in step)
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                                  stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": step}), check=False)
        assert applied.returncode == 0, applied.stderr
        if pre in step:
            assert not deployments_seen, "a Deployment is applied with or before the pre-deploy migration"
            created, detail = _pod_or_failure(cluster, namespace, pre["metadata"]["name"])
            assert created, f"{engine}: the pre-deploy migration cannot start: {detail}"
            assert _needs_in_place(cluster, namespace, pre, provider) == []
            break
    else:
        pytest.fail("the pre-deploy migration Job is in no step")
    # The rest still applies, in order, with the migration in place.
    for step in steps[steps.index(next(s for s in steps if pre in s)) + 1:]:
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                                  stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": step}), check=False)
        assert applied.returncode == 0, applied.stderr
