"""Nothing gitops-gen writes for the sync engines and the secrets providers carries a secret value."""

from __future__ import annotations

import random
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops_gen import kustomize
from gitops_gen.generate.manifests.sync import SyncTarget, cluster_files
from gitops_gen.generate.secrets import (
    ExistingSecret,
    ExternalSecrets,
    SecretsProvider,
    SopsSecrets,
    active_record_key,
    encode_vapid_keys,
    generate_values,
    secret_objects,
    sops_config,
)
from tests.secret_scan import secret_like_strings, secrets_with_values
from tests.trees import write_files, write_mastodon_tree

AGE = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
PROVIDERS: list[SecretsProvider] = [
    ExistingSecret(),
    ExternalSecrets(store_name="vault", store_kind="ClusterSecretStore", remote_key_prefix="kv/mastodon/prod/"),
    SopsSecrets(age_recipients=(AGE,)),
]


def _seeded_values(seed: int) -> dict[str, str]:
    """Values in the exact formats of the generators, but reproducible, so the scanner test never flakes."""
    rng = random.Random(seed)
    alphanumeric = string.ascii_letters + string.digits
    vapid = encode_vapid_keys(rng.randrange(1, 2**255))
    return {
        "SECRET_KEY_BASE": rng.randbytes(64).hex(),
        "VAPID_PRIVATE_KEY": vapid.private_key,
        "VAPID_PUBLIC_KEY": vapid.public_key,
        "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY": "".join(rng.choice(alphanumeric) for _ in range(32)),
    }


@pytest.mark.parametrize("seed", range(20))
def test_scanner_finds_every_kind_of_generated_key(seed: int) -> None:
    for key, value in _seeded_values(seed).items():
        assert secret_like_strings(f"{key}: {value}\n") == [value], key


def test_scanner_finds_nearly_all_fresh_keys_of_the_weakest_kind() -> None:
    # 32 alphanumeric characters: measured miss rate about 1 in 8,000, so 2 misses in 100 never happen in practice.
    found = sum(bool(secret_like_strings(active_record_key())) for _ in range(100))
    assert found >= 98
    assert all(secret_like_strings(value) == [value] for value in generate_values().values()
               if len(value) > 32)


def test_scanner_finds_pem_blocks_and_secrets_with_values() -> None:
    assert secret_like_strings("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n") == ["PEM block"]
    assert secrets_with_values([{"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}])
    assert not secrets_with_values([{"kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque"}])


def _generated_files(provider: SecretsProvider, root: Path) -> dict[str, list[dict[str, Any]]]:
    target = SyncTarget(name="mastodon", env="production", namespace="mastodon-production",
                        repo_url="ssh://git@git.example.org:2222/ops/mastodon-gitops.git",
                        deployments=("web", "streaming", "sidekiq-default"))
    files = cluster_files(target, ["argocd", "flux"], secrets=provider)
    files["base/secrets.yaml"] = secret_objects(provider, target.namespace)
    if isinstance(provider, SopsSecrets):
        files[".sops.yaml"] = [sops_config({"production": provider})]
    # The workloads' env wiring, as the overlay renders it.
    files["rendered/overlay.yaml"] = kustomize.render(write_mastodon_tree(root / "tree", secrets=provider))
    return files


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.provider)
def test_no_written_file_holds_a_secret_value_or_anything_like_a_key(provider: SecretsProvider, tmp_path: Path) -> None:
    files = _generated_files(provider, tmp_path)
    written = write_files(tmp_path / "repo", files)
    # age recipients are public keys: that is what a .sops.yaml is for.
    public = provider.age_recipients if isinstance(provider, SopsSecrets) else ()
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert secret_like_strings(text, allowed=public) == [], path
        objects = [doc for doc in yaml.safe_load_all(text) if doc]
        assert secrets_with_values(objects) == [], path
        assert not any(obj.get("kind") == "Secret" for obj in objects), path
