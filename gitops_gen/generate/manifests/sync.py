"""The objects that let Argo CD or Flux sync one overlay, laid out as files under ``clusters/<env>/``.

Layout (one directory per engine, each a kustomization, so one ``kubectl apply -k`` wires a cluster)::

    clusters/<env>/argocd/kustomization.yaml    resources: appproject.yaml, application.yaml
    clusters/<env>/argocd/appproject.yaml       AppProject <name>-<env> (namespace argocd)
    clusters/<env>/argocd/application.yaml      Application <name>-<env> -> overlays/<env>
    clusters/<env>/flux/kustomization.yaml      resources: namespace.yaml, gitrepository.yaml, config.yaml, ...
    clusters/<env>/flux/namespace.yaml          the overlay's Namespace (Flux does not create it; never pruned)
    clusters/<env>/flux/gitrepository.yaml      GitRepository <name>-<env> (namespace flux-system)
    clusters/<env>/flux/config.yaml             Kustomization <name>-<env>-config
    clusters/<env>/flux/app.yaml                Kustomization <name>-<env>-app           dependsOn config
    clusters/<env>/flux/post-migrate.yaml       Kustomization <name>-<env>-post-migrate  dependsOn app
    clusters/<env>/flux/search.yaml             Kustomization <name>-<env>-search  dependsOn post-migrate (with
                                                ``tootctl search deploy``)

Argo CD keeps its Applications in its own namespace (``argocd``) and Flux its sources and Kustomizations in
``flux-system``, as both engines document. ``flux bootstrap ... --path=clusters/<env>`` picks up the ``flux/``
directory (kustomize-controller includes every sub-directory that has a kustomization.yaml); without bootstrap,
``flux install`` then ``kubectl apply -k clusters/<env>/flux``. For Argo CD, ``kubectl apply -k
clusters/<env>/argocd`` (or an app-of-apps Application pointing at that directory).

Migration order. Argo CD orders with waves and hooks inside the overlay (``stages.py``). Flux has
no hooks, so the overlay is synced by three Kustomizations chained with ``dependsOn``; kustomize-controller only
starts a dependant once its dependency is Ready at the same source revision:

1. ``<name>-<env>-config``: what the pre-deploy migration needs (``stages.py``: the ServiceAccount, the
   ConfigMaps, the objects that bring the Secret — ExternalSecret, sops-encrypted Secret — and the media claim
   if the Job mounts it) and the pre-deploy migration Job. ``wait: true``: Ready only once the Job completed.
2. ``<name>-<env>-app``: everything else (Deployments, Services, Ingress...). Health checks on the Deployments
   (``wait`` is off because Flux ignores ``healthChecks`` when ``wait`` is on): Ready once they rolled out.
3. ``<name>-<env>-post-migrate``: the post-deploy migration Job, ``wait: true``.
4. ``<name>-<env>-search`` (only with ``StageComponents.after_migrate``): the ``tootctl search deploy`` Job, which
   needs the fully migrated schema, ``wait: true``.

Overlay paths the Flux Kustomizations point at: all three use the SAME path, ``./overlays/<env>`` (the very
overlay Argo CD syncs, with its one ``images:`` block that ``bump-image`` edits), and split it by the
``app.kubernetes.io/component`` label with Flux ``spec.patches`` (``$patch: delete`` on a label selector): stage 1
keeps the components of ``StageComponents.config`` and ``.pre_migrate``, stage 3 keeps ``.post_migrate``, stage 2
keeps everything else. The three parts are disjoint and together the whole overlay, by construction, so no object
has two owners and nothing is left out. What the overlay must provide: the component labels
(``serviceaccount``, ``config`` on the ConfigMaps, ``secrets`` on the ExternalSecret or sops Secret,
``migrate-pre`` / ``migrate-post`` on the Jobs, or other values passed in ``StageComponents``). The migration
stages set ``force: true`` so that a Job whose template changed (a new image) is recreated rather than rejected
as immutable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitops_gen.errors import InputError
from gitops_gen.generate.manifests.sync_options import (
    COMPONENT_LABEL,
    FLUX_SSA_ANNOTATION,
    ArgoCDOptions,
    Engine,
    FluxOptions,
    StageComponents,
    SyncTarget,
    argocd_labels,
    owner_labels,
)
from gitops_gen.generate.secrets import ExistingSecret, SecretsProvider, flux_decryption

KubeObject = dict[str, Any]
Files = dict[str, list[KubeObject]]
_DEFAULT_SECRETS: SecretsProvider = ExistingSecret()
# Made here and re-exported: callers build the objects and their inputs from one module.
__all__ = ["FLUX_SSA_ANNOTATION", "ArgoCDOptions", "Engine", "FluxOptions", "StageComponents", "SyncTarget"]

# --- Argo CD ------------------------------------------------------------------------------------------------

def argocd_app_project(target: SyncTarget, options: ArgoCDOptions = ArgoCDOptions()) -> KubeObject:
    """The AppProject that confines the overlay's Application to this repository and its namespace."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": target.instance, "namespace": options.namespace, "labels": argocd_labels(target)},
        "spec": {
            "description": f"{target.instance}: {target.overlay_path} of {target.repo_url} into {target.namespace}",
            "sourceRepos": [target.repo_url],
            "destinations": [{"server": options.server, "namespace": target.namespace}],
            # CreateNamespace=true needs the right to create a Namespace; the name keeps it to this one. The group
            # is the glob "*" rather than "" (the core group, the only one with a Namespace kind): API servers of
            # Kubernetes 1.20 reject an empty string in this required field.
            "clusterResourceWhitelist": [{"group": "*", "kind": "Namespace", "name": target.namespace}],
        },
    }


