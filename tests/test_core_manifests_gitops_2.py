"""The opt-in in-cluster drift check (``drift.inCluster``) and the scheduled CI drift check (``drift.ci``), pinned on
the tree ``init`` writes (tests/core_trees.py): what the CronJob clones and runs, what its RBAC grants, and what
the GitHub workflow and the GitLab job install, cache and report. Each test killed mutants of
benchmarks/mutation.py that survived before."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gitops_gen.generate.manifests import drift_ci_steps as steps
from gitops_gen.generate.manifests import drift_job, drift_workflow
from tests.core_trees import WrittenTree, tree_scope, written_tree

# The drift check of two overlays in a namespace of its own, with a render cache on a claim, following a release
# branch; the GitHub workflow with an install line of its own.
IN_CLUSTER = """\
name: fedi
kubeVersion: "1.29"
mastodon: {localDomain: example.com}
gitops:
  repoURL: https://git.example.org/ops/fedi-deploy.git
  revision: release
drift:
  ci: github
  schedule: "5 4 * * 1"
  install: pipx install gitops-gen==9.9.9
  inCluster: {image: registry.example.org/ops/gitops-gen:0.1.0, namespace: drift, cacheVolume: drift-cache}
overlays:
  staging: {namespace: fedi-staging}
  prod-eu: {namespace: fedi}
"""

# A tree in a monorepo's apps/mastodon on Kubernetes 1.20, its drift job in the overlay's namespace without a
# cache claim, and the GitLab job without issues.
MONOREPO = """\
kubeVersion: "1.20"
mastodon: {localDomain: example.com}
drift:
  ci: gitlab
  issue: false
  install: pip install gitops-gen
  inCluster: {image: registry.example.org/ops/gitops-gen:0.1.0}
overlays:
  production: {}
