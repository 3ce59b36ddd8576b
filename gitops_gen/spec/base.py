"""What every spec section shares: the model configuration (camelCase keys in YAML, unknown keys refused) and field
types. Each module derives its own ``_Model`` from pydantic's ``BaseModel`` with ``SPEC_CONFIG`` (linters then see
pydantic models, whose mutable defaults are copied per instance)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from gitops_gen.images import reference as images
from gitops_gen.quantity import is_valid_resource_quantity

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


#: camelCase in YAML, snake_case in Python; frozen; unknown keys are errors (a typo must not pass silently).
SPEC_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _dns_label(value: str) -> str:
    if not DNS1123_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def domain(value: str) -> str:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid domain name")
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes object name (lower-case letters, digits, '-' and '.')")
    return value


def _env_var_name(value: str) -> str:
    # What a container's env accepts: printable, no '=' (`A=B` would silently become the variable A).
    if not value or "=" in value or not value.isprintable() or any(char.isspace() for char in value):
        raise ValueError(f"{value!r} is not an environment variable name (no '=', spaces or control characters)")
    return value


def _kube_context(value: str) -> str:
    # kubeconfig context names are free text (EKS uses ARNs); what a command line and a CI log can carry.
    if not value or len(value) > 253 or not value.isprintable() or any(char.isspace() for char in value):
        raise ValueError(f"{value!r} is not a kubeconfig context name (no spaces or control characters)")
    return value


def _quantity(value: str | int | float) -> str:
    if not is_valid_resource_quantity(value):
        raise ValueError(f"{value!r} is not a Kubernetes resource quantity (examples: 500m, 0.5, 512Mi, 1Gi)")
    return str(value)


def _not_boolean(value: object) -> object:
    # Refused before the union sees it, which would read YAML's `true` as the integer 1 (one CPU).
    return _quantity(value) if isinstance(value, bool) else value


# Image names and tags by the OCI distribution grammar, the same code bump-image validates with.
ImageName = Annotated[str, AfterValidator(images.validate_name)]
ImageTag = Annotated[str, AfterValidator(images.validate_tag)]
Domain = Annotated[str, AfterValidator(domain)]
ObjectName = Annotated[str, AfterValidator(_dns_subdomain)]
EnvVarName = Annotated[str, AfterValidator(_env_var_name)]
KubeContext = Annotated[str, AfterValidator(_kube_context)]
Quantity = Annotated[str | int | float, AfterValidator(_quantity), BeforeValidator(_not_boolean)]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]
Replicas = Annotated[int, Field(strict=True, ge=0)]


class ResourceList(BaseModel):
    model_config = SPEC_CONFIG

    cpu: Quantity | None = None
    memory: Quantity | None = None


class Resources(BaseModel):
    """A container's ``resources``: only what is set is written (an absent limit stays absent)."""

    model_config = SPEC_CONFIG

    requests: ResourceList = ResourceList()
    limits: ResourceList = ResourceList()


def _cron(value: str) -> str:
    if len(value.split()) != 5:
        raise ValueError(f'{value!r} is not a cron schedule of five fields (e.g. "17 */6 * * *")')
    return value


CronSchedule = Annotated[str, AfterValidator(_cron)]
