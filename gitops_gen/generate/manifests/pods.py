"""Every pod gitops-gen writes, hardened in one place, and placed per overlay.

``harden`` gives a pod spec what Pod Security "restricted" asks of it (Kubernetes' Pod Security Standards): a
non-root uid, seccomp ``RuntimeDefault``, no privilege escalation and every capability dropped, in every
container and init container. Web, streaming, sidekiq, the migration Jobs and any Job or CronJob of the main
image get their pod spec from ``mastodon_pod``; the in-cluster drift CronJob calls ``harden`` itself.

Read-only root filesystems, from the images' sources (mastodon/mastodon ``Dockerfile``, ``config/boot.rb``,
``config/initializers/sidekiq.rb``, ``streaming/Dockerfile``):

- streaming (node) writes no file: its root is always read-only, with an emptyDir on ``/tmp`` for any library
  that wants scratch space;
- the Rails processes write under ``/opt/mastodon/tmp`` (bootsnap's cache in ``tmp/cache``, sidekiq's readiness
  file) and into ``/tmp`` (uploads, ffmpeg and libvips scratch). ``pods.readOnlyRootFilesystem`` mounts an
  emptyDir on each. Ruby refuses a world-writable temporary directory without the sticky bit, which is what a
  disk-backed emptyDir is (0777), and silently falls back to the working directory, which is read-only: so
  ``/tmp`` is a memory-backed emptyDir (tmpfs, 1777), whose content counts against the container's memory
  limit. That, and the loss of the bootsnap cache the image precompiles into ``tmp/cache`` (hidden by the
  emptyDir, rebuilt at every pod start), is why it is off by default. An emptyDir also outlives a container
  restart: after a crash (no clean shutdown) sidekiq's readiness file is still there, and the restarted
  container reads as ready while it boots.

Placement (node selector, tolerations, pull secrets) is per overlay: ``placement_patches`` gives JSON patches
that set the overlay's effective values on every Deployment, Job and CronJob of the overlay (a JSON patch
``add`` replaces the whole value, so an overlay's list never merges with another's).
"""

from __future__ import annotations

from typing import Any

from gitops_gen.generate.manifests.common import MASTODON_UID, SYSTEM_MOUNT, KubeObject, names
from gitops_gen.spec.model import Spec
from gitops_gen.spec.pods import Placement
from gitops_gen.spec.versions import mastodon_release

SECCOMP = {"type": "RuntimeDefault"}
RAILS_ROOT = "/opt/mastodon"
# Sidekiq touches this file once it will process jobs, and removes it on shutdown (Mastodon 4.3 and later:
# mastodon/mastodon #30971); the official chart's readiness probe reads it with `cat`, which the image has.
SIDEKIQ_READY_FILE = f"{RAILS_ROOT}/tmp/sidekiq_process_has_started_and_will_begin_processing_jobs"
SIDEKIQ_READY_SINCE = (4, 3)
# Where each kind keeps its pod spec, for the overlay's placement patches.
POD_SPEC_PATHS = (("Deployment", "/spec/template/spec"), ("Job", "/spec/template/spec"),
                  ("CronJob", "/spec/jobTemplate/spec/template/spec"))
PLACEMENT_DIR = "patches/placement"


