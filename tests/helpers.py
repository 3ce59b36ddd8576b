"""Test helpers: real git repositories built from a dict of files, and the CLI run in-process."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from gitops_gen.cli import main

T = TypeVar("T")

SEED_SPEC = """\
name: mastodon
kubeVersion: "1.20"
mastodon:
  localDomain: social.example.net
  database: {host: pgset-primary.bluecore-net.svc.cluster.local, port: 5432}
  redis: {host: ext-redis-server.bluecore-net.svc.cluster.local, port: 6379}
web:
  replicas: 2
  concurrency: 2
  maxThreads: 3
  resources: {requests: {cpu: 200m, memory: 768Mi}, limits: {cpu: 300m, memory: 768Mi}}
streaming:
  replicas: 2
  resources: {requests: {cpu: 200m, memory: 512Mi}, limits: {cpu: 300m, memory: 512Mi}}
sidekiq:
  - name: default
    queues: [default]
    concurrency: 20
    replicas: 2
    resources: {requests: {cpu: 200m, memory: 512Mi}, limits: {cpu: 300m, memory: 512Mi}}
  - name: other
    queues: [mailers, pull, push]
    concurrency: 20
    replicas: 2
    resources: {requests: {cpu: 200m, memory: 1024Mi}, limits: {cpu: 300m, memory: 1024Mi}}
  - name: ingress                 # inbound federation, and FASP (Mastodon 4.4+)
    queues: [ingress, fasp]
    concurrency: 20
    replicas: 2
    resources: {requests: {cpu: 200m, memory: 512Mi}, limits: {cpu: 300m, memory: 512Mi}}
  - name: scheduler               # one process only: it is rolled out with Recreate
    queues: [scheduler]
    concurrency: 5
    replicas: 1
    resources: {requests: {cpu: 100m, memory: 512Mi}, limits: {cpu: 300m, memory: 512Mi}}
storage:
  system:
    size: 40Gi
    nfs: {server: 192.0.2.129, path: /Pool-1/share_root/sns_ap/live/public/system}
expose:
  type: NodePort
  nodePorts: {web: 31300, streaming: 31400}
  loadBalancerNodes: [192.0.2.132, 192.0.2.143, 192.0.2.171, 192.0.2.172, 192.0.2.173]
overlays:
  production: {namespace: bluecore-net}
"""


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Run gitops-gen in-process and capture what it printed."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def git(directory: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, check=True).stdout


def build_file_tree(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def snapshot(root: Path) -> dict[str, str]:
    """Every file below ``root`` except .git, with its content: for 'nothing changed' assertions."""
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def wait_for(check: Callable[[], T], seconds: float = 30) -> T:
    """Poll ``check`` until it returns something truthy or ``seconds`` pass; return its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def init_from_spec(capsys: pytest.CaptureFixture[str], root: Path, spec: str, *args: str) -> CliResult:
    """Write ``spec`` as ``root/gitops-gen.yaml`` and run ``gitops-gen init root`` as a user would; it must succeed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "gitops-gen.yaml").write_text(spec)
    result = run_cli(capsys, "init", str(root), *args)
    assert result.code == 0, result.err
    return result


def kustomize_build(directory: Path) -> list[dict[str, Any]]:
    """``directory`` rendered by the real kustomize (``kustomize build``, else ``kubectl kustomize``), not by the
    product's wrapper: what Argo CD or Flux would apply."""
    command = ["kustomize", "build"] if shutil.which("kustomize") else ["kubectl", "kustomize"]
    done = subprocess.run([*command, str(directory)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The objects of one kind, by name."""
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}
