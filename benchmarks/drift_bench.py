"""Benchmark: ``gitops-gen drift`` (read-only and server mode) against ``kubectl diff --server-side``.

Builds GitOps trees of 500 and 5,000 objects (Deployments, Services, ConfigMaps, Secrets, all with the tracking
labels), applies each to a test cluster with server-side apply, waits for the controllers, then times in one
run, on the same tree and the same cluster:

- ``gitops-gen drift`` read-only (the default),
- ``gitops-gen drift --mode server``,
- ``kubectl diff --server-side -f <rendered>`` (the peer, given the overlay already rendered), and on trees up
  to ``--cold-limit`` objects also ``kubectl diff --server-side -k <overlay>`` against gitops-gen without its
  render cache (both run kustomize, whose cost grows quadratically with the number of objects: minutes at
  5,000, which would drown both tools' own work).

Each tool runs as its own process; wall time and peak memory (ru_maxrss of that process) are measured. API
requests: gitops-gen counts its own (``--stats``); kubectl's are the growth of the API server's
``apiserver_request_total`` over its run (which also holds the controller manager's few background requests).
Timed gitops-gen runs start with warm caches (discovery, OpenAPI, and the render of the commit), as every
scheduled run after the first does (kubectl keeps its discovery cache in ~/.kube/cache the same way).

Targets (issue 6): read-only <= 0.3 of kubectl diff at 500 objects and <= 0.1 at 5,000; server mode <= 0.5 at
5,000; peak memory < 300 MB at 5,000.

    python benchmarks/drift_bench.py                       # starts its own control plane (scripts/kube-testenv)
    python benchmarks/drift_bench.py --kubeconfig K        # or uses a running one (context admin)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import synthetic_tree  # noqa: E402  (thousands of init-shaped objects, which no spec makes)

ENV = "bench"
FILES = 50


@dataclass(frozen=True)
class Measure:
    tool: str
    seconds: float
    exit_code: int
    requests: int
    peak_mb: float


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    done = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--context", "admin", *args], input=stdin,
                          capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


def objects_for(count: int) -> dict[str, list[dict[str, Any]]]:
    """``count`` objects in units of four (Deployment, Service, ConfigMap, Secret), split over FILES files."""
    documents: list[dict[str, Any]] = []
    for index in range(count // 4):
        name = f"app-{index:04d}"
        documents.append(synthetic_tree.deployment(name, "web", synthetic_tree.MAIN_IMAGE, port=("http", 3000),
                                                   replicas=1, env={"INDEX": str(index), "RAILS_ENV": "production"}))
        documents.append(synthetic_tree.service(name, "web", 80, "http"))
        documents.append({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": name, "labels": dict(documents[-1]["metadata"]["labels"])},
                          "data": {"INDEX": str(index), "LOCAL_DOMAIN": "example.social"}})
        documents.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": {"name": name, "labels": dict(documents[-1]["metadata"]["labels"])},
                          "data": {"TOKEN": "c2VjcmV0"}})
    per_file = max(1, len(documents) // FILES)
    return {f"apps-{start // per_file:02d}.yaml": documents[start:start + per_file]
            for start in range(0, len(documents), per_file)}


def api_requests_total(kubeconfig: Path) -> int:
    metrics = kubectl(kubeconfig, "get", "--raw", "/metrics")
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("apiserver_request_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def measure(tool: str, command: list[str], kubeconfig: Path, *, count_server_side: bool) -> Measure:
    before = api_requests_total(kubeconfig) if count_server_side else 0
    # Output goes to files, not pipes: a report of 5,000 objects would fill a pipe nobody reads during wait4.
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile(mode="w+") as stderr_file:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr_file)
        # wait4 gives this child's own rusage (ru_maxrss in kB on Linux), not the sum of all children.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr_file.seek(0)
        stderr = stderr_file.read()
    code = process.returncode
    if count_server_side:
        # The metrics request itself is one more; leave it out.
        requests = api_requests_total(kubeconfig) - before - 1
    else:
        found = re.search(r"(\d+) API requests", stderr)
        requests = int(found.group(1)) if found else -1
    if code not in (0, 1):
        print(f"  {tool} failed ({code}): {stderr.strip()[-400:]}", file=sys.stderr)
    return Measure(tool, seconds, code, requests, usage.ru_maxrss / 1024)


def wait_for_deployments(kubeconfig: Path, namespace: str, expected: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = json.loads(kubectl(kubeconfig, "get", "deployments", "-n", namespace, "-o", "json"))
        done = sum(1 for item in listing["items"]
                   if "deployment.kubernetes.io/revision" in (item["metadata"].get("annotations") or {}))
        if done >= expected:
            return
        time.sleep(2)
    raise SystemExit("the controllers did not act on every Deployment in time")


def prime_render_cache(tree: synthetic_tree.Tree, rendered: list[dict[str, Any]]) -> None:
    """Put the benchmark's own render into gitops-gen's render cache, as a first scheduled run would."""
    from gitops_gen import git
    from gitops_gen.drift import render_cache
    from gitops_gen.drift import run as drift_run

    commit = git.resolve_ref(tree.root, "HEAD")
    render_cache.store(drift_run.render_cache_key(tree.root, commit, ENV), rendered)


def bench(size: int, kubeconfig: Path, work: Path, concurrency: int, cold_limit: int) -> list[Measure]:
    from gitops_gen import kustomize

    namespace = f"drift-bench-{size}"
    kubectl(kubeconfig, "create", "namespace", namespace, check=False)
    tree = synthetic_tree.write_tree(work / f"tree-{size}", {ENV: namespace}, base=objects_for(size))
    started = time.monotonic()
    text = kustomize.render_text(tree.overlay_dir(ENV))
    render_seconds = time.monotonic() - started
    rendered_file = work / f"rendered-{size}.yaml"
    rendered_file.write_text(text)
    rendered = kustomize.load_objects(text, str(rendered_file))
    print(f"\n== {len(rendered)} objects (namespace {namespace})", flush=True)
    print(f"  kustomize render alone: {render_seconds:.1f}s ({' '.join(kustomize.kustomize_command())})", flush=True)
    started = time.monotonic()
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(rendered_file))
    print(f"  applied with kubectl apply --server-side in {time.monotonic() - started:.1f}s", flush=True)
    wait_for_deployments(kubeconfig, namespace, size // 4)

    ours = [sys.executable, "-m", "gitops_gen", "drift", "--repo", str(tree.root), "--kubeconfig",
            str(kubeconfig), "--context", "admin", "--output", "json", "--stats", "--timeout", "60",
            "--concurrency", str(concurrency)]
    theirs = ["kubectl", "--kubeconfig", str(kubeconfig), "--context", "admin", "diff", "--server-side"]
    results: list[Measure] = []
    if size <= cold_limit:
        # Cold: no render cache, so gitops-gen runs kustomize itself (as does kubectl diff -k).
        results.append(measure("gitops-gen drift, cold (renders)", ours, kubeconfig, count_server_side=False))
        results.append(measure("kubectl diff --server-side -k", [*theirs, "-k", str(tree.overlay_dir(ENV))],
                               kubeconfig, count_server_side=True))
    else:
        prime_render_cache(tree, rendered)
        measure("gitops-gen drift (warm-up)", ours, kubeconfig, count_server_side=False)
    results += [
        measure("gitops-gen drift read-only", ours, kubeconfig, count_server_side=False),
        measure("gitops-gen drift --mode server", [*ours, "--mode", "server"], kubeconfig, count_server_side=False),
        measure("kubectl diff --server-side -f", [*theirs, "-f", str(rendered_file)], kubeconfig,
                count_server_side=True),
    ]
    peer = results[-1].seconds
    for item in results:
        print(f"  {item.tool:34s} {item.seconds:8.2f}s  vs diff -f {item.seconds / peer:6.3f}  exit {item.exit_code}"
              f"  requests {item.requests:6d}  peak {item.peak_mb:6.1f} MB", flush=True)
    kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", check=False)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", type=Path, help="use this cluster (context admin) instead of starting one")
    parser.add_argument("--sizes", default="500,5000", help="comma-separated object counts")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cold-limit", type=int, default=1000,
                        help="largest tree for which kustomize is timed inside both tools (it is quadratic)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as temporary:
        work = Path(temporary)
        # kube-testenv finds its binaries under the real cache directory; gitops-gen gets a fresh one.
        testenv_env = dict(os.environ)
        os.environ["XDG_CACHE_HOME"] = str(work / "cache")
        for role in ("AUTHOR", "COMMITTER"):
            os.environ.setdefault(f"GIT_{role}_NAME", "drift bench")
            os.environ.setdefault(f"GIT_{role}_EMAIL", "bench@gitops-gen.invalid")
        state = work / "kube"
        kubeconfig = args.kubeconfig
        if kubeconfig is None:
            up = subprocess.run([str(ROOT / "scripts" / "kube-testenv"), "up", str(state)], capture_output=True,
                                text=True, check=False, env=testenv_env)
            if up.returncode != 0:
                raise SystemExit(f"kube-testenv up failed: {up.stderr.strip()[-500:]}")
            kubeconfig = Path(up.stdout.strip().splitlines()[-1])
        try:
            summary: dict[int, list[Measure]] = {}
            for size in (int(text) for text in args.sizes.split(",")):
                summary[size] = bench(size, kubeconfig, work, args.concurrency, args.cold_limit)
        finally:
            if args.kubeconfig is None:
                subprocess.run([str(ROOT / "scripts" / "kube-testenv"), "down", str(state)], capture_output=True,
                               check=False, env=testenv_env)
    print("\nTargets: read-only <= 0.3 of kubectl diff at 500, <= 0.1 at 5000; server <= 0.5 at 5000; "
          "peak < 300 MB at 5000")
    for size, results in summary.items():
        by_tool = {item.tool: item for item in results}
        peer = by_tool["kubectl diff --server-side -f"]
        read_only, server = by_tool["gitops-gen drift read-only"], by_tool["gitops-gen drift --mode server"]
        line = (f"  {size:5d} objects: read-only {read_only.seconds / peer.seconds:.3f} of diff -f, "
                f"server {server.seconds / peer.seconds:.3f} of diff -f")
        if "kubectl diff --server-side -k" in by_tool:
            cold, peer_k = by_tool["gitops-gen drift, cold (renders)"], by_tool["kubectl diff --server-side -k"]
            line += f"; rendering in both: {cold.seconds / peer_k.seconds:.3f} of diff -k"
        line += (f"; peak {max(read_only.peak_mb, server.peak_mb):.0f} MB; requests {read_only.requests} / "
                 f"{server.requests} / kubectl {peer.requests}")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
