"""The ``drift:`` section of the spec (gitops-gen.yaml) as the comparison needs it.

```yaml
drift:
  syncManagers: [argocd-controller]     # field managers of your sync engine (added to the defaults)
  ignore:
  - kind: Deployment                    # any of group / kind / namespace / name; globs allowed
    name: web
    jsonPointers: [/spec/replicas]
```
The section is validated by the spec's own model (``spec.Drift``), on its own: a drift check of an older commit
must not fail on other fields of a spec written for another version of gitops-gen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops_gen import yamlio
from gitops_gen.drift.ignore_rules import IgnoreRule
from gitops_gen.spec.drift import Drift, validate_drift_section, validate_overlay_contexts


@dataclass(frozen=True)
class DriftSettings:
    """What the spec says about drift detection."""

    ignore: tuple[IgnoreRule, ...] = ()
    sync_managers: tuple[str, ...] = ()
    contexts: tuple[tuple[str, str], ...] = ()  # (overlay, kube context) from overlays.<env>.context

    def context_of(self, overlay: str) -> str | None:
        return dict(self.contexts).get(overlay)


def settings_from_spec(drift: Drift, contexts: dict[str, str] | None = None) -> DriftSettings:
    rules = tuple(IgnoreRule(tuple(rule.json_pointers), group=rule.group, kind=rule.kind,
                             namespace=rule.namespace, name=rule.name) for rule in drift.ignore)
    return DriftSettings(rules, tuple(drift.sync_managers), tuple(sorted((contexts or {}).items())))


def parse_drift_section(data: Any, source: str, lines: dict[yamlio.FieldPath, int] | None = None) -> DriftSettings:
    """Validate the plain data of a whole spec document and return its drift settings (defaults when the
    ``drift`` section is absent)."""
    plain = data if isinstance(data, dict) else {}
    return settings_from_spec(validate_drift_section(plain, source, lines),
                              validate_overlay_contexts(plain, source, lines))


def read_drift_settings(path: Path) -> DriftSettings:
    """Read the ``drift`` section of the spec at ``path``; defaults when the file does not exist."""
    if not path.is_file():
        return DriftSettings()
    document = yamlio.read_round_trip(path)
    data = yamlio.to_plain(document) if isinstance(document, dict) else {}
    lines = yamlio.line_numbers(document)
    return settings_from_spec(validate_drift_section(data, str(path), lines),
                              validate_overlay_contexts(data, str(path), lines))