"""


@pytest.fixture(scope=tree_scope)
def in_cluster(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(IN_CLUSTER, tmp_path_factory.mktemp("in-cluster"))


@pytest.fixture(scope=tree_scope)
def monorepo(tmp_path_factory: pytest.TempPathFactory) -> WrittenTree:
    return written_tree(MONOREPO, tmp_path_factory.mktemp("mono") / "apps" / "mastodon", tree_dir="apps/mastodon")


def drift_objects(tree: WrittenTree, overlay: str) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in tree.documents(f"clusters/{overlay}/drift/drift-check.yaml")}


def pod(tree: WrittenTree, overlay: str) -> dict[str, Any]:
    spec: dict[str, Any] = drift_objects(tree, overlay)["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def test_the_drift_job_clones_only_the_branch_the_engines_follow(in_cluster: WrittenTree,
                                                                  monorepo: WrittenTree) -> None:
    # A shallow clone of the followed branch: drift compares the cluster with what Argo CD or Flux syncs.
    clone = pod(in_cluster, "staging")["initContainers"][0]
    assert clone["args"] == ["clone", "--depth", "1", "--branch", "release",
                             "https://git.example.org/ops/fedi-deploy.git", "/work/repo"]
    assert pod(monorepo, "production")["initContainers"][0]["args"][4] == "main"
    clone_env = {"HOME": "/work"}  # git writes its config under $HOME; the root filesystem is read-only
    assert clone["name"] == "clone" and clone["image"] == "alpine/git:2.45.2"
    assert {e["name"]: e["value"] for e in clone["env"]} == clone_env
    assert clone["volumeMounts"] == [{"name": "work", "mountPath": "/work"}]


def test_the_drift_container_checks_its_overlay_of_the_clone_with_the_pods_own_account(
        in_cluster: WrittenTree, monorepo: WrittenTree) -> None:
    drift = pod(in_cluster, "prod-eu")["containers"][0]
    assert drift["name"] == "drift" and drift["image"] == "registry.example.org/ops/gitops-gen:0.1.0"
    # --current-context: in the pod, the in-cluster config of the ServiceAccount; JSON for the Job's log.
    assert drift["args"] == ["drift", "--repo", "/work/repo", "--overlay", "prod-eu", "--current-context",
                             "--output", "json"]
    # A monorepo's tree is a directory of the clone.
    assert pod(monorepo, "production")["containers"][0]["args"][:3] == ["drift", "--repo", "/work/repo/apps/mastodon"]
    assert drift["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}


@pytest.mark.parametrize("overlay", ["staging", "prod-eu"])
def test_every_path_the_job_writes_is_on_a_volume_under_a_read_only_root(in_cluster: WrittenTree,
                                                                          overlay: str) -> None:
    spec = pod(in_cluster, overlay)
    drift = spec["containers"][0]
    env = {e["name"]: e["value"] for e in drift["env"]}
    # The render cache (OpenAPI, discovery) and the temporary export of the tree need writable places.
    assert env == {"HOME": "/work", "XDG_CACHE_HOME": "/work/.cache", "TMPDIR": "/work"}
    mounts = {m["mountPath"]: m["name"] for m in drift["volumeMounts"]}
    assert mounts == {"/work": "work", "/work/.cache": "cache"}
    assert {v["name"]: {k: x for k, x in v.items() if k != "name"} for v in spec["volumes"]} == {
        "work": {"emptyDir": {}}, "cache": {"persistentVolumeClaim": {"claimName": "drift-cache"}}}
    for container in (*spec["initContainers"], drift):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # The claim is written by the job's uid: fsGroup makes it the volume's group.
    assert spec["securityContext"]["runAsUser"] == 65532 and spec["securityContext"]["fsGroup"] == 65532


def test_without_a_cache_claim_the_cache_stays_in_the_pods_own_volume(monorepo: WrittenTree) -> None:
    spec = pod(monorepo, "production")
    assert [v["name"] for v in spec["volumes"]] == ["work"]
    assert spec["containers"][0]["volumeMounts"] == [{"name": "work", "mountPath": "/work"}]
    assert "fsGroup" not in spec["securityContext"] and spec["securityContext"]["runAsNonRoot"] is True


def test_the_cron_job_runs_one_check_at_a_time_on_the_spec_schedule_and_keeps_a_short_history(
        in_cluster: WrittenTree, monorepo: WrittenTree) -> None:
    job = drift_objects(in_cluster, "staging")["CronJob"]
    assert job["apiVersion"] == "batch/v1"
    assert job["metadata"]["name"] == "gitops-gen-drift-fedi-staging" and job["metadata"]["namespace"] == "drift"
    assert job["spec"]["schedule"] == "5 4 * * 1" and job["spec"]["concurrencyPolicy"] == "Forbid"
    assert (job["spec"]["successfulJobsHistoryLimit"], job["spec"]["failedJobsHistoryLimit"]) == (3, 3)
    # A failed check (drift, exit 1) is a result, not a crash to retry; a hung one ends after half an hour.
    run = job["spec"]["jobTemplate"]["spec"]
    assert run["backoffLimit"] == 0 and run["activeDeadlineSeconds"] == 1800
    assert run["template"]["spec"]["restartPolicy"] == "Never"
    assert run["template"]["spec"]["serviceAccountName"] == "gitops-gen-drift-fedi-staging"
    labels = {"app.kubernetes.io/name": "gitops-gen-drift", "app.kubernetes.io/component": "drift-check",
              "app.kubernetes.io/managed-by": "gitops-gen"}
    assert job["metadata"]["labels"] == labels and run["template"]["metadata"]["labels"] == labels
    # Kubernetes 1.20 serves CronJob only as batch/v1beta1.
    assert drift_objects(monorepo, "production")["CronJob"]["apiVersion"] == "batch/v1beta1"


# Kind -> (API group, resource) of what an overlay renders.
RESOURCES = {"ConfigMap": ("", "configmaps"), "Service": ("", "services"), "ServiceAccount": ("", "serviceaccounts"),
             "PersistentVolumeClaim": ("", "persistentvolumeclaims"), "Deployment": ("apps", "deployments"),
             "Job": ("batch", "jobs"), "CronJob": ("batch", "cronjobs"), "Ingress": ("networking.k8s.io", "ingresses"),
             "PodDisruptionBudget": ("policy", "poddisruptionbudgets")}


def test_the_cluster_role_reads_every_kind_the_overlay_renders_except_secrets(in_cluster: WrittenTree) -> None:
    role = drift_objects(in_cluster, "staging")["ClusterRole"]
    assert role["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["metadata"] == {"name": "gitops-gen-drift-fedi-staging", "labels": drift_objects(
        in_cluster, "staging")["CronJob"]["metadata"]["labels"]}
    readable = set()
    for rule in role["rules"]:
        assert rule["verbs"] == ["get", "list", "watch"]  # read-only
        assert rule["resources"] == sorted(rule["resources"]) and len(rule["apiGroups"]) == 1
        readable |= {(rule["apiGroups"][0], resource) for resource in rule["resources"]}
    rendered = {RESOURCES[obj["kind"]] for obj in in_cluster.rendered("overlays/staging")}
    # Secrets are not there: drift reads them metadata only, through the Role below.
    assert rendered <= readable and ("", "secrets") not in readable
    assert ("apps", "statefulsets") in readable and ("monitoring.coreos.com", "servicemonitors") in readable


def test_the_job_may_only_list_secrets_and_only_in_the_overlays_namespace(in_cluster: WrittenTree,
                                                                          monorepo: WrittenTree) -> None:
    objects = drift_objects(in_cluster, "staging")
    name = "gitops-gen-drift-fedi-staging"
    account = {"kind": "ServiceAccount", "name": name, "namespace": "drift"}
    assert objects["ServiceAccount"]["apiVersion"] == "v1"
    assert {k: objects["ServiceAccount"]["metadata"][k] for k in ("name", "namespace")} == {
        "name": name, "namespace": "drift"}
    binding = objects["ClusterRoleBinding"]
    assert binding["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    assert binding["subjects"] == [account] and binding["metadata"]["name"] == name
    role, role_binding = objects["Role"], objects["RoleBinding"]
    assert role["apiVersion"] == role_binding["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["metadata"]["namespace"] == role_binding["metadata"]["namespace"] == "fedi-staging"
    assert role["metadata"]["name"] == role_binding["metadata"]["name"] == name
    assert role["metadata"]["labels"] == role_binding["metadata"]["labels"] == binding["metadata"]["labels"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    assert role_binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
    assert role_binding["subjects"] == [account]
    # Without drift.inCluster.namespace, everything is in the overlay's namespace.
    mono = drift_objects(monorepo, "production")
    assert {o["metadata"].get("namespace") for o in mono.values()} == {None, "mastodon-production"}
    assert mono["RoleBinding"]["subjects"][0]["namespace"] == "mastodon-production"


def test_each_overlay_has_its_own_drift_directory_and_names(in_cluster: WrittenTree) -> None:
    # Cluster-scoped objects of one shared name would let the last overlay applied take the binding.
    for overlay in ("staging", "prod-eu"):
        assert in_cluster.documents(f"clusters/{overlay}/drift/kustomization.yaml") == [{
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": ["drift-check.yaml"]}]
        names = {o["metadata"]["name"] for o in drift_objects(in_cluster, overlay).values()}
        assert names == {f"gitops-gen-drift-fedi-{overlay}"}



def test_without_an_instance_the_objects_share_one_name_and_watch_the_jobs_namespace() -> None:
    objects = drift_job.drift_job_objects("ops", kube_version="1.30", image="i", repo_url="https://h/r.git",
                                          overlays=["a", "b"])
    assert [(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in objects] == [
        ("ClusterRole", "gitops-gen-drift", None), ("ServiceAccount", "gitops-gen-drift", "ops"),
        ("ClusterRoleBinding", "gitops-gen-drift", None), ("Role", "gitops-gen-drift", "ops"),
        ("RoleBinding", "gitops-gen-drift", "ops"), ("CronJob", "gitops-gen-drift", "ops")]
    job = objects[-1]["spec"]
    assert job["schedule"] == "17 */6 * * *"
    container = job["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][1:7] == ["--repo", "/work/repo", "--overlay", "a", "--overlay", "b"]
    with pytest.raises(ValueError, match="at least one overlay"):
        drift_job.cron_job("ops", kube_version="1.30", image="i", repo_url="https://h/r.git", overlays=[])


def test_cron_job_api_version_follows_the_minor_release() -> None:
    versions = {v: drift_job.cron_job_api_version(v) for v in (" 1.20 ", "v1.21.3", "1.9", "2.0", "1.100")}
    assert versions == {" 1.20 ": "batch/v1beta1", "v1.21.3": "batch/v1", "1.9": "batch/v1beta1",
                        "2.0": "batch/v1", "1.100": "batch/v1"}
    with pytest.raises(ValueError, match=r"kubeVersion 'latest' is not MAJOR\.MINOR"):
        drift_job.cron_job_api_version("latest")

# --- the scheduled CI drift check ---------------------------------------------------------------------------

def github(tree: WrittenTree) -> dict[str, Any]:
    workflow: dict[str, Any] = tree.documents(".github/workflows/drift.yaml")[0]
    return workflow


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in job["steps"] if s.get("name", s.get("uses")) == name)
    return found


def test_the_github_workflow_runs_on_the_spec_schedule_and_by_hand_one_run_at_a_time(in_cluster: WrittenTree) -> None:
    text = in_cluster.text(".github/workflows/drift.yaml")
    assert drift_workflow.HEADER not in text  # init's own header (with the checksum) replaces it
    workflow = github(in_cluster)
    assert list(workflow) == ["name", "on", "concurrency", "permissions", "jobs"]  # as GitHub documents them
    assert workflow["name"] == "drift"
    assert workflow["on"] == {"schedule": [{"cron": "5 4 * * 1"}], "workflow_dispatch": {}}
    assert workflow["concurrency"] == {"group": "gitops-gen-drift", "cancel-in-progress": False}
    # Reading the repository; writing issues only to report drift.
    assert workflow["permissions"] == {"contents": "read", "issues": "write"}
    job = workflow["jobs"]["drift"]
    assert job["name"] == "drift (${{ matrix.overlay }})" and job["runs-on"] == "ubuntu-latest"
    assert job["timeout-minutes"] == 30 and job["defaults"] == {"run": {"shell": "sh"}}
    # kubectl of the cluster's minor renders the overlays; no DRIFT_REPO for a tree at the repository's root.
    assert job["env"] == {"KUBECTL_MINOR": "1.29", "GITOPS_GEN_KUSTOMIZE": "kubectl kustomize"}
    # Each overlay on its own, with its own kubeconfig secret; one failing does not cancel the other.
    assert job["strategy"] == {"fail-fast": False, "max-parallel": 1, "matrix": {"include": [
        {"overlay": "staging", "kubeconfig": "DRIFT_KUBECONFIG_STAGING"},
        {"overlay": "prod-eu", "kubeconfig": "DRIFT_KUBECONFIG_PROD_EU"}]}}


def test_the_github_job_installs_kubectl_and_gitops_gen_and_keeps_the_render_cache(in_cluster: WrittenTree) -> None:
    job = github(in_cluster)["jobs"]["drift"]
    assert [s.get("uses") for s in job["steps"]] == [
        "actions/checkout@v4", "actions/setup-python@v5", None, "actions/cache/restore@v4", None, None, None,
        "actions/cache/save@v4", "actions/upload-artifact@v4", None, None]
    assert job["steps"][1]["with"] == {"python-version": "3.11"}
    prepare = step(job, "Cache key: the tree and the kubectl release")
    assert prepare["id"] == "prepare" and prepare["run"] == steps.GITHUB_PREPARE
    install = step(job, "Install kubectl")
    assert install == {"name": "Install kubectl", "env": {"kubectl_version": "${{ steps.prepare.outputs.kubectl }}"},
                       "run": steps.GITHUB_INSTALL_KUBECTL}
    assert step(job, "Install gitops-gen")["run"] == "pipx install gitops-gen==9.9.9"  # drift.install
    # The cache is keyed by overlay, kubectl release and git tree; restored from the newest of the same overlay.
    key = "gitops-gen-drift-${{ matrix.overlay }}-${{ steps.prepare.outputs.kubectl }}-"
    restore = step(job, "Restore the render cache")
    assert restore["id"] == "cache"
    assert restore["with"] == {"path": "~/.cache/gitops-gen", "key": key + "${{ steps.prepare.outputs.tree }}",
                               "restore-keys": key + "\ngitops-gen-drift-${{ matrix.overlay }}-"}
    save = step(job, "Save the render cache")
    assert save["with"] == {"path": "~/.cache/gitops-gen", "key": key + "${{ steps.prepare.outputs.tree }}"}
    # Saved after a failing run too (drift fails the job), and not again over an exact hit.
    assert save["if"] == "always() && steps.prepare.outputs.tree != '' && steps.cache.outputs.cache-hit != 'true'"


def test_the_github_job_checks_with_the_overlays_secret_reports_and_fails_on_drift(in_cluster: WrittenTree) -> None:
    job = github(in_cluster)["jobs"]["drift"]
    check = step(job, "Check drift")
    assert check["id"] == "drift" and check["run"] == steps.GITHUB_CHECK
    assert check["env"] == {"KUBECONFIG_DATA": "${{ secrets[matrix.kubeconfig] }}",
                            "KUBECONFIG_SECRET": "${{ matrix.kubeconfig }}", "OVERLAY": "${{ matrix.overlay }}"}
    upload = step(job, "Upload the JSON report")
    assert upload["if"] == "always()" and upload["with"] == {
        "name": "drift-${{ matrix.overlay }}", "path": "drift-${{ matrix.overlay }}.json",
        "if-no-files-found": "ignore"}
    issue = step(job, "Open, update or close the drift issue")
    assert issue["if"] == "always() && steps.drift.outputs.outcome != ''" and issue["run"] == steps.GITHUB_ISSUE
    assert issue["env"] == {
        "GH_TOKEN": "${{ github.token }}", "GH_REPO": "${{ github.repository }}", "OVERLAY": "${{ matrix.overlay }}",
        "OUTCOME": "${{ steps.drift.outputs.outcome }}",
        "RUN_URL": "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"}
    fail = job["steps"][-1]
    assert fail["name"] == "Fail on drift or error" and fail["if"] == "steps.drift.outputs.code != '0'"
    assert fail["env"] == {"OUTCOME": "${{ steps.drift.outputs.outcome }}"}
    assert fail["run"] == 'echo "gitops-gen drift: $OUTCOME (see the job summary)"\nexit 1\n'
    # The shell steps are literal blocks, as written (the em dash of the error report too).
    text = in_cluster.text(".github/workflows/drift.yaml")
    assert "      run: |\n        report=\"drift-$OVERLAY.md\"\n" in text and "— error (exit $code)" in text


def test_the_gitlab_job_of_a_monorepo_tree_is_a_file_the_root_ci_file_includes(monorepo: WrittenTree) -> None:
    text = monorepo.text("drift.gitlab-ci.yml")  # apps/mastodon/drift.gitlab-ci.yml: GitLab reads only the root file
    assert text.splitlines()[2:4] == [
        '# Create a pipeline schedule with cron "17 */6 * * *"; run it by hand from the pipeline page.',
        "# Included by the repository's .gitlab-ci.yml: include: [{local: apps/mastodon/drift.gitlab-ci.yml}]"]
    assert drift_workflow.gitlab_includes("include: [{local: apps/mastodon/drift.gitlab-ci.yml}]") == {
        "apps/mastodon/drift.gitlab-ci.yml"}
    (name, job), = monorepo.documents("drift.gitlab-ci.yml")[0].items()
    assert name == "drift-apps-mastodon"  # a job name of its own beside the repository's other jobs
    assert job["image"] == "python:3.11-slim"
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}, {"if": '$CI_PIPELINE_SOURCE == "web"'}]
    assert job["resource_group"] == "gitops-gen-drift-apps-mastodon"  # one run at a time, across pipelines
    assert job["parallel"] == {"matrix": [{"OVERLAY": ["production"]}]}
    # The environment scopes the KUBECONFIG file variable to the overlay; verify deploys nothing.
    assert job["environment"] == {"name": "$OVERLAY", "action": "verify"}
    assert job["variables"] == {"KUBECTL_MINOR": "1.27", "XDG_CACHE_HOME": "$CI_PROJECT_DIR/.cache",
                                "GITOPS_GEN_KUSTOMIZE": "kubectl kustomize", "DRIFT_REPO": "apps/mastodon"}
    assert job["cache"] == {"key": "gitops-gen-drift-apps-mastodon-$OVERLAY", "paths": [".cache/gitops-gen"],
                            "when": "always"}
    assert job["before_script"] == [steps.GITLAB_SYSTEM, steps.GITLAB_INSTALL_KUBECTL, "pip install gitops-gen"]
    assert job["script"] == [steps.GITLAB_CHECK, 'exit "$code"']  # drift.issue: false
    assert job["artifacts"] == {"when": "always", "expose_as": "drift report", "paths": ["drift.md", "drift.json"]}
    assert f"  - {steps.GITLAB_SYSTEM}\n" in text  # one line, never folded


def test_a_gitlab_job_at_the_root_is_the_ci_file_itself_and_opens_issues() -> None:
    assert drift_workflow.gitlab_path() == ".gitlab-ci.yml"
    text = drift_workflow.gitlab_workflow(["production"], install="pip install gitops-gen", schedule="0 3 * * *")
    assert "# Included by" not in text and '# Create a pipeline schedule with cron "0 3 * * *";' in text
    job = yaml.safe_load(text)["drift"]
    assert job["resource_group"] == "gitops-gen-drift" and "DRIFT_REPO" not in job["variables"]
    assert job["variables"]["KUBECTL_MINOR"] == "1.36" and job["cache"]["key"] == "gitops-gen-drift-$OVERLAY"
    assert job["script"] == [steps.GITLAB_CHECK, steps.GITLAB_ISSUE, 'exit "$code"']


def test_a_github_workflow_of_a_monorepo_tree_has_its_own_file_group_cache_and_repo() -> None:
    assert drift_workflow.github_path("apps/mastodon") == ".github/workflows/drift-apps-mastodon.yaml"
    assert drift_workflow.github_path() == ".github/workflows/drift.yaml"
    text = drift_workflow.github_workflow(["production"], install="pip install gitops-gen", tree="apps/mastodon",
                                          kube_version="v1.31.2", issue=False)
    workflow = yaml.safe_load(text)
    assert workflow["name"] == "drift apps/mastodon"
    assert workflow["concurrency"]["group"] == "gitops-gen-drift-apps-mastodon"
    job = workflow["jobs"]["drift"]
    assert job["env"] == {"KUBECTL_MINOR": "1.31", "GITOPS_GEN_KUSTOMIZE": "kubectl kustomize",
                          "DRIFT_REPO": "apps/mastodon"}
    assert step(job, "Restore the render cache")["with"]["restore-keys"].endswith(
        "\ngitops-gen-drift-apps-mastodon-${{ matrix.overlay }}-")
    assert step(job, "Save the render cache")["with"]["key"].startswith("gitops-gen-drift-apps-mastodon-${{")
    # drift.issue: false needs no write access and has no issue step.
    assert workflow["permissions"] == {"contents": "read"}
    assert [s.get("name") for s in job["steps"]][-2:] == ["Upload the JSON report", "Fail on drift or error"]
    # init finds which tree a workflow file checks (a second tree must not take it over).
    assert drift_workflow.workflow_tree(text) == "apps/mastodon"
    assert drift_workflow.workflow_tree(drift_workflow.github_workflow(["production"], install="x")) == ""


@pytest.mark.parametrize("text", ["jobs: [", "name: drift\n", "jobs: {drift: {}}\n", "jobs: {drift: {env: [a]}}\n",
                                  "- a\n"])
def test_a_file_that_is_no_generated_workflow_has_no_tree(text: str) -> None:
    assert drift_workflow.workflow_tree(text) is None


@pytest.mark.parametrize(("text", "includes"), [
    ("include:\n  - local: /apps/m/drift.gitlab-ci.yml\n  - ci/x.yml\n", {"apps/m/drift.gitlab-ci.yml", "ci/x.yml"}),
    ("include: /apps/m/drift.gitlab-ci.yml\n", {"apps/m/drift.gitlab-ci.yml"}),
    ("include: [{local: //X/ci.yml}]\n", {"X/ci.yml"}),  # only the leading slashes go
    ("include: {remote: 'https://example.org/x.yml'}\n", set()),
    ("stages: [test]\n", set()), ("- a\n", set()), ("include: [", set())])
def test_the_local_files_a_gitlab_ci_file_includes(text: str, includes: set[str]) -> None:
    assert drift_workflow.gitlab_includes(text) == includes


def test_names_and_versions_derived_for_the_ci_file() -> None:
    assert drift_workflow.secret_name("prod-eu.2") == "DRIFT_KUBECONFIG_PROD_EU_2"
    assert drift_workflow.tree_slug("/Deploy/Mastodon_EU/") == "deploy-mastodon-eu"
    assert [drift_workflow.kubectl_minor(v) for v in (" v1.27.1 ", "1.26", "1.20", "1.9")] == ["1.27"] * 4
    assert drift_workflow.kubectl_minor("1.100") == "1.100"
    with pytest.raises(ValueError, match=r"'2\.1' is not 1\.MINOR"):
        drift_workflow.kubectl_minor("2.1")


@pytest.mark.parametrize("overlays", [[], ["production", "-staging"], ["prod uction"], ["prod$"]])
def test_overlay_names_that_cannot_go_into_a_workflow_are_refused(overlays: list[str]) -> None:
    for make in (drift_workflow.github_workflow, drift_workflow.gitlab_workflow):
        with pytest.raises(ValueError, match="overlay"):
            make(overlays, install="x")
