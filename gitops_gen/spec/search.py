"""``mastodon.search``: full-text search in Elasticsearch or OpenSearch, read by Mastodon's
``config/initializers/chewy.rb`` from ``ES_*`` variables, and the ``tootctl search deploy`` Job that builds the
indices after each upgrade."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from gitops_gen.spec.base import SPEC_CONFIG, PositiveInt, domain


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class SearchDeploy(_Model):
    """The ``tootctl search deploy`` Job: creates the indices, upgrades those whose definition changed and
    imports the database into them (every run imports; an upgrade erases the changed index first)."""

    enabled: bool = True
    concurrency: PositiveInt = 5  # tootctl's --concurrency (threads), its default
    batch_size: PositiveInt = 100  # tootctl's --batch-size, its default


class Search(_Model):
    """Where Elasticsearch or OpenSearch listens, and how Mastodon logs in (the password is the Secret's
    ``ES_PASS``)."""

    enabled: bool = True
    host: str = "elasticsearch"  # a bare name is a Service in the overlay's namespace
    port: Annotated[int, Field(strict=True, ge=1, le=65535)] = 9200
    tls: bool = False  # https:// in ES_HOST (Mastodon hands "ES_HOST:ES_PORT" to the client as a URL)
    # How many replicas each index gets: none for single_node_cluster (also Mastodon's choice when unset).
    preset: Literal["single_node_cluster", "small_cluster", "large_cluster"] | None = None
    prefix: str | None = None  # ES_PREFIX: index name prefix, for several instances on one cluster
    user: str | None = None  # ES_USER; with it the Secret needs ES_PASS
    deploy: SearchDeploy = SearchDeploy()

    @field_validator("host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        # Mastodon joins "ES_HOST:ES_PORT" into a URL: a DNS name or an IPv4 address, nothing else.
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            try:
                domain(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a host name or IPv4 address: give the host alone (the scheme "
                                 "comes from tls, the port from port)") from None
        return value
