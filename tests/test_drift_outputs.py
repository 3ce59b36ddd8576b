"""What drift writes besides its verdict: the reports, the spec's drift section, the render cache, and the
in-cluster job and CI workflow that init will write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml

from gitops_gen.cli import main
from gitops_gen.drift import config as drift_config
from gitops_gen.drift import report
from gitops_gen.drift import run as drift_run
from gitops_gen.drift.fieldpath import Key
from gitops_gen.drift.result import REDACTED, DriftResult, FieldDrift, ObjectDrift, Status
from gitops_gen.errors import SpecError
from gitops_gen.generate.manifests import drift_job, drift_workflow
from tests.conftest import Cluster
from tests.helpers import kustomize_build
from tests.init_trees import commit_file, init_tree

RESULT = DriftResult(
    ref="0123456789abcdef0123456789abcdef01234567", overlay="production", mode="read-only",
    objects=(
        ObjectDrift("apps/v1", "Deployment", "ns", "web", Status.MODIFIED, (
            FieldDrift(("spec", "replicas"), 2, 5, None),
            FieldDrift(("spec", "template", "spec", "containers", Key((("name", "web"),)), "env",
                        Key((("name", "FOO"),))), None, {"name": "FOO", "value": "a|b"}, "kubectl-set"),
        )),
        ObjectDrift("v1", "Secret", "ns", "s", Status.MODIFIED, (
            FieldDrift(("data", "OTP"), REDACTED, REDACTED, "kubectl-patch"),)),
        ObjectDrift("v1", "Service", "ns", "streaming", Status.MISSING),
        ObjectDrift("v1", "ConfigMap", "ns", "by-hand", Status.EXTRA),
        ObjectDrift("v1", "ConfigMap", "ns", "env", Status.IN_SYNC),
    ),
)


def test_json_report_is_exactly_the_contract() -> None:
    document = json.loads(report.render_json([RESULT]))
    assert list(document) == ["ref", "overlay", "mode", "summary", "objects"]
    assert document["summary"] == {"in-sync": 1, "modified": 2, "missing": 1, "extra": 1}
    web = document["objects"][0]
    assert list(web) == ["apiVersion", "kind", "namespace", "name", "status", "fields"]
    assert web["fields"] == [
        {"path": "spec.replicas", "desired": 2, "live": 5, "manager": None},
        {"path": "spec.template.spec.containers[name=web].env[name=FOO]", "desired": None,
         "live": {"name": "FOO", "value": "a|b"}, "manager": "kubectl-set"},
    ]
    assert [obj["status"] for obj in document["objects"]] == ["modified", "modified", "missing", "extra", "in-sync"]


def test_json_report_has_one_document_per_overlay_per_line() -> None:
    lines = report.render_json([RESULT, RESULT]).splitlines()
    assert len(lines) == 2 and all(json.loads(line)["overlay"] == "production" for line in lines)


def test_markdown_report_escapes_table_cells_and_skips_objects_in_sync() -> None:
    text = report.render_markdown([RESULT])
    assert "## Drift: overlay `production` — drift found" in text
    assert '`{"name": "FOO", "value": "a\\|b"}`' in text
    assert "ConfigMap `ns/by-hand` — extra" in text and "`ns/env`" not in text


def test_text_report_is_plain_without_a_terminal_and_coloured_with_one() -> None:
    plain = report.render_text([RESULT])
    assert "\x1b[" not in plain
    assert "Deployment ns/web: modified" in plain and "Service ns/streaming: missing (in git, not in the cluster)" \
        in plain
    assert plain.rstrip().endswith("1 in sync, 2 modified, 1 missing, 1 extra")
    assert "\x1b[" in report.render_text([RESULT], style=typer.style)


def test_drift_section_of_the_spec_is_read_with_its_rules() -> None:
    data = {"name": "m", "drift": {"syncManagers": ["my-engine"], "ignore": [
        {"kind": "Deployment", "name": "web", "jsonPointers": ["/spec/replicas"]}, {"kind": "ConfigMap"}]}}
    settings = drift_config.parse_drift_section(data, "gitops-gen.yaml")
    assert settings.sync_managers == ("my-engine",)
    assert [(rule.kind, rule.name, rule.pointers) for rule in settings.ignore] == [
        ("Deployment", "web", ("/spec/replicas",)), ("ConfigMap", None, ("/",))]
    assert drift_config.parse_drift_section({"name": "m"}, "x").ignore == ()


def test_drift_section_errors_name_the_file_line_and_field(tmp_path: Path) -> None:
    spec = tmp_path / "gitops-gen.yaml"
    spec.write_text("name: m\ndrift:\n  ignore:\n  - kind: Deployment\n    jsonPointer: [/spec/replicas]\n")
    with pytest.raises(SpecError) as caught:
        drift_config.read_drift_settings(spec)
    assert str(caught.value).startswith(
        f"{spec}:5: drift.ignore[0].jsonPointer: unknown field 'jsonPointer'; did you mean 'jsonPointers'?")
    spec.write_text("drift:\n  ignore:\n  - jsonPointers: [spec/replicas]\n")
    with pytest.raises(SpecError, match="is not a JSON pointer"):
        drift_config.read_drift_settings(spec)


def test_renders_are_cached_by_commit_tree_and_never_for_remote_bases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls = tmp_path / "kustomize-calls"
    wrapper = tmp_path / "kustomize-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec kubectl kustomize "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("GITOPS_GEN_KUSTOMIZE", str(wrapper))

    def renders() -> int:
        return len(calls.read_text().splitlines()) if calls.exists() else 0

    tree = init_tree(tmp_path / "gitops", "overlays:\n  production: {namespace: m-prod}\n")
    first = drift_run.render_desired(tree.root, "HEAD", ())
    assert len(first.overlays["production"]) == len(kustomize_build(tree.overlay_dir("production")))
    assert renders() == 1
    assert drift_run.render_desired(tree.root, "HEAD", ()).overlays == first.overlays
    assert renders() == 1  # same tree: kustomize did not run again
    commit_file(tree, "overlays/production/notes.txt", "x\n", "a new tree")
    drift_run.render_desired(tree.root, "HEAD", ())
    assert renders() == 2
    remote = "resources:\n- ../../base\n- https://example.invalid/x.yaml\n"
    commit_file(tree, "overlays/staging/kustomization.yaml", remote, "a remote base")
    for expected in (3, 4):  # a tree with a remote base is rendered every time
        drift_run.render_desired(tree.root, "HEAD", ("production",))
        assert renders() == expected


def test_drift_cluster_role_only_reads() -> None:
    role = drift_job.cluster_role()
    assert {verb for rule in role["rules"] for verb in rule["verbs"]} == {"get", "list", "watch"}
    resources = {name for rule in role["rules"] for name in rule["resources"]}
    assert {"deployments", "services", "persistentvolumes", "externalsecrets"} <= resources
    assert "secrets" not in resources  # Secrets come through a namespaced Role that may only list them
    [role, _] = drift_job.secrets_role("app", "ops")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]


@pytest.mark.parametrize(("version", "api"), [("1.20", "batch/v1beta1"), ("v1.20.2", "batch/v1beta1"),
                                              ("1.21", "batch/v1"), ("1.30.1", "batch/v1")])
def test_cron_job_version_follows_the_kubernetes_version(version: str, api: str) -> None:
    job = drift_job.cron_job("ops", kube_version=version, image="gitops-gen:1", repo_url="https://git/x",
                             overlays=["production"])
    assert job["apiVersion"] == api
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    args = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:1] == ["drift"] and "--overlay" in args and "production" in args


@pytest.mark.cluster
def test_drift_job_objects_are_accepted_by_the_server(cluster: Cluster, namespace: str) -> None:
    # The default kubeVersion; the 1.20 objects are checked offline in test_kube_1_20.py.
    objects = drift_job.drift_job_objects(namespace, kube_version="1.36", image="ghcr.io/x/gitops-gen:1",
                                          repo_url="https://git.example/gitops.git", overlays=["production"])
    for obj in objects:
        if "namespace" not in obj["metadata"]:  # cluster-scoped: a name of this test's own
            obj["metadata"]["name"] = f"{obj['metadata']['name']}-{namespace[-6:]}"
    done = cluster.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-",
                           stdin=yaml.safe_dump_all(objects), check=False)
    assert done.returncode == 0, done.stderr
    assert "cronjob.batch" in done.stdout


def test_github_workflow_runs_each_overlay_on_schedule_and_on_demand_one_at_a_time() -> None:
    text = drift_workflow.github_workflow(["production", "staging"], install="pip install gitops-gen==0.1.0")
    assert text.startswith("# Generated by gitops-gen")
    workflow = yaml.safe_load(text)
    triggers = workflow["on"]
    assert triggers["schedule"] == [{"cron": drift_workflow.DEFAULT_SCHEDULE}] and "workflow_dispatch" in triggers
    assert workflow["concurrency"] == {"group": "gitops-gen-drift", "cancel-in-progress": False}
    job = workflow["jobs"]["drift"]
    assert [entry["overlay"] for entry in job["strategy"]["matrix"]["include"]] == ["production", "staging"]
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    assert "--output markdown --json-file" in steps["Check drift"]["run"]
    assert "$GITHUB_STEP_SUMMARY" in steps["Check drift"]["run"]
    assert steps["Upload the JSON report"]["uses"].startswith("actions/upload-artifact")
    assert steps["Fail on drift or error"]["if"] == "steps.drift.outputs.code != '0'"


def test_gitlab_workflow_runs_each_overlay_one_at_a_time_and_keeps_the_reports() -> None:
    text = drift_workflow.gitlab_workflow(["production"], install="pip install gitops-gen==0.1.0")
    job = yaml.safe_load(text)["drift"]
    assert job["resource_group"] == "gitops-gen-drift"
    assert {rule["if"] for rule in job["rules"]} == {'$CI_PIPELINE_SOURCE == "schedule"',
                                                    '$CI_PIPELINE_SOURCE == "web"'}
    assert job["parallel"]["matrix"] == [{"OVERLAY": ["production"]}]
    assert job["artifacts"]["when"] == "always" and "drift.json" in job["artifacts"]["paths"]
    assert job["script"][-1] == 'exit "$code"'


def test_workflow_refuses_an_overlay_name_it_cannot_quote() -> None:
    with pytest.raises(ValueError, match="cannot be used"):
        drift_workflow.github_workflow(["prod; rm -rf /"], install="pip install gitops-gen==0.1.0")


def test_live_values_cannot_forge_report_lines_or_drive_the_terminal() -> None:
    forged = "x\noverlay production at 0123456789ab (read-only): 9 in sync, 0 modified, 0 missing, 0 extra\x1b[2J"
    result = DriftResult(ref="0" * 40, overlay="production", mode="read-only", objects=(
        ObjectDrift("v1", "ConfigMap", "ns", "cm", Status.MODIFIED, (
            FieldDrift(("metadata", "annotations", "note\u2028"), None, forged, "kubectl-annotate\r"),)),
    ))
    text = report.render_text([result])
    assert "\x1b" not in text and "\r" not in text and "\u2028" not in text
    assert len(text.splitlines()) == 5  # object, path, git, cluster, summary: nothing added
    assert "\\n" in text and "\\x1b[2J" in text  # shown, escaped


def test_json_file_in_a_missing_directory_is_refused_before_any_work(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["drift", "--repo", str(tmp_path), "--kubeconfig", str(tmp_path / "none"),
                 "--json-file", str(tmp_path / "missing" / "r.json")])
    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert "--json-file" in captured.err and "does not exist" in captured.err
