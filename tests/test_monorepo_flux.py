"""A tree in a sub-directory of a monorepo, synced by a real Flux: the GitRepository clones the whole monorepo,
and the Kustomizations find the overlay by the path `init` wrote from the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Flux
from tests.helpers import build_file_tree, commit_all, git
from tests.test_flux_end_to_end import WORKLOADS, Bed, _create_the_secret, _gitops_gen, _spec

pytestmark = pytest.mark.cluster


def test_flux_syncs_a_tree_that_init_wrote_in_a_sub_directory_of_a_monorepo(flux: Flux, namespace: str,
                                                                               tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    url = flux.git_serve(origin)
    top = tmp_path / "monorepo"
    git(tmp_path, "init", "-q", "-b", "main", str(top))
    build_file_tree(top, {"README.md": "other teams' things\n", "services/api/main.py": "print('api')\n",
                          "apps/mastodon/gitops-gen.yaml": _spec(url, namespace, f"{namespace}-s")})
    commit_all(top, "a monorepo")
    git(top, "remote", "add", "origin", url)

    done = _gitops_gen("init", "apps/mastodon", cwd=top)  # from the repository root, as a monorepo user types it
    assert done.returncode == 0, done.stderr
    git(top, "push", "-q", "-u", "origin", "main")
    bed = Bed(flux, top / "apps" / "mastodon")
    try:
        _create_the_secret(bed, namespace)
        bed.cluster.kubectl("apply", "-k", str(bed.root / "clusters" / "production" / "flux"))
        bed.wait_synced("production", bed.head())
        for name in WORKLOADS:
            assert bed.get("deployment", name, "-n", namespace)["metadata"]["name"] == name
        assert bed.kustomization("production", "app")["spec"]["path"] == "./apps/mastodon/overlays/production"
        checked = bed.drift("production")
        assert (checked.returncode, checked.stderr) == (0, ""), checked.stdout
    finally:
        flux.cluster.kubectl("delete", "kustomizations.kustomize.toolkit.fluxcd.io,gitrepositories", "-n",
                             "flux-system", "-l", "app.kubernetes.io/instance=mastodon-production",
                             "--ignore-not-found", "--wait=true", "--timeout=180s", check=False)
        flux.cluster.kubectl("delete", "pv", "-l", "app.kubernetes.io/part-of=mastodon", "--wait=false", check=False)
