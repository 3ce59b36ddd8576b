"""How many PostgreSQL connections an overlay's Mastodon may hold at once, against ``database.maxConnections``.

Each process holds at most its pool of connections, and each thread at most one (mastodon/mastodon
``config/database.yml``: the pool is ``DB_POOL``, else ``MAX_THREADS``; Mastodon's scaling guide: "the number of
connections open is equal to the total threads in Puma, Sidekiq, and the streaming API combined"):

- web: replicas x ``WEB_CONCURRENCY`` puma workers x ``MAX_THREADS`` (the puma master forks after preloading
  and holds none);
- sidekiq: per worker group, replicas x concurrency (``DB_POOL`` is set to the concurrency);
- streaming: replicas x its node-postgres pool, ``DB_POOL`` or 10 (``streaming/database.js``: ``max``).

A ``DB_POOL`` in ``mastodon.extraEnv`` reaches web and streaming through the ConfigMap; sidekiq's own
``DB_POOL`` wins for sidekiq. Behind PgBouncer the count is of PgBouncer's clients (``max_client_conn``), which
``maxConnections`` then stands for. The replica, when there is one, gets the same count again on its own server.
The migration Jobs (a couple of connections while a rollout runs) and a rollout's surge pods are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitops_gen.generate.manifests.environment import workloads
from gitops_gen.spec.model import Spec

SIDEKIQ_WORKER_LABEL = "gitops-gen.io/sidekiq-worker"
STREAMING_POOL = 10  # node-postgres pool size streaming uses without DB_POOL


@dataclass(frozen=True)
class Term:
    """One workload's share: ``replicas`` x ``per_replica`` connections, described as ``formula``."""

    name: str
    replicas: int
    per_replica: int
    formula: str

    @property
    def connections(self) -> int:
        return self.replicas * self.per_replica


@dataclass(frozen=True)
class Budget:
    overlay: str
    terms: tuple[Term, ...]
    limit: int
    pgbouncer: bool

    @property
    def total(self) -> int:
        return sum(term.connections for term in self.terms)

    @property
    def exceeded(self) -> bool:
        return self.total > self.limit

    def describe(self) -> str:
        """One line: the total, how it is made up, and what it exceeds."""
        parts = ", ".join(f"{term.name} {term.formula} = {term.connections}" for term in self.terms)
        server = "PgBouncer's max_client_conn" if self.pgbouncer else "PostgreSQL's max_connections"
        return (f"overlays.{self.overlay}: Mastodon may open {self.total} database connections ({parts}), more "
                f"than mastodon.database.maxConnections {self.limit} ({server}): raise both, or lower replicas, "
                "concurrency or threads" + ("" if self.pgbouncer else ", or put PgBouncer in front (pgbouncer: true)"))


def _pool(spec: Spec) -> int | None:
    value = spec.mastodon.extra_env.get("DB_POOL", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def budget(spec: Spec, overlay: str) -> Budget:
    """The connections of ``overlay`` with its own replica counts."""
    pool = _pool(spec)
    web_threads = min(spec.web.max_threads, pool) if pool else spec.web.max_threads
    streaming_pool = pool or STREAMING_POOL
    workers = {worker.name: worker for worker in spec.sidekiq}
    terms: list[Term] = []
    for workload in workloads(spec, overlay):
        if workload.component == "web":
            terms.append(Term("web", workload.replicas, spec.web.concurrency * web_threads,
                              f"{workload.replicas}x{spec.web.concurrency}x{web_threads}"))
        elif workload.component == "streaming":
            terms.append(Term("streaming", workload.replicas, streaming_pool,
                              f"{workload.replicas}x{streaming_pool}"))
        else:
            worker = workers[workload.selector[SIDEKIQ_WORKER_LABEL]]
            terms.append(Term(f"sidekiq-{worker.name}", workload.replicas, worker.concurrency,
                              f"{workload.replicas}x{worker.concurrency}"))
    database = spec.mastodon.database
    return Budget(overlay, tuple(terms), database.max_connections, database.pgbouncer)


def warnings(spec: Spec) -> list[str]:
    """One line per overlay whose connections exceed ``database.maxConnections``."""
    return [found.describe() for overlay in spec.overlays if (found := budget(spec, overlay)).exceeded]
