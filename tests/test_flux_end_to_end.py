"""End to end with the real consumers: `gitops-gen init` -> a loopback git server -> real Flux controllers ->
the current API server with KWOK's fake node -> `gitops-gen drift`, then a bump pushed through the same way.

What is asserted comes from the cluster: Flux's Kustomization status, the Jobs' completion times, the pods'
creation times and images, and drift's exit code and report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Flux
from tests.helpers import git

pytestmark = pytest.mark.cluster

TIMEOUT = 300
STAGES = ("config", "app", "post-migrate")
WORKLOADS = ("mastodon-web", "mastodon-streaming", "mastodon-sidekiq-default")
PRE, POST = "mastodon-db-migrate-pre", "mastodon-db-migrate-post"


def _spec(url: str, production: str, staging: str) -> str:
    return f"""\
name: mastodon
mastodon:
  localDomain: social.example.net
storage:
  system:
    nfs: {{server: 192.0.2.129, path: /export/mastodon/system}}
gitops:
  engines: [flux]
  repoURL: {url}
  flux: {{interval: 1m}}
secrets: {{provider: existing}}
drift:
  ci: none
  inCluster: {{image: registry.example/gitops-gen:0.1}}
overlays:
  production: {{namespace: {production}}}
  staging: {{namespace: {staging}, web: {{replicas: 1}}, streaming: {{replicas: 1}}}}
