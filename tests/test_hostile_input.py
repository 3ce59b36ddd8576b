"""Bad input and broken states: exit 2 with one line on stderr, never a traceback, never exit 1 (which CI
reads as "drift found"). The start of the sweep of issue #12; each case is what a user or a disk can do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _gitops_gen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitops_gen", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def _init_repo(tmp_path: Path) -> Path:
    """A repository made by init in a subprocess. No CI workflow: from this editable checkout, init would ask
    for drift.install (tests/test_ci_install.py)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "gitops-gen.yaml").write_text("drift: {ci: none}\noverlays:\n  staging: {web: {replicas: 1}}\n"
                                          "  production: {}\n")
    done = _gitops_gen("init", "repo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return repo


def _one_line_exit_2(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("gitops-gen: "), done.stderr


def test_a_spec_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "gitops-gen.yaml").mkdir()
    _one_line_exit_2(_gitops_gen("init", ".", cwd=tmp_path))


def test_a_generated_file_replaced_by_a_directory(tmp_path: Path) -> None:
    _init_repo(tmp_path)
    storage = tmp_path / "repo" / "overlays" / "production" / "storage.yaml"
    storage.unlink()
    storage.mkdir()
    _one_line_exit_2(_gitops_gen("init", "repo", cwd=tmp_path))


@pytest.mark.parametrize("option", [("--timeout", "0"), ("--timeout", "-1"), ("--concurrency", "0")])
def test_drift_refuses_numbers_it_cannot_use_before_any_work(tmp_path: Path, option: tuple[str, str]) -> None:
    done = _gitops_gen("drift", *option, "--kubeconfig", str(tmp_path / "none"), cwd=tmp_path)
    assert done.returncode == 2 and option[0] in done.stderr and "Traceback" not in done.stderr


def _alias_bomb(levels: int = 7, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("case", "content", "expected"), [
    ("alias bomb", _alias_bomb().encode(), "aliases expand to more than"),
    ("latin-1", "mastodon:\n  localDomain: caf\xe9.example\n".encode("latin-1"), "is not UTF-8 text"),
    ("utf-16", "name: mastodon\n".encode("utf-16"), "is not UTF-8 text"),
    ("5,000 levels deep", ("name: " + "[" * 5000 + "]" * 5000 + "\n").encode(), "nests too deeply"),
])
def test_a_hostile_spec_is_refused_with_one_line(tmp_path: Path, case: str, content: bytes, expected: str) -> None:
    (tmp_path / "gitops-gen.yaml").write_bytes(content)
    done = _gitops_gen("init", ".", cwd=tmp_path)  # the 120 s timeout fails the test if the bomb goes off
    _one_line_exit_2(done)
    assert expected in done.stderr and "gitops-gen.yaml" in done.stderr, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gitops-gen.yaml"]  # nothing written


def test_a_directory_argument_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "repo").write_text("not a directory\n")
    _one_line_exit_2(_gitops_gen("init", "repo", cwd=tmp_path))


def test_symlinked_overlays_leading_outside_are_never_written_through(tmp_path: Path) -> None:
    repo, outside = _init_repo(tmp_path), tmp_path / "outside"
    outside.mkdir()
    (repo / "overlays").rename(outside / "overlays")
    (repo / "overlays").symlink_to(outside / "overlays")
    before = {path: path.read_bytes() for path in (outside / "overlays").rglob("*") if path.is_file()}
    spec = repo / "gitops-gen.yaml"
    spec.write_text(spec.read_text().replace("web: {replicas: 1}", "web: {replicas: 2}"))
    assert "web: {replicas: 2}" in spec.read_text()

    for args in (("init", "."), ("bump-image", "--tag", "v4.6.9", "--overlay", "production")):
        done = _gitops_gen(*args, cwd=repo)
        _one_line_exit_2(done)
        assert "symbolic link" in done.stderr
    assert {path: path.read_bytes() for path in (outside / "overlays").rglob("*") if path.is_file()} == before


def test_a_generated_file_holding_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    _init_repo(tmp_path)
    (tmp_path / "repo" / "base" / "web.yaml").write_bytes(b"\xff\xfe broken\n")
    done = _gitops_gen("init", "repo", cwd=tmp_path)
    _one_line_exit_2(done)
    assert "web.yaml is not UTF-8 text" in done.stderr


