"""Wall time of `gitops-gen init` on the default spec, as a ratio to `kubectl kustomize` of its result.

Both are measured in the same run, as whole processes (what a user waits for). Target: init under 2 s.
Usage: python benchmarks/init_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(command: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    env_note = "kustomize" if shutil.which("kustomize") else "kubectl kustomize"
    render = ["kustomize", "build"] if shutil.which("kustomize") else ["kubectl", "kustomize"]
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@invalid")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@invalid")
    init_times, render_times = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(runs):
            target = Path(scratch) / f"repo-{run}"
            init_times.append(_timed([sys.executable, "-m", "gitops_gen", "init", str(target)]))
            render_times.append(sum(_timed([*render, str(target / "overlays" / overlay)])
                                    for overlay in ("staging", "production")))
    init_median, render_median = statistics.median(init_times), statistics.median(render_times)
    print(f"runs: {runs}")
    print(f"gitops-gen init (default spec, new repo, commit): median {init_median:.3f} s")
    print(f"{env_note} of both overlays of the result:       median {render_median:.3f} s")
    print(f"ratio init / {env_note}: {init_median / render_median:.2f}")
    print(f"target init < 2 s: {'met' if init_median < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
