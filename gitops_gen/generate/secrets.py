"""The secrets Mastodon needs, how they are made, and how they reach the cluster without entering git.

Three providers put the same Secret (one name, the keys of the spec's catalogue, ``generate.catalogue``) into the
overlay's namespace:

- ``existing`` (``ExistingSecret``): the user creates the Secret (``gitops-gen secrets --kubectl`` prints the
  command); the manifests only reference it by name.
- ``external-secrets`` (``ExternalSecrets``): an ``ExternalSecret`` (external-secrets.io/v1beta1) that maps every
  key from a named SecretStore or ClusterSecretStore, remote key = prefix + key name.
- ``sops`` (``SopsSecrets``): the user encrypts the Secret with sops (the encrypted file is theirs); gitops-gen
  writes the ``.sops.yaml`` creation rule for the overlay's ``*.enc.yaml`` files and the Flux ``decryption``
  stanza.

Every workload (web, streaming, sidekiq, the migration Jobs) reads the Secret through ``secret_env``, key by key, so
no container can miss a key it needs (the Helm chart's bug: streaming never got the secret); streaming gets only
the keys it reads.

Nothing here does I/O; generating values uses the operating system's CSPRNG (``secrets``) and, for the VAPID
pair, ``cryptography``.
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gitops_gen.errors import InputError
from gitops_gen.generate.catalogue import SECRET_KEYS as SECRET_KEYS
from gitops_gen.generate.catalogue import SecretKey as SecretKey
from gitops_gen.generate.catalogue import Source as Source

KubeObject = dict[str, Any]

#: The ``app.kubernetes.io/component`` of the objects that bring the Secret into the namespace; the Flux wiring
#: (``generate.manifests.sync``) applies them with the configuration, before the pre-deploy migration.
SECRETS_COMPONENT = "secrets"

DEFAULT_SECRET_NAME = "mastodon-secrets"

# age X25519 recipients and plugin recipients: "age1" then lowercase bech32.
_AGE_RECIPIENT = re.compile(r"^age1[0-9a-z]{50,}$")


SECRET_KEY_NAMES: tuple[str, ...] = tuple(key.name for key in SECRET_KEYS)
GENERATED_KEYS: tuple[str, ...] = tuple(key.name for key in SECRET_KEYS if key.source is Source.GENERATED)
USER_KEYS: tuple[str, ...] = tuple(key.name for key in SECRET_KEYS if key.source is Source.USER)


# --- generating values --------------------------------------------------------------------------------------

def rails_secret() -> str:
    """A value like ``rails secret`` prints: 64 random bytes as 128 lowercase hex characters.

    >>> len(rails_secret())
    128
    """
    return secrets.token_hex(64)


_ALPHANUMERIC = string.ascii_letters + string.digits


def active_record_key() -> str:
    """A value like ``rails db:encryption:init`` prints: 32 random alphanumeric characters.

    >>> len(active_record_key())
    32
    """
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


@dataclass(frozen=True)
class VapidKeys:
    """A VAPID key pair in the encoding the webpush gem (and so Mastodon) reads and writes."""

    private_key: str
    public_key: str


def vapid_keys() -> VapidKeys:
    """A fresh EC P-256 pair, encoded as ``Webpush.generate_key`` does (see ``encode_vapid_keys``)."""
    # Imported here: only `gitops-gen secrets --kubectl` needs it, and it is not free to import.
    from cryptography.hazmat.primitives.asymmetric import ec

    return encode_vapid_keys(ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value)


def encode_vapid_keys(private_value: int) -> VapidKeys:
    """The VAPID pair of the P-256 private scalar ``private_value``, encoded as the webpush gem does.

    The private key is the 32-byte scalar and the public key the 65-byte uncompressed point (``0x04 || X || Y``),
    each urlsafe-base64 encoded with padding (``Base64.urlsafe_encode64``).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.derive_private_key(private_value, ec.SECP256R1())
    scalar = private_value.to_bytes(32, "big")
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(private_key=base64.urlsafe_b64encode(scalar).decode("ascii"),
                     public_key=base64.urlsafe_b64encode(point).decode("ascii"))


