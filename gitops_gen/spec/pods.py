"""Where Mastodon's pods run and how tightly they are locked down: ``pods`` at the top of the spec, and the
placement part of it again under each overlay (``overlays.<env>.pods``), which replaces the top-level value
field by field.

Every pod already meets Pod Security "restricted" without a field here (``generate.manifests.pods``); what is
left to choose is placement (node selector, tolerations, pull secrets) and the read-only root filesystem of
the Rails containers, which is off by default (README, "The spec", says why).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from gitops_gen.spec.base import SPEC_CONFIG, ObjectName


class _Model(BaseModel):
    model_config = SPEC_CONFIG


class Toleration(_Model):
    """A pod toleration, as Kubernetes spells it (``tolerationSeconds`` only with ``NoExecute``)."""

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: Annotated[int, Field(strict=True, ge=0)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        # The API server's own rules, said here with the field's name before anything is written.
        if self.operator == "Exists" and self.value:
            raise ValueError("operator Exists takes no value (it matches any value of the key)")
        if self.operator == "Equal" and not self.key:
            raise ValueError("operator Equal needs a key (to tolerate every taint: {operator: Exists})")
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            raise ValueError("tolerationSeconds only applies to effect NoExecute")
        return self


class Placement(_Model):
    """An overlay's own placement; every field left unset takes the top-level ``pods`` value."""

    node_selector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = None
    image_pull_secrets: list[ObjectName] | None = None


class Pods(_Model):
    """Every Mastodon pod (web, streaming, sidekiq, the Jobs and CronJobs of an overlay)."""

    node_selector: dict[str, str] = {}
    tolerations: list[Toleration] = []
    image_pull_secrets: list[ObjectName] = []  # Secrets of type kubernetes.io/dockerconfigjson in the namespace
    read_only_root_filesystem: bool = False  # web, sidekiq and the Jobs; streaming's root is always read-only

    def effective(self, overlay: Placement) -> Placement:
        """What one overlay runs with: its own value of each field, else this one."""
        return Placement(
            node_selector=self.node_selector if overlay.node_selector is None else overlay.node_selector,
            tolerations=self.tolerations if overlay.tolerations is None else overlay.tolerations,
            image_pull_secrets=(self.image_pull_secrets if overlay.image_pull_secrets is None
                                else overlay.image_pull_secrets),
        )
