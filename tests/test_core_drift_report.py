"""The drift reports, line by line: what a person reads in a terminal and in a CI job summary, and the JSON
of values YAML can hold that JSON cannot (dates). Exact text, because the text is the contract here: each
line below is one that a mutant of ``gitops_gen/drift/report.py`` changed without any other test noticing
(benchmarks/mutation.py)."""

from __future__ import annotations

import datetime
import json

from gitops_gen.drift import report
from gitops_gen.drift.fieldpath import Key
from gitops_gen.drift.result import DriftResult, FieldDrift, ObjectDrift, Status

# Longer than the Markdown cell limit (300), with a pipe just before the cut and a newline after it.
LONG = "x" * 298 + "|`\n" + "y" * 10
DRIFTED = DriftResult(
    ref="0123456789abcdef0123456789abcdef01234567", overlay="production", mode="read-only",
    objects=(
        ObjectDrift("apps/v1", "Deployment", "ns", "web", Status.MODIFIED, (
            FieldDrift(("spec", "replicas"), 2, 5, "kubectl-scale"),
            FieldDrift(("metadata", "annotations", "note"), None, LONG, None),
            FieldDrift(("metadata", "annotations", "fits"), "z" * 300, {"b": 1, "a": 2}, "kubectl-edit"),
            FieldDrift(("metadata", "annotations", "multi"), "a|b\nc`d", "plain", "kubectl-annotate"),
            FieldDrift(("spec", "template", "spec", "containers", Key((("name", "web"),)), "env"),
                       [{"name": "A", "value": "1"}], {"when": datetime.date(2026, 1, 2)}, "kubectl-edit"),
        )),
        ObjectDrift("v1", "ConfigMap", "ns", "env", Status.IN_SYNC),  # in sync: left out, the rest follows
        ObjectDrift("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader", Status.MISSING),
        ObjectDrift("v1", "ConfigMap", "ns", "by-hand", Status.EXTRA),
    ),
)
CLEAN = DriftResult(ref="fedcba9876543210fedcba9876543210fedcba98", overlay="staging", mode="server",
                    objects=(ObjectDrift("v1", "Service", "ns", "web", Status.IN_SYNC),))


def _tag(text: str, *, fg: str, bold: bool = False) -> str:
    """A style that shows which colour (and weight) each piece got."""
    return f"<{fg}{'!' if bold else ''}>{text}</>"


def test_text_report_shows_each_field_with_its_manager_and_colours_and_one_headline_per_overlay() -> None:
    assert report.render_text([DRIFTED, CLEAN], style=_tag).splitlines() == [
        "Deployment ns/web: <yellow!>modified</>",
        "  spec.replicas  (changed by: kubectl-scale)",
        "    git:     <green>2</>",
        "    cluster: <red>5</>",
        "  metadata.annotations.note  (changed by: not recorded)",
        "    git:     <green>(absent)</>",
        f"    cluster: <red>{'x' * 298}|`\\n{'y' * 10}</>",
        "  metadata.annotations.fits  (changed by: kubectl-edit)",
        f"    git:     <green>{'z' * 300}</>",
        '    cluster: <red>{"a": 2, "b": 1}</>',  # keys sorted
        "  metadata.annotations.multi  (changed by: kubectl-annotate)",
        "    git:     <green>a|b\\nc`d</>",
        "    cluster: <red>plain</>",
        "  spec.template.spec.containers[name=web].env  (changed by: kubectl-edit)",
        '    git:     <green>[{"name": "A", "value": "1"}]</>',
        '    cluster: <red>{"when": "2026-01-02"}</>',
        "ClusterRole reader: <red!>missing</> (in git, not in the cluster)",
        "ConfigMap ns/by-hand: <magenta!>extra</> (in the cluster with the tracking labels, not in git)",
        "<yellow>overlay production at 0123456789ab (read-only): 1 in sync, 1 modified, 1 missing, 1 extra</>",
        "<green>overlay staging at fedcba987654 (server): 1 in sync, 0 modified, 0 missing, 0 extra</>",
    ]


def test_text_report_without_a_style_is_plain() -> None:
    assert report.render_text([CLEAN]) == (
        "overlay staging at fedcba987654 (server): 1 in sync, 0 modified, 0 missing, 0 extra\n")


def test_markdown_report_has_a_summary_table_per_overlay_and_a_field_table_per_drifted_object() -> None:
    assert report.render_markdown([DRIFTED, CLEAN]).split("\n") == [
        "## Drift: overlay `production` — drift found", "",
        "Commit `0123456789abcdef0123456789abcdef01234567`, mode `read-only`.", "",
        "| in-sync | modified | missing | extra |",
        "|---|---|---|---|",
        "| 1 | 1 | 1 | 1 |", "",
        "### Deployment `ns/web` — modified", "",
        "| field | git | cluster | changed by |",
        "|---|---|---|---|",
        "| `spec.replicas` | `2` | `5` | kubectl-scale |",
        # Cut to 300 characters with an ellipsis; the pipe kept inside its cell.
        f"| `metadata.annotations.note` | `(absent)` | `{'x' * 298}\\|…` | not recorded |",
        f"| `metadata.annotations.fits` | `{'z' * 300}` | `{{\"a\": 2, \"b\": 1}}` | kubectl-edit |",
        "| `metadata.annotations.multi` | `a\\|b c'd` | `plain` | kubectl-annotate |",
        '| `spec.template.spec.containers[name=web].env` | `[{"name": "A", "value": "1"}]` | '
        '`{"when": "2026-01-02"}` | kubectl-edit |',
        "",
        "### ClusterRole `reader` — missing (in git, not in the cluster)", "",
        "### ConfigMap `ns/by-hand` — extra (in the cluster with the tracking labels, not in git)", "",
        "## Drift: overlay `staging` — in sync", "",
        "Commit `fedcba9876543210fedcba9876543210fedcba98`, mode `server`.", "",
        "| in-sync | modified | missing | extra |",
        "|---|---|---|---|",
        "| 1 | 0 | 0 | 0 |", "",
        "",
    ]


def test_json_report_writes_dates_as_text_and_a_cluster_scoped_object_with_a_null_namespace() -> None:
    text = report.render_json([DRIFTED])
    assert text.endswith("}\n") and text.count("\n") == 1
    document = json.loads(text)
    assert [obj["namespace"] for obj in document["objects"]] == ["ns", "ns", None, "ns"]
    assert document["objects"][0]["fields"][4]["live"] == {"when": "2026-01-02"}
    # Keys in the documented order, not sorted.
    assert list(document["objects"][0]["fields"][0]) == ["path", "desired", "live", "manager"]
