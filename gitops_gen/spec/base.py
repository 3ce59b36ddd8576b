"""What every spec section shares: the model configuration (camelCase keys in YAML, unknown keys refused) and field
types. Each module derives its own ``_Model`` from pydantic's ``BaseModel`` with ``SPEC_CONFIG`` (linters then see
pydantic models, whose mutable defaults are copied per instance)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict
from pydantic.alias_generators import to_camel

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


#: camelCase in YAML, snake_case in Python; frozen; unknown keys are errors (a typo must not pass silently).
SPEC_CONFIG = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


def _dns_label(value: str) -> str:
    if not DNS1123_LABEL.fullmatch(value):
        raise ValueError(f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
