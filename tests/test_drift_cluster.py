"""``gitops-gen drift`` against the real control plane, on the tree `gitops-gen init` writes (plus a Secret the
user added to the overlay, as the sops provider has them do): in sync, each kind of drift, the read-only
identity, server mode, and the errors."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen.cli import main
from gitops_gen.generate.manifests import drift_job
from tests.conftest import Cluster
from tests.init_trees import InitTree, commit_file, init_tree, rendered_text

pytestmark = pytest.mark.cluster

ENV = "production"
INSTANCE = f"mastodon-{ENV}"
SECRET_VALUE = "s3cr3t-Hunter2-otp-value"
# Quantities written as a person writes them: the server holds "500m" and "1Gi". S3 for the media: no claim
# waiting for a volume.
SPEC = """\
web:
  resources: {{requests: {{cpu: 0.5, memory: 1Gi}}, limits: {{memory: 1Gi}}}}
streaming:
  resources: {{requests: {{cpu: 250m, memory: 1024Mi}}, limits: {{memory: 1024Mi}}}}
mastodon:
  s3: {{bucket: media, endpoint: "https://s3.example.net", region: r1, aliasHost: files.example.org}}
overlays:
  production: {{namespace: {namespace}}}
"""
# The user's own Secret in the overlay (with sops it would be encrypted in git and decrypted by Flux).
USER_SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: mastodon-secrets
  labels: {{app.kubernetes.io/component: secrets}}
type: Opaque
data:
  OTP_SECRET: {base64.b64encode(SECRET_VALUE.encode()).decode()}
  SECRET_KEY_BASE: {base64.b64encode(b"another-secret-key-base").decode()}
"""


def make_tree(root: Path, namespace: str) -> InitTree:
    """init's tree for ``namespace``, with the user's Secret added to the overlay and committed."""
    tree = init_tree(root, SPEC.format(namespace=namespace))
    kustomization = tree.overlay_dir(ENV) / "kustomization.yaml"
    commit_file(tree, f"overlays/{ENV}/secrets.yaml", USER_SECRET, "the Secret, by hand")
    kustomization.write_text(kustomization.read_text().replace("- ../../base\n", "- ../../base\n- secrets.yaml\n", 1))
    commit_file(tree, f"overlays/{ENV}/kustomization.yaml", kustomization.read_text(), "...in the overlay")
    return tree


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Discovery and OpenAPI caches go to a directory of this test session, not the developer's home.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def wait_for_controllers(cluster: Cluster, namespace: str, timeout: float = 60) -> None:
    """Until the deployment controller has acted on every Deployment (revision and observed generation)."""
    deadline = time.monotonic() + timeout
    while True:
        items = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
        done = [item for item in items
                if "deployment.kubernetes.io/revision" in (item["metadata"].get("annotations") or {})
                and item.get("status", {}).get("observedGeneration") == item["metadata"]["generation"]]
        if items and len(done) == len(items):
            return
        assert time.monotonic() < deadline, "the controllers never acted on the Deployments"
        time.sleep(0.3)


@pytest.fixture
def applied(cluster: Cluster, namespace: str, tmp_path: Path) -> InitTree:
    """init's tree for ``namespace``, committed, server-side applied as kubectl applies it (an engine's manager),
    and acted on by the controllers."""
    tree = make_tree(tmp_path / "gitops", namespace)
    cluster.kubectl("apply", "--server-side", "-f", "-", stdin=rendered_text(tree, ENV))
    wait_for_controllers(cluster, namespace)
    return tree


