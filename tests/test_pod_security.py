"""Pod Security "restricted" and pod placement, judged by the real API server and scheduler.

Each overlay of the default spec (the in-cluster drift CronJob switched on, so a CronJob is in the tree) goes
into a namespace of its own labelled ``pod-security.kubernetes.io/enforce: restricted`` (and ``warn``), by
server-side apply. The Pod Security admission plugin then has the last word: it warns on a workload whose pod
template breaks the profile, and refuses the Pod itself. Every pod template is also created as a Pod
(``--dry-run=server``), and the Deployments must reach their replicas on the KWOK node, the Jobs get their pods.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from tests.conftest import REPO_ROOT, Cluster
from tests.helpers import run_cli

pytestmark = pytest.mark.cluster

KubeObject = dict[str, Any]
DEFAULT_SPEC = REPO_ROOT / "gitops_gen" / "spec" / "default.yaml"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}
REFUSED = 'violates PodSecurity "restricted:latest"'


@pytest.fixture
def restricted(cluster: Cluster) -> Iterator[list[str]]:
    """Two fresh namespaces enforcing Pod Security "restricted", and a unique prefix (for cluster-wide names);
    everything made in or for them is deleted afterwards."""
    stem = uuid.uuid4().hex[:6]
    made = [f"psa-{stem}-{suffix}" for suffix in ("staging", "production")]
    for name in made:
        cluster.kubectl("create", "-f", "-", stdin=json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": RESTRICTED}}))
    try:
        yield [f"m{stem}", *made]
    finally:
        cluster.kubectl("delete", "namespace", *made, "--wait=false", check=False)
        cluster.kubectl("delete", "clusterrole,clusterrolebinding,persistentvolume", "-l",
                        f"gitops-gen.io/test-run={stem}", check=False)
        for kind in ("clusterrole", "clusterrolebinding"):
            cluster.kubectl("delete", kind, f"gitops-gen-drift-m{stem}-staging", f"gitops-gen-drift-m{stem}-production",
                            "--ignore-not-found", check=False)


def _init(root: Path, capsys: pytest.CaptureFixture[str], name: str, namespaces: dict[str, str],
          extra: dict[str, Any] | None = None) -> Path:
    """The shipped default spec with its own name, namespaces, and the in-cluster drift check."""
    spec = yaml.safe_load(DEFAULT_SPEC.read_text())
    spec["name"] = name
    for overlay, namespace in namespaces.items():
        spec["overlays"][overlay]["namespace"] = namespace
    spec["drift"] = {"ci": "none", "inCluster": {"image": "registry.example/gitops-gen:0.1"}}
    spec["gitops"] = {"repoURL": "https://git.example.net/m.git"}
    spec |= extra or {}
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(yaml.safe_dump(spec))
    assert run_cli(capsys, "init", str(root), "--no-commit").code == 0
    return root


def _rendered(root: Path, overlay: str) -> list[KubeObject]:
    return [*kustomize.render(root / "overlays" / overlay), *kustomize.render(root / "clusters" / overlay / "drift")]


def _pod_spec(obj: KubeObject) -> KubeObject | None:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if obj["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return obj["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def _as_pod(cluster: Cluster, namespace: str, name: str, pod_spec: KubeObject) -> Any:
    """Create ``pod_spec`` as a Pod, dry run on the server: what admission says of that template."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": pod_spec}
    return cluster.kubectl("create", "--dry-run=server", "-n", namespace, "-f", "-", stdin=json.dumps(pod), check=False)


def _wait(what: str, check: Any, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


def _claim_volume(cluster: Cluster, stem: str, namespace: str, claim: str) -> None:
    """A volume bound ahead to the overlay's media claim (the test plane has no provisioner)."""
    cluster.kubectl("create", "-f", "-", stdin=json.dumps({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": f"{namespace}-system", "labels": {"gitops-gen.io/test-run": stem}},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
                 "nfs": {"server": "192.0.2.1", "path": "/system"},
                 "claimRef": {"namespace": namespace, "name": claim}}}))


