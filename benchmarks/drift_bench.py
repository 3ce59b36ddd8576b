"""Benchmark: ``gitops-gen drift`` against ``kubectl diff --server-side``, cold and warm, with two kustomizes.

Builds GitOps trees of 500 and 5,000 objects (Deployments, Services, ConfigMaps, Secrets, all with the tracking
labels), applies each to a test cluster with server-side apply, waits for the controllers, then times in one
run, on the same tree and the same cluster, each tool as its own process:

- ``gitops-gen drift`` (read-only) rendering with each kustomize: kubectl's built-in one (``kubectl kustomize``)
  and the newest standalone one that ``scripts/kube-testenv kustomize`` builds. *Cold*: an empty cache
  directory (no render cache, no discovery or OpenAPI documents), as a first scheduled run; *warm*: the same
  directory again, so the render cache holds the commit, as every later run on an unchanged tree;
- ``gitops-gen drift --mode server``, warm;
- the peers: ``kubectl diff --server-side -k <overlay>`` (renders with its built-in kustomize on every run) and
  ``kubectl diff --server-side -f <file rendered beforehand>`` (no render at all), each cold (an empty
  ``--cache-dir``) and warm (its discovery cache filled by the cold run).

Then the default overlay (``gitops-gen init``'s default spec, production, about 13 objects) applied the same way:
warm ``gitops-gen drift`` against ``kubectl diff --server-side`` on the same objects, median of several runs.

Peak memory is the largest sum of the resident sizes of the process and all its descendants (gitops-gen and the
kustomize it runs, kubectl and its built-in kustomize), sampled from /proc every 20 ms. API requests:
gitops-gen counts its own (``--stats``); kubectl's are the growth of the API server's
``apiserver_request_total`` over its run.

Targets (issues 13 and 15): cold <= 0.3 of ``kubectl diff -k`` at 5,000 objects with the current kustomize,
warm <= 0.1, peak < 300 MB; drift on the default overlay <= 1.0 of ``kubectl diff --server-side``.

    python benchmarks/drift_bench.py                       # starts its own control plane (scripts/kube-testenv)
    python benchmarks/drift_bench.py --kubeconfig K        # or uses a running one (context admin)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import synthetic_tree  # noqa: E402  (thousands of init-shaped objects, which no spec makes)

ENV = "bench"
FILES = 50
KUBE_TESTENV = ROOT / "scripts" / "kube-testenv"


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


def _tree_rss_kb(root: int) -> int:
    """The summed VmRSS of ``root`` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with Path(f"/proc/{entry.name}/status").open(encoding="ascii", errors="replace") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0").strip() or 0)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total = 0
    for pid in rss:
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += rss[pid]
    return total


