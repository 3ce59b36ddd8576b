"""Mastodon's cleanup tasks as CronJobs (``base/maintenance.yaml``): ``tootctl media remove``,
``preview_cards remove`` and, when asked, ``media remove-orphans``, ``statuses remove``, ``accounts prune``.

Each runs the main image (so the overlay's ``images:`` entry, moved by ``bump-image``, moves it too), reads the
same configuration and Secret as sidekiq, mounts the media volume when there is one (the tasks delete files
there) and runs as the same ServiceAccount and user as the other pods (``pods.mastodon_pod``).

Both engines apply them as ordinary objects: Argo CD in wave 0 with the Deployments, Flux in the app stage (their
component is none of the stages' own, ``sync_options.StageComponents``). Their Jobs and Pods are the CronJob
controller's (owner references), which ``drift`` does not report as extra.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitops_gen.generate.manifests.common import KubeObject, cronjob_api_version, metadata, names, resources
from gitops_gen.generate.manifests.pods import mastodon_pod
from gitops_gen.generate.manifests.workloads import mastodon_container
from gitops_gen.spec.model import Spec

COMPONENT = "maintenance"
TASK_LABEL = "gitops-gen.io/task"
# Since Argo CD 3.2 a CronJob whose last Job failed is Degraded; one failed weekly cleanup must not mark the whole
# Application Degraded (its health gates the upgrade notifications and `argocd app wait`).
ARGO_IGNORE_HEALTH = {"argocd.argoproj.io/ignore-healthcheck": "true"}


@dataclass(frozen=True)
class Task:
    """One tootctl task as a CronJob: its name suffix, schedule and command."""

    name: str
    schedule: str
    command: tuple[str, ...]


def tasks(spec: Spec) -> list[Task]:
    """The enabled tasks of ``spec.maintenance``, in a stable order."""
    m = spec.maintenance
    candidates = [
        (m.media_remove.enabled, Task("media-remove", m.media_remove.schedule,
                                      ("media", "remove", "--days", str(m.media_remove.days)))),
        (m.preview_cards_remove.enabled, Task("preview-cards-remove", m.preview_cards_remove.schedule,
                                              ("preview_cards", "remove", "--days",
                                               str(m.preview_cards_remove.days)))),
        (m.media_remove_orphans.enabled, Task("media-remove-orphans", m.media_remove_orphans.schedule,
                                              ("media", "remove-orphans"))),
        (m.statuses_remove.enabled, Task("statuses-remove", m.statuses_remove.schedule,
                                         ("statuses", "remove", "--days", str(m.statuses_remove.days)))),
        (m.accounts_prune.enabled, Task("accounts-prune", m.accounts_prune.schedule, ("accounts", "prune"))),
    ]
    return [task for enabled, task in candidates if enabled]


def cronjob(spec: Spec, task: Task) -> KubeObject:
    """The CronJob of ``task``: never two runs at once, a missed run started late only within the hour."""
    meta = metadata(spec, names(spec).workload(task.name), COMPONENT, annotations=dict(ARGO_IGNORE_HEALTH))
    meta["labels"][TASK_LABEL] = task.name
    container = mastodon_container(spec, task.name, ["bin/tootctl", *task.command], [])
    container["resources"] = resources(spec.maintenance.resources)
    # Never: a failed attempt keeps its Pod (and its log) and the Job makes a new one, up to backoffLimit.
    pod = mastodon_pod(spec, [container], media=True, restart_policy="Never")
    return {
        "apiVersion": cronjob_api_version(spec),
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": task.schedule,
            "concurrencyPolicy": "Forbid",
            # Without a deadline the controller gives up on a CronJob that missed 100 schedules (a long outage).
            "startingDeadlineSeconds": 3600,
            "jobTemplate": {
                "metadata": {"labels": dict(meta["labels"])},
                "spec": {
                    "backoffLimit": 2,
                    "template": {"metadata": {"labels": dict(meta["labels"])}, "spec": pod},
                },
            },
        },
    }


def cronjobs(spec: Spec) -> list[KubeObject]:
    """Every enabled task's CronJob (none when every task is off)."""
    return [cronjob(spec, task) for task in tasks(spec)]