def test_the_default_tree_passes_pod_security_restricted_and_its_pods_run(
        tmp_path: Path, cluster: Cluster, restricted: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    name, *namespaces = restricted
    overlays = dict(zip(("staging", "production"), namespaces, strict=True))
    root = _init(tmp_path / "repo", capsys, name, overlays)
    for overlay, namespace in overlays.items():
        objects = _rendered(root, overlay)
        templates = {f"{obj['kind']}/{obj['metadata']['name']}": spec for obj in objects
                     if (spec := _pod_spec(obj)) is not None}
        assert {key.split("/")[0] for key in templates} == {"Deployment", "Job", "CronJob"}

        for obj in objects:
            if obj["metadata"].get("namespace") is None and obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
                obj["metadata"].setdefault("labels", {})["gitops-gen.io/test-run"] = name[1:]
        claim = next(o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim")
        _claim_volume(cluster, name[1:], namespace, claim)
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-tests", "-f", "-",
                                  stdin="\n---\n".join(json.dumps(obj) for obj in objects), check=False)
        assert applied.returncode == 0, applied.stderr
        assert "PodSecurity" not in applied.stderr, applied.stderr  # no "would violate" warning on any workload
        # Admission judges each template as the Pod it becomes (its ServiceAccount now exists).
        for key, pod_spec in templates.items():
            created = _as_pod(cluster, namespace, key.split("/")[1].lower(), pod_spec)
            assert created.returncode == 0, f"{overlay} {key}: {created.stderr}"

        def deployments_ready(namespace: str = namespace) -> bool:
            items = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
            return bool(items) and all((d["status"].get("readyReplicas") or 0) == d["spec"]["replicas"]
                                       for d in items)

        _wait(f"every Deployment of {overlay} to be ready", deployments_ready)
        cron = next(o["metadata"]["name"] for o in objects if o["kind"] == "CronJob")
        cluster.kubectl("create", "job", "drift-now", f"--from=cronjob/{cron}", "-n", namespace)
        jobs = [o["metadata"]["name"] for o in objects if o["kind"] == "Job"] + ["drift-now"]
        for job in jobs:
            _wait(f"a pod of Job {job}", lambda job=job, namespace=namespace: cluster.kubectl(
                "get", "pods", "-n", namespace, "-l", f"job-name={job}", "-o", "name").stdout.strip() != "")
        pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
        assert {pod["spec"]["nodeName"] for pod in pods} == {"kwok-node"}


def _web_pod(root: Path, name: str) -> KubeObject:
    (web,) = [o for o in _rendered(root, "staging")
              if o["kind"] == "Deployment" and o["metadata"]["name"] == f"{name}-web"]
    pod_spec = _pod_spec(web)
    assert pod_spec is not None
    del pod_spec["serviceAccountName"]  # not applied here: the ServiceAccount admission would answer first
    return pod_spec


def test_restricted_enforcement_refuses_a_template_without_the_profile(
        tmp_path: Path, cluster: Cluster, restricted: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # The check above has teeth: the same web template without seccomp, or allowed to escalate, is refused.
    name, namespace, _ = restricted
    root = _init(tmp_path / "repo", capsys, name, {"staging": namespace})
    assert _as_pod(cluster, namespace, "web", _web_pod(root, name)).returncode == 0
    pod_spec = _web_pod(root, name)
    del pod_spec["securityContext"]["seccompProfile"]
    refused = _as_pod(cluster, namespace, "web", pod_spec)
    assert refused.returncode != 0 and REFUSED in refused.stderr and "seccompProfile" in refused.stderr

    pod_spec = _web_pod(root, name)
    pod_spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    refused = _as_pod(cluster, namespace, "web", pod_spec)
    assert refused.returncode != 0 and "allowPrivilegeEscalation" in refused.stderr, refused.stderr


def test_read_only_roots_pass_restricted_and_mount_writable_scratch(
        tmp_path: Path, cluster: Cluster, restricted: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    name, namespace, _ = restricted
    root = _init(tmp_path / "repo", capsys, name, {"staging": namespace},
                 {"pods": {"readOnlyRootFilesystem": True}})
    for obj in _rendered(root, "staging"):
        pod_spec = _pod_spec(obj)
        if pod_spec is None:
            continue
        unbound = {key: value for key, value in pod_spec.items() if key != "serviceAccountName"}  # not applied
        created = _as_pod(cluster, namespace, obj["metadata"]["name"].lower(), unbound)
        assert created.returncode == 0, created.stderr
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        for container in pod_spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            writable = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}
            if container["image"].startswith("ghcr.io/mastodon/mastodon:"):
                # Ruby takes no world-writable /tmp without the sticky bit: only tmpfs (1777) will do.
                assert writable["/tmp"]["emptyDir"] == {"medium": "Memory"}
                assert "emptyDir" in writable["/opt/mastodon/tmp"]
            elif "mastodon-streaming" in container["image"]:
                assert "emptyDir" in writable["/tmp"]


def test_placement_is_the_overlays_own_else_the_top_level_one_and_the_scheduler_obeys_it(
        tmp_path: Path, cluster: Cluster, restricted: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    name, staging, production = restricted
    pods = {"nodeSelector": {"gitops-gen.io/no-such-pool": "yes"}, "imagePullSecrets": ["registry"],
            "tolerations": [{"key": "dedicated", "value": "mastodon", "effect": "NoSchedule"}]}
    overlays = {"staging": staging, "production": production}
    root = _init(tmp_path / "repo", capsys, name, overlays, {"pods": pods})
    spec = yaml.safe_load((root / "gitops-gen.yaml").read_text())
    spec["overlays"]["production"]["pods"] = {"nodeSelector": {"type": "kwok"}, "tolerations": []}
    (root / "gitops-gen.yaml").write_text(yaml.safe_dump(spec))
    assert run_cli(capsys, "init", str(root), "--no-commit").code == 0

    for overlay, namespace in overlays.items():
        rendered = kustomize.render(root / "overlays" / overlay)
        objects = [o for o in rendered if o["kind"] in ("Deployment", "Job")]
        assert len(objects) == 5
        _claim_volume(cluster, name[1:], namespace, f"{name}-system")
        for obj in objects:
            pod_spec = _pod_spec(obj)
            assert pod_spec is not None
            # The overlay's own value replaces the top-level one whole; a field it does not set is inherited.
            assert pod_spec["imagePullSecrets"] == [{"name": "registry"}]
            if overlay == "production":
                assert pod_spec["nodeSelector"] == {"type": "kwok"} and "tolerations" not in pod_spec
            else:
                assert pod_spec["nodeSelector"] == pods["nodeSelector"]
                assert pod_spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "mastodon",
                                                    "effect": "NoSchedule"}]
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-tests", "-f", "-",
                                  stdin="\n---\n".join(json.dumps(obj) for obj in rendered), check=False)
        assert applied.returncode == 0, applied.stderr

    def scheduled(namespace: str) -> list[tuple[str, str]]:
        pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=web",
                                          "-o", "json").stdout)["items"]
        return [(p["spec"].get("nodeName") or "", next((c.get("reason") or "" for c in p["status"].get(
            "conditions", []) if c["type"] == "PodScheduled"), "")) for p in pods]

    _wait("production's web pods on the KWOK node",
          lambda: bool(scheduled(production)) and all(node == "kwok-node" for node, _ in scheduled(production)))
    _wait("staging's web pods to be found unschedulable",
          lambda: bool(scheduled(staging)) and all(reason == "Unschedulable" for _, reason in scheduled(staging)))