@pytest.fixture
def reader_bound(cluster: Cluster, namespace: str) -> Iterator[None]:
    """The ``reader`` identity bound as init binds the CronJob: the read-only ClusterRole, and the Role that
    lets it list (only list) Secrets in the overlay's namespace."""
    role = drift_job.cluster_role()
    secrets_role = drift_job.secrets_role(namespace, namespace)[0]
    reader = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "drift-reader"}]
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "drift-test-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
        "subjects": reader,
    }
    secrets_binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "drift-test-reader", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": secrets_role["metadata"]["name"]},
        "subjects": reader,
    }
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all([role, binding, secrets_role, secrets_binding]))
    try:
        deadline = time.monotonic() + 10
        while cluster.kubectl("auth", "can-i", "list", "secrets", "-n", namespace, context="reader",
                              check=False).stdout.strip() != "yes":
            assert time.monotonic() < deadline, "the binding never took effect"
            time.sleep(0.2)
        yield
    finally:
        cluster.kubectl("delete", "clusterrolebinding", "drift-test-reader", "--ignore-not-found")
        cluster.kubectl("delete", "clusterrole", role["metadata"]["name"], "--ignore-not-found")


def drift(cluster: Cluster, tree: InitTree, capsys: pytest.CaptureFixture[str], *args: str,
          context: str = "admin") -> tuple[int, str, str]:
    code = main(["drift", "--repo", str(tree.root), "--kubeconfig", str(cluster.kubeconfig), "--context", context,
                 "--timeout", "10", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def not_in_sync(output: str) -> list[tuple[str, str, str, list[tuple[str, Any]]]]:
    document = json.loads(output)
    return [(obj["kind"], obj["name"], obj["status"], [(field["path"], field["manager"]) for field in obj["fields"]])
            for obj in document["objects"] if obj["status"] != "in-sync"]


def test_applied_overlay_is_in_sync_in_both_modes(cluster: Cluster, applied: InitTree,
                                                  namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    rendered = [doc for doc in yaml.safe_load_all(rendered_text(applied, ENV)) if doc]
    code, out, err = drift(cluster, applied, capsys, "--output", "json")
    assert (code, err) == (0, ""), err
    document = json.loads(out)
    assert document["ref"] == applied.commit and document["overlay"] == ENV and document["mode"] == "read-only"
    assert document["summary"] == {"in-sync": len(rendered), "modified": 0, "missing": 0, "extra": 0}
    # The quantities were written "0.5", "1Gi" and "1024Mi"; the server holds "500m", "1Gi", "1Gi".
    live = json.loads(cluster.kubectl("get", "deploy", "mastodon-web", "mastodon-streaming", "-n", namespace,
                                      "-o", "json").stdout)
    resources = [item["spec"]["template"]["spec"]["containers"][0]["resources"] for item in live["items"]]
    assert resources[0]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert resources[1]["requests"]["memory"] == "1Gi"

    code, out, _ = drift(cluster, applied, capsys, "--output", "json", "--mode", "server")
    assert code == 0, out
    assert json.loads(out)["mode"] == "server"
    code, out, _ = drift(cluster, applied, capsys)
    assert code == 0 and "0 modified, 0 missing, 0 extra" in out


def _scale(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("scale", "deployment/mastodon-web", "--replicas", "5", "-n", ns)


def _set_env(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("set", "env", "deployment/mastodon-web", "FOO=bar", "-n", ns)


def _set_image(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("set", "image", "deployment/mastodon-web", "web=ghcr.io/mastodon/mastodon:v9.9.9", "-n", ns)


def _label_service(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("label", "service/mastodon-web", "team=ops", "-n", ns)


def _delete_service(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("delete", "service/mastodon-streaming", "-n", ns)


def _extra_config_map(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("create", "configmap", "by-hand", "--from-literal=A=1", "-n", ns)
    cluster.kubectl("label", "configmap/by-hand", "app.kubernetes.io/managed-by=gitops-gen",
                    f"app.kubernetes.io/instance={INSTANCE}", "-n", ns)


def _change_secret(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("patch", "secret/mastodon-secrets", "-n", ns, "-p",
                    json.dumps({"stringData": {"OTP_SECRET": "changed-by-hand-Zebra42"}}))


def _label_secret(cluster: Cluster, ns: str) -> None:
    cluster.kubectl("label", "secret/mastodon-secrets", "rotated=by-hand", "-n", ns)


CASES: dict[str, tuple[Callable[[Cluster, str], None], tuple[str, str, str, list[tuple[str, Any]]]]] = {
    # Current servers record kubectl scale on the scale subresource, under manager kubectl.
    "scaled-deployment": (_scale, ("Deployment", "mastodon-web", "modified", [("spec.replicas", "kubectl")])),
    "env-added-with-kubectl-set-env": (_set_env, ("Deployment", "mastodon-web", "modified", [
        ("spec.template.spec.containers[name=web].env[name=FOO]", "kubectl-set")])),
    "changed-image": (_set_image, ("Deployment", "mastodon-web", "modified", [
        ("spec.template.spec.containers[name=web].image", "kubectl-set")])),
    "label-added-to-service": (_label_service, ("Service", "mastodon-web", "modified", [
        ("metadata.labels.team", "kubectl-label")])),
    "deleted-service": (_delete_service, ("Service", "mastodon-streaming", "missing", [])),
    "extra-config-map": (_extra_config_map, ("ConfigMap", "by-hand", "extra", [])),
    "label-added-to-secret": (_label_secret, ("Secret", "mastodon-secrets", "modified", [
        ("metadata.labels.rotated", "kubectl-label")])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_drift_is_reported_exactly_by_every_mode_and_identity(
    case: str, cluster: Cluster, applied: InitTree, namespace: str, reader_bound: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mutate, expected = CASES[case]
    mutate(cluster, namespace)
    for context, mode in (("admin", "read-only"), ("reader", "read-only"), ("admin", "server")):
        code, out, err = drift(cluster, applied, capsys, "--output", "json", "--mode", mode, context=context)
        assert (code, err) == (1, ""), f"{context} {mode}: {err}"
        assert not_in_sync(out) == [expected], f"{context} {mode}"


def test_secrets_are_compared_by_metadata_and_by_value_only_when_asked(
    cluster: Cluster, applied: InitTree, namespace: str, reader_bound: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _change_secret(cluster, namespace)
    # By default only the metadata is read: the reader, which may list Secrets but never asked for their data,
    # sees them in sync; a value changed by hand is outside what was compared.
    for context in ("admin", "reader"):
        code, out, err = drift(cluster, applied, capsys, "--output", "json", context=context)
        assert (code, err) == (0, ""), f"{context}: {out}"
    code, out, err = drift(cluster, applied, capsys, "--output", "json", "--secret-values")
    assert code == 1 and not_in_sync(out) == [("Secret", "mastodon-secrets", "modified", [
        ("data.OTP_SECRET", "kubectl-patch")])]
    answer = cluster.kubectl("auth", "can-i", "get", "secrets", "-n", namespace, context="reader", check=False)
    assert answer.stdout.strip() == "no"


def test_secret_values_never_appear_in_any_output(cluster: Cluster, applied: InitTree, namespace: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _change_secret(cluster, namespace)
    forbidden = [SECRET_VALUE, "changed-by-hand-Zebra42", "another-secret-key-base"]
    forbidden += [base64.b64encode(text.encode()).decode() for text in list(forbidden)]
    for mode in ("read-only", "server"):
        for output in ("text", "json", "markdown"):
            code, out, err = drift(cluster, applied, capsys, "--output", output, "--mode", mode, "--secret-values")
            assert code == 1
            for text in forbidden:
                assert text not in out and text not in err, f"{mode}/{output} leaked a secret"
            assert "OTP_SECRET" in out  # the changed key is named
        code, out, _ = drift(cluster, applied, capsys, "--output", "json", "--mode", mode, "--secret-values")
        [secret] = [obj for obj in json.loads(out)["objects"] if obj["kind"] == "Secret"]
        assert secret["fields"] == [{"path": "data.OTP_SECRET", "desired": "<redacted>", "live": "<redacted>",
                                     "manager": "kubectl-patch"}]


def test_reader_identity_can_read_but_not_patch(cluster: Cluster, applied: InitTree, namespace: str,
                                                reader_bound: None, capsys: pytest.CaptureFixture[str]) -> None:
    for verb in ("patch", "update", "delete", "create"):
        answer = cluster.kubectl("auth", "can-i", verb, "deployments.apps", "-n", namespace, context="reader",
                                 check=False)
        assert answer.stdout.strip() == "no", verb
    refused = cluster.kubectl("scale", "deployment/mastodon-web", "--replicas", "3", "-n", namespace, context="reader",
                              check=False)
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()
    code, _, _ = drift(cluster, applied, capsys, context="reader")
    assert code == 0
    code, out, err = drift(cluster, applied, capsys, "--mode", "server", context="reader")
    assert (code, out) == (2, "")
    kinds = ("configmaps, cronjobs.batch, deployments.apps, ingresses.networking.k8s.io, jobs.batch, "
             "poddisruptionbudgets.policy, secrets, serviceaccounts, services")
    assert f"may not patch {kinds} in namespace {namespace}" in err and "--mode server needs patch permission" in err


def _image_paths(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(object name, drift path of a container's image) for every container of every workload rendered."""
    found = []
    for obj in objects:
        spec = obj.get("spec") or {}
        if "jobTemplate" in spec:
            prefix, pod = "spec.jobTemplate.spec.template.spec", spec["jobTemplate"]["spec"]["template"]["spec"]
        elif "template" in spec:
            prefix, pod = "spec.template.spec", spec["template"]["spec"]
        else:
            continue
        found += [(obj["metadata"]["name"], f"{prefix}.containers[name={c['name']}].image") for c in pod["containers"]]
    return sorted(found)


def test_only_the_committed_tree_counts_not_the_work_tree(cluster: Cluster, applied: InitTree,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    applied_commit = applied.commit
    kustomization = applied.overlay_dir(ENV) / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("v4.6.6", "v9.9.9"))  # not committed
    code, _, _ = drift(cluster, applied, capsys)
    assert code == 0
    newer = commit_file(applied, f"overlays/{ENV}/kustomization.yaml", kustomization.read_text(),
                                       "bump")
    code, out, _ = drift(cluster, applied, capsys, "--output", "json")
    assert code == 1 and json.loads(out)["ref"] == newer
    # Every container runs the committed tag: the Deployments, the migration Jobs and the CronJobs alike.
    assert sorted((name, path) for _, name, _, fields in not_in_sync(out) for path, _ in fields) == _image_paths(
        [doc for doc in yaml.safe_load_all(rendered_text(applied, ENV)) if doc])
    assert ("mastodon-web", "spec.template.spec.containers[name=web].image") in _image_paths(
        [doc for doc in yaml.safe_load_all(rendered_text(applied, ENV)) if doc])
    code, _, _ = drift(cluster, applied, capsys, "--ref", applied_commit)
    assert code == 0


def test_ignore_rules_from_the_command_line_and_the_spec(cluster: Cluster, applied: InitTree,
                                                         namespace: str, capsys: pytest.CaptureFixture[str]) -> None:
    _scale(cluster, namespace)
    _label_service(cluster, namespace)
    code, out, _ = drift(cluster, applied, capsys, "--output", "json",
                         "--ignore", "Deployment/mastodon-web:/spec/replicas")
    assert code == 1 and [kind for kind, *_ in not_in_sync(out)] == ["Service"]
    spec = (applied.root / "gitops-gen.yaml").read_text() + (
        "drift:\n  ignore:\n  - kind: Service\n    jsonPointers: [/metadata/labels/team]\n")
    commit_file(applied, "gitops-gen.yaml", spec, "ignore team labels")
    code, _, _ = drift(cluster, applied, capsys, "--ignore", "Deployment/mastodon-web:/spec/replicas")
    assert code == 0


def test_markdown_and_text_reports_name_object_path_and_values(
    cluster: Cluster, applied: InitTree, namespace: str, capsys: pytest.CaptureFixture[str],
) -> None:
    _scale(cluster, namespace)
    code, out, _ = drift(cluster, applied, capsys, "--output", "markdown")
    assert code == 1
    assert f"### Deployment `{namespace}/mastodon-web` — modified" in out
    assert "| `spec.replicas` | `2` | `5` | kubectl |" in out
    code, out, _ = drift(cluster, applied, capsys)
    assert f"Deployment {namespace}/mastodon-web: modified" in out and "git:     2" in out and "cluster: 5" in out


# -- errors: exit 2, a clear message, nothing reported as in sync or missing ------------------------------------


def _kubeconfig_variant(cluster: Cluster, tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    edit(config)
    path = tmp_path / "kubeconfig-variant"
    path.write_text(yaml.safe_dump(config))
    return path


def _run_with(kubeconfig: Path, tree: InitTree, capsys: pytest.CaptureFixture[str], *args: str
              ) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code = main(["drift", "--repo", str(tree.root), "--kubeconfig", str(kubeconfig), *args])
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    return code, captured.out, captured.err, elapsed


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that takes connections and never answers: a hung API server (only loopback is used)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # never accepted: the kernel completes the handshake, nobody ever speaks
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def html_server() -> Iterator[str]:
    """A loopback web server that answers every request with 200 and an HTML page, as a proxy's login page does."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Please sign in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("server", ["closed", "silent"])
def test_unreachable_api_server_is_an_error_within_the_timeout(
    server: str, cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], silent_server: str,
) -> None:
    server = {"closed": "https://127.0.0.1:1", "silent": silent_server}[server]
    tree = make_tree(tmp_path / "gitops", "nowhere")

    def point_elsewhere(config: dict[str, Any]) -> None:
        config["clusters"][0]["cluster"]["server"] = server

    kubeconfig = _kubeconfig_variant(cluster, tmp_path, point_elsewhere)
    code, out, err, elapsed = _run_with(kubeconfig, tree, capsys, "--timeout", "2")
    assert (code, out) == (2, "")
    assert "cannot reach the API server" in err and server in err
    assert elapsed < 2 * 2 + 3  # one connect timeout (a retry at most), plus rendering


def test_a_server_answering_html_is_an_error_not_a_verdict(cluster: Cluster, tmp_path: Path, html_server: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "gitops", "default")

    def point_at_the_page(config: dict[str, Any]) -> None:
        config["clusters"][0]["cluster"] = {"server": html_server}

    code, out, err, _ = _run_with(_kubeconfig_variant(cluster, tmp_path, point_at_the_page), tree, capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "text/html, not a Kubernetes JSON object" in err, err


def test_credentials_the_server_rejects_are_an_error(cluster: Cluster, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "gitops", "default")

    def bad_token(config: dict[str, Any]) -> None:
        for user in config["users"]:
            user["user"]["token"] = "not-a-valid-token"

    code, out, err, _ = _run_with(_kubeconfig_variant(cluster, tmp_path, bad_token), tree, capsys)
    assert (code, out) == (2, "")
    assert "rejected the credentials" in err


def test_identity_without_access_is_an_error_naming_the_forbidden_kinds(
    cluster: Cluster, applied: InitTree, namespace: str, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = drift(cluster, applied, capsys, context="reader")
    assert (code, out) == (2, "")
    kinds = ("configmaps, cronjobs.batch, deployments.apps, ingresses.networking.k8s.io, jobs.batch, "
             "poddisruptionbudgets.policy, secrets, serviceaccounts, services")
    assert f"context 'reader' may not list {kinds} in namespace {namespace}: grant get and list" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_ref_and_overlay_are_errors(cluster: Cluster, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "gitops", "default")
    code, out, err = drift(cluster, tree, capsys, "--ref", "no-such-ref")
    assert (code, out) == (2, "") and "git ref 'no-such-ref' does not name a commit" in err
    code, out, err = drift(cluster, tree, capsys, "--overlay", "staging")
    assert (code, out) == (2, "") and "overlay 'staging' does not exist" in err and "production" in err


def test_kustomize_failure_is_an_error(cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = make_tree(tmp_path / "gitops", "default")
    commit_file(tree, f"overlays/{ENV}/kustomization.yaml",
                               "resources:\n- ../../no-such-base\n", "break the overlay")
    code, out, err = drift(cluster, tree, capsys)
    assert (code, out) == (2, "")
    assert "kustomize failed" in err and f"overlay {ENV}" in err
