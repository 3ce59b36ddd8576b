"""Search (``mastodon.search``): the ``ES_*`` configuration, and the Job that runs ``tootctl search deploy`` after
the post-deploy migration (``overlays/<env>/search-deploy.yaml``).

``search deploy`` creates the indices, upgrades those whose definition changed in the new Mastodon and imports the
database into them; it needs the migrated schema, so it runs last:

- Argo CD: a ``PostSync`` hook in wave ``DEPLOY_WAVE``, after the post-deploy migration (wave 0 of the same
  phase; Argo CD starts a wave once the hooks of the one before completed). ``BeforeHookCreation`` recreates it on
  every sync, like the migration Jobs.
- Flux: its own stage, ``<name>-<env>-search``, which depends on the post-migrate stage (``manifests/sync.py``)
  and recreates the Job when its template changed (a new image: ``force``), so every upgrade runs it again.

The Job runs the main image, so the overlay's ``images:`` entry (moved by ``bump-image``) moves it too.
"""

from __future__ import annotations

from typing import Any

from gitops_gen.generate.manifests import stages
from gitops_gen.generate.manifests.common import KubeObject, metadata, names
from gitops_gen.generate.manifests.pods import mastodon_pod
from gitops_gen.generate.manifests.workloads import mastodon_container
from gitops_gen.spec.model import Spec
from gitops_gen.spec.search import Search

COMPONENT = "search-deploy"
DEPLOY_WAVE = "1"
FLUX_FORCE = "kustomize.toolkit.fluxcd.io/force"


def config(search: Search, host: str) -> dict[str, Any]:
    """The ``ES_*`` variables of the ConfigMap, ``host`` being the resolved host (a bare Service name made a
    cluster FQDN). Mastodon joins ``ES_HOST:ES_PORT`` into the client's URL, so the scheme goes into ``ES_HOST``
    (as the official chart does it); unset values are left out (None)."""
    if not search.enabled:
        return {"ES_ENABLED": "false"}
    return {
        "ES_ENABLED": "true",
        "ES_HOST": f"https://{host}" if search.tls else host,
        "ES_PORT": search.port,
        "ES_PRESET": search.preset,
        "ES_PREFIX": search.prefix,
        "ES_USER": search.user,
    }


def runs_deploy(spec: Spec) -> bool:
    search = spec.mastodon.search
    return search is not None and search.enabled and search.deploy.enabled


def deploy_command(search: Search) -> list[str]:
    return ["bin/tootctl", "search", "deploy", "--concurrency", str(search.deploy.concurrency),
            "--batch-size", str(search.deploy.batch_size)]


def deploy_job(spec: Spec) -> KubeObject:
    """The ``tootctl search deploy`` Job (``spec.mastodon.search`` must be set)."""
    search = spec.mastodon.search
    assert search is not None
    meta = metadata(spec, names(spec).workload(COMPONENT), COMPONENT)
    meta["annotations"] = {stages.ARGO_HOOK: "PostSync", stages.ARGO_DELETE_POLICY: "BeforeHookCreation",
                           stages.ARGO_WAVE: DEPLOY_WAVE, FLUX_FORCE: "enabled"}
    # Each importer thread holds a database connection.
    container = mastodon_container(spec, COMPONENT, deploy_command(search),
                                   [{"name": "DB_POOL", "value": str(search.deploy.concurrency)}])
    pod = mastodon_pod(spec, [container], media=False, restart_policy="Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        # No deadline: the first import of a large instance takes hours.
        "spec": {"backoffLimit": 2, "template": {"metadata": {"labels": dict(meta["labels"])}, "spec": pod}},
    }


def jobs(spec: Spec) -> list[KubeObject]:
    """The overlay's search Jobs: the deploy Job when search and its deploy are enabled, else none."""
    return [deploy_job(spec)] if runs_deploy(spec) else []
