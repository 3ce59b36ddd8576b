"""Start-up cost: `gitops-gen --help` and `gitops-gen version` as whole processes, against `kubectl version
--client` measured in the same run (the peer a user compares with). Target: both under 0.15 s.

Every command imports what it needs inside the command, so help loads no spec model, GitPython or Kubernetes
client, and `version`/`--version` are answered before typer is imported (typer 0.29 loads pydantic on any
command invocation); tests/test_cli_conventions.py checks the imports, this script prints the time.
Usage: python benchmarks/startup_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path


def _median(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    entry = shutil.which("gitops-gen")
    if entry is None:
        raise SystemExit("gitops-gen is not on PATH: pip install -e . first")
    kubectl = shutil.which("kubectl")
    peer = _median([kubectl, "version", "--client"], runs) if kubectl else None
    print(f"{'command':<28} {'median':>8} {'vs kubectl version --client':>28}")
    for args in (["--help"], ["version"]):
        median = _median([entry, *args], runs)
        ratio = f"{median / peer:.2f}" if peer else "n/a"
        print(f"{'gitops-gen ' + ' '.join(args):<28} {median:>7.3f}s {ratio:>28}  (target < 0.15 s)")
    if peer is not None:
        print(f"{'kubectl version --client':<28} {peer:>7.3f}s {Path(kubectl).name:>28}")


if __name__ == "__main__":
    main()