def argocd_application(target: SyncTarget, options: ArgoCDOptions = ArgoCDOptions()) -> KubeObject:
    """The Application that syncs ``overlays/<env>`` automatically, with prune, self-heal and retries.

    It has no ``resources-finalizer``: deleting the Application leaves Mastodon running (and its data in place).
    """
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": target.instance, "namespace": options.namespace, "labels": argocd_labels(target)},
        "spec": {
            "project": target.instance,
            "source": {"repoURL": target.repo_url, "targetRevision": target.revision, "path": target.overlay_path},
            "destination": {"server": options.server, "namespace": target.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                # PruneLast: the ConfigMap of the previous configuration (another hash suffix) goes only once the
                # Deployments rolled out to the new one, not in its early wave while old pods may still restart.
                "syncOptions": ["ServerSideApply=true", "CreateNamespace=true", "PruneLast=true"],
                "retry": {
                    "limit": options.retry_limit,
                    "backoff": {
                        "duration": options.retry_backoff,
                        "factor": options.retry_factor,
                        "maxDuration": options.retry_max_backoff,
                    },
                },
            },
        },
    }


# --- Flux ---------------------------------------------------------------------------------------------------

def flux_namespace(target: SyncTarget) -> KubeObject:
    """The overlay's Namespace: Flux does not create a target namespace, and pruning must never delete it."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": target.namespace,
            "labels": owner_labels(target),
            # Deleting the namespace would delete the volumes and every Secret in it with it.
            "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"},
        },
    }


def flux_git_repository(target: SyncTarget, options: FluxOptions = FluxOptions()) -> KubeObject:
    """The GitRepository the overlay's Kustomizations read from: this repository, at the followed branch."""
    spec: dict[str, Any] = {
        "interval": options.source_interval,
        "url": target.repo_url,
        "ref": {"branch": target.revision},
    }
    if options.git_secret:
        spec["secretRef"] = {"name": options.git_secret}
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": target.instance, "namespace": options.namespace, "labels": owner_labels(target)},
        "spec": spec,
    }


def _delete_patch(selector: str) -> KubeObject:
    # A strategic-merge delete with a target: kustomize applies it to every object the selector matches, whatever
    # its kind (the kind and name written in the patch body are replaced by each target's own).
    body = "$patch: delete\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: removed-by-selector\n"
    return {"target": {"labelSelector": selector}, "patch": body}


def _create_only_patch(selector: str) -> KubeObject:
    # Flux creates an object with this annotation when it is missing and otherwise leaves it alone.
    body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared-by-selector\n  annotations:\n"
            f"    {FLUX_SSA_ANNOTATION}: IfNotPresent\n")
    return {"target": {"labelSelector": selector}, "patch": body}


def _only(components: Iterable[str]) -> str:
    return f"{COMPONENT_LABEL} notin ({','.join(components)})"


def _none_of(components: Iterable[str]) -> str:
    return f"{COMPONENT_LABEL} in ({','.join(components)})"


def stage_names(target: SyncTarget) -> tuple[str, str, str]:
    """The names of the three Flux Kustomizations of the overlay, in the order they apply."""
    return f"{target.instance}-config", f"{target.instance}-app", f"{target.instance}-post-migrate"


def after_stage_name(target: SyncTarget) -> str:
    """The name of the optional fourth Kustomization: the Jobs that need the migrated schema (search deploy)."""
    return f"{target.instance}-search"


