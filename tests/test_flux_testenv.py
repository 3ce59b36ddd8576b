"""The test bed's real Flux: a git push to the loopback git server reaches the cluster through Flux's controllers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Flux
from tests.helpers import build_file_tree, commit_all, git

pytestmark = pytest.mark.cluster

TIMEOUT = 180


def _configmap(name: str, namespace: str, message: str) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
            f"data:\n  message: {message}\n")


def _sync_objects(name: str, url: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
         "metadata": {"name": name, "namespace": "flux-system"},
         "spec": {"url": url, "interval": "10s", "ref": {"branch": "main"}}},
        {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
         "metadata": {"name": name, "namespace": "flux-system"},
         "spec": {"interval": "1m", "path": "./", "prune": True, "timeout": "1m",
                  "sourceRef": {"kind": "GitRepository", "name": name}}},
    ]})


def _get(flux: Flux, *args: str) -> dict[str, Any] | None:
    got = flux.cluster.kubectl("get", "-o", "json", *args, check=False)
    return json.loads(got.stdout) if got.returncode == 0 else None


def _ready_condition(obj: dict[str, Any] | None) -> dict[str, Any]:
    conditions = (obj or {}).get("status", {}).get("conditions", [])
    return next((c for c in conditions if c.get("type") == "Ready"), {})


def _wait_until(flux: Flux, what: str, check: Callable[[], bool], describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                for log in sorted((flux.state / "logs").glob("flux-*.log")))
            pytest.fail(f"{what} not within {TIMEOUT} s; last seen: {describe()}\n{logs}")
        time.sleep(1)


def _wait_applied(flux: Flux, name: str, revision: str) -> None:
    """The Kustomization ``name`` is Ready with ``revision`` applied."""
    def status() -> Any:
        return (_get(flux, "kustomization", name, "-n", "flux-system") or {}).get("status", {})

    def done() -> bool:
        kustomization = _get(flux, "kustomization", name, "-n", "flux-system")
        return (_ready_condition(kustomization).get("status") == "True"
                and (kustomization or {}).get("status", {}).get("lastAppliedRevision") == revision)

    _wait_until(flux, f"Kustomization {name} Ready at {revision}", done, lambda: json.dumps(status()))


def test_a_push_to_the_served_repository_is_applied_by_flux_and_a_second_push_updates_and_prunes(
    flux: Flux, namespace: str, tmp_path: Path,
) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    url = flux.git_serve(origin)
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", url, str(work))
    git(work, "symbolic-ref", "HEAD", "refs/heads/main")
    build_file_tree(work, {
        "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                              "resources: [greeting.yaml, doomed.yaml]\n",
        "greeting.yaml": _configmap("greeting", namespace, "hello"),
        "doomed.yaml": _configmap("doomed", namespace, "pruned by the next push"),
    })
    commit_all(work, "A greeting and a ConfigMap to prune")
    git(work, "push", "-q", "origin", "main")
    first = git(work, "rev-parse", "HEAD").strip()

    name = namespace
    created = flux.cluster.kubectl("create", "-f", "-", stdin=_sync_objects(name, url), check=False)
    assert created.returncode == 0, created.stderr
    try:
        _wait_applied(flux, name, f"main@sha1:{first}")
        greeting = _get(flux, "configmap", "greeting", "-n", namespace)
        assert greeting is not None and greeting["data"] == {"message": "hello"}
        assert greeting["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] == name
        assert _get(flux, "configmap", "doomed", "-n", namespace) is not None

        build_file_tree(work, {
            "kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                  "resources: [greeting.yaml]\n",
            "greeting.yaml": _configmap("greeting", namespace, "hello again"),
        })
        (work / "doomed.yaml").unlink()
        commit_all(work, "Change the greeting, drop the other ConfigMap")
        git(work, "push", "-q", "origin", "main")
        second = git(work, "rev-parse", "HEAD").strip()

        _wait_applied(flux, name, f"main@sha1:{second}")
        greeting = _get(flux, "configmap", "greeting", "-n", namespace)
        assert greeting is not None and greeting["data"] == {"message": "hello again"}
        assert _get(flux, "configmap", "doomed", "-n", namespace) is None
    finally:
        flux.cluster.kubectl("delete", "kustomization,gitrepository", name, "-n", "flux-system",
                             "--wait=true", "--timeout=60s", check=False)