def container_security(*, read_only_root: bool) -> KubeObject:
    """A container's part of the restricted profile (the uid and seccomp are set once, on the pod)."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": read_only_root}


def harden(pod: KubeObject, *, uid: int, fs_group: int | None = None, read_only_root: bool) -> KubeObject:
    """Give ``pod`` (a pod spec) and each of its containers the restricted profile, in place; returns ``pod``.

    ``fs_group`` makes mounted volumes writable by that group (the Mastodon images' own gid for the media
    volume). What a container already says in its ``securityContext`` is kept unless the profile sets it.

    >>> pod = harden({"containers": [{"name": "app"}]}, uid=991, read_only_root=False)
    >>> pod["securityContext"]["seccompProfile"], pod["containers"][0]["securityContext"]["capabilities"]
    ({'type': 'RuntimeDefault'}, {'drop': ['ALL']})
    """
    security: KubeObject = {"runAsUser": uid, "runAsGroup": uid, "runAsNonRoot": True, "seccompProfile": dict(SECCOMP)}
    if fs_group is not None:
        security["fsGroup"] = fs_group
    pod["securityContext"] = {**pod.get("securityContext", {}), **security}
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        container["securityContext"] = {**container.get("securityContext", {}),
                                        **container_security(read_only_root=read_only_root)}
    return pod


def uses_shared_volume(spec: Spec) -> bool:
    """Media live on a shared ReadWriteMany volume unless they go to S3."""
    return spec.mastodon.s3 is None


def _mount(pod: KubeObject, name: str, path: str, volume: KubeObject) -> None:
    pod.setdefault("volumes", []).append({"name": name, **volume})
    for container in pod["containers"]:
        container.setdefault("volumeMounts", []).append({"name": name, "mountPath": path})


def mastodon_pod(spec: Spec, containers: list[KubeObject], *, media: bool, rails: bool = True,
                 restart_policy: str | None = None) -> KubeObject:
    """The pod spec of a Mastodon process: its ServiceAccount, the media volume when ``media`` (and no S3), the
    scratch volumes a read-only root needs, and the restricted profile. ``rails`` is False for streaming only.

    Use it for every pod of the main image (Deployments, Jobs, CronJobs), so that each passes Pod Security
    "restricted" and follows ``pods.readOnlyRootFilesystem``.
    """
    pod: KubeObject = {}
    if restart_policy:
        pod["restartPolicy"] = restart_policy
    pod |= {"serviceAccountName": names(spec).service_account, "containers": containers}
    if media and uses_shared_volume(spec):
        _mount(pod, "system", SYSTEM_MOUNT, {"persistentVolumeClaim": {"claimName": names(spec).system_claim}})
    read_only = spec.pods.read_only_root_filesystem if rails else True
    if read_only:
        if rails:
            _mount(pod, "rails-tmp", f"{RAILS_ROOT}/tmp", {"emptyDir": {}})
        # Memory for Ruby (see the module's docstring); node does not care, and a disk emptyDir will do.
        _mount(pod, "tmp", "/tmp", {"emptyDir": {"medium": "Memory"} if rails else {}})
    return harden(pod, uid=MASTODON_UID, fs_group=MASTODON_UID, read_only_root=read_only)


def sidekiq_readiness(spec: Spec) -> KubeObject | None:
    """The official chart's sidekiq readiness probe, for a targeted Mastodon that writes the file (4.3+)."""
    release = mastodon_release(spec.images.mastodon.tag)
    if release is not None and release < SIDEKIQ_READY_SINCE:
        return None
    return {"exec": {"command": ["cat", SIDEKIQ_READY_FILE]}, "initialDelaySeconds": 10, "periodSeconds": 2,
            "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 10}


def spread_across_nodes(selector: dict[str, str]) -> list[KubeObject]:
    """Replicas spread over nodes where they can be; a one-node cluster still schedules them all."""
    return [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": dict(selector)}}]


def _values(placement: Placement) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if placement.node_selector:
        values["nodeSelector"] = dict(placement.node_selector)
    if placement.tolerations:
        values["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in placement.tolerations]
    if placement.image_pull_secrets:
        values["imagePullSecrets"] = [{"name": name} for name in placement.image_pull_secrets]
    return values


def placement_patches(spec: Spec, overlay: str) -> list[tuple[str, str, list[KubeObject]]]:
    """The overlay's placement as ``(kind, file, JSON patch)``: one patch per kind of pod owner, applied by
    the kustomization to every object of that kind (none when the overlay's placement is empty)."""
    values = _values(spec.pods.effective(spec.overlays[overlay].pods))
    if not values:
        return []
    patches = []
    for kind, path in POD_SPEC_PATHS:
        ops = [{"op": "add", "path": f"{path}/{key}", "value": value} for key, value in values.items()]
        patches.append((kind, f"{PLACEMENT_DIR}/{kind.lower()}.yaml", ops))
    return patches
