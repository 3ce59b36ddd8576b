"""Mutation score of the pure core: how many small deliberate bugs the fast tests catch, per module.

mutmut (``[tool.mutmut]`` in pyproject.toml) copies the package to ``mutants/``, rewrites each function of the
core into many mutants (an operator flipped, a constant changed, an argument dropped), and runs, for each mutant,
the fast tests that call that function (``-m "not cluster"``; no control plane is started). A mutant is killed
when a test fails. The survivors are the behaviours no fast test pins down; docs/testing.md lists those that
cannot be killed because they behave exactly like the original (equivalent mutants).

Usage (from a checkout): pip install -e '.[test,mutation]' && python benchmarks/mutation.py [PATH ...]
  PATH   modules or packages to mutate (default: the whole core listed in [tool.mutmut] only_mutate)
  --jobs N       mutants run in parallel (default: the number of CPUs)
  --fresh        forget earlier results (mutmut otherwise re-runs only what changed)
  --fail-under P exit 1 when the overall score is below P percent
  --report       only print the table of the results mutants/ holds (of an earlier or interrupted run)
Not run by CI: the whole core is about 6,500 mutants (see docs/testing.md for the time it takes).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DETECTED = ("killed", "timeout")  # a mutant that makes the tests hang is caught too (mutmut ends it)
# mutmut's exit codes of a mutant's test run (mutmut/stats.py), folded into the columns printed here.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout", -24: "timeout",
          24: "timeout", 152: "timeout", 255: "timeout", None: "not run"}
COLUMNS = ("killed", "timeout", "survived", "no tests", "other", "not run")


def _core_globs() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["only_mutate"])


def _modules(paths: list[str], core: list[str]) -> list[Path]:
    """The core modules named by ``paths`` (files or packages, relative to the checkout)."""
    every = sorted(p.relative_to(ROOT) for p in (ROOT / "gitops_gen").rglob("*.py"))
    core_modules = [p for p in every if any(fnmatch.fnmatch(p.as_posix(), glob) for glob in core)]
    if not paths:
        return core_modules
    chosen = []
    for raw in paths:
        wanted = Path(raw).resolve().relative_to(ROOT).as_posix().removesuffix("/")
        matched = [p for p in core_modules if p.as_posix() == wanted or p.as_posix().startswith(wanted + "/")]
        if not matched:
            sys.exit(f"mutation: {raw} is not a module of the core ([tool.mutmut] only_mutate in pyproject.toml)")
        chosen += [p for p in matched if p not in chosen]
    return chosen


def _dotted(module: Path) -> str:
    return ".".join(module.with_suffix("").parts)


def _results(module: Path) -> Counter[str]:
    meta = ROOT / "mutants" / f"{module}.meta"
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
    return Counter(STATUS.get(code, "other") for code in codes.values())


def _percent(counts: Counter[str]) -> float | None:
    """Killed (or timed out) among the mutants that were run: an interrupted run's figure counts what it did."""
    run = sum(counts.values()) - counts["not run"]
    return 100 * sum(counts[s] for s in DETECTED) / run if run else None


def _score(counts: Counter[str]) -> str:
    percent = _percent(counts)
    return f"{percent:5.1f}%" if percent is not None else "    -"


def _row(name: str, counts: Counter[str]) -> str:
    return f"{name:<48}" + "".join(f"{counts[c]:>9}" for c in COLUMNS) + f"{sum(counts.values()):>7} {_score(counts)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--fail-under", type=float)
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if shutil.which("mutmut") is None and subprocess.run([sys.executable, "-c", "import mutmut"]).returncode:
        sys.exit("mutation: mutmut is not installed: pip install -e '.[test,mutation]'")
    modules = _modules(args.paths, _core_globs())
    if args.report:
        return _table(modules, args.fail_under)
    if args.fresh:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    (ROOT / "mutants").mkdir(exist_ok=True)
    # No control plane: the fast tests only (a test that asks for one is left out by benchmarks/mutation_plugin.py).
    env = {k: v for k, v in os.environ.items() if k != "GITOPS_GEN_TEST_KUBECONFIG"}
    log = ROOT / "mutants" / "mutation.log"
    selection = [f"{_dotted(m)}.*" for m in modules] if args.paths else []
    print(f"mutation: {len(modules)} modules, {args.jobs} jobs; mutmut's output goes to {log.relative_to(ROOT)}",
          flush=True)
    start = time.monotonic()
    with log.open("w") as out:
        run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.jobs), *selection],
                             cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    minutes = (time.monotonic() - start) / 60
    if run.returncode:
        print(log.read_text()[-3000:], file=sys.stderr)
        sys.exit(f"mutation: mutmut failed (exit {run.returncode}); its output is in {log}")
    print(f"mutation: {minutes:.1f} min")
    return _table(modules, args.fail_under)


def _table(modules: list[Path], fail_under: float | None) -> int:
    print(f"{'module':<48}" + "".join(f"{c:>9}" for c in COLUMNS) + "  total score")
    overall: Counter[str] = Counter()
    for package in sorted({m.parent for m in modules}):
        in_package: Counter[str] = Counter()
        for module in (m for m in modules if m.parent == package):
            counts = _results(module)
            in_package += counts
            if counts:
                print(_row(f"  {module.as_posix()}", counts))
        print(_row(f"{package.as_posix()}/", in_package))
        overall += in_package
    print(_row("overall", overall))
    print("survivors: python -m mutmut results; one of them: python -m mutmut show NAME")
    score = _percent(overall)
    return 1 if fail_under is not None and (score is None or score < fail_under) else 0


if __name__ == "__main__":
    sys.exit(main())