def flux_kustomizations(
    target: SyncTarget,
    options: FluxOptions = FluxOptions(),
    secrets: SecretsProvider = _DEFAULT_SECRETS,
    components: StageComponents = StageComponents(),
) -> list[KubeObject]:
    """The Flux Kustomizations (config + pre-migration, app, post-migration, and with ``after_migrate``
    components the search stage), chained by ``dependsOn``."""
    config_name, app_name, post_name = stage_names(target)
    decryption = flux_decryption(secrets)

    def stage(name: str, *, keep_out: str, depends_on: str | None, wait: bool, timeout: str,
              force: bool, health_checks: list[KubeObject] | None = None, create_only: str | None = None
              ) -> KubeObject:
        spec: dict[str, Any] = {}
        if depends_on:
            spec["dependsOn"] = [{"name": depends_on}]
        spec.update({
            "interval": options.interval,
            "retryInterval": options.retry_interval,
            "timeout": timeout,
            "sourceRef": {"kind": "GitRepository", "name": target.instance},
            "path": f"./{target.overlay_path}",
            "targetNamespace": target.namespace,
            "prune": True,
            "wait": wait,
        })
        if health_checks:
            spec["healthChecks"] = health_checks
        if force:
            spec["force"] = True
        if decryption is not None:
            spec["decryption"] = decryption
        spec["patches"] = [_delete_patch(keep_out)] + ([_create_only_patch(create_only)] if create_only else [])
        return {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": options.namespace, "labels": owner_labels(target)},
            "spec": spec,
        }

    health_checks = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment, "namespace": target.namespace}
        for deployment in target.deployments
    ]
    first = components.config + components.pre_migrate
    shared = tuple(component for component in components.referenced if component in first)
    staged = first + components.post_migrate + components.after_migrate
    not_app = tuple(component for component in staged if component not in shared)
    create_only = _none_of(shared) if shared else None
    built = [
        stage(config_name, keep_out=_only(first), depends_on=None, wait=True,
              timeout=options.migration_timeout, force=True),
        # With named Deployments, health-check exactly those (Flux ignores healthChecks under wait: true);
        # without names, wait for every object of the stage rather than declare it healthy at once.
        stage(app_name, keep_out=_none_of(not_app), depends_on=config_name, wait=not health_checks,
              timeout=options.timeout, force=False, health_checks=health_checks, create_only=create_only),
        stage(post_name, keep_out=_only(components.post_migrate + shared), depends_on=app_name, wait=True,
              timeout=options.migration_timeout, force=True, create_only=create_only),
    ]
    if components.after_migrate:
        built.append(stage(after_stage_name(target), keep_out=_only(components.after_migrate + shared),
                           depends_on=post_name, wait=True, timeout=options.migration_timeout, force=True,
                           create_only=create_only))
    return built


# --- files --------------------------------------------------------------------------------------------------

def _kustomization(resources: list[str]) -> KubeObject:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}


def argocd_files(target: SyncTarget, options: ArgoCDOptions = ArgoCDOptions()) -> Files:
    """``clusters/<env>/argocd/``: relative file path -> the objects of that file."""
    root = f"clusters/{target.env}/argocd"
    return {
        f"{root}/kustomization.yaml": [_kustomization(["appproject.yaml", "application.yaml"])],
        f"{root}/appproject.yaml": [argocd_app_project(target, options)],
        f"{root}/application.yaml": [argocd_application(target, options)],
    }


def flux_files(
    target: SyncTarget,
    options: FluxOptions = FluxOptions(),
    secrets: SecretsProvider = _DEFAULT_SECRETS,
    components: StageComponents = StageComponents(),
) -> Files:
    """``clusters/<env>/flux/``: relative file path -> the objects of that file."""
    root = f"clusters/{target.env}/flux"
    config, app, post, *after = flux_kustomizations(target, options, secrets, components)
    files: Files = {
        f"{root}/namespace.yaml": [flux_namespace(target)],
        f"{root}/gitrepository.yaml": [flux_git_repository(target, options)],
        f"{root}/config.yaml": [config],
        f"{root}/app.yaml": [app],
        f"{root}/post-migrate.yaml": [post],
    }
    if after:
        files[f"{root}/search.yaml"] = after
    resources = [path.rsplit("/", 1)[1] for path in files]
    return {f"{root}/kustomization.yaml": [_kustomization(resources)], **files}


def cluster_files(
    target: SyncTarget,
    engines: Iterable[Engine],
    *,
    argocd: ArgoCDOptions = ArgoCDOptions(),
    flux: FluxOptions = FluxOptions(),
    secrets: SecretsProvider = _DEFAULT_SECRETS,
    components: StageComponents = StageComponents(),
) -> Files:
    """Every file under ``clusters/<env>/`` for the chosen engines: relative path -> objects."""
    files: Files = {}
    for engine in dict.fromkeys(engines):
        if engine == "argocd":
            files.update(argocd_files(target, argocd))
        elif engine == "flux":
            files.update(flux_files(target, flux, secrets, components))
        else:
            raise InputError(f"sync engine {engine!r}: unknown; use argocd or flux")
    return files
