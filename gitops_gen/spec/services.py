"""The services Mastodon talks to: PostgreSQL, Redis, object storage (S3) and mail (SMTP), and the ``mastodon``
section that holds them with the instance's domains and extra environment."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from gitops_gen.spec.base import SPEC_CONFIG, Domain, EnvVarName, domain


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class Endpoint(_Model):
    """A Service: a bare name is taken to be in the overlay's namespace, a dotted host is used as written."""

    host: str
    port: Annotated[int, Field(strict=True, ge=1, le=65535)]

    @field_validator("host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            domain(value)
        return value


class Database(Endpoint):
    host: str = "postgresql"
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 5432
    name: str = "mastodon_production"
    user: str = "mastodon"


class Redis(Endpoint):
    host: str = "redis"
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 6379


class S3(_Model):
    bucket: str
    endpoint: str | None = None
    region: str | None = None
    alias_host: str | None = None


class Smtp(_Model):
    server: str
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 587
    from_address: str


class Mastodon(_Model):
    local_domain: Domain = "social.example.com"
    web_domain: Domain | None = None
    database: Database = Database()
    redis: Redis = Redis()
    s3: S3 | None = None
    smtp: Smtp | None = None
    extra_env: dict[EnvVarName, str] = {}
