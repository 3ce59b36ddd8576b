"""The services Mastodon talks to: PostgreSQL, Redis, object storage (S3) and mail (SMTP), and the ``mastodon``
section that holds them with the instance's domains and extra environment.

The environment variables each field becomes are Mastodon's own (``config/database.yml``,
``lib/mastodon/redis_configuration.rb``, ``streaming/database.js``, ``streaming/redis.js``);
``generate/manifests/backends.py`` writes them.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from gitops_gen.spec import versions
from gitops_gen.spec.base import SPEC_CONFIG, Domain, EnvVarName, PositiveInt, domain
from gitops_gen.spec.routing import Federation
from gitops_gen.spec.search import Search


class _Model(BaseModel):
    model_config = SPEC_CONFIG


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        domain(value)
    return value


def _sentinel_address(value: str) -> str:
    # Mastodon splits each entry at ':' (Rails and streaming alike): an IPv6 literal cannot be written.
    host, _, port = value.partition(":")
    if ":" in port or (port and not (port.isdigit() and 1 <= int(port) <= 65535)):
        raise ValueError(f"{value!r} is not host or host:port (Mastodon splits sentinel entries at ':', so an "
                         "IPv6 address cannot be given: use a DNS name)")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        domain(host)
    return value


def _token(value: str) -> str:
    # A Redis ACL user or a sentinel master name: one word, as a comma-separated list or URI needs it.
    if not re.fullmatch(r"[^\s,:@/]+", value):
        raise ValueError(f"{value!r} must be one word without spaces, ',', ':', '@' or '/'")
    return value


Host = Annotated[str, AfterValidator(_host)]
Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
SentinelAddress = Annotated[str, AfterValidator(_sentinel_address)]
Token = Annotated[str, AfterValidator(_token)]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

#: What ``REDIS_SENTINEL_PORT`` defaults to in Mastodon: a sentinel written without a port gets it here.
SENTINEL_PORT = 26379
#: PostgreSQL's ``max_connections`` default, and PgBouncer's ``max_client_conn`` default.
DEFAULT_MAX_CONNECTIONS = 100
# Redis user names and Sentinel arrived in 4.3 (REDIS_USER, REDIS_SENTINELS: Mastodon's config docs).
REDIS_SENTINEL_SINCE = (4, 3)
# Built-in read replicas (REPLICA_DB_*) arrived in 4.2 (before: makara, configured in database.yml).
REPLICA_SINCE = (4, 2)


class Endpoint(_Model):
    """A Service: a bare name is taken to be in the overlay's namespace, a dotted host is used as written."""

    host: Host
    port: Port


class DirectDatabase(_Model):
    """PostgreSQL itself, not the pooler: what the migration Jobs connect to."""

    host: Host
    port: Port = 5432
    name: str | None = None  # default: database.name (a PgBouncer may know the database under another name)


class ReadReplica(_Model):
    """A streaming replica Rails sends some reads to (Mastodon 4.2+): ``REPLICA_DB_*``."""

    host: Host
    port: Port = 5432
    name: str | None = None  # default: database.name; always written, Mastodon uses a replica only when it is set
    user: str | None = None  # a user of its own: REPLICA_DB_USER, and REPLICA_DB_PASS joins the Secret


class Database(Endpoint):
    host: Host = "postgresql"
    port: Port = 5432
    name: str = "mastodon_production"
    user: str = "mastodon"
    pgbouncer: bool = False  # host/port are a PgBouncer in transaction mode: no prepared statements, `direct` needed
    prepared_statements: bool | None = None  # PREPARED_STATEMENTS; default: false with pgbouncer, else Mastodon's
    direct: DirectDatabase | None = None
    replica: ReadReplica | None = None
    ssl_mode: SslMode | None = None  # DB_SSLMODE; unset: Mastodon's default (prefer)
    max_connections: PositiveInt = DEFAULT_MAX_CONNECTIONS

    @property
    def prepared(self) -> bool | None:
        """``PREPARED_STATEMENTS`` to write: False behind PgBouncer unless set, None to leave Mastodon's default."""
        if self.prepared_statements is not None:
            return self.prepared_statements
        return False if self.pgbouncer else None


