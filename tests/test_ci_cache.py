"""The render cache the CI files keep between scheduled runs: a run on an unchanged tree renders nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gitops_gen import kustomize
from tests.ci_sandbox import Sandbox, github_steps, outputs
from tests.conftest import Cluster
from tests.helpers import git, run_cli


def _kubectl_recorder(directory: Path, log: Path) -> None:
    """A ``kubectl`` first on PATH that records each call and runs the real one."""
    real = shutil.which("kubectl")
    assert real, "the tests render with the real kubectl"
    directory.mkdir(parents=True)
    wrapper = directory / "kubectl"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)


@pytest.mark.cluster
def test_a_second_scheduled_run_with_the_restored_cache_does_not_run_kustomize(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(
        f'drift: {{install: "true"}}\noverlays:\n  production: {{namespace: {namespace}}}\n')
    assert run_cli(capsys, "init", str(root)).code == 0
    workflow = yaml.safe_load((root / ".github/workflows/drift.yaml").read_text())
    steps = github_steps((root / ".github/workflows/drift.yaml").read_text())
    box = Sandbox(tmp_path / "box")
    box.serve("https://dl.k8s.io/release/stable-1.36.txt", b"v1.36.3")  # the spec's default kubeVersion
    renders = tmp_path / "kustomize-calls"
    _kubectl_recorder(tmp_path / "wrapper", renders)
    cached_path = steps["Restore the render cache"]["with"]["path"]  # type: ignore[index]

    def scheduled_run(runner: str) -> tuple[str, list[str]]:
        """One fresh runner: prepare (cache key, XDG_CACHE_HOME), then the drift check. Returns the key and the
        kubectl calls of the check."""
        home = tmp_path / runner
        (home / "temp").mkdir(parents=True)
        files = {name: home / name for name in ("output", "env", "summary")}
        env = box.env(**workflow["jobs"]["drift"]["env"], HOME=str(home), GITHUB_OUTPUT=str(files["output"]),
                      GITHUB_ENV=str(files["env"]))
        prepared = box.run(str(steps["Cache key: the tree and the kubectl release"]["run"]), root, env)
        assert prepared.returncode == 0, prepared.stderr
        key = str(steps["Restore the render cache"]["with"]["key"])  # type: ignore[index]
        for name, value in outputs(files["output"]).items():
            key = key.replace(f"${{{{ steps.prepare.outputs.{name} }}}}", value)
        renders.unlink(missing_ok=True)
        check_env = {**env, **outputs(files["env"]), "PATH": f"{tmp_path / 'wrapper'}:{env['PATH']}",
                     "OVERLAY": "production", "KUBECONFIG_SECRET": "DRIFT_KUBECONFIG_PRODUCTION",
                     "KUBECONFIG_DATA": cluster.kubeconfig.read_text(), "RUNNER_TEMP": str(home / "temp"),
                     "GITHUB_STEP_SUMMARY": str(files["summary"]), "GITHUB_OUTPUT": str(files["output"])}
        checked = box.run(str(steps["Check drift"]["run"]), root, check_env)
        assert checked.returncode == 0, checked.stderr
        assert outputs(files["output"])["outcome"] == "drift", files["summary"].read_text()  # nothing applied
        return key, renders.read_text().splitlines() if renders.exists() else []

    first_key, first = scheduled_run("runner-1")
    assert [call.split()[0] for call in first] == ["kustomize"]  # rendered once, cache saved under first_key
    # actions/cache: the path saved after run 1 is restored into the next runner's home.
    shutil.copytree(tmp_path / "runner-1" / cached_path.removeprefix("~/"),
                    tmp_path / "runner-2" / cached_path.removeprefix("~/"))
    second_key, second = scheduled_run("runner-2")
    assert second_key == first_key and second == []  # same tree: the restored render, no kustomize

    (root / "gitops-gen.yaml").write_text((root / "gitops-gen.yaml").read_text() + "# a change\n")
    git(root, "commit", "-qam", "change the tree")
    assert scheduled_run("runner-3")[0] != first_key  # a new tree is a new cache entry


@pytest.mark.cluster
def test_the_in_cluster_job_keeps_its_render_cache_on_a_claim_when_given_one(
        tmp_path: Path, cluster: Cluster, namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text(
        'drift:\n  ci: none\n  inCluster: {image: registry.example/gitops-gen:0.1, '
        f"cacheVolume: drift-cache}}\noverlays:\n  production: {{namespace: {namespace}}}\n")
    assert run_cli(capsys, "init", str(root)).code == 0
    (job,) = [obj for obj in kustomize.render(root / "clusters/production/drift") if obj["kind"] == "CronJob"]
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    cache_home = next(e["value"] for e in container["env"] if e["name"] == "XDG_CACHE_HOME")
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts[cache_home]]["persistentVolumeClaim"] == {"claimName": "drift-cache"}
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]
    created = cluster.kubectl("create", "--dry-run=server", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(job),
                              check=False)
    assert created.returncode == 0, created.stderr

    (root / "gitops-gen.yaml").write_text((root / "gitops-gen.yaml").read_text().replace(", cacheVolume: drift-cache",
                                                                                        ""))
    assert run_cli(capsys, "init", str(root)).code == 0
    (job,) = [obj for obj in kustomize.render(root / "clusters/production/drift") if obj["kind"] == "CronJob"]
    assert [v for v in job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]] == [
        {"name": "work", "emptyDir": {}}]  # default: the cache lives and dies with the pod
