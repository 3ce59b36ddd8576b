"""The README's ```console examples, run as a user types them, so that the README cannot drift from the tool.

Every console block of README.md is listed below, by its first line: run here (with the setup it assumes and a
small substitution table for its placeholders), run against the cluster, or not run, with the reason. A block
added to the README and not listed here fails `test_every_console_block_of_the_readme_is_accounted_for`.

`gitops-gen` is this checkout's real CLI, run as its own process by `bash`. It sees itself as installed from a
git URL (as every test does, see `_installed_from_git` in conftest.py): from an editable checkout `init` rightly
refuses to pin the CI job's install line; `tests/test_ci_install.py` proves the install paths themselves.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import PINNED_INSTALL, REPO_ROOT, Cluster
from tests.helpers import git, kustomize_build

README = REPO_ROOT / "README.md"
DIGEST = "sha256:" + "0123456789abcdef" * 4

# Placeholders in the README's commands, and what the test types instead.
SUBSTITUTIONS = {
    "sha256:<64 hex>": DIGEST,
}

NOT_RUN = {
    "pip install git+<this repository's URL>": "installs from a URL; tests/test_ci_install.py installs gitops-gen "
    "from a git URL and .ci/run runs `pip install .` into an empty environment",
    "gitops-gen drift [--overlay production]": "a synopsis of the options, not a command; docs/drift.md's flags "
    "are run by tests/test_drift_options.py and tests/test_drift_cluster.py",
    "kubectl apply -k clusters/production/argocd": "needs Argo CD running, and `get -w` never returns; "
    "tests/test_gitops_wiring.py and tests/test_first_install.py apply these objects to the real API server",
    "flux create secret git mastodon-gitops-auth": "needs the flux CLI and a repository URL with credentials",
    "kubectl -n flux-system create secret generic sops-age": "needs an age private key file and Flux's namespace",
    "kubectl apply -k clusters/production/flux": "needs Flux and the flux CLI (`--watch` never returns); "
    "tests/test_flux_end_to_end.py runs this step with the real controllers",
    "scripts/test": "it is the command that runs this test",
    "scripts/kube-testenv provision": "starts a second control plane; tests/test_testenv.py and scripts/test use it",
    "python benchmarks/init_bench.py": "benchmarks are timed scripts, not tests",
    "pip install -e '.[test,mutation]'": "the mutation score is a measurement that takes hours on two cores, not a "
    "test (docs/testing.md)",
}
RUN = {  # first line of the block -> test that runs it
    "gitops-gen init ./mastodon-gitops": "test_first_steps_init_edit_regenerate_render",
    "gitops-gen bump-image --overlay staging --tag v4.3.1": "test_upgrading_bump_promote_dry_run_digest",
    "kubectl create namespace mastodon": "test_the_secret_first_on_the_cluster",
    "kubectl -n mastodon get deploy,job": "test_the_secret_first_on_the_cluster",
}


def console_blocks(text: str) -> list[list[str]]:
    """The command lines of every ```console block (indented blocks too), without blank lines."""
    blocks = re.findall(r"^[ \t]*```console\n(.*?)^[ \t]*```", text, flags=re.M | re.S)
    return [[line.strip() for line in block.splitlines() if line.strip()] for block in blocks]


def _block(first: str) -> list[str]:
    (block,) = [b for b in console_blocks(README.read_text(encoding="utf-8")) if b[0].startswith(first)]
    return block


def _script(lines: list[str]) -> str:
    text = "\n".join(lines)
    for placeholder, value in SUBSTITUTIONS.items():
        text = text.replace(placeholder, value)
    return "set -euo pipefail\n" + text + "\n"


@pytest.fixture
def user_path(tmp_path: Path) -> str:
    """PATH with a `gitops-gen` that runs this checkout's CLI, then the test's own PATH (kubectl, git)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "gitops-gen"
    shim.write_text(f"""#!{sys.executable}
import sys
from gitops_gen.generate import install_line
install_line.pinned_install_command = lambda: {PINNED_INSTALL!r}
from gitops_gen.cli import main
sys.exit(main())
""")
    shim.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def _run(lines: list[str], cwd: Path, path: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["bash", "-c", _script(lines)], cwd=cwd, input=stdin, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, **env}, timeout=300, check=False)
    assert done.returncode == 0, f"README example failed:\n{_script(lines)}\n{done.stdout}\n{done.stderr}"
    return done


def test_every_console_block_of_the_readme_is_accounted_for() -> None:
    for block in console_blocks(README.read_text(encoding="utf-8")):
        listed = [first for first in (*NOT_RUN, *RUN) if block[0].startswith(first)]
        assert len(listed) == 1, f"README example not run by a test nor listed as not run: {block[0]}"
    for first, test in RUN.items():
        assert callable(globals()[test]) and _block(first)


def test_first_steps_init_edit_regenerate_render(tmp_path: Path, user_path: str) -> None:
    lines = _block("gitops-gen init ./mastodon-gitops")
    assert lines[1].startswith("cd mastodon-gitops && $EDITOR gitops-gen.yaml")
    # $EDITOR: the user changes the domain.
    done = _run(lines, tmp_path, user_path, EDITOR="sed -i s/social.example.com/social.example.org/")
    repo = tmp_path / "mastodon-gitops"
    assert git(repo, "log", "--format=%s").splitlines() == [
        "gitops-gen init: regenerate from spec", "gitops-gen init: generate the Mastodon tree"]
    assert git(repo, "status", "--porcelain") == ""
    # The last command printed the overlay as an engine would apply it, with the edit in it.
    assert "kind: Deployment" in done.stdout and "LOCAL_DOMAIN: social.example.org" in done.stdout


def test_upgrading_bump_promote_dry_run_digest(tmp_path: Path, user_path: str) -> None:
    # What the examples assume: a tree whose overlays run v4.3.0, pushed to a remote its branch tracks.
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "gitops-gen.yaml").write_text(
        "gitops: {repoURL: 'https://git.example.org/ops/mastodon.git'}\n"
        "images:\n  mastodon: {repository: ghcr.io/mastodon/mastodon, tag: v4.3.0}\n"
        "  streaming: {repository: ghcr.io/mastodon/mastodon-streaming, tag: v4.3.0}\n")
    _run(["gitops-gen init"], repo, user_path)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "-u", "origin", "main")

    lines = _block("gitops-gen bump-image --overlay staging --tag v4.3.1")
    done = _run(lines, repo, user_path)

    assert git(repo, "log", "--format=%s").splitlines() == [
        "production: bump mastodon v4.3.1 -> v4.3.1@sha256:0123456789ab",
        "production: promote mastodon v4.3.0 -> v4.3.1 from staging",
        "staging: bump mastodon v4.3.0 -> v4.3.1",
        "gitops-gen init: generate the Mastodon tree"]
    for env, main_image in (("staging", "ghcr.io/mastodon/mastodon:v4.3.1"),
                            ("production", f"ghcr.io/mastodon/mastodon:v4.3.1@{DIGEST}")):
        images = {c["image"] for o in kustomize_build(repo / "overlays" / env) if o["kind"] == "Deployment"
                  for c in o["spec"]["template"]["spec"]["containers"]}
        assert images == {main_image, "ghcr.io/mastodon/mastodon-streaming:v4.3.1"}, env
    assert git(bare, "rev-parse", "main") == git(repo, "rev-parse", "HEAD~1")  # promote --push reached the remote
    assert "v4.3.2" in done.stdout  # the dry run's diff
    production = (repo / "overlays/production/kustomization.yaml").read_text()
    assert "v4.3.2" not in production and DIGEST in production


@pytest.mark.cluster
def test_the_secret_first_on_the_cluster(tmp_path: Path, user_path: str, cluster: Cluster) -> None:
    namespace = f"readme-{uuid.uuid4().hex[:8]}"
    _run(["gitops-gen init"], tmp_path, user_path)
    lines = [line.replace("namespace mastodon", f"namespace {namespace}").replace("-n mastodon", f"-n {namespace}")
             for line in [*_block("kubectl create namespace mastodon"), *_block("kubectl -n mastodon get deploy")]]
    try:
        # `read -rs DB_PASS` reads the password the user types.
        _run(lines, tmp_path, user_path, stdin="typed-db-password\n", KUBECONFIG=str(cluster.kubeconfig))
        secret = cluster.kubectl("get", "secret", "mastodon-secrets", "-n", namespace,
                                 "-o", "jsonpath={.data.DB_PASS}").stdout
        assert base64.b64decode(secret).decode() == "typed-db-password"
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
