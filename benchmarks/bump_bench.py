"""Wall time of `gitops-gen bump-image --all` across 50 overlays, against a peer measured in the same run.

The peer is the real `kustomize edit set image`, run in each overlay for each image (kubectl has no `edit`): the
standalone kustomize that `scripts/kube-testenv kustomize` builds (the newest the machine's Go builds), found
or built before the clock starts. Also printed, as a second reference: rewriting each overlay with a plain YAML
load and dump (PyYAML, libyaml when available), the fastest thing that could possibly change a tag. And how many
lines each approach changes per file, i.e. the size of the review it asks for.

Run from the repository root: python benchmarks/bump_bench.py [--overlays 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitops_gen.cli import main  # noqa: E402
from tests.tree_fixtures import MAIN_IMAGE, STREAMING_IMAGE, build_tree, commit_all  # noqa: E402

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _git_env() -> None:
    for role in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{role}_NAME", "gitops-gen bench")
        os.environ.setdefault(f"GIT_{role}_EMAIL", "bench@gitops-gen.invalid")


def commented_overlay(text: str) -> str:
    """init's overlay kustomization as people keep them: comments above and beside the image entries, a quoted
    tag."""
    text = text.replace(f"- name: {MAIN_IMAGE}\n  newTag: v4.3.0\n", (
        f"# web, sidekiq and the migration Jobs\n- name: {MAIN_IMAGE}  # main image\n"
        "  newTag: v4.3.0  # bumped by CI\n"
    ))
    text = text.replace(f"{STREAMING_IMAGE}\n  newTag: v4.3.0", f"{STREAMING_IMAGE}\n  newTag: \"v4.3.0\"")
    if "# bumped by CI" not in text or '"v4.3.0"' not in text:
        raise SystemExit("init's images block changed shape: update commented_overlay")
    return text


def _kustomizations(tree: Path) -> list[Path]:
    return sorted((tree / "overlays").glob("*/kustomization.yaml"))


def _reset(tree: Path) -> None:
    subprocess.run(["git", "-C", str(tree), "checkout", "--quiet", "--", "overlays"], check=True)


def gitops_gen_bump(tree: Path, tag: str, commit: bool) -> None:
    args = ["bump-image", "--repo", str(tree), "--all", "--tag", tag]
    with contextlib.redirect_stdout(io.StringIO()):
        code = main([*args] if commit else [*args, "--no-commit"])
    if code != 0:
        raise SystemExit(f"bump-image exited {code}")


def plain_yaml_rewrite(tree: Path, tag: str) -> None:
    for path in _kustomizations(tree):
        data = yaml.load(path.read_text(), Loader=_Loader)
        for entry in data.get("images", []):
            if entry.get("name") in (MAIN_IMAGE, STREAMING_IMAGE):
                entry["newTag"] = tag
        path.write_text(yaml.dump(data, Dumper=_Dumper, sort_keys=False))


def built_kustomize() -> tuple[str, str]:
    """The kustomize that kube-testenv builds (built now if it is not cached yet), and its version."""
    done = subprocess.run([str(ROOT / "scripts" / "kube-testenv"), "kustomize"], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"kube-testenv kustomize failed: {done.stderr.strip()[-500:]}")
    binary = str(Path(done.stdout.strip().splitlines()[-1]) / "kustomize")
    version = subprocess.run([binary, "version"], capture_output=True, text=True, check=True).stdout.strip()
    return binary, version


def kustomize_edit(kustomize: str, tree: Path, tag: str) -> None:
    for path in _kustomizations(tree):
        for image in (MAIN_IMAGE, STREAMING_IMAGE):
            subprocess.run([kustomize, "edit", "set", "image", f"{image}:{tag}"], cwd=path.parent, check=True)


def _changed_lines(tree: Path) -> float:
    """Mean number of changed (-/+) lines per overlay file against HEAD."""
    counts = []
    for path in _kustomizations(tree):
        relative = path.relative_to(tree).as_posix()
        before = subprocess.run(
            ["git", "-C", str(tree), "show", f"HEAD:{relative}"], capture_output=True, text=True, check=True
        ).stdout
        diff = difflib.unified_diff(before.splitlines(), path.read_text().splitlines(), lineterm="", n=0)
        counts.append(sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))))
    return statistics.mean(counts)


def _time(tree: Path, run: Callable[[str], None], repeat: int) -> tuple[float, float]:
    """Median wall time of ``repeat`` runs (files reset between runs, outside the clock); lines changed."""
    times, changed = [], 0.0
    for attempt in range(repeat):
        _reset(tree)
        started = time.perf_counter()
        run(f"v4.3.{attempt + 1}")
        times.append(time.perf_counter() - started)
        changed = _changed_lines(tree)
    _reset(tree)
    return statistics.median(times), changed


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--overlays", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    _git_env()
    kustomize, kustomize_version = built_kustomize()
    workdir = Path(tempfile.mkdtemp(prefix="bump-bench-"))
    try:
        envs = [f"env{i:02d}" for i in range(options.overlays)]
        tree = build_tree(workdir / "repo", overlays=envs)
        for env in envs:
            kustomization = tree / "overlays" / env / "kustomization.yaml"
            kustomization.write_text(commented_overlay(kustomization.read_text()))
        commit_all(tree, "comments on the images")
        gitops_gen_bump(tree, "v4.4.0", commit=False)  # warm up imports and caches, outside the clock
        ours, ours_lines = _time(tree, lambda tag: gitops_gen_bump(tree, tag, commit=False), options.repeat)
        peer_name = f"kustomize {kustomize_version} edit set image (each overlay, 2 images)"
        peer, peer_lines = _time(tree, lambda tag: kustomize_edit(kustomize, tree, tag), options.repeat)
        plain, plain_lines = _time(tree, lambda tag: plain_yaml_rewrite(tree, tag), options.repeat)

        def committed(tag: str) -> None:
            gitops_gen_bump(tree, tag, commit=True)
            subprocess.run(["git", "-C", str(tree), "reset", "--quiet", "--hard", "HEAD~1"], check=True)

        with_commit, _ = _time(tree, committed, options.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"bump of {options.overlays} overlays x 2 images (commented kustomizations), median of {options.repeat} runs")
    print(f"  gitops-gen bump-image --all --no-commit : {ours * 1000:8.1f} ms   {ours_lines:5.1f} lines changed/file")
    print(f"  gitops-gen bump-image --all (+ commit)  : {with_commit * 1000:8.1f} ms")
    print(f"  peer: {peer_name}")
    print(f"        {peer * 1000:8.1f} ms   {peer_lines:5.1f} lines changed/file")
    print(f"  reference: plain YAML load+dump (PyYAML): {plain * 1000:8.1f} ms   {plain_lines:5.1f} lines changed/file")
    print("  (changing two tags is 4 diff lines per file: anything above 4 is reformatting or lost comments)")
    print(f"  ratio gitops-gen / peer (no commit)     : {ours / peer:8.2f}")
    print(f"  ratio gitops-gen / peer (with commit)   : {with_commit / peer:8.2f}")


if __name__ == "__main__":
    main_bench()