def test_a_kustomize_error_never_shows_secret_generator_values(tmp_path: Path) -> None:
    overlay = tmp_path / "overlays" / "production"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: s\n  literals:\n  - DB_PASS=hunter2-Zebra42\n  - hunter3-no-equals\n"
        "  envs: [more.env]\n")
    (overlay / "more.env").write_text("SMTP_PASSWORD=from-an-env-file-Q9\n")
    for args in (["init"], ["add", "-A"], ["commit", "-q", "-m", "tree"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    done = _gitops_gen("drift", "--overlay", "production", "--kubeconfig", str(tmp_path / "none"), cwd=tmp_path)
    _one_line_exit_2(done)
    assert "kustomize failed" in done.stderr and "<redacted>" in done.stderr
    for secret in ("hunter2-Zebra42", "hunter3-no-equals", "from-an-env-file-Q9"):
        assert secret not in done.stderr


@pytest.mark.parametrize(("spec", "expected"), [
    ("web:\n  resources: {requests: {cpu: .inf}}\n", "web.resources.requests.cpu"),
    ("web:\n  resources: {requests: {memory: Infinity}}\n", "web.resources.requests.memory"),
    ("web:\n  resources: {requests: {memory: '1_000'}}\n", "web.resources.requests.memory"),
    ("web:\n  resources: {limits: {memory: ' 1Gi'}}\n", "web.resources.limits.memory"),
    ("mastodon:\n  extraEnv: {'A=B': x}\n", "mastodon.extraEnv"),
    ("mastodon:\n  extraEnv: {'': x}\n", "mastodon.extraEnv"),
    ("mastodon:\n  extraEnv: {'HAS SPACE': x}\n", "mastodon.extraEnv"),
    ("mastodon:\n  extraEnv: {SECRET_KEY_BASE: plain-text-in-git}\n", "mastodon.extraEnv.SECRET_KEY_BASE"),
    ("mastodon:\n  extraEnv: {DB_PASS: plain-text-in-git}\n", "mastodon.extraEnv.DB_PASS"),
    ("secrets:\n  extraKeys: [ES_PASS]\nmastodon:\n  extraEnv: {ES_PASS: x}\n", "mastodon.extraEnv.ES_PASS"),
    ("storage:\n  system: {storageClass: Fast_SSD}\n", "storage.system.storageClass"),
    ("expose:\n  ingress: {className: Nginx Public}\n", "expose.ingress.className"),
    ("expose:\n  ingress: {tlsSecret: bad/secret}\n", "expose.ingress.tlsSecret"),
    ("expose:\n  type: NodePort\n  loadBalancerNodes: [192.0.2.1]\n", "expose.loadBalancerNodes"),
])
def test_spec_values_that_would_break_later_are_refused_now(tmp_path: Path, spec: str, expected: str) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(spec)
    done = _gitops_gen("init", ".", cwd=tmp_path)
    _one_line_exit_2(done)
    assert expected in done.stderr, done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gitops-gen.yaml"]


def test_an_origin_that_is_a_local_path_is_refused_and_a_missing_one_warned_about(tmp_path: Path) -> None:
    (tmp_path / "gitops-gen.yaml").write_text("drift: {ci: none}\n")
    done = _gitops_gen("init", ".", cwd=tmp_path)
    assert done.returncode == 0 and "warning: gitops.repoURL is unset and there is no origin remote" in done.stderr
    subprocess.run(["git", "remote", "add", "origin", "/srv/git/mastodon.git"], cwd=tmp_path, check=True)
    spec = tmp_path / "gitops-gen.yaml"
    spec.write_text("drift: {ci: none}\nweb: {replicas: 3}\n")
    done = _gitops_gen("init", ".", cwd=tmp_path)
    _one_line_exit_2(done)
    assert "gitops.repoURL" in done.stderr and "/srv/git/mastodon.git" in done.stderr
    spec.write_text("drift: {ci: none}\nweb: {replicas: 3}\ngitops: {repoURL: 'https://git.example.net/m.git'}\n")
    assert _gitops_gen("init", ".", cwd=tmp_path).returncode == 0


def test_a_node_address_cannot_inject_an_upstream_into_nginx_conf(tmp_path: Path) -> None:
    (tmp_path / "gitops-gen.yaml").write_text(
        'drift: {ci: none}\nexpose:\n  type: NodePort\n  nodePorts: {web: 31300, streaming: 31400}\n'
        '  loadBalancerNodes: ["fe80::1%x;\\n    server 203.0.113.66"]\n')
    done = _gitops_gen("init", ".", cwd=tmp_path)
    _one_line_exit_2(done)
    assert "expose.loadBalancerNodes" in done.stderr and "scope id" in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gitops-gen.yaml"]


def test_an_unwritable_overlay_directory_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    repo = _init_repo(tmp_path)
    spec = repo / "gitops-gen.yaml"
    spec.write_text(spec.read_text() + "mastodon: {localDomain: other.example.net}\n")  # every overlay
    before = {path: path.read_bytes() for path in repo.rglob("*") if path.is_file() and ".git" not in path.parts}
    staging = repo / "overlays" / "staging"
    # Immutable (chattr +i): unwritable even for root, which the tests run as.
    subprocess.run(["chattr", "+i", str(staging)], check=True)
    try:
        done = _gitops_gen("init", "repo", cwd=tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(staging)], check=True)
    _one_line_exit_2(done)
    assert "overlays/staging" in done.stderr and "nothing was changed" in done.stderr
    after = {path: path.read_bytes() for path in repo.rglob("*") if path.is_file() and ".git" not in path.parts}
    assert after == before
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == " M gitops-gen.yaml\n"
