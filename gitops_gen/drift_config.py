"""The optional ``drift:`` section of the spec (gitops-gen.yaml), read on its own from the raw YAML.

```yaml
drift:
  syncManagers: [argocd-controller]     # field managers of your sync engine (added to the defaults)
  ignore:
  - kind: Deployment                    # any of group / kind / namespace / name; globs allowed
    name: web
    jsonPointers: [/spec/replicas]
```
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_gen import yamlio
from gitops_gen.drift import IgnoreRule
from gitops_gen.errors import SpecError

_RULE_KEYS = frozenset({"group", "kind", "namespace", "name", "jsonPointers"})


@dataclass(frozen=True)
class DriftSettings:
    """What the spec says about drift detection."""

    ignore: tuple[IgnoreRule, ...] = ()
    sync_managers: tuple[str, ...] = ()


def _string_list(value: Any, source: str, line: int | None, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise SpecError(source, "must be a list of non-empty strings", line=line, field=field)
    return tuple(value)


def parse_drift_section(data: Any, source: str, lines: dict[yamlio.FieldPath, int] | None = None) -> DriftSettings:
    """Validate the plain data of a whole spec document and return its drift settings (defaults when the
    ``drift`` section is absent)."""
    lines = lines or {}
    if not isinstance(data, dict) or data.get("drift") is None:
        return DriftSettings()
    section = data["drift"]
    if not isinstance(section, dict):
        raise SpecError(source, "must be a mapping with ignore and syncManagers", line=lines.get(("drift",)),
                        field="drift")
    unknown = sorted(set(section) - {"ignore", "syncManagers"})
    if unknown:
        raise SpecError(source, f"unknown key {unknown[0]!r}; expected ignore or syncManagers",
                        line=lines.get(("drift", unknown[0])), field=f"drift.{unknown[0]}")
    managers: tuple[str, ...] = ()
    if section.get("syncManagers") is not None:
        managers = _string_list(section["syncManagers"], source, lines.get(("drift", "syncManagers")),
                                "drift.syncManagers")
    rules: list[IgnoreRule] = []
    raw_rules = section.get("ignore") or []
    if not isinstance(raw_rules, list):
        raise SpecError(source, "must be a list of rules", line=lines.get(("drift", "ignore")), field="drift.ignore")
    for index, raw in enumerate(raw_rules):
        where = f"drift.ignore[{index}]"
        line = lines.get(("drift", "ignore", index))
        if not isinstance(raw, dict):
            raise SpecError(source, "must be a mapping (kind, name, jsonPointers)", line=line, field=where)
        extra = sorted(set(raw) - _RULE_KEYS)
        if extra:
            raise SpecError(source, f"unknown key {extra[0]!r}; expected one of {', '.join(sorted(_RULE_KEYS))}",
                            line=lines.get(("drift", "ignore", index, extra[0]), line), field=where)
        selectors = {}
        for key in ("group", "kind", "namespace", "name"):
            value = raw.get(key)
            if value is not None and not isinstance(value, str):
                raise SpecError(source, "must be a string", line=line, field=f"{where}.{key}")
            selectors[key] = value
        pointers: tuple[str, ...] = ("/",)
        if raw.get("jsonPointers") is not None:
            pointers = _string_list(raw["jsonPointers"], source, line, f"{where}.jsonPointers")
            bad = [pointer for pointer in pointers if not pointer.startswith("/")]
            if bad:
                raise SpecError(source, f"{bad[0]!r} is not a JSON pointer (it starts with /)", line=line,
                                field=f"{where}.jsonPointers")
        rules.append(IgnoreRule(pointers, **selectors))
    return DriftSettings(tuple(rules), managers)


def read_drift_settings(path: Path) -> DriftSettings:
    """Read the ``drift`` section of the spec at ``path``; defaults when the file does not exist."""
    if not path.is_file():
        return DriftSettings()
    document = yamlio.read_round_trip(path)
    return parse_drift_section(yamlio.to_plain(document), str(path), yamlio.line_numbers(document))
