"""The opt-in in-cluster drift check: a CronJob running ``gitops-gen drift`` under a ServiceAccount bound to a
ClusterRole that can only read (get/list/watch). Pure functions returning plain objects; ``init`` writes them.

Secrets are not in the ClusterRole: drift reads them metadata only (enough to see a missing, extra or
relabelled Secret), and a Role in the overlay's namespace grants just ``list`` on them. RBAC has no
"metadata only" verb, so that Role is the narrowest grant there is: one namespace, one verb.

Every overlay gets objects of its own, named ``gitops-gen-drift-<name>-<env>`` (``object_name``): the ClusterRole
and ClusterRoleBinding are cluster-scoped, so a shared name would let the last overlay applied take the binding
from the others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from gitops_gen.generate.manifests.pods import harden

KubeObject = dict[str, Any]

RUN_AS = 65532  # "nonroot" in distroless-style images; any non-root uid works, the clone and cache are emptyDirs
NAME = "gitops-gen-drift"
# What gitops-gen writes into an overlay, as (API group, resource); Secrets go through SECRETS_ROLE_RULE.
DEFAULT_RESOURCES: tuple[tuple[str, str], ...] = (
    ("", "configmaps"), ("", "services"), ("", "serviceaccounts"),
    ("", "persistentvolumeclaims"), ("", "persistentvolumes"),
    ("apps", "deployments"), ("apps", "statefulsets"),
    ("batch", "jobs"), ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "networkpolicies"),
    ("policy", "poddisruptionbudgets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("external-secrets.io", "externalsecrets"),
    ("gateway.networking.k8s.io", "httproutes"),  # expose.type: Gateway
    ("monitoring.coreos.com", "servicemonitors"),  # metrics.serviceMonitor
)
READ_VERBS = ("get", "list", "watch")
SECRETS_ROLE_RULE = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}
_LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "drift-check",
           "app.kubernetes.io/managed-by": "gitops-gen"}


def object_name(instance: str) -> str:
    """The name of every drift-check object of one overlay (``<name>-<env>``).

    >>> object_name("mastodon-staging")
    'gitops-gen-drift-mastodon-staging'
    """
    return f"{NAME}-{instance}"


def _minor(kube_version: str) -> tuple[int, int]:
    found = re.match(r"^v?(\d+)\.(\d+)", kube_version.strip())
    if not found:
        raise ValueError(f"kubeVersion {kube_version!r} is not MAJOR.MINOR (e.g. 1.20)")
    return int(found.group(1)), int(found.group(2))


def cron_job_api_version(kube_version: str) -> str:
    """``batch/v1`` from Kubernetes 1.21 on, ``batch/v1beta1`` before.

    >>> cron_job_api_version("1.20"), cron_job_api_version("v1.21.3")
    ('batch/v1beta1', 'batch/v1')
    """
    return "batch/v1" if _minor(kube_version) >= (1, 21) else "batch/v1beta1"


def cluster_role(resources: Sequence[tuple[str, str]] = DEFAULT_RESOURCES, name: str = NAME) -> KubeObject:
    """A ClusterRole that may read (get, list, watch) the resources drift compares, and nothing else."""
    groups: dict[str, list[str]] = {}
    for group, resource in resources:
        groups.setdefault(group, []).append(resource)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": dict(_LABELS)},
        "rules": [{"apiGroups": [group], "resources": sorted(names), "verbs": list(READ_VERBS)}
                  for group, names in groups.items()],
    }


def service_account(namespace: str, name: str = NAME) -> KubeObject:
    """The identity the CronJob runs as."""
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(_LABELS)}}


def cluster_role_binding(namespace: str, name: str = NAME) -> KubeObject:
    """Binds the ServiceAccount ``namespace/name`` to the read-only ClusterRole of the same name."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": dict(_LABELS)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
    }