class TreePeak:
    """Samples the process tree of one pid every 20 ms in a thread; ``peak_kb`` is the largest sum seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _tree_rss_kb(self.pid))
            self._stop.wait(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(tool: str, command: list[str], kubeconfig: Path, *, count_server_side: bool,
            env: dict[str, str] | None = None) -> Measure:
    before = api_requests_total(kubeconfig) if count_server_side else 0
    # Output goes to files, not pipes: a report of 5,000 objects would fill a pipe nobody reads during wait4.
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile(mode="w+") as stderr_file:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr_file, env=env)
        sampler = TreePeak(process.pid)
        # wait4: this child's rusage, its reaped children included (ru_maxrss: the largest single process).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        sampler.stop()
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
    peak = max(sampler.peak_kb, usage.ru_maxrss) / 1024
    result = Measure(tool, seconds, code, requests, peak)
    print(f"  {tool:52s} {seconds:8.2f}s  exit {code}  requests {requests:6d}  peak {peak:6.1f} MB", flush=True)
    return result


def wait_for_deployments(kubeconfig: Path, namespace: str, expected: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listing = json.loads(kubectl(kubeconfig, "get", "deployments", "-n", namespace, "-o", "json"))
        done = sum(1 for item in listing["items"]
                   if "deployment.kubernetes.io/revision" in (item["metadata"].get("annotations") or {}))
        if done >= expected:
            return
        time.sleep(2)
    raise SystemExit("the controllers did not act on every Deployment in time")


def renderers() -> list[tuple[str, list[str]]]:
    """(label, command): kubectl's built-in kustomize, and the newest standalone one kube-testenv builds."""
    from gitops_gen import kustomize_speed

    built = subprocess.run([str(KUBE_TESTENV), "kustomize"], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise SystemExit(f"kube-testenv kustomize failed: {built.stderr.strip()[-500:]}")
    standalone = [str(Path(built.stdout.strip().splitlines()[-1]) / "kustomize"), "build"]
    kubectl_path = shutil.which("kubectl")
    if kubectl_path is None:
        raise SystemExit("kubectl is not on PATH")
    found = []
    for name, command in (("kubectl", [kubectl_path, "kustomize"]), ("standalone", standalone)):
        found.append((f"{name} {kustomize_speed.renderer_version(tuple(command))}", command))
    return found


def _env(cache: Path, render: list[str] | None = None) -> dict[str, str]:
    env = dict(os.environ, XDG_CACHE_HOME=str(cache))
    if render is not None:
        env["GITOPS_GEN_KUSTOMIZE"] = " ".join(render)
    return env


def bench(size: int, kubeconfig: Path, work: Path, concurrency: int,
          kustomizes: list[tuple[str, list[str]]]) -> dict[str, Measure]:
    from gitops_gen import kustomize

    namespace = f"drift-bench-{size}"
    kubectl(kubeconfig, "create", "namespace", namespace, check=False)
    tree = synthetic_tree.write_tree(work / f"tree-{size}", {ENV: namespace}, base=objects_for(size))
    newest = kustomizes[-1]
    started = time.monotonic()
    os.environ["GITOPS_GEN_KUSTOMIZE"] = " ".join(newest[1])
    text = kustomize.render_text(tree.overlay_dir(ENV))
    del os.environ["GITOPS_GEN_KUSTOMIZE"]
    render_seconds = time.monotonic() - started
    rendered_file = work / f"rendered-{size}.yaml"
    rendered_file.write_text(text)
    rendered = kustomize.load_objects(text, str(rendered_file))
    print(f"\n== {len(rendered)} objects (namespace {namespace}), load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"  render alone, kustomize {newest[0]}: {render_seconds:.1f}s", flush=True)
    started = time.monotonic()
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(rendered_file))
    print(f"  applied with kubectl apply --server-side in {time.monotonic() - started:.1f}s", flush=True)
    wait_for_deployments(kubeconfig, namespace, size // 4)

    ours = [sys.executable, "-m", "gitops_gen", "drift", "--repo", str(tree.root), "--kubeconfig",
            str(kubeconfig), "--context", "admin", "--output", "json", "--stats", "--timeout", "60",
            "--concurrency", str(concurrency)]
    found: dict[str, Measure] = {}

    def run(key: str, command: list[str], *, server: bool, env: dict[str, str] | None = None) -> None:
        found[key] = measure(key, command, kubeconfig, count_server_side=server, env=env)

    for label, command in kustomizes:
        cache = work / f"cache-{size}-{label.split()[0]}"
        run(f"gitops-gen drift, cold, {label}", ours, server=False, env=_env(cache, command))
        run(f"gitops-gen drift, warm, {label}", ours, server=False, env=_env(cache, command))
    run("gitops-gen drift --mode server, warm", [*ours, "--mode", "server"], server=False,
        env=_env(work / f"cache-{size}-{newest[0].split()[0]}", newest[1]))
    for flag, target in (("-k", str(tree.overlay_dir(ENV))), ("-f", str(rendered_file))):
        theirs = ["kubectl", "--kubeconfig", str(kubeconfig), "--context", "admin", "--cache-dir",
                  str(work / f"kube-cache-{size}{flag}"), "diff", "--server-side", flag, target]
        run(f"kubectl diff --server-side {flag}, cold", theirs, server=True)
        run(f"kubectl diff --server-side {flag}, warm", theirs, server=True)
    kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false", check=False)
    return found


# What drift must import before it can send a request: the CLI (typer, which parses options with pydantic), git,
# and the official Kubernetes client. Timed alone, in the same interpreter, it is the floor of any drift run.
LIBRARIES = "import typer, pydantic, git, kubernetes"


def default_overlay(kubeconfig: Path, work: Path, runs: int) -> tuple[float, float, float, float]:
    """Median seconds of warm ``gitops-gen drift`` and of ``kubectl diff --server-side`` (-f and -k) on the default
    overlay (production of init's default spec), applied to the cluster beforehand; and of importing drift's
    libraries alone (``LIBRARIES``)."""
    repo = work / "default"
    repo.mkdir()
    # The default spec, but no CI file: an editable install cannot be pinned into one, and it renders nothing.
    (repo / "gitops-gen.yaml").write_text("drift:\n  ci: none\n")
    subprocess.run([sys.executable, "-m", "gitops_gen", "init", str(repo)], check=True, capture_output=True)
    overlay = repo / "overlays" / "production"
    rendered = work / "default-rendered.yaml"
    rendered.write_text(kubectl(kubeconfig, "kustomize", str(overlay)))
    namespaces = sorted(set(re.findall(r"^  namespace: (\S+)$", rendered.read_text(), re.MULTILINE)))
    for namespace in namespaces:
        kubectl(kubeconfig, "create", "namespace", namespace, check=False)
    kubectl(kubeconfig, "apply", "--server-side", "-f", str(rendered))
    cache = work / "cache-default"
    ours = [sys.executable, "-m", "gitops_gen", "drift", "--repo", str(repo), "--overlay", "production",
            "--kubeconfig", str(kubeconfig), "--context", "admin"]
    theirs = ["kubectl", "--kubeconfig", str(kubeconfig), "--context", "admin", "--cache-dir",
              str(work / "kube-cache-default"), "diff", "--server-side"]
    for command in (ours, [*theirs, "-f", str(rendered)]):  # warm-up: caches filled, outside the clock
        subprocess.run(command, capture_output=True, env=_env(cache), check=False)

    def median(command: list[str]) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, env=_env(cache), check=False)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    found = (median(ours), median([*theirs, "-f", str(rendered)]), median([*theirs, "-k", str(overlay)]),
             median([sys.executable, "-c", LIBRARIES]))
    for namespace in namespaces:
        # Waited for: a run right after this one on the same cluster must not apply into a terminating namespace.
        kubectl(kubeconfig, "delete", "namespace", namespace, "--timeout=120s", check=False)
    return found


def summary(size: int, found: dict[str, Measure], kustomizes: list[tuple[str, list[str]]]) -> None:
    peer_k_cold, peer_k_warm = (found[f"kubectl diff --server-side -k, {state}"] for state in ("cold", "warm"))
    peer_f_cold, peer_f_warm = (found[f"kubectl diff --server-side -f, {state}"] for state in ("cold", "warm"))
    print(f"  {size} objects:")
    for label, _ in kustomizes:
        cold, warm = found[f"gitops-gen drift, cold, {label}"], found[f"gitops-gen drift, warm, {label}"]
        print(f"    kustomize {label:22s} cold {cold.seconds:7.1f}s = {cold.seconds / peer_k_cold.seconds:5.2f} "
              f"of diff -k ({cold.seconds / peer_f_cold.seconds:5.2f} of diff -f); warm {warm.seconds:6.1f}s = "
              f"{warm.seconds / peer_k_warm.seconds:5.3f} of diff -k ({warm.seconds / peer_f_warm.seconds:5.3f} "
              f"of diff -f); peak {max(cold.peak_mb, warm.peak_mb):4.0f} MB")
    server = found["gitops-gen drift --mode server, warm"]
    print(f"    --mode server, warm: {server.seconds:.1f}s = {server.seconds / peer_f_warm.seconds:.2f} of diff -f; "
          f"peers' peak: -k {max(peer_k_cold.peak_mb, peer_k_warm.peak_mb):.0f} MB, "
          f"-f {max(peer_f_cold.peak_mb, peer_f_warm.peak_mb):.0f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", type=Path, help="use this cluster (context admin) instead of starting one")
    parser.add_argument("--sizes", default="500,5000", help="comma-separated object counts")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--default-runs", type=int, default=7, help="runs of each tool on the default overlay")
    args = parser.parse_args()
    for role in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{role}_NAME", "drift bench")
        os.environ.setdefault(f"GIT_{role}_EMAIL", "bench@gitops-gen.invalid")
    kustomizes = renderers()
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as temporary:
        work = Path(temporary)
        state = work / "kube"
        kubeconfig = args.kubeconfig
        if kubeconfig is None:
            up = subprocess.run([str(KUBE_TESTENV), "up", str(state)], capture_output=True, text=True, check=False)
            if up.returncode != 0:
                raise SystemExit(f"kube-testenv up failed: {up.stderr.strip()[-500:]}")
            kubeconfig = Path(up.stdout.strip().splitlines()[-1])
        try:
            ours, peer_f, peer_k, floor = default_overlay(kubeconfig, work, args.default_runs)
            results = {size: bench(size, kubeconfig, work, args.concurrency, kustomizes)
                       for size in (int(text) for text in args.sizes.split(",") if text)}
        finally:
            if args.kubeconfig is None:
                subprocess.run([str(KUBE_TESTENV), "down", str(state)], capture_output=True, check=False)
    print("\nTargets: at 5000 with the current kustomize, cold <= 0.3 and warm <= 0.1 of kubectl diff -k, "
          "peak < 300 MB; default overlay <= 1.0 of kubectl diff --server-side")
    print(f"  default overlay (median of {args.default_runs}): gitops-gen drift {ours:.3f}s, kubectl diff -f "
          f"{peer_f:.3f}s, -k {peer_k:.3f}s: ratio {ours / peer_f:.2f} of -f, {ours / peer_k:.2f} of -k")
    print(f"  its floor, `python -c '{LIBRARIES}'`: {floor:.3f}s = {floor / peer_f:.2f} of -f, "
          f"{floor / peer_k:.2f} of -k")
    for size, found in results.items():
        summary(size, found, kustomizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
