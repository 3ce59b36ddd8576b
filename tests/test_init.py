"""`gitops-gen init`: a complete tree from nothing, safe regeneration, and the seed's deployment."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions

from gitops_gen import kustomize
from gitops_gen.generate.layout import generate
from gitops_gen.quantity import parse_quantity
from gitops_gen.spec.load import parse_spec
from tests.conftest import REPO_ROOT, Cluster
from tests.core_trees import REPO_URL, written_tree
from tests.helpers import SEED_SPEC, commit_all, git, run_cli, snapshot, wait_for
from tests.test_strict_schemas import EVERYTHING_ON


@pytest.fixture
def made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "repo"
    assert run_cli(capsys, "init", str(root)).code == 0
    return root


def _render(root: Path, overlay: str) -> list[dict[str, Any]]:
    return kustomize.render(root / "overlays" / overlay)


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_init_in_an_empty_directory_commits_a_tree_every_overlay_of_which_renders(made: Path) -> None:
    assert git(made, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(made, "status", "--porcelain") == ""
    for overlay in ("staging", "production"):
        objects = _render(made, overlay)
        deployments = _by_kind(objects, "Deployment")
        assert set(deployments) == {"mastodon-web", "mastodon-streaming", "mastodon-sidekiq-default"}
        images = {c["image"] for d in deployments.values() for c in d["spec"]["template"]["spec"]["containers"]}
        assert images == {"ghcr.io/mastodon/mastodon:v4.6.6", "ghcr.io/mastodon/mastodon-streaming:v4.6.6"}
        for obj in objects:
            assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gitops-gen"
            assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == f"mastodon-{overlay}"
        claim = _by_kind(objects, "PersistentVolumeClaim")["mastodon-system"]
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
        ingress = _by_kind(objects, "Ingress")["mastodon"]
        paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
        assert paths == {"/": "mastodon-web", "/api/v1/streaming": "mastodon-streaming"}


def test_the_tree_uses_kustomize_v5_fields_only(made: Path) -> None:
    for kustomization in made.rglob("kustomization.yaml"):
        text = kustomization.read_text()
        for deprecated in ("commonLabels:", "patchesStrategicMerge:", "patchesJson6902:", "bases:", "vars:"):
            assert deprecated not in text, f"{kustomization} uses {deprecated}"


def test_configuration_is_generated_so_its_hash_rolls_the_pods(made: Path) -> None:
    objects = _render(made, "production")
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    assert config["metadata"]["name"].startswith("mastodon-env-")
    web = _by_kind(objects, "Deployment")["mastodon-web"]
    sources = web["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources
    assert config["data"]["DB_HOST"] == "postgresql.mastodon.svc.cluster.local"
    assert all(o["kind"] != "Secret" for o in objects)


@pytest.mark.parametrize("version", [v for v in all_versions() if tuple(map(int, v.split(".")[:2])) >= (1, 25)])
def test_every_default_object_passes_strict_schema_validation(made: Path, version: str) -> None:
    for overlay in ("staging", "production"):
        for obj in _render(made, overlay):
            kubernetes_validate.validate(obj, version, strict=True)


def test_rerunning_init_with_an_unchanged_spec_changes_nothing(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(made)
    result = run_cli(capsys, "init", str(made))
    assert result.code == 0 and "nothing to commit" in result.out
    assert snapshot(made) == before
    assert git(made, "rev-list", "--count", "HEAD").strip() == "1"


def test_an_edited_spec_changes_only_the_affected_files_in_one_commit(made: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    spec = made / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("concurrency: 10", "concurrency: 16"))
    commit_all(made, "more sidekiq threads")
    assert run_cli(capsys, "init", str(made)).code == 0
    assert git(made, "show", "--name-only", "--format=", "HEAD").split() == ["base/sidekiq-default.yaml"]
    diff = git(made, "show", "--format=", "-U0", "HEAD")
    assert "-        - '10'" in diff and "+        - '16'" in diff  # -c 16 and DB_POOL 16 move together
    deployment = _by_kind(_render(made, "production"), "Deployment")["mastodon-sidekiq-default"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][3:5] == ["-c", "16"]
    assert {"name": "DB_POOL", "value": "16"} in container["env"]


def test_user_files_referenced_from_a_kustomization_survive(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    overlay = made / "overlays" / "production"
    (overlay / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n")
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("- ../../base\n", "- ../../base\n- extra.yaml\n"))
    spec = made / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("localDomain: social.example.com", "localDomain: social.example.org"))
    commit_all(made, "user additions")
    assert run_cli(capsys, "init", str(made)).code == 0
    assert (overlay / "extra.yaml").exists()
    assert "mine" in _by_kind(_render(made, "production"), "ConfigMap")
    assert "- extra.yaml" in kustomization.read_text()


def test_a_hand_edited_generated_file_is_not_overwritten_without_force(made: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    web = made / "base" / "web.yaml"
    web.write_text(web.read_text() + "# tuned by hand\n")
    spec = made / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("concurrency: 10", "concurrency: 16"))
    before = snapshot(made)
    result = run_cli(capsys, "init", str(made))
    assert result.code == 2
    assert "base/web.yaml was edited by hand" in result.err and "--force" in result.err
    assert snapshot(made) == before
    assert git(made, "rev-list", "--count", "HEAD").strip() == "1"
    assert run_cli(capsys, "init", str(made), "--force").code == 0
    assert "# tuned by hand" not in web.read_text()


def test_a_version_set_by_bump_survives_regeneration(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kustomization = made / "overlays" / "production" / "kustomization.yaml"
    entry = "- name: ghcr.io/mastodon/mastodon\n  newTag: "
    kustomization.write_text(kustomization.read_text().replace(f"{entry}v4.6.6", f"{entry}v4.7.0  # next"))
    spec = made / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("concurrency: 10", "concurrency: 16"))
    commit_all(made, "bump and spec edit")
    assert run_cli(capsys, "init", str(made)).code == 0
    assert "newTag: v4.7.0  # next" in kustomization.read_text()


def test_removing_a_worker_removes_its_generated_file(made: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = made / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("  - name: default\n", "  - name: all\n"))
    assert run_cli(capsys, "init", str(made)).code == 0
    assert not (made / "base" / "sidekiq-default.yaml").exists()
    assert (made / "base" / "sidekiq-all.yaml").exists()
    assert "mastodon-sidekiq-all" in _by_kind(_render(made, "staging"), "Deployment")


def test_this_repository_is_its_own_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO_ROOT / "gitops-gen.yaml", tmp_path / "gitops-gen.yaml")
    assert run_cli(capsys, "init", str(tmp_path), "--no-commit").code == 0
    for top in ("base", "overlays", "clusters"):
        assert snapshot(tmp_path / top) == snapshot(REPO_ROOT / top), f"{top}/ differs: run gitops-gen init ."
    schema = "gitops-gen.schema.json"  # what the spec's modeline names: the schema of this very version
    assert (tmp_path / schema).read_text() == (REPO_ROOT / schema).read_text(), f"{schema} differs: run init ."


def test_kube_version_selects_api_versions() -> None:
    def pdb_versions(text: str) -> set[str]:
        return {doc["apiVersion"] for f in generate(parse_spec(text)) if f.is_yaml for doc in f.data
                if doc.get("kind") == "PodDisruptionBudget"}

    assert pdb_versions('kubeVersion: "1.20"\n') == {"policy/v1beta1"}
    assert pdb_versions('kubeVersion: "1.25"\n') == {"policy/v1"}


def test_nodeport_exposure_writes_the_load_balancer_upstreams(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(SEED_SPEC)
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    conf = (tmp_path / "overlays" / "production" / "nginx.conf").read_text()
    for node in ("192.0.2.132", "192.0.2.173"):
        assert f"server {node}:31300" in conf and f"server {node}:31400" in conf
    assert "location ^~ /api/v1/streaming" in conf and "Upgrade $http_upgrade" in conf
    assert "max-age=31536000" in conf and "location ^~ /system/" in conf
    assert not (tmp_path / "overlays" / "production" / "ingress.yaml").exists()


@pytest.mark.cluster
def test_the_seed_deployment_is_accepted_whole_by_server_side_apply(tmp_path: Path, cluster: Cluster, namespace: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # The seed's own kubeVersion (1.20) is proved offline (test_kube_1_20.py); the server here is current.
    spec = SEED_SPEC.replace("namespace: bluecore-net", f"namespace: {namespace}")
    (tmp_path / "gitops-gen.yaml").write_text(spec.replace('kubeVersion: "1.20"', 'kubeVersion: "1.36"'))
    assert run_cli(capsys, "init", str(tmp_path)).code == 0
    rendered = kustomize.render_text(tmp_path / "overlays" / "production")
    from kubernetes import client

    api = cluster.api_client()
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    try:
        applied = cluster.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-test", "-f", "-",
                                  stdin=rendered, check=False)
        assert applied.returncode == 0, applied.stderr
        _check_seed_objects(apps, core, namespace)
    finally:
        # The NFS volume is cluster-scoped: it outlives the namespace unless deleted here.
        core.delete_collection_persistent_volume(label_selector="gitops-gen.io/volume=mastodon-production-system")


def _check_seed_objects(apps: Any, core: Any, namespace: str) -> None:
    deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment(namespace).items}
    assert sorted(deployments) == ["mastodon-sidekiq-default", "mastodon-sidekiq-ingress", "mastodon-sidekiq-other",
                                   "mastodon-sidekiq-scheduler", "mastodon-streaming", "mastodon-web"]
    replicas = {name: d.spec.replicas for name, d in deployments.items()}
    assert replicas.pop("mastodon-sidekiq-scheduler") == 1 and set(replicas.values()) == {2}
    assert deployments["mastodon-sidekiq-scheduler"].spec.strategy.type == "Recreate"

    def container(name: str) -> Any:
        return deployments[name].spec.template.spec.containers[0]

    def env(name: str) -> dict[str, str]:
        return {e.name: e.value for e in container(name).env or []}

    web = container("mastodon-web")
    assert web.resources.requests == {"cpu": "200m", "memory": "768Mi"}
    assert web.resources.limits == {"cpu": "300m", "memory": "768Mi"}
    assert env("mastodon-web")["WEB_CONCURRENCY"] == "2" and env("mastodon-web")["MAX_THREADS"] == "3"
    assert container("mastodon-streaming").resources.limits == {"cpu": "300m", "memory": "512Mi"}
    assert container("mastodon-sidekiq-default").command == ["bundle", "exec", "sidekiq", "-c", "20", "-q", "default"]
    assert container("mastodon-sidekiq-other").command == ["bundle", "exec", "sidekiq", "-c", "20", "-q", "mailers",
                                                           "-q", "pull", "-q", "push"]
    assert container("mastodon-sidekiq-ingress").command[-4:] == ["-q", "ingress", "-q", "fasp"]
    assert container("mastodon-sidekiq-scheduler").command[-2:] == ["-q", "scheduler"]
    assert env("mastodon-sidekiq-default")["DB_POOL"] == "20" and env("mastodon-sidekiq-other")["DB_POOL"] == "20"
    # The server writes 1024Mi back as 1Gi: compare quantities by value.
    requests = container("mastodon-sidekiq-other").resources.requests
    assert {k: parse_quantity(v) for k, v in requests.items()} == {"cpu": parse_quantity("200m"),
                                                                   "memory": parse_quantity("1024Mi")}

    services = {s.metadata.name: s for s in core.list_namespaced_service(namespace).items}
    assert services["mastodon-web"].spec.type == "NodePort"
    assert services["mastodon-web"].spec.ports[0].node_port == 31300
    assert services["mastodon-streaming"].spec.ports[0].node_port == 31400

    configs = core.list_namespaced_config_map(namespace).items
    config = next(c for c in configs if c.metadata.name.startswith("mastodon-env"))
    assert config.data["DB_HOST"] == "pgset-primary.bluecore-net.svc.cluster.local"
    assert config.data["REDIS_HOST"] == "ext-redis-server.bluecore-net.svc.cluster.local"

    # The claim binds to the static NFS volume (the controller manager's PV binder does it, as in production).
    claim = wait_for(lambda: (c := core.read_namespaced_persistent_volume_claim("mastodon-system", namespace))
                      .status.phase == "Bound" and c)
    assert claim, "the media claim never bound to its NFS volume"
    volume = core.read_persistent_volume(claim.spec.volume_name)
    assert volume.spec.nfs.server == "192.0.2.129"
    assert volume.spec.nfs.path == "/Pool-1/share_root/sns_ap/live/public/system"


def test_services_take_the_chosen_node_ports_and_ip_family_policy() -> None:
    spec = parse_spec("expose:\n  type: NodePort\n  nodePorts: {web: 30080, streaming: 30081}\n"
                      "  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]\n")
    services = {doc["metadata"]["name"]: doc for f in generate(spec) if f.path == "base/services.yaml"
                for doc in f.data}
    web, streaming = services["mastodon-web"]["spec"], services["mastodon-streaming"]["spec"]
    assert (web["type"], web["ports"][0]["nodePort"]) == ("NodePort", 30080)
    assert (streaming["type"], streaming["ports"][0]["nodePort"]) == ("NodePort", 30081)
    assert web["ipFamilyPolicy"] == "PreferDualStack" and web["ipFamilies"] == ["IPv6", "IPv4"]
    assert all(port["protocol"] == "TCP" for port in web["ports"] + streaming["ports"])
    default = {doc["metadata"]["name"]: doc for f in generate(parse_spec("")) if f.path == "base/services.yaml"
               for doc in f.data}
    assert default["mastodon-web"]["spec"]["type"] == "ClusterIP"
    assert "ipFamilyPolicy" not in default["mastodon-web"]["spec"]


def test_the_core_tests_tree_is_the_one_init_commits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # tests/core_trees.py writes a spec's tree without git, for the fast core tests: it must be init's tree.
    spec = EVERYTHING_ON + f"gitops: {{repoURL: {REPO_URL}}}\n"
    committed = tmp_path / "committed"
    assert run_cli(capsys, "init", str(committed)).code == 0  # a repository first, then the spec
    (committed / "gitops-gen.yaml").write_text(spec)
    assert run_cli(capsys, "init", str(committed)).code == 0
    written = written_tree(spec, tmp_path / "written")
    in_git = set(git(committed, "ls-files").split())
    assert in_git == written.paths()
    assert all(written.text(path) == (committed / path).read_text() for path in in_git)
