"""Which objects of an overlay must exist before the pre-deploy migration, and how each engine orders them.

One rule, read by both engines: an object belongs to the *prerequisites* when its ``app.kubernetes.io/component``
is one of ``prerequisites(job)`` — what the pre-deploy migration Job's Pod refers to: its ServiceAccount (the
Pod cannot even be created without it), the ConfigMap it reads (``envFrom``), the Secret or what brings it
(ExternalSecret, the sops-encrypted Secret: component ``secrets``), and the media claim if it mounts one.

- Flux: the first Kustomization keeps the prerequisites and the pre-deploy Job (``sync.StageComponents``).
- Argo CD: the overlay carries ``sync-order.yaml``, a patch that puts every prerequisite (same label selector) in
  sync wave ``PREREQUISITES_WAVE``. The pre-deploy Job is a ``Sync`` hook in ``PRE_MIGRATE_WAVE``, the
  Deployments stay in wave 0 and the post-deploy Job is a ``PostSync`` hook. A ``PreSync`` hook would run before
  every wave of the Sync phase — before its own ServiceAccount and ConfigMap exist on a first install — and
  making them hooks too would delete them on every sync (the ExternalSecret's Secret with it) and never prune
  them. Argo CD waits for a wave to be healthy (a Job: completed) before the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitops_gen.generate.secrets import SECRETS_COMPONENT

KubeObject = dict[str, Any]

COMPONENT_LABEL = "app.kubernetes.io/component"
SERVICE_ACCOUNT_COMPONENT = "serviceaccount"
CONFIG_COMPONENT = "config"
STORAGE_COMPONENT = "storage"
PRE_MIGRATE_COMPONENT = "migrate-pre"
POST_MIGRATE_COMPONENT = "migrate-post"

#: What every pre-deploy migration needs, whatever it mounts.
PREREQUISITES: tuple[str, ...] = (SERVICE_ACCOUNT_COMPONENT, CONFIG_COMPONENT, SECRETS_COMPONENT)

ARGO_HOOK = "argocd.argoproj.io/hook"
ARGO_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
ARGO_WAVE = "argocd.argoproj.io/sync-wave"
PREREQUISITES_WAVE = "-2"
PRE_MIGRATE_WAVE = "-1"
ORDER_PATCH_FILE = "sync-order.yaml"


def prerequisites(job: KubeObject) -> tuple[str, ...]:
    """The components that must exist before ``job``'s Pod: ``PREREQUISITES``, plus the media claim's
    component when the Pod mounts a PersistentVolumeClaim.

    >>> prerequisites({"spec": {"template": {"spec": {"volumes": [{"persistentVolumeClaim": {"claimName": "m"}}]}}}})
    ('serviceaccount', 'config', 'secrets', 'storage')
    """
    volumes = job.get("spec", {}).get("template", {}).get("spec", {}).get("volumes") or []
    mounts_claim = any("persistentVolumeClaim" in volume for volume in volumes)
    return PREREQUISITES + ((STORAGE_COMPONENT,) if mounts_claim else ())


def selector(components: Iterable[str]) -> str:
    """The label selector of the objects of ``components``.

    >>> selector(["config", "secrets"])
    'app.kubernetes.io/component in (config,secrets)'
    """
    return f"{COMPONENT_LABEL} in ({','.join(components)})"


def argocd_order_patch() -> KubeObject:
    """The body of ``sync-order.yaml``: puts the object it targets in the prerequisites' sync wave.

    A strategic-merge patch with a label-selector target: kustomize applies it to every object the selector
    matches, whatever its kind (the kind and name of the body are replaced by each target's own).
    """
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "prerequisites", "annotations": {ARGO_WAVE: PREREQUISITES_WAVE}}}


def argocd_order_entry(components: Iterable[str]) -> KubeObject:
    """The overlay kustomization's ``patches`` entry that applies ``sync-order.yaml`` to ``components``."""
    return {"path": ORDER_PATCH_FILE, "target": {"labelSelector": selector(components)}}


def hook_annotations(component: str) -> dict[str, str]:
    """Argo CD's annotations of a migration Job: the pre-deploy one is a ``Sync`` hook in its wave (after the
    prerequisites, before the Deployments), the post-deploy one a ``PostSync`` hook. Both are deleted before they
    are created again, so each sync runs them anew (a Job is immutable)."""
    if component == PRE_MIGRATE_COMPONENT:
        return {ARGO_HOOK: "Sync", ARGO_DELETE_POLICY: "BeforeHookCreation", ARGO_WAVE: PRE_MIGRATE_WAVE}
    return {ARGO_HOOK: "PostSync", ARGO_DELETE_POLICY: "BeforeHookCreation"}