def generate_values(keys: tuple[SecretKey, ...] = SECRET_KEYS) -> dict[str, str]:
    """Fresh random values for every generated key of ``keys`` (never the user's keys), in catalogue order."""
    vapid = vapid_keys()
    makers = {
        "SECRET_KEY_BASE": rails_secret,
        "OTP_SECRET": rails_secret,
        "VAPID_PRIVATE_KEY": lambda: vapid.private_key,
        "VAPID_PUBLIC_KEY": lambda: vapid.public_key,
        "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY": active_record_key,
        "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT": active_record_key,
        "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY": active_record_key,
    }
    return {key.name: makers[key.name]() for key in keys if key.source is Source.GENERATED}


# --- providers ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExistingSecret:
    """``existing``: a Secret the user creates by hand; the manifests reference it by name."""

    secret_name: str = DEFAULT_SECRET_NAME
    provider: Literal["existing"] = "existing"


@dataclass(frozen=True)
class ExternalSecrets:
    """``external-secrets``: an ExternalSecret fills the Secret from a store of the External Secrets Operator.

    Attributes:
        store_name: the SecretStore or ClusterSecretStore to read from.
        store_kind: ``SecretStore`` (in the overlay's namespace) or ``ClusterSecretStore``.
        remote_key_prefix: prepended to each key name to form the remote key, e.g. ``mastodon/production/``.
        refresh_interval: how often the operator re-reads the store.
        api_version: ``external-secrets.io/v1beta1``; operators from v0.16 on also serve (and later only serve)
            ``external-secrets.io/v1``, whose fields used here are the same.
    """

    store_name: str
    secret_name: str = DEFAULT_SECRET_NAME
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore"
    remote_key_prefix: str = ""
    refresh_interval: str = "1h"
    api_version: Literal["external-secrets.io/v1beta1", "external-secrets.io/v1"] = "external-secrets.io/v1beta1"
    provider: Literal["external-secrets"] = "external-secrets"

    def __post_init__(self) -> None:
        if not self.store_name.strip():
            raise InputError("external-secrets store_name: empty; name the SecretStore or ClusterSecretStore")


@dataclass(frozen=True)
class SopsSecrets:
    """``sops``: the user commits the Secret encrypted with sops for these age recipients; Flux decrypts it.

    Attributes:
        age_recipients: the age public keys (``age1...``) that may decrypt; the cluster holds one private key.
        decryption_secret: the Secret in the Flux namespace holding the age private key (``age.agekey``).
    """

    age_recipients: tuple[str, ...]
    secret_name: str = DEFAULT_SECRET_NAME
    decryption_secret: str = "sops-age"
    provider: Literal["sops"] = "sops"

    def __post_init__(self) -> None:
        if not self.age_recipients:
            raise InputError("sops age_recipients: empty; give at least one age public key (age1...)")
        for recipient in self.age_recipients:
            if not _AGE_RECIPIENT.match(recipient):
                raise InputError(f"sops age_recipients: {recipient!r} is not an age public key (age1...); "
                                 "never put the private key (AGE-SECRET-KEY-...) in the spec")


SecretsProvider = ExistingSecret | ExternalSecrets | SopsSecrets


def secret_env(secret_name: str, keys: tuple[SecretKey, ...] = SECRET_KEYS) -> list[KubeObject]:
    """The ``env`` entries for ``keys`` of the Secret, each by ``secretKeyRef``.

    An explicit ``secretKeyRef`` per key (rather than ``envFrom``) makes a missing required key stop the pod
    with a clear event instead of starting Mastodon half-configured; keys Mastodon can do without are marked
    ``optional``. Rails processes get the whole catalogue, streaming the keys it reads (``streaming_keys``).

    >>> secret_env("s")[0]
    {'name': 'SECRET_KEY_BASE', 'valueFrom': {'secretKeyRef': {'name': 's', 'key': 'SECRET_KEY_BASE'}}}
    """
    entries: list[KubeObject] = []
    for key in keys:
        ref: dict[str, Any] = {"name": secret_name, "key": key.name}
        if key.optional:
            ref["optional"] = True
        entries.append({"name": key.name, "valueFrom": {"secretKeyRef": ref}})
    return entries


