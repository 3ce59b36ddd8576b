"""The GitOps wiring of each overlay (``gitops:``, ``secrets:``), pinned on the tree ``init`` writes
(tests/core_trees.py): the Argo CD Application and AppProject, the Flux GitRepository and the Kustomizations that
apply an overlay in migration order, and where the Secret comes from. Each test killed mutants of
benchmarks/mutation.py that survived before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from gitops_gen.errors import InputError
from gitops_gen.generate.manifests import sync, wiring
from tests.core_trees import REPO_URL, WrittenTree, tree_scope, written_tree

AGE = "age1" + "q" * 58

# Both engines, everything of theirs set, two overlays, the Secret from a cluster-wide store, and search (a fourth
# Flux stage). The spec's repoURL wins over the origin remote.
ENGINES = """\
name: fedi
mastodon: {localDomain: example.com, search: {enabled: true, host: elasticsearch}}
gitops:
  engines: [argocd, flux]
  repoURL: https://git.example.org/ops/fedi-deploy.git
  revision: release
  argocd: {namespace: gitops}
  flux: {namespace: flux, interval: 7m, gitSecret: deploy-key}
secrets:
  provider: external-secrets
  externalSecrets: {store: vault, storeKind: ClusterSecretStore, remoteKeyPrefix: mastodon/}
drift: {ci: none}
overlays:
  staging: {namespace: fedi-staging}
  production: {namespace: fedi}
"""

# Flux alone for a tree in a monorepo, its defaults, the Secret committed encrypted with sops; no repoURL: the
# origin remote.
SOPS_FLUX = f"""\
mastodon: {{localDomain: example.com}}
gitops: {{engines: [flux]}}
secrets: {{provider: sops, sops: {{ageRecipients: [{AGE}]}}}}
drift: {{ci: none}}
overlays:
  production: {{}}
"""

# The default engine, with neither a repoURL nor a remote.
DEFAULT = """\
mastodon: {localDomain: example.com}
drift: {ci: none}
overlays:
  production: {namespace: mastodon}
