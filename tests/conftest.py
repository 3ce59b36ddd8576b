"""Shared fixtures: a real Kubernetes control plane for the session, a namespace for each test."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
KUBE_TESTENV = REPO_ROOT / "scripts" / "kube-testenv"
FLUX_TESTENV = REPO_ROOT / "scripts" / "testenv" / "flux"
SHARED_CRDS = REPO_ROOT.parent / "shared" / "crds"


@dataclass(frozen=True)
class Cluster:
    """A running control plane: its kubeconfig has the contexts ``admin`` (current) and ``reader``."""

    kubeconfig: Path

    def kubectl(self, *args: str, context: str = "admin", check: bool = True, stdin: str | None = None
                ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), "--context", context, *args],
            input=stdin, capture_output=True, text=True, check=check, timeout=120,
        )

    def api_client(self, context: str = "admin"):  # type: ignore[no-untyped-def]
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context=context)

    def install_crds(self, paths: list[Path]) -> list[str]:
        """Server-side apply each CRD file, as a GitOps engine would install it, unless its CRD exists already (a
        Flux started with `kube-testenv up --flux` installs its own); wait until every one is Established."""
        import yaml

        names = [yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["name"] for path in paths]
        for name, path in zip(names, paths, strict=True):
            if self.kubectl("get", "crd", name, check=False).returncode != 0:
                self.kubectl("apply", "--server-side", "--field-manager", "gitops-gen-tests", "-f", str(path))
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{name}" for name in names))
        return names


CLUSTER_FIXTURES = frozenset({"cluster", "namespace", "flux", "sync_engine_crds"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that reaches the control plane must carry ``@pytest.mark.cluster``: collection fails otherwise.

    Failing (rather than adding the marker) keeps the marker honest where people read it, and keeps
    ``pytest -m "not cluster"`` a run that needs no cluster: a test could not slip into it unmarked.
    """
    unmarked = [
        f"{item.nodeid} (uses {', '.join(sorted(used))})"
        for item in items
        if (used := CLUSTER_FIXTURES.intersection(getattr(item, "fixturenames", ())))
        and item.get_closest_marker("cluster") is None
    ]
    if unmarked:
        raise pytest.UsageError("tests that use the cluster without @pytest.mark.cluster:\n  " + "\n  ".join(unmarked))


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits made by tests get a pinned author, whatever the machine's git configuration says."""
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "gitops-gen tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@gitops-gen.invalid")


PINNED_COMMIT = "0" * 40  # a commit id: public, though the secret scanner cannot tell it from a key
PINNED_INSTALL = f'pip install "gitops-gen @ git+https://git.example.net/gitops-gen.git@{PINNED_COMMIT}"'


@pytest.fixture(autouse=True, scope="session")
def _installed_from_git() -> Iterator[None]:
    """The suite runs from an editable checkout, which init rightly refuses to pin into a CI workflow (a CI
    runner cannot install a local path: tests/test_ci_install.py proves both, in processes of their own). Every
    in-process run sees gitops-gen as installed from a git URL.

    Session-scoped, so that module-scoped fixtures that run init (tests/test_nginx.py) see it too: a
    function-scoped patch is not in place yet when they are set up, and they passed only where a
    ``gitops_gen.egg-info`` in the working directory made the checkout look like an index install."""
    from gitops_gen.generate import install_line

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(install_line, "pinned_install_command", lambda: PINNED_INSTALL)
        yield


def _cluster_unavailable(reason: str) -> None:
    # In CI a missing cluster is a failure: a green run must mean the cluster tests really ran.
    if os.environ.get("CI") == "true":
        pytest.fail(f"the test control plane is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"no test control plane: {reason}")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Start the control plane once per session (or reuse one named by GITOPS_GEN_TEST_KUBECONFIG)."""
    reuse = os.environ.get("GITOPS_GEN_TEST_KUBECONFIG")
    if reuse:
        yield Cluster(kubeconfig=Path(reuse))
        return
    provisioned = subprocess.run([str(KUBE_TESTENV), "provision"], capture_output=True, text=True)
    if provisioned.returncode != 0:
        _cluster_unavailable(f"kube-testenv provision failed: {provisioned.stderr.strip()[-500:]}")
    # The kubectl built with the server goes first on PATH, as scripts/test does: the machine's own may be
    # too old for it (kubectl supports one minor version either side of the server).
    bin_dir = provisioned.stdout.strip().splitlines()[-1]
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    state = tmp_path_factory.mktemp("kube-testenv")
    started = subprocess.run([str(KUBE_TESTENV), "up", str(state)], capture_output=True, text=True)
    if started.returncode != 0:
        _cluster_unavailable(f"kube-testenv up failed: {started.stderr.strip()[-500:]}")
    try:
        yield Cluster(kubeconfig=Path(started.stdout.strip().splitlines()[-1]))
    finally:
        subprocess.run([str(KUBE_TESTENV), "down", str(state)], capture_output=True, text=True)


@dataclass(frozen=True)
class Flux:
    """Flux's source-controller and kustomize-controller, running against ``cluster`` and watching every namespace.

    Their own CRDs are installed and the namespace ``flux-system`` exists. ``state`` holds their logs
    (``logs/flux-*.log``) and the artifacts the source-controller serves.
    """

    cluster: Cluster
    state: Path

    def git_serve(self, repo: Path) -> str:
        """Serve the git repository ``repo`` (bare, or a work tree's ``.git``) read/write; returns its clone URL.

        The server runs until the session ends.
        """
        served = subprocess.run([str(FLUX_TESTENV), "git-serve", str(self.state), str(repo)],
                                capture_output=True, text=True, timeout=60)
        assert served.returncode == 0, served.stderr
        return served.stdout.strip().splitlines()[-1]


def _flux_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Flux is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"no Flux: {reason}")


@pytest.fixture(scope="session")
def flux(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flux]:
    """Build Flux once (cached), start its controllers against the session's control plane, stop them after."""
    provisioned = subprocess.run([str(FLUX_TESTENV), "provision"], capture_output=True, text=True)
    if provisioned.returncode != 0:
        _flux_unavailable(f"flux provision failed: {provisioned.stderr.strip()[-800:]}")
    # A state directory of Flux's own, beside whatever started the control plane: `flux down` stops exactly
    # the controllers and git servers started here.
    state = tmp_path_factory.mktemp("flux-testenv")
    (state / "kubeconfig").write_bytes(cluster.kubeconfig.read_bytes())
    started = subprocess.run([str(FLUX_TESTENV), "up", str(state)], capture_output=True, text=True)
    try:
        if started.returncode != 0:
            _flux_unavailable(f"flux up failed: {started.stderr.strip()[-800:]}")
        yield Flux(cluster=cluster, state=state)
    finally:
        subprocess.run([str(FLUX_TESTENV), "down", str(state)], capture_output=True, text=True)


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client

    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    api = client.CoreV1Api(cluster.api_client())
    api.create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        api.delete_namespace(name)


@pytest.fixture(scope="session")
def sync_engine_crds(cluster: Cluster) -> list[str]:
    """The Argo CD and Flux CRDs of ../shared/crds, installed once per session; returns their names.

    They go in whole, CEL rules (`x-kubernetes-validations`) included, by server-side apply as a GitOps engine
    would install them, so that the objects the tests apply are checked against every rule the CRDs carry.
    """
    paths = sorted(SHARED_CRDS.glob("*.yaml"))
    if not paths:
        pytest.fail(f"no CRDs in {SHARED_CRDS}: the shared/ directory must sit beside the repository", pytrace=False)
    return cluster.install_crds(paths)