def cron_job(namespace: str, *, kube_version: str, image: str, repo_url: str, overlays: Sequence[str],
             schedule: str = "17 */6 * * *", git_image: str = "alpine/git:2.45.2", branch: str = "main",
             name: str = NAME, cache_claim: str | None = None, tree: str = "") -> KubeObject:
    """A CronJob that clones the GitOps repository and runs ``gitops-gen drift`` for each overlay, one run at
    a time (``concurrencyPolicy: Forbid``); the Job fails when drift is found (exit 1) or on error (exit 2).

    ``image`` must contain gitops-gen and kubectl (or kustomize); the clone uses ``git_image``. ``cache_claim``
    (a PersistentVolumeClaim) keeps the render cache between runs, mounted on ``XDG_CACHE_HOME``. ``tree`` is the
    tree's directory in the repository (a monorepo's ``apps/mastodon``; empty at its root).
    """
    if not overlays:
        raise ValueError("cron_job needs at least one overlay")
    overlay_args = [arg for overlay in overlays for arg in ("--overlay", overlay)]
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        "volumes": [{"name": "work", "emptyDir": {}}],
        "initContainers": [{
            "name": "clone", "image": git_image,
            "args": ["clone", "--depth", "1", "--branch", branch, repo_url, "/work/repo"],
            "env": [{"name": "HOME", "value": "/work"}],
            "volumeMounts": [{"name": "work", "mountPath": "/work"}],
        }],
        "containers": [{
            "name": "drift", "image": image,
            "args": ["drift", "--repo", f"/work/repo/{tree}".rstrip("/"), *overlay_args, "--current-context",
                     "--output", "json"],
            # The cache (OpenAPI, discovery) and the temporary export need a writable place.
            "env": [{"name": "HOME", "value": "/work"}, {"name": "XDG_CACHE_HOME", "value": "/work/.cache"},
                    {"name": "TMPDIR", "value": "/work"}],
            "volumeMounts": [{"name": "work", "mountPath": "/work"},
                             *([{"name": "cache", "mountPath": "/work/.cache"}] if cache_claim else [])],
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        }],
    }
    if cache_claim:
        pod_spec["volumes"].append({"name": "cache", "persistentVolumeClaim": {"claimName": cache_claim}})
    # Pod Security "restricted"; the claim, when there is one, must be writable by the container's uid.
    harden(pod_spec, uid=RUN_AS, fs_group=RUN_AS if cache_claim else None, read_only_root=True)
    return {
        "apiVersion": cron_job_api_version(kube_version),
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(_LABELS)},
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {
                "backoffLimit": 0,
                "activeDeadlineSeconds": 1800,
                "template": {"metadata": {"labels": dict(_LABELS)}, "spec": pod_spec},
            }},
        },
    }


def secrets_role(watched: str, account_namespace: str, name: str = NAME) -> list[KubeObject]:
    """A Role and RoleBinding in the ``watched`` namespace that let the ServiceAccount
    ``account_namespace/name`` list Secrets there (drift asks for their metadata only), and nothing else."""
    return [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": name, "namespace": watched, "labels": dict(_LABELS)},
         "rules": [dict(SECRETS_ROLE_RULE)]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": watched, "labels": dict(_LABELS)},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": account_namespace}]},
    ]


def drift_job_objects(namespace: str, *, kube_version: str, image: str, repo_url: str, overlays: Sequence[str],
                      schedule: str = "17 */6 * * *", instance: str | None = None,
                      watched: str | None = None, cache_claim: str | None = None, tree: str = "",
                      branch: str = "main") -> list[KubeObject]:
    """Everything the in-cluster drift check needs, in apply order; named after ``instance`` (``<name>-<env>``,
    see ``object_name``) when given. ``watched`` is the overlay's namespace (default: the job's); ``branch`` is
    the branch the sync engines follow (``gitops.revision``), which the job clones."""
    name = object_name(instance) if instance else NAME
    return [
        cluster_role(name=name),
        service_account(namespace, name),
        cluster_role_binding(namespace, name),
        *secrets_role(watched or namespace, namespace, name),
        cron_job(namespace, kube_version=kube_version, image=image, repo_url=repo_url, overlays=overlays,
                 schedule=schedule, branch=branch, name=name, cache_claim=cache_claim, tree=tree),
    ]