def streaming_keys(keys: tuple[SecretKey, ...]) -> tuple[SecretKey, ...]:
    """The keys of ``keys`` that the streaming server reads: the database's and Redis's passwords.

    >>> [key.name for key in streaming_keys(SECRET_KEYS)]
    ['DB_PASS', 'REDIS_PASSWORD']
    """
    return tuple(key for key in keys if key.streaming)


def referenced_secret_keys(objects: list[KubeObject]) -> dict[str, set[str]]:
    """Every ``secretKeyRef`` of every container of ``objects`` (workloads, Jobs, CronJobs): Secret -> keys.

    Optional references are left out: a Secret that lacks them is still complete.
    """
    found: dict[str, set[str]] = {}

    def visit(node: Any) -> None:
        if isinstance(node, Mapping):
            ref = node.get("secretKeyRef")
            if isinstance(ref, Mapping) and not ref.get("optional", False):
                found.setdefault(str(ref["name"]), set()).add(str(ref["key"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    for obj in objects:
        visit(obj.get("spec", {}))
    return found


def external_secret(provider: ExternalSecrets, namespace: str, keys: tuple[SecretKey, ...] = SECRET_KEYS
                    ) -> KubeObject:
    """The ``ExternalSecret`` that creates the Mastodon Secret, with ``keys``, from ``provider``'s store."""
    return {
        "apiVersion": provider.api_version,
        "kind": "ExternalSecret",
        "metadata": {
            "name": provider.secret_name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/component": SECRETS_COMPONENT},
        },
        "spec": {
            "refreshInterval": provider.refresh_interval,
            "secretStoreRef": {"name": provider.store_name, "kind": provider.store_kind},
            # Owner: the Secret goes away with the ExternalSecret, so nothing outlives the wiring unnoticed.
            "target": {"name": provider.secret_name, "creationPolicy": "Owner"},
            "data": [
                {"secretKey": key.name, "remoteRef": {"key": f"{provider.remote_key_prefix}{key.name}"}}
                for key in keys
            ],
        },
    }


def sops_encrypted_path_regex(env: str) -> str:
    """The files of overlay ``env`` that sops encrypts: ``overlays/<env>/**/*.enc.yaml``."""
    return rf"overlays/{env}/.*\.enc\.yaml$"


def sops_creation_rule(provider: SopsSecrets, env: str) -> dict[str, Any]:
    """One ``creation_rules`` entry of ``.sops.yaml`` for overlay ``env``.

    Only ``data``/``stringData`` are encrypted (Flux's documented setting, so the object stays readable), and the
    MAC covers only the encrypted values (sops >= 3.9) so that kustomize may still set the namespace and labels.
    """
    return {
        "path_regex": sops_encrypted_path_regex(env),
        "encrypted_regex": "^(data|stringData)$",
        "mac_only_encrypted": True,
        "age": ",".join(provider.age_recipients),
    }


def sops_config(rules: Mapping[str, SopsSecrets]) -> dict[str, Any]:
    """The whole ``.sops.yaml``: one creation rule per overlay (env -> provider), in env order."""
    return {"creation_rules": [sops_creation_rule(rules[env], env) for env in sorted(rules)]}


def flux_decryption(provider: SecretsProvider) -> dict[str, Any] | None:
    """The ``spec.decryption`` stanza of a Flux Kustomization, or None when the provider needs none."""
    if isinstance(provider, SopsSecrets):
        return {"provider": "sops", "secretRef": {"name": provider.decryption_secret}}
    return None


def secret_objects(provider: SecretsProvider, namespace: str, keys: tuple[SecretKey, ...] = SECRET_KEYS
                   ) -> list[KubeObject]:
    """The objects the overlay carries for ``provider``: an ExternalSecret, or nothing (never a Secret)."""
    if isinstance(provider, ExternalSecrets):
        return [external_secret(provider, namespace, keys)]
    return []
