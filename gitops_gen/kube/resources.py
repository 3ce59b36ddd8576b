"""Where objects live, as discovery describes them, and what a read of the cluster found. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

from gitops_gen.objects import KubeObject, ObjectKey


@dataclass(frozen=True)
class Resource:
    """An API resource as discovery describes it: where objects of a kind live."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def display(self) -> str:
        """``deployments.apps`` / ``services``: the name RBAC rules use."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (or of one object when ``name`` is given)."""
        root = f"/apis/{self.api_version}" if self.group else f"/api/{self.api_version}"
        scope = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{root}{scope}/{self.plural}" + (f"/{name}" if name else "")


@dataclass
class LiveState:
    """What the cluster holds for the desired objects: each found object by key, and the listed scopes."""

    objects: dict[ObjectKey, KubeObject] = field(default_factory=dict)
    # (group, kind, namespace) scopes that were LISTed with the tracking selector: only there can an object
    # that git does not have be told apart as "extra".
    listed: set[tuple[str, str, str]] = field(default_factory=set)