"""


def _gitops_gen(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitops_gen", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


class Bed:
    """One cluster with Flux, one gitops-gen repository pushed to the loopback git server."""

    def __init__(self, flux: Flux, root: Path) -> None:
        self.flux, self.cluster, self.root = flux, flux.cluster, root

    def get(self, *args: str) -> dict[str, Any]:
        return json.loads(self.cluster.kubectl("get", "-o", "json", *args).stdout)

    def head(self) -> str:
        return git(self.root, "rev-parse", "HEAD").strip()

    def wait(self, what: str, check: Callable[[], bool], describe: Callable[[], object]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                                 for log in sorted((self.flux.state / "logs").glob("flux-*.log")))
                pytest.fail(f"{what}: not within {TIMEOUT} s; last seen: {describe()}\n{logs}")
            time.sleep(2)

    def kustomization(self, overlay: str, stage: str) -> dict[str, Any]:
        return self.get("kustomization", f"mastodon-{overlay}-{stage}", "-n", "flux-system")

    def wait_synced(self, overlay: str, commit: str, stages: tuple[str, ...] = STAGES) -> None:
        """Every stage of ``overlay`` Ready with ``commit`` applied."""
        def statuses() -> dict[str, Any]:
            return {stage: self.kustomization(overlay, stage).get("status", {}) for stage in stages}

        def synced() -> bool:
            return all(status.get("lastAppliedRevision") == f"main@sha1:{commit}"
                       and _condition(status, "Ready") == "True" for status in statuses().values())

        self.wait(f"Flux applying {commit[:12]} to {overlay}", synced,
                  lambda: {stage: (s.get("lastAppliedRevision"), [c.get("message") for c in s.get("conditions", [])])
                           for stage, s in statuses().items()})

    def fetch_now(self, overlay: str) -> None:
        """Have the source-controller fetch now rather than at its next interval (`flux reconcile source git`)."""
        self.cluster.kubectl("annotate", "--overwrite", "-n", "flux-system", "gitrepository", f"mastodon-{overlay}",
                             f"reconcile.fluxcd.io/requestedAt={time.time_ns()}")

    def reconcile(self, overlay: str, stage: str) -> None:
        self.cluster.kubectl("annotate", "--overwrite", "-n", "flux-system", "kustomization",
                             f"mastodon-{overlay}-{stage}", f"reconcile.fluxcd.io/requestedAt={time.time_ns()}")

    def drift(self, overlay: str, *args: str) -> subprocess.CompletedProcess[str]:
        return _gitops_gen("drift", "--repo", str(self.root), "--overlay", overlay, "--kubeconfig",
                           str(self.cluster.kubeconfig), "--output", "json", *args, cwd=self.root)


def _condition(status: dict[str, Any], kind: str) -> str | None:
    return next((c.get("status") for c in status.get("conditions", []) if c.get("type") == kind), None)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pods(bed: Bed, namespace: str, image: str | None = None) -> list[dict[str, Any]]:
    pods = bed.get("pods", "-n", namespace)["items"]
    return [pod for pod in pods
            if pod["metadata"]["labels"].get("app.kubernetes.io/component") in ("web", "sidekiq")
            and (image is None or pod["spec"]["containers"][0]["image"] == image)]


def _not_in_sync(report: str) -> list[tuple[str, str, str, list[tuple[str, str | None]]]]:
    return [(obj["kind"], obj["name"], obj["status"], [(f["path"], f["manager"]) for f in obj["fields"]])
            for obj in json.loads(report)["objects"] if obj["status"] != "in-sync"]


@pytest.fixture
def bed(flux: Flux, namespace: str, tmp_path: Path) -> Iterator[Bed]:
    staging = f"{namespace}-s"
    flux.cluster.kubectl("create", "namespace", staging)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    url = flux.git_serve(origin)
    root = tmp_path / "mastodon-gitops"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(_spec(url, namespace, staging))
    done = _gitops_gen("init", str(root), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    git(root, "remote", "add", "origin", url)
    git(root, "push", "-q", "-u", "origin", "main")
    try:
        yield Bed(flux, root)
    finally:
        # Every test uses the same Kustomization names in flux-system: wait until Flux has pruned and released
        # them (its finalizer), or the next test's apply would land on objects being deleted.
        # (clusters/<env>/flux also holds the overlay's Namespace, which the namespace fixture deletes.)
        for overlay in ("production", "staging"):
            flux.cluster.kubectl("delete", "kustomizations.kustomize.toolkit.fluxcd.io,gitrepositories", "-n",
                                 "flux-system", "-l", f"app.kubernetes.io/instance=mastodon-{overlay}",
                                 "--ignore-not-found", "--wait=true", "--timeout=180s", check=False)
            flux.cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-k",
                                 str(root / "clusters" / overlay / "drift"), check=False)
        flux.cluster.kubectl("delete", "pv", "-l", "app.kubernetes.io/part-of=mastodon", "--wait=false", check=False)
        flux.cluster.kubectl("delete", "namespace", staging, "--wait=false", check=False)


def _create_the_secret(bed: Bed, namespace: str) -> None:
    """What the README says to do first: `gitops-gen secrets --kubectl | sh`, the shell being the real one."""
    env = {**os.environ, "KUBECONFIG": str(bed.cluster.kubeconfig), "DB_PASS": "a-database-password",
           "ES_PASS": "a-search-password"}
    command = _gitops_gen("secrets", "--kubectl", "--repo", str(bed.root), "--namespace", namespace, cwd=bed.root,
                          env=env)
    assert command.returncode == 0, command.stderr
    created = subprocess.run(["sh"], input=command.stdout, capture_output=True, text=True, env=env, timeout=120)
    assert created.returncode == 0, created.stderr


def test_flux_syncs_init_s_tree_in_order_drift_agrees_and_a_pushed_bump_rolls_out(bed: Bed, namespace: str) -> None:
    _create_the_secret(bed, namespace)
    bed.cluster.kubectl("apply", "-k", str(bed.root / "clusters" / "production" / "flux"))
    first = bed.head()
    bed.wait_synced("production", first)

    # The order, from the cluster: the pre-deploy migration completed before any web or sidekiq pod existed,
    # and the post-deploy migration was created after every Deployment was available.
    pre = bed.get("job", PRE, "-n", namespace)
    assert pre["status"].get("succeeded") == 1
    pods = _pods(bed, namespace)
    assert pods, "no web or sidekiq pod was created"
    assert _time(pre["status"]["completionTime"]) <= min(_time(p["metadata"]["creationTimestamp"]) for p in pods)
    available = []
    for name in WORKLOADS:
        deployment = bed.get("deployment", name, "-n", namespace)
        [condition] = [c for c in deployment["status"]["conditions"] if c["type"] == "Available"]
        assert condition["status"] == "True", name
        available.append(_time(condition["lastTransitionTime"]))
    post = bed.get("job", POST, "-n", namespace)
    assert _time(post["metadata"]["creationTimestamp"]) >= max(available)

    done = bed.drift("production")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout

    # A bump pushed to the remote: Flux applies the new revision; the pre-deploy Job runs again, with the new
    # image, and completes before any pod of the new image is created.
    bumped = _gitops_gen("bump-image", "--repo", str(bed.root), "--overlay", "production", "--tag", "v4.6.7",
                         "--push", cwd=bed.root)
    assert bumped.returncode == 0, bumped.stderr
    second = bed.head()
    assert second != first
    bed.fetch_now("production")
    bed.wait_synced("production", second)
    image = "ghcr.io/mastodon/mastodon:v4.6.7"
    pre = bed.get("job", PRE, "-n", namespace)
    assert pre["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert pre["status"].get("succeeded") == 1
    bed.wait("the new image rolled out", lambda: bool(_pods(bed, namespace, image)), lambda: _pods(bed, namespace))
    new_pods = _pods(bed, namespace, image)
    assert _time(pre["status"]["completionTime"]) <= min(_time(p["metadata"]["creationTimestamp"]) for p in new_pods)
    done = bed.drift("production")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout


def test_hand_edits_are_reported_by_drift_and_undone_by_flux(bed: Bed, namespace: str) -> None:
    _create_the_secret(bed, namespace)
    bed.cluster.kubectl("apply", "-k", str(bed.root / "clusters" / "production" / "flux"))
    bed.wait_synced("production", bed.head())

    bed.cluster.kubectl("scale", "deployment/mastodon-web", "--replicas", "5", "-n", namespace)
    done = bed.drift("production")
    assert done.returncode == 1, done.stderr
    [(kind, name, status, fields)] = _not_in_sync(done.stdout)
    assert (kind, name, status) == ("Deployment", "mastodon-web", "modified")
    assert fields == [("spec.replicas", "kubectl")], fields  # kubectl scale writes through the scale subresource

    bed.reconcile("production", "app")
    bed.wait("Flux putting the replicas back",
             lambda: bed.get("deployment", "mastodon-web", "-n", namespace)["spec"]["replicas"] == 2,
             lambda: bed.get("deployment", "mastodon-web", "-n", namespace)["spec"]["replicas"])
    done = bed.drift("production")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout

    bed.cluster.kubectl("set", "env", "deployment/mastodon-web", "FOO=bar", "-n", namespace)
    done = bed.drift("production")
    assert done.returncode == 1, done.stderr
    assert _not_in_sync(done.stdout) == [("Deployment", "mastodon-web", "modified", [
        ("spec.template.spec.containers[name=web].env[name=FOO]", "kubectl-set")])]

    def web_env() -> list[str]:
        container = bed.get("deployment", "mastodon-web", "-n", namespace)["spec"]["template"]["spec"]["containers"][0]
        return [item["name"] for item in container.get("env", [])]

    bed.reconcile("production", "app")
    bed.wait("Flux removing the env var set by hand", lambda: "FOO" not in web_env(), web_env)
    done = bed.drift("production")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout


def test_a_second_overlay_with_in_cluster_drift_leaves_the_first_in_sync(bed: Bed, namespace: str) -> None:
    _create_the_secret(bed, namespace)
    _create_the_secret(bed, f"{namespace}-s")
    for overlay in ("production", "staging"):
        bed.cluster.kubectl("apply", "-k", str(bed.root / "clusters" / overlay / "flux"))
        bed.cluster.kubectl("apply", "--server-side", "-k", str(bed.root / "clusters" / overlay / "drift"))
    commit = bed.head()
    for overlay in ("production", "staging"):
        bed.wait_synced(overlay, commit)
    for overlay in ("production", "staging"):
        done = bed.drift(overlay)
        assert (done.returncode, done.stderr) == (0, ""), f"{overlay}: {done.stdout}"
        account = f"system:serviceaccount:{namespace if overlay == 'production' else namespace + '-s'}:" \
                  f"gitops-gen-drift-mastodon-{overlay}"
        answer = bed.cluster.kubectl("auth", "can-i", "list", "deployments.apps", "-n",
                                     namespace if overlay == "production" else f"{namespace}-s", "--as", account,
                                     check=False)
        assert answer.stdout.strip() == "yes", overlay


def test_flux_runs_search_deploy_after_the_post_deploy_migration_in_its_own_stage(bed: Bed, namespace: str) -> None:
    spec = bed.root / "gitops-gen.yaml"
    domain = "  localDomain: social.example.net\n"
    spec.write_text(spec.read_text().replace(domain, domain + "  search: {host: opensearch, user: mastodon}\n"))
    regenerated = _gitops_gen("init", cwd=bed.root)
    assert regenerated.returncode == 0, regenerated.stderr
    git(bed.root, "push", "-q", "origin", "main")
    _create_the_secret(bed, namespace)
    bed.cluster.kubectl("apply", "-k", str(bed.root / "clusters" / "production" / "flux"))
    bed.wait_synced("production", bed.head(), (*STAGES, "search"))

    post = bed.get("job", POST, "-n", namespace)
    search = bed.get("job", "mastodon-search-deploy", "-n", namespace)
    assert search["status"].get("succeeded") == 1
    assert _time(search["metadata"]["creationTimestamp"]) >= _time(post["status"]["completionTime"])
    done = bed.drift("production")
    assert (done.returncode, done.stderr) == (0, ""), done.stdout
