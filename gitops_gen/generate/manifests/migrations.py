"""Database migrations as Jobs, ordered for Argo CD (hooks) and Flux (component labels + dependsOn).

Upgrades need ``rails db:migrate`` twice: before new pods start, skipping post-deployment migrations, and
after they are up, in full. The pre-deploy Job runs ``db:prepare``, which on an empty database loads the
schema (first install) and on an existing one migrates.

- Argo CD: a ``Sync`` hook in a wave after its prerequisites and before the Deployments, and a ``PostSync``
  hook, both with ``BeforeHookCreation``, so each sync recreates them (a Job is immutable, and a fixed name must
  not block the next upgrade). What the pre-deploy Job needs is decided in one place, ``manifests/stages.py``.
- Flux: no hooks; the overlay is split by ``app.kubernetes.io/component`` into Kustomizations chained with
  ``dependsOn`` (``manifests/sync.py``), the first one holding the same prerequisites (``stages.py``). The
  force annotation makes kustomize-controller recreate a Job whose template changed (a new image) instead of
  failing on the immutable field.

The Jobs run the main image, so the overlay's ``images:`` entry (moved by ``bump-image``) moves them too.
"""

from __future__ import annotations

from gitops_gen.generate.manifests import backends, stages
from gitops_gen.generate.manifests.common import KubeObject, metadata, names
from gitops_gen.generate.manifests.pods import mastodon_pod
from gitops_gen.generate.manifests.workloads import mastodon_container
from gitops_gen.spec.model import Spec

PRE_COMPONENT = stages.PRE_MIGRATE_COMPONENT
POST_COMPONENT = stages.POST_MIGRATE_COMPONENT
FLUX_FORCE = "kustomize.toolkit.fluxcd.io/force"


def _job(spec: Spec, suffix: str, component: str, command: list[str], env: list[KubeObject]) -> KubeObject:
    meta = metadata(spec, names(spec).workload(suffix), component)
    meta["annotations"] = {**stages.hook_annotations(component), FLUX_FORCE: "enabled"}
    container = mastodon_container(spec, "migrate", command, env)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": 3600,
            "template": {
                "metadata": {"labels": dict(meta["labels"])},
                "spec": mastodon_pod(spec, [container], media=False, restart_policy="Never"),
            },
        },
    }


def pre_deploy(spec: Spec, overlay: str | None = None) -> KubeObject:
    """The pre-deploy Job of ``overlay`` (None: only to see what it needs, ``stages.prerequisites``)."""
    return _job(spec, "db-migrate-pre", PRE_COMPONENT, ["bundle", "exec", "rails", "db:prepare"],
                [{"name": "SKIP_POST_DEPLOYMENT_MIGRATIONS", "value": "true"}, *_direct(spec, overlay)])


def post_deploy(spec: Spec, overlay: str | None = None) -> KubeObject:
    return _job(spec, "db-migrate-post", POST_COMPONENT, ["bundle", "exec", "rails", "db:migrate"],
                _direct(spec, overlay))


def _direct(spec: Spec, overlay: str | None) -> list[KubeObject]:
    # Behind PgBouncer the Jobs go to PostgreSQL itself: migrations hold a session-level advisory lock.
    return backends.migration_env(spec, spec.overlay_namespace(overlay) if overlay else None)


def jobs(spec: Spec, overlay: str) -> list[KubeObject]:
    return [pre_deploy(spec, overlay), post_deploy(spec, overlay)]
