"""The spec's ``drift:`` section, and the part of ``overlays`` that drift reads (each overlay's kube context).

On its own module so that ``gitops-gen drift`` validates the two without building the whole spec model (about
30 ms of a half-second drift run on the default overlay), and so that a drift check of an older commit does not
fail on other fields of a spec written for another version of gitops-gen.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from gitops_gen import yamlio
from gitops_gen.spec.base import SPEC_CONFIG, DnsLabel, KubeContext
from gitops_gen.spec.problems import spec_error


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class DriftIgnoreRule(_Model):
    """Differences to ignore: objects chosen by any of group / kind / namespace / name (globs allowed)."""

    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    json_pointers: Annotated[list[str], Field(min_length=1)] = ["/"]

    @field_validator("json_pointers")
    @classmethod
    def _pointers(cls, value: list[str]) -> list[str]:
        for pointer in value:
            if not pointer.startswith("/"):
                raise ValueError(f"{pointer!r} is not a JSON pointer (it starts with /, e.g. /spec/replicas)")
        return value


class InClusterDrift(_Model):
    """The opt-in CronJob that runs ``gitops-gen drift`` inside the cluster with read-only rights."""

    image: str  # an image with gitops-gen and kubectl (or kustomize): the project publishes none
    namespace: DnsLabel | None = None  # default: the overlay's namespace
    cache_volume: DnsLabel | None = None  # a PersistentVolumeClaim for the render cache; default: an emptyDir


class Drift(_Model):
    """How ``gitops-gen drift`` judges differences, and how it is scheduled."""

    ignore: list[DriftIgnoreRule] = []
    sync_managers: list[Annotated[str, Field(min_length=1)]] = []
    ci: Literal["github", "gitlab", "none"] = "github"
    schedule: str = "17 */6 * * *"
    install: str | None = None  # a one-line shell command; default: pip, pinned to the running gitops-gen
    issue: bool = True  # open/update an issue on drift, close it when in sync again
    in_cluster: InClusterDrift | None = None

    @field_validator("install")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\n" in value or "\r" in value):
            raise ValueError('must be one non-empty line (a shell command, e.g. pip install "gitops-gen==0.1.0")')
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f'{value!r} is not a cron schedule of five fields (e.g. "17 */6 * * *")')
        return value


def validate_drift_section(data: dict[str, Any], source: str,
                           lines: dict[yamlio.FieldPath, int] | None = None) -> Drift:
    """Validate only the ``drift:`` section of a spec document: a drift check must not fail on the rest of a
    spec written for another version of gitops-gen."""
    try:
        return Drift.model_validate(data.get("drift") or {})
    except ValidationError as error:
        raise spec_error(error, source, lines or {}, prefix=("drift",)) from None


class _OverlayPlace(BaseModel):
    """Only where an overlay lives, read from a whole overlay entry (its other fields are not drift's)."""

    model_config = ConfigDict(**{**SPEC_CONFIG, "extra": "ignore"})  # the spec's, but the rest is not drift's
    context: KubeContext | None = None


def validate_overlay_contexts(data: dict[str, Any], source: str,
                              lines: dict[yamlio.FieldPath, int] | None = None) -> dict[str, str]:
    """The kube context each overlay names (``overlays.<env>.context``), validated on its own like the ``drift``
    section; overlays without one are left out."""
    try:
        places = TypeAdapter(dict[str, _OverlayPlace]).validate_python(data.get("overlays") or {})
    except ValidationError as error:
        raise spec_error(error, source, lines or {}, prefix=("overlays",)) from None
    return {name: place.context for name, place in places.items() if place.context is not None}
