"""The generated CI files, run: every shell step of the GitHub workflow and the GitLab job is parsed by the real
``sh``/``bash`` and, where it needs no network (or only a stood-in one, see ``ci_sandbox``), executed."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ci_sandbox import Sandbox, github_steps, outputs
from tests.helpers import git, run_cli

KUBECTL = b"#!/bin/sh\necho 'kubectl from the stand-in dl.k8s.io'\n"
RELEASE = "https://dl.k8s.io/release"


def _init(root: Path, capsys: pytest.CaptureFixture[str], drift: str = "{}", kube_version: str = "1.31") -> Path:
    root.mkdir(parents=True)
    (root / "gitops-gen.yaml").write_text(f'kubeVersion: "{kube_version}"\ndrift: {drift}\n')
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0, result.err
    return root


def _github(root: Path) -> dict[str, dict[str, object]]:
    return github_steps((root / ".github" / "workflows" / "drift.yaml").read_text())


def _gitlab(root: Path) -> dict[str, object]:
    job: dict[str, object] = yaml.safe_load((root / ".gitlab-ci.yml").read_text())["drift"]
    return job


def _serve_kubectl(box: Sandbox, version: str, checksum: str | None = None) -> None:
    box.serve(f"{RELEASE}/stable-{version.rsplit('.', 1)[0].lstrip('v')}.txt", version.encode())
    box.serve(f"{RELEASE}/{version}/bin/linux/amd64/kubectl", KUBECTL)
    box.serve(f"{RELEASE}/{version}/bin/linux/amd64/kubectl.sha256",
              (checksum or hashlib.sha256(KUBECTL).hexdigest()).encode())


@pytest.mark.parametrize("ci", ["github", "gitlab"])
@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_every_shell_step_of_both_ci_files_is_valid_shell(ci: str, shell: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, f"{{ci: {ci}, install: 'pip install gitops-gen==0.1.0'}}")
    if ci == "github":
        scripts = [str(step["run"]) for step in _github(root).values() if "run" in step]
    else:
        job = _gitlab(root)
        scripts = ["\n".join([*job["before_script"], *job["script"]])]  # type: ignore[misc]
    assert len(scripts) >= (6 if ci == "github" else 1)
    for script in scripts:
        parsed = subprocess.run([shell, "-n", "-c", script], capture_output=True, text=True, check=False)
        assert parsed.returncode == 0, f"{parsed.stderr}\n{script}"


@pytest.mark.parametrize(("kube_version", "minor"), [("1.31", "1.31"), ("1.20", "1.27")])
def test_gitlab_before_script_installs_git_and_the_kubectl_that_follows_kube_version(
        kube_version: str, minor: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{ci: gitlab, install: 'echo installing gitops-gen'}", kube_version)
    job = _gitlab(root)
    box = Sandbox(tmp_path / "box")
    version = f"v{minor}.7"
    _serve_kubectl(box, version)
    env = box.env(**{name: str(value) for name, value in job["variables"].items()},  # type: ignore[attr-defined]
                  CI_PROJECT_DIR=str(root))
    env["XDG_CACHE_HOME"] = str(root / ".cache")  # GitLab expands $CI_PROJECT_DIR in variables
    before = "\n".join(job["before_script"])  # type: ignore[arg-type]
    done = box.run(before + '\necho "kubectl: $(command -v kubectl)"', root, env)
    assert done.returncode == 0, done.stderr
    assert any("git" in call and "install" in call for call in box.calls("apt-get"))
    kubectl = root / ".cache" / "gitops-gen" / "kubectl" / f"{version}-amd64" / "kubectl"
    assert f"kubectl: {kubectl}" in done.stdout and "installing gitops-gen" in done.stdout
    assert [call[-1] for call in box.calls("curl")] == [
        f"{RELEASE}/stable-{minor}.txt", f"{RELEASE}/{version}/bin/linux/amd64/kubectl.sha256",
        f"{RELEASE}/{version}/bin/linux/amd64/kubectl"]

    # The next run (the cache restored) checks the kept binary against the checksum and downloads nothing.
    stamp = kubectl.stat().st_mtime_ns
    box.log.unlink()
    assert box.run(before, root, env).returncode == 0
    assert [call[-1] for call in box.calls("curl")] == [f"{RELEASE}/stable-{minor}.txt",
                                                        f"{RELEASE}/{version}/bin/linux/amd64/kubectl.sha256"]
    assert kubectl.stat().st_mtime_ns == stamp  # the render cache's key for this kustomize stays the same


def test_a_kubectl_that_does_not_match_its_published_checksum_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{ci: github, install: 'true'}")
    steps = _github(root)
    box = Sandbox(tmp_path / "box")
    _serve_kubectl(box, "v1.31.7", checksum="0" * 64)
    env = box.env(KUBECTL_MINOR="1.31", XDG_CACHE_HOME=str(tmp_path / "cache"), kubectl_version="v1.31.7",
                  GITHUB_PATH=str(tmp_path / "path"))
    done = box.run(str(steps["Install kubectl"]["run"]), root, env)
    assert done.returncode == 2 and "does not match its published sha256" in done.stderr
    assert not [path for path in (tmp_path / "cache").rglob("kubectl*") if path.is_file()]


def test_github_steps_key_the_cache_by_tree_and_kubectl_and_put_that_kubectl_on_path(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{install: 'true'}")
    steps = _github(root)
    box = Sandbox(tmp_path / "box")
    _serve_kubectl(box, "v1.31.7")
    files = {name: tmp_path / name for name in ("output", "env", "path")}
    env = box.env(KUBECTL_MINOR="1.31", GITHUB_OUTPUT=str(files["output"]), GITHUB_ENV=str(files["env"]),
                  GITHUB_PATH=str(files["path"]))
    assert yaml.safe_load((root / ".github/workflows/drift.yaml").read_text())["jobs"]["drift"]["env"][
        "KUBECTL_MINOR"] == "1.31"
    prepared = box.run(str(steps["Cache key: the tree and the kubectl release"]["run"]), root, env)
    assert prepared.returncode == 0, prepared.stderr
    out = outputs(files["output"])
    assert out == {"tree": git(root, "rev-parse", "HEAD^{tree}").strip(), "kubectl": "v1.31.7"}
    cache_home = outputs(files["env"])["XDG_CACHE_HOME"]
    assert cache_home == f"{box.home}/.cache"

    restore, save = steps["Restore the render cache"], steps["Save the render cache"]
    assert restore["with"]["key"] == save["with"]["key"]  # type: ignore[index]
    assert "${{ steps.prepare.outputs.tree }}" in restore["with"]["key"]  # type: ignore[index]
    assert "always()" in str(save["if"])  # a run that finds drift fails: its cache is kept all the same
    cached = Path(str(restore["with"]["path"]).replace("~", str(box.home)))  # type: ignore[index]

    installed = box.run(str(steps["Install kubectl"]["run"]), root,
                        {**env, "XDG_CACHE_HOME": cache_home, "kubectl_version": out["kubectl"]})
    assert installed.returncode == 0, installed.stderr
    (directory,) = files["path"].read_text().split()
    assert (Path(directory) / "kubectl").read_bytes() == KUBECTL
    assert Path(directory).is_relative_to(cached)  # the binary is restored with the render cache


def _kubeconfig_to_nowhere(path: Path) -> str:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}]}))
    return path.read_text()


def test_a_drift_error_puts_gitops_gens_own_reason_in_the_github_step_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{install: 'true'}")
    check = str(_github(root)["Check drift"]["run"])
    box = Sandbox(tmp_path / "box")
    (tmp_path / "runner").mkdir()
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    env = box.env(OVERLAY="production", KUBECONFIG_SECRET="DRIFT_KUBECONFIG_PRODUCTION",
                  KUBECONFIG_DATA=_kubeconfig_to_nowhere(tmp_path / "kubeconfig"), RUNNER_TEMP=str(tmp_path / "runner"),
                  GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output))
    done = box.run(check, root, env)
    assert done.returncode == 0, done.stderr  # the step records; the last step fails the job
    (reason,) = done.stderr.strip().splitlines()  # gitops-gen's one line, passed through to the log
    assert "127.0.0.1:1" in reason
    assert reason in summary.read_text() and "error (exit 2)" in summary.read_text()
    assert outputs(output) == {"code": "2", "outcome": "error"}
    assert not (tmp_path / "runner" / "kubeconfig").exists()

    summary.unlink()
    output.unlink()
    done = box.run(check, root, {**env, "KUBECONFIG_DATA": ""})
    assert "the secret DRIFT_KUBECONFIG_PRODUCTION is not set" in summary.read_text()
    assert outputs(output) == {"code": "2", "outcome": "error"}


def test_a_drift_error_is_the_gitlab_jobs_report_and_its_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{ci: gitlab, install: 'true'}")
    job = _gitlab(root)
    box = Sandbox(tmp_path / "box")
    _kubeconfig_to_nowhere(tmp_path / "kubeconfig")
    env = box.env(OVERLAY="production", KUBECONFIG=str(tmp_path / "kubeconfig"))
    done = box.run("\n".join(job["script"]), root, env)  # type: ignore[arg-type]
    assert done.returncode == 2
    report = (root / "drift.md").read_text()
    assert "error (exit 2)" in report and "127.0.0.1:1" in report and report in done.stdout
    assert "DRIFT_ISSUE_TOKEN is not set" in done.stdout


REPORT = "## Drift: overlay `production` — drift found\n\n| in-sync | modified |\n"


def test_github_issue_is_opened_on_drift_updated_while_it_lasts_and_closed_when_in_sync(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{install: 'true'}")
    step = _github(root)["Open, update or close the drift issue"]
    assert yaml.safe_load((root / ".github/workflows/drift.yaml").read_text())["permissions"]["issues"] == "write"
    assert step["env"]["GH_TOKEN"] == "${{ github.token }}"  # type: ignore[index]
    box = Sandbox(tmp_path / "box")
    (root / "drift-production.md").write_text(REPORT)
    box.state.write_text(json.dumps({"issues": [
        {"number": 7, "title": "gitops-gen drift: production-eu", "state": "OPEN"}]}))  # another overlay's

    def run(outcome: str) -> list[list[str]]:
        box.log.unlink(missing_ok=True)
        done = box.run(str(step["run"]), root, box.env(OVERLAY="production", OUTCOME=outcome, RUN_URL="https://run/1"))
        assert done.returncode == 0, done.stderr
        return [call[1:3] for call in box.calls("gh")]

    assert run("drift") == [["issue", "list"], ["issue", "create"]]
    (opened,) = [issue for issue in box.issues() if issue["title"] == "gitops-gen drift: production"]
    assert REPORT in opened["body"] and "https://run/1" in opened["body"]
    assert run("drift") == [["issue", "list"], ["issue", "edit"]]  # the same issue, not a second one
    assert run("error") == [["issue", "list"]]  # an error says nothing about drift: the issue stays
    assert run("in-sync") == [["issue", "list"], ["issue", "close"]]
    assert {issue["title"]: issue["state"] for issue in box.issues()} == {
        "gitops-gen drift: production-eu": "OPEN", "gitops-gen drift: production": "CLOSED"}
    assert run("in-sync") == [["issue", "list"]]  # nothing open: nothing to close


def test_gitlab_issue_follows_the_same_rules_through_the_api_with_a_project_token(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, "{ci: gitlab, install: 'true'}")
    (issue_step,) = [line for line in _gitlab(root)["script"] if "DRIFT_ISSUE_TOKEN" in line]  # type: ignore[attr-defined]
    box = Sandbox(tmp_path / "box")
    (root / "drift.md").write_text(REPORT)
    env = box.env(OVERLAY="production", DRIFT_ISSUE_TOKEN="glpat-test", CI_API_V4_URL="https://gitlab.example/api/v4",
                  CI_PROJECT_ID="42", CI_JOB_URL="https://gitlab.example/job/9")

    def run(outcome: str) -> list[tuple[str, str]]:
        box.log.unlink(missing_ok=True)
        done = box.run(f"report=drift.md\noutcome={outcome}\n{issue_step}", root, env)
        assert done.returncode == 0, done.stderr
        calls = box.calls("curl")
        assert all("PRIVATE-TOKEN: glpat-test" in call for call in calls)
        return [(call[call.index("-X") + 1] if "-X" in call else "GET", call[-1] if "-X" not in call else
                 next(a for a in call if a.startswith("https://"))) for call in calls]

    issues = "https://gitlab.example/api/v4/projects/42/issues"
    assert run("drift") == [("GET", "per_page=100"), ("POST", issues)]
    assert REPORT in box.issues()[0]["description"]
    assert run("drift") == [("GET", "per_page=100"), ("PUT", f"{issues}/1")]
    assert run("error") == [("GET", "per_page=100")]
    assert run("in-sync") == [("GET", "per_page=100"), ("POST", f"{issues}/1/notes"), ("PUT", f"{issues}/1")]
    assert box.issues()[0]["state"] == "closed"
    done = box.run(f"outcome=drift\n{issue_step}", root, {**env, "DRIFT_ISSUE_TOKEN": ""})
    assert "DRIFT_ISSUE_TOKEN is not set" in done.stdout


def test_issues_are_off_with_the_spec_switch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    github = _init(tmp_path / "github", capsys, "{issue: false, install: 'true'}")
    workflow = yaml.safe_load((github / ".github/workflows/drift.yaml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    assert "Open, update or close the drift issue" not in _github(github)
    gitlab = _init(tmp_path / "gitlab", capsys, "{ci: gitlab, issue: false, install: 'true'}")
    assert not any("DRIFT_ISSUE_TOKEN" in line for line in _gitlab(gitlab)["script"])  # type: ignore[attr-defined]


INSTALL = """pip install "gitops-gen @ git+https://git.example/g.git@v1" # no comment: a: b, {x}, ${{ y }}, 'q'"""


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_spec_strings_reach_the_ci_file_as_one_scalar_each(ci: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = _init(tmp_path / "repo", capsys, json.dumps({"ci": ci, "install": INSTALL, "schedule": "0 3 * * 1"}))
    if ci == "github":
        steps = _github(root)
        assert steps["Install gitops-gen"]["run"] == INSTALL
        assert sum("run" in step for step in steps.values()) == 6
    else:
        job = _gitlab(root)
        assert job["before_script"][-1] == INSTALL and len(job["before_script"]) == 3  # type: ignore[index,arg-type]


def test_an_install_line_with_a_newline_is_refused_naming_file_and_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "gitops-gen.yaml").write_text('drift:\n  install: "pip install gitops-gen\\nrm -rf /"\n')
    result = run_cli(capsys, "init", str(root))
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert "gitops-gen.yaml:2" in result.err and "drift.install" in result.err and "one non-empty line" in result.err
    assert not (root / ".github").exists()
