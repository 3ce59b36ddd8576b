"""The ``secrets:`` section: where the Secret comes from, and the keys it holds beyond Mastodon's own."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from gitops_gen.spec.base import SPEC_CONFIG, DnsLabel

#: The keys gitops-gen generates (``generate.catalogue`` describes them): never an extra key.
GENERATED_KEY_NAMES = (
    "SECRET_KEY_BASE", "OTP_SECRET", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
    "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT",
    "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
)
#: The keys the user supplies to Mastodon's own catalogue (``generate.catalogue``), whatever the spec says.
SUPPLIED_KEY_NAMES = (
    "DB_PASS", "REDIS_PASSWORD", "SMTP_LOGIN", "SMTP_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    # Passwords of the read replica, the separate cache / Sidekiq Redis and the sentinels (mastodon.database,
    # mastodon.redis): never in extraEnv, whether or not the spec uses them yet.
    "REPLICA_DB_PASS", "CACHE_REDIS_PASSWORD", "SIDEKIQ_REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD",
    "CACHE_REDIS_SENTINEL_PASSWORD", "SIDEKIQ_REDIS_SENTINEL_PASSWORD",
    "ES_PASS",
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(value: str) -> str:
    if not _ENV_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and '_', not starting "
                         "with a digit, e.g. DEEPL_API_KEY)")
    if value in GENERATED_KEY_NAMES:
        raise ValueError(f"{value} is one of the keys gitops-gen generates (gitops-gen secrets lists them); "
                         "list only keys you supply")
    return value


EnvName = Annotated[str, AfterValidator(_env_name)]


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class ExternalSecretsSettings(_Model):
    store: str
    store_kind: Literal["SecretStore", "ClusterSecretStore"] = "SecretStore"
    remote_key_prefix: str = ""


class SopsSettings(_Model):
    age_recipients: Annotated[list[str], Field(min_length=1)]

    @field_validator("age_recipients")
    @classmethod
    def _public_keys(cls, value: list[str]) -> list[str]:
        for recipient in value:
            if not re.fullmatch(r"age1[0-9a-z]{50,}", recipient):
                raise ValueError(f"{recipient!r} is not an age public key (age1...); never put a private key here")
        return value


class ExtraSecretKey(_Model):
    """A key of the Secret that Mastodon's own catalogue lacks (``DEEPL_API_KEY``, ``HCAPTCHA_SECRET_KEY``, ...).

    Written ``DEEPL_API_KEY`` or ``{name: DEEPL_API_KEY, optional: true}``. A required key that is missing from the
    Secret stops the pods with a clear event; an optional one may be absent. Naming a key the catalogue already has
    (``SMTP_PASSWORD``) sets whether it is optional.
    """

    name: EnvName
    optional: bool = False


class Secrets(_Model):
    """Where the Secret the workloads read comes from; its values are never written into the repository."""

    provider: Literal["existing", "external-secrets", "sops"] = "existing"
    name: DnsLabel | None = None  # default: <name>-secrets
    external_secrets: ExternalSecretsSettings | None = None
    sops: SopsSettings | None = None
    extra_keys: list[ExtraSecretKey] = []

    @field_validator("extra_keys", mode="before")
    @classmethod
    def _extra_key_forms(cls, value: Any) -> Any:
        return [{"name": item} if isinstance(item, str) else item for item in value] if isinstance(value, list) \
            else value

    @field_validator("extra_keys")
    @classmethod
    def _distinct(cls, value: list[ExtraSecretKey]) -> list[ExtraSecretKey]:
        names = [key.name for key in value]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise ValueError(f"{name} is listed twice")
        return value
