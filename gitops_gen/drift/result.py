"""What a drift check found: per field, per object, per overlay. Plain frozen data, shared by the comparison
and the reports."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gitops_gen.drift.fieldpath import FieldPath, format_path

REDACTED = "<redacted>"


class Status(StrEnum):
    """What became of one object."""

    IN_SYNC = "in-sync"
    MODIFIED = "modified"
    MISSING = "missing"
    EXTRA = "extra"


# -- findings ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDrift:
    """One field that differs: its path, git's value, the cluster's value, and who wrote the cluster's."""

    path: FieldPath
    desired: Any
    live: Any
    manager: str | None = None

    @property
    def path_text(self) -> str:
        return format_path(self.path)


@dataclass(frozen=True)
class ObjectDrift:
    """The verdict on one object."""

    api_version: str
    kind: str
    namespace: str
    name: str
    status: Status
    fields: tuple[FieldDrift, ...] = ()

    @property
    def display(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class DriftResult:
    """Everything ``drift`` found for one overlay at one commit."""

    ref: str
    overlay: str
    mode: str
    objects: tuple[ObjectDrift, ...]

    @property
    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for obj in self.objects:
            counts[obj.status.value] += 1
        return counts

    @property
    def drifted(self) -> bool:
        return any(obj.status is not Status.IN_SYNC for obj in self.objects)
