"""PostgreSQL and Redis as Mastodon's processes read them: the ConfigMap's keys, what streaming reads under other
names, and where the migration Jobs connect.

Names and fallbacks are Mastodon's own:

- Rails (web, sidekiq, the Jobs): ``config/database.yml`` (``DB_*``, ``PREPARED_STATEMENTS``, ``DB_SSLMODE``, the
  replica's ``REPLICA_DB_*``, used only when ``REPLICA_DB_NAME`` is set) and ``lib/mastodon/redis_configuration.rb``
  (``REDIS_*``, and ``CACHE_`` / ``SIDEKIQ_`` prefixed copies for a separate Redis; with ``*_SENTINELS`` and
  ``*_SENTINEL_MASTER`` the master is asked of the sentinels and host and port are not read).
- streaming: ``streaming/redis.js`` reads only the unprefixed ``REDIS_*`` (it subscribes to the timelines Rails
  publishes there), sentinels included, but the user as ``REDIS_USERNAME``; ``streaming/database.js`` reads
  ``DB_SSLMODE`` with node-postgres' meanings, not libpq's (``streaming_env``).
"""

from __future__ import annotations

from typing import Any

from gitops_gen.generate.manifests.common import KubeObject
from gitops_gen.spec.model import Spec
from gitops_gen.spec.services import SENTINEL_PORT, Redis, RedisEndpoint, Sentinel

# libpq's sslmode -> the nearest DB_SSLMODE streaming understands: it knows only `disable` (plain), `no-verify`
# (TLS, certificate unchecked) and anything else (TLS, certificate and host name checked against Node's CAs).
# `prefer` / `allow` permit a plain connection, which is what streaming makes without TLS.
_STREAMING_SSL = {"disable": "disable", "allow": "disable", "prefer": "disable", "require": "no-verify",
                  "verify-ca": "verify-full", "verify-full": "verify-full"}


def service_host(host: str, namespace: str | None) -> str:
    """A bare Service name means one in the overlay's namespace, reached by its cluster FQDN."""
    if namespace is None or "." in host or ":" in host:
        return host
    return f"{host}.{namespace}.svc.cluster.local"


def _sentinels(sentinel: Sentinel, namespace: str) -> str:
    # Written with their port: Mastodon's default (REDIS_SENTINEL_PORT, 26379) applies, but stated is clearer.
    addresses = []
    for address in sentinel.hosts:
        host, _, port = address.partition(":")
        addresses.append(f"{service_host(host, namespace)}:{port or SENTINEL_PORT}")
    return ",".join(addresses)


def _redis(prefix: str, endpoint: Redis | RedisEndpoint, namespace: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if endpoint.sentinel is None:
        assert endpoint.host is not None  # the spec refuses an endpoint with neither host nor sentinel
        values |= {f"{prefix}REDIS_HOST": service_host(endpoint.host, namespace), f"{prefix}REDIS_PORT": endpoint.port}
    if endpoint.user is not None:
        values[f"{prefix}REDIS_USER"] = endpoint.user
    if endpoint.sentinel is not None:
        values |= {f"{prefix}REDIS_SENTINELS": _sentinels(endpoint.sentinel, namespace),
                   f"{prefix}REDIS_SENTINEL_MASTER": endpoint.sentinel.master}
        if endpoint.sentinel.user is not None:
            values[f"{prefix}REDIS_SENTINEL_USERNAME"] = endpoint.sentinel.user
    return values


def database_config(spec: Spec, namespace: str) -> dict[str, Any]:
    """``DB_*`` and the replica's ``REPLICA_DB_*``, as the ConfigMap carries them (None: not written)."""
    db = spec.mastodon.database
    values: dict[str, Any] = {"DB_HOST": service_host(db.host, namespace), "DB_PORT": db.port, "DB_NAME": db.name,
                              "DB_USER": db.user}
    if db.prepared is not None:
        values["PREPARED_STATEMENTS"] = str(db.prepared).lower()
    values["DB_SSLMODE"] = db.ssl_mode
    if db.replica is not None:
        replica = db.replica
        values |= {"REPLICA_DB_HOST": service_host(replica.host, namespace), "REPLICA_DB_PORT": replica.port,
                   "REPLICA_DB_NAME": replica.name or db.name, "REPLICA_DB_USER": replica.user}
    return values


def redis_config(spec: Spec, namespace: str) -> dict[str, Any]:
    """``REDIS_*``, and ``CACHE_REDIS_*`` / ``SIDEKIQ_REDIS_*`` for a separate cache or Sidekiq Redis."""
    redis = spec.mastodon.redis
    values = _redis("", redis, namespace)
    for prefix, endpoint in (("CACHE_", redis.cache), ("SIDEKIQ_", redis.sidekiq)):
        if endpoint is not None:
            values |= _redis(prefix, endpoint, namespace)
    return values


def streaming_env(spec: Spec) -> list[KubeObject]:
    """What the streaming container reads under names of its own: the Redis user, and its ``DB_SSLMODE``."""
    env: list[KubeObject] = []
    if spec.mastodon.redis.user is not None:
        env.append({"name": "REDIS_USERNAME", "value": spec.mastodon.redis.user})
    if spec.mastodon.database.ssl_mode is not None:
        env.append({"name": "DB_SSLMODE", "value": _STREAMING_SSL[spec.mastodon.database.ssl_mode]})
    return env


def migration_env(spec: Spec, namespace: str | None) -> list[KubeObject]:
    """Where the migration Jobs connect: ``database.direct`` (PostgreSQL itself) when the host is a pooler.

    Container ``env`` wins over the ConfigMap's ``envFrom``, so only the Jobs see these. ``namespace`` None (the
    Job examined for its prerequisites, not rendered) leaves a bare host bare.
    """
    direct = spec.mastodon.database.direct
    if direct is None:
        return []
    env = [{"name": "DB_HOST", "value": service_host(direct.host, namespace)},
           {"name": "DB_PORT", "value": str(direct.port)}]
    if direct.name is not None:
        env.append({"name": "DB_NAME", "value": direct.name})
    return env