"""


@pytest.fixture(scope=tree_scope)
def engines(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(ENGINES, tmp_path_factory.mktemp("engines"))


@pytest.fixture(scope=tree_scope)
def sops(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(SOPS_FLUX, tmp_path_factory.mktemp("sops") / "apps" / "mastodon", tree_dir="apps/mastodon")


@pytest.fixture(scope=tree_scope)
def default(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(DEFAULT, tmp_path_factory.mktemp("default"), repo_url=None)


def one(tree: WrittenTree, path: str) -> dict[str, Any]:
    (document,) = tree.documents(path)
    found: dict[str, Any] = document
    return found


ARGO_LABELS = {"app.kubernetes.io/managed-by": "gitops-gen", "app.kubernetes.io/part-of": "fedi",
               "app.kubernetes.io/name": "fedi", "app.kubernetes.io/component": "sync"}
FLUX_LABELS = {**ARGO_LABELS, "app.kubernetes.io/instance": "fedi-production"}


def test_the_application_syncs_its_overlay_from_the_followed_branch_with_prune_and_self_heal(
        engines: WrittenTree) -> None:
    app = one(engines, "clusters/production/argocd/application.yaml")
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    # In Argo CD's namespace; without app.kubernetes.io/instance, Argo CD's own tracking label.
    assert app["metadata"] == {"name": "fedi-production", "namespace": "gitops", "labels": ARGO_LABELS}
    assert app["spec"]["project"] == "fedi-production"
    assert app["spec"]["source"] == {"repoURL": "https://git.example.org/ops/fedi-deploy.git",
                                     "targetRevision": "release", "path": "overlays/production"}
    assert app["spec"]["destination"] == {"server": "https://kubernetes.default.svc", "namespace": "fedi"}
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert policy["syncOptions"] == ["ServerSideApply=true", "CreateNamespace=true", "PruneLast=true"]
    assert policy["retry"] == {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}}


def test_the_app_project_allows_only_this_repository_and_the_overlays_namespace(engines: WrittenTree) -> None:
    project = one(engines, "clusters/staging/argocd/appproject.yaml")
    assert (project["apiVersion"], project["kind"]) == ("argoproj.io/v1alpha1", "AppProject")
    assert project["metadata"] == {"name": "fedi-staging", "namespace": "gitops",
                                   "labels": ARGO_LABELS}
    assert project["spec"] == {
        "description": "fedi-staging: overlays/staging of https://git.example.org/ops/fedi-deploy.git into "
                       "fedi-staging",
        "sourceRepos": ["https://git.example.org/ops/fedi-deploy.git"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "fedi-staging"}],
        # CreateNamespace=true, for this one Namespace only.
        "clusterResourceWhitelist": [{"group": "*", "kind": "Namespace", "name": "fedi-staging"}]}
    assert one(engines, "clusters/staging/argocd/kustomization.yaml") == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["appproject.yaml", "application.yaml"]}


def test_the_repository_is_the_specs_else_the_remote_else_a_placeholder(engines: WrittenTree, sops: WrittenTree,
                                                                        default: WrittenTree) -> None:
    assert one(sops, "clusters/production/flux/gitrepository.yaml")["spec"]["url"] == REPO_URL
    app = one(default, "clusters/production/argocd/application.yaml")
    assert app["spec"]["source"]["repoURL"] == "https://git.example.com/ops/mastodon.git"
    assert app["metadata"]["namespace"] == "argocd"
    # Only the engines the spec names get a directory.
    assert not any(p.startswith("clusters/production/flux/") for p in default.paths())
    assert not any(p.startswith("clusters/production/argocd/") for p in sops.paths())
    assert {p for p in engines.paths() if p.startswith("clusters/production/")} >= {
        "clusters/production/argocd/application.yaml", "clusters/production/flux/app.yaml"}


def test_flux_fetches_the_followed_branch_with_the_credentials_secret(engines: WrittenTree,
                                                                      sops: WrittenTree) -> None:
    source = one(engines, "clusters/production/flux/gitrepository.yaml")
    assert (source["apiVersion"], source["kind"]) == ("source.toolkit.fluxcd.io/v1", "GitRepository")
    assert source["metadata"] == {"name": "fedi-production", "namespace": "flux", "labels": FLUX_LABELS}
    assert source["spec"] == {"interval": "1m", "url": "https://git.example.org/ops/fedi-deploy.git",
                              "ref": {"branch": "release"}, "secretRef": {"name": "deploy-key"}}
    public = one(sops, "clusters/production/flux/gitrepository.yaml")
    assert public["metadata"]["namespace"] == "flux-system"
    assert public["spec"] == {"interval": "1m", "url": REPO_URL, "ref": {"branch": "main"}}


def test_the_overlays_namespace_is_created_by_flux_and_never_pruned(engines: WrittenTree) -> None:
    namespace = one(engines, "clusters/production/flux/namespace.yaml")
    assert namespace == {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "fedi", "labels": FLUX_LABELS, "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"}}}


def stages(tree: WrittenTree, *names: str) -> list[dict[str, Any]]:
    return [one(tree, f"clusters/production/flux/{name}.yaml") for name in names]


def matches(selector: str, labels: dict[str, str]) -> bool:
    """A set-based label selector (``key in (a,b)``, ``key notin (a,b)``) as the API server reads it."""
    key, operator, values = selector.split(" ", 2)
    value = labels.get(key)
    chosen = values.strip("()").split(",")
    return value in chosen if operator == "in" else value not in chosen


def test_flux_applies_the_overlay_in_migration_order_each_stage_from_the_same_path(engines: WrittenTree,
                                                                                  sops: WrittenTree) -> None:
    config, app, post, search = stages(engines, "config", "app", "post-migrate", "search")
    assert [s["metadata"]["name"] for s in (config, app, post, search)] == [
        "fedi-production-config", "fedi-production-app", "fedi-production-post-migrate", "fedi-production-search"]
    # Each starts once the previous one is Ready (the Job completed, the Deployments rolled out).
    assert "dependsOn" not in config["spec"]
    assert [s["spec"]["dependsOn"] for s in (app, post, search)] == [
        [{"name": "fedi-production-config"}], [{"name": "fedi-production-app"}],
        [{"name": "fedi-production-post-migrate"}]]
    for stage in (config, app, post, search):
        assert (stage["apiVersion"], stage["kind"]) == ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
        assert stage["metadata"]["namespace"] == "flux" and stage["metadata"]["labels"] == FLUX_LABELS
        spec = stage["spec"]
        assert (spec["interval"], spec["retryInterval"]) == ("7m", "2m")  # gitops.flux.interval
        assert spec["sourceRef"] == {"kind": "GitRepository", "name": "fedi-production"}
        assert (spec["path"], spec["targetNamespace"], spec["prune"]) == ("./overlays/production", "fedi", True)
        assert "decryption" not in spec  # nothing is encrypted without sops
    # The migration stages wait for their Job and recreate it when its template changed (a new image).
    for stage in (config, post, search):
        assert (stage["spec"]["wait"], stage["spec"]["force"], stage["spec"]["timeout"]) == (True, True, "30m")
    assert (app["spec"]["wait"], app["spec"]["timeout"]) == (False, "10m") and "force" not in app["spec"]
    # Flux ignores healthChecks under wait: true; the app stage names the overlay's Deployments instead.
    assert app["spec"]["healthChecks"] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "namespace": "fedi"}
        for name in ("fedi-web", "fedi-streaming", "fedi-sidekiq-default")]
    assert one(engines, "clusters/production/flux/kustomization.yaml")["resources"] == [
        "namespace.yaml", "gitrepository.yaml", "config.yaml", "app.yaml", "post-migrate.yaml", "search.yaml"]
    # A monorepo's tree: the path from the repository's root; defaults; the sops key decrypts every stage.
    for stage in stages(sops, "config", "app", "post-migrate"):
        assert stage["spec"]["path"] == "./apps/mastodon/overlays/production"
        assert (stage["spec"]["interval"], stage["metadata"]["namespace"]) == ("10m", "flux-system")
        assert stage["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    assert one(sops, "clusters/production/flux/kustomization.yaml")["resources"][-1] == "post-migrate.yaml"


def test_the_flux_stages_split_the_overlay_so_that_each_object_has_one_owner(engines: WrittenTree) -> None:
    rendered = engines.rendered("overlays/production")
    applied: dict[tuple[str, str], list[str]] = {(o["kind"], o["metadata"]["name"]): [] for o in rendered}
    created_only: dict[str, set[str]] = {}
    for stage in stages(engines, "config", "app", "post-migrate", "search"):
        delete, *shared = stage["spec"]["patches"]
        assert yaml.safe_load(delete["patch"]) == {"$patch": "delete", "apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "removed-by-selector"}}
        kept = [o for o in rendered if not matches(delete["target"]["labelSelector"], o["metadata"]["labels"])]
        names = {o["metadata"]["name"] for o in kept}
        for patch in shared:  # created if missing, never taken over: the config stage owns them
            body = yaml.safe_load(patch["patch"])
            assert body["metadata"]["annotations"] == {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}
            selector = patch["target"]["labelSelector"]
            created_only[stage["metadata"]["name"]] = {
                o["metadata"]["name"] for o in kept if matches(selector, o["metadata"]["labels"])}
        for obj in kept:
            if obj["metadata"]["name"] not in created_only.get(stage["metadata"]["name"], set()):
                applied[(obj["kind"], obj["metadata"]["name"])].append(stage["metadata"]["name"].removeprefix(
                    "fedi-production-"))
        assert names
    owners = applied
    assert all(len(stage_names) == 1 for stage_names in owners.values()), owners
    by_kind = {kind: owners[(kind, name)][0] for kind, name in owners}
    assert by_kind["ServiceAccount"] == "config" and by_kind["Deployment"] == "app"
    assert owners[("Job", "fedi-db-migrate-pre")] == ["config"]
    assert owners[("Job", "fedi-db-migrate-post")] == ["post-migrate"]
    assert owners[("ExternalSecret", "fedi-secrets")] == ["config"]
    assert [stage for (kind, _), [stage] in owners.items() if kind == "Job" and stage == "search"]
    # The ConfigMap with its hash suffix: in every later stage, so that their references are rewritten too.
    (configmap,) = [name for kind, name in owners if kind == "ConfigMap"]
    assert created_only == {"fedi-production-app": {configmap}, "fedi-production-post-migrate": {configmap},
                            "fedi-production-search": {configmap}}


def test_the_secret_comes_from_the_store_the_spec_names_into_the_overlays_namespace(engines: WrittenTree,
                                                                                    sops: WrittenTree) -> None:
    (written,) = [o for o in engines.documents("overlays/staging/secrets.yaml") if o["kind"] == "ExternalSecret"]
    assert "namespace" not in written["metadata"]  # the overlay's kustomization sets it
    external = engines.object("overlays/staging", "ExternalSecret", "fedi-secrets")
    assert external["metadata"]["namespace"] == "fedi-staging"
    assert external["spec"]["secretStoreRef"] == {"name": "vault", "kind": "ClusterSecretStore"}
    assert {ref["remoteRef"]["key"] for ref in external["spec"]["data"]} >= {"mastodon/SECRET_KEY_BASE"}
    # sops: the recipients of every overlay's encrypted files in .sops.yaml; no .sops.yaml otherwise.
    assert one(sops, ".sops.yaml")["creation_rules"][0]["age"] == AGE
    assert ".sops.yaml" not in engines.paths()


def test_unknown_engines_and_bad_sync_parameters_are_refused_naming_the_field() -> None:
    target = sync.SyncTarget(name="m", env="prod", namespace="m", repo_url="https://h/m.git")
    with pytest.raises(InputError, match="sync engine 'fleet': unknown; use argocd or flux"):
        sync.cluster_files(target, ["argocd", "fleet"])  # type: ignore[list-item]
    refused: list[tuple[Callable[[], object], str]] = [
        (lambda: sync.SyncTarget(name="m", env="Prod", namespace="m", repo_url="x"),
         "name/env: 'm-Prod' is not a DNS label once joined as <name>-<env>"),
        (lambda: sync.SyncTarget(name="m", env="p", namespace="-m", repo_url="x"),
         "namespace: '-m' is not a DNS label"),
        (lambda: sync.SyncTarget(name="m", env="p", namespace="m", repo_url="x", revision=" "),
         "revision: empty; give the branch the sync engine follows"),
        (lambda: sync.SyncTarget(name="m", env="p", namespace="m", repo_url=" "),
         "repo_url: empty; give the URL the sync engine clones the repository from"),
        (lambda: sync.ArgoCDOptions(namespace="Argo"), "argocd namespace: 'Argo' is not a DNS label"),
        (lambda: sync.ArgoCDOptions(retry_max_backoff="later"), "argocd retry_max_backoff: 'later' is not a dur"),
        (lambda: sync.ArgoCDOptions(retry_backoff="soon"),
         r"^argocd retry_backoff: 'soon' is not a duration like 10s$"),
        (lambda: sync.ArgoCDOptions(retry_limit=0), "^argocd retry_limit and retry_factor: must be at least 1$"),
        (lambda: sync.ArgoCDOptions(retry_factor=0), "retry_factor: must be at least 1"),
        (lambda: sync.FluxOptions(namespace="flux_system"), "flux namespace: 'flux_system' is not a DNS label"),
        (lambda: sync.FluxOptions(migration_timeout="1d"), "flux migration_timeout: '1d' is not a duration like"),
        (lambda: sync.FluxOptions(source_interval="1"), "flux source_interval"),
        (lambda: sync.StageComponents(post_migrate=()), "^stage components: pre_migrate and post_migrate must be "
         "non-empty, and the stages' components disjoint$"),
        (lambda: sync.StageComponents(pre_migrate=()), "pre_migrate and post_migrate must be non-empty"),
        (lambda: sync.StageComponents(after_migrate=("config",)), "disjoint"),
    ]
    for make, message in refused:
        with pytest.raises(InputError, match=message):
            make()
    # Without components that every stage shares, no stage creates anything only when it is missing.
    target = sync.SyncTarget(name="m", env="p", namespace="m", repo_url="x")
    staged = sync.flux_kustomizations(target, components=sync.StageComponents(referenced=()))
    assert [len(stage["spec"]["patches"]) for stage in staged] == [1, 1, 1]
    # The limits themselves are allowed.
    assert sync.ArgoCDOptions(retry_limit=1, retry_factor=1, retry_backoff="1h30m").retry_limit == 1
    assert sync.FluxOptions(interval="1.5h", timeout="500ms").interval == "1.5h"


@pytest.mark.parametrize(("url", "local"), [
    ("/srv/git/m.git", True), ("file:///srv/m.git", True), ("../m.git", True), ("m", True),
    ("git@host:ops/m.git", False), ("host:m.git", False), ("https://h/m", False), ("ssh://git@h/ops/m.git", False)])
def test_a_remote_that_is_a_path_on_this_machine_is_no_url_a_cluster_can_clone(url: str, local: bool) -> None:
    assert wiring.is_local_path(url) is local


def test_no_ci_file_without_drift_ci(default: WrittenTree, engines: WrittenTree) -> None:
    assert not any(p.startswith(".github/") or p == ".gitlab-ci.yml" for p in default.paths() | engines.paths())
    assert not any(p.startswith("clusters/production/drift/") for p in engines.paths())  # no drift.inCluster