class Sentinel(_Model):
    """Redis Sentinel (Mastodon 4.3+): Mastodon asks these sentinels for the current master of ``master``."""

    master: Token
    hosts: Annotated[list[SentinelAddress], Field(min_length=1)]
    user: Token | None = None  # *_SENTINEL_USERNAME; default: the Redis user
    own_password: bool = False  # the sentinels have a password of their own (*_SENTINEL_PASSWORD in the Secret)


class RedisEndpoint(_Model):
    """A Redis of its own for the cache (``CACHE_REDIS_*``) or for Sidekiq (``SIDEKIQ_REDIS_*``)."""

    host: Host | None = None
    port: Port = 6379
    user: Token | None = None
    sentinel: Sentinel | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> RedisEndpoint:
        if self.host is None and self.sentinel is None:
            raise ValueError("give its host (and port), or a sentinel: {master, hosts}")
        return self


class Redis(Endpoint):
    host: Host = "redis"
    port: Port = 6379
    user: Token | None = None  # REDIS_USER (Redis 6 ACL user); streaming reads it as REDIS_USERNAME
    sentinel: Sentinel | None = None  # replaces host and port
    cache: RedisEndpoint | None = None
    sidekiq: RedisEndpoint | None = None


class S3(_Model):
    bucket: str
    endpoint: str | None = None
    region: str | None = None
    alias_host: str | None = None


class Smtp(_Model):
    server: str
    port: Port = 587
    from_address: str


class Mastodon(_Model, Federation):  # alternateDomains, trustedProxyIps, authorizedFetch, limitedFederationMode
    local_domain: Domain = "social.example.com"
    web_domain: Domain | None = None
    database: Database = Database()
    redis: Redis = Redis()
    s3: S3 | None = None
    smtp: Smtp | None = None
    search: Search | None = None  # Elasticsearch / OpenSearch (spec/search.py)
    extra_env: dict[EnvVarName, str] = {}


Problem = tuple[tuple[str | int, ...], str]


def _before(tag: str, release: tuple[int, int]) -> bool:
    targeted = versions.mastodon_release(tag)
    return targeted is not None and targeted < release


def problems(mastodon: Mastodon, tag: str) -> list[Problem]:
    """Rules of the database and Redis fields that span fields or depend on the targeted Mastodon (``tag``)."""
    found: list[Problem] = []
    database = mastodon.database
    if database.pgbouncer and database.direct is None:
        # Rails takes a session-level advisory lock around migrations, which transaction pooling breaks.
        found.append((("mastodon", "database", "pgbouncer"),
                      "a PgBouncer in front needs mastodon.database.direct: {host, port} of PostgreSQL itself, for "
                      "the migration Jobs (migrations cannot run through transaction pooling)"))
    if database.replica is not None and _before(tag, REPLICA_SINCE):
        found.append((("mastodon", "database", "replica"),
                      f"read replicas (REPLICA_DB_*) need Mastodon 4.2 or later; {versions.describe(tag)} is "
                      "targeted (images.mastodon.tag)"))
    if _before(tag, REDIS_SENTINEL_SINCE):
        redis = mastodon.redis
        endpoints: list[tuple[tuple[str, ...], Redis | RedisEndpoint]] = [(("redis",), redis)]
        endpoints += [(("redis", role), ep) for role, ep in (("cache", redis.cache), ("sidekiq", redis.sidekiq)) if ep]
        for path, endpoint in endpoints:
            for field in ("user", "sentinel"):
                if getattr(endpoint, field) is not None:
                    what = "Redis users need" if field == "user" else "Redis Sentinel needs"
                    found.append((("mastodon", *path, field), f"{what} Mastodon 4.3 or later; "
                                  f"{versions.describe(tag)} is targeted (images.mastodon.tag)"))
    return found
