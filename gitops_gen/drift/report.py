"""Renderings of a drift result: text (a per-object diff, coloured on a terminal), JSON (the documented
contract), Markdown (a CI job summary). Pure functions from ``DriftResult`` to ``str``.

Secret values never reach this module: ``drift`` replaces them before a finding exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from gitops_gen.drift.result import DriftResult, FieldDrift, ObjectDrift, Status

_COLOURS = {
    Status.IN_SYNC: "green",
    Status.MODIFIED: "yellow",
    Status.MISSING: "red",
    Status.EXTRA: "magenta",
}
_EXPLAIN = {
    Status.MISSING: "in git, not in the cluster",
    Status.EXTRA: "in the cluster with the tracking labels, not in git",
}
_MARKDOWN_VALUE_LIMIT = 300


def as_json(result: DriftResult) -> dict[str, Any]:
    """The JSON contract of ``gitops-gen drift --output json`` as plain data."""
    return {
        "ref": result.ref,
        "overlay": result.overlay,
        "mode": result.mode,
        "summary": result.summary,
        "objects": [
            {
                "apiVersion": obj.api_version,
                "kind": obj.kind,
                "namespace": obj.namespace or None,
                "name": obj.name,
                "status": obj.status.value,
                "fields": [
                    {"path": item.path_text, "desired": item.desired, "live": item.live, "manager": item.manager}
                    for item in obj.fields
                ],
            }
            for obj in result.objects
        ],
    }


def render_json(results: Sequence[DriftResult]) -> str:
    """One JSON document per overlay, one per line (a single overlay gives exactly the contract)."""
    return "".join(json.dumps(as_json(result), default=str, sort_keys=False) + "\n" for result in results)


# Control characters (newlines, escape sequences, C1 codes, line separators) in a live object must not forge
# report lines or drive the terminal: shown escaped, as Python would write them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with every control character escaped: a newline shows as the two characters ``\\n``, an
    escape sequence as ``\\x1b[2J``; other text, accented letters included, is left as it is."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def _value(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def _headline(result: DriftResult) -> str:
    counts = result.summary
    parts = ", ".join(f"{counts[status.value]} {status.value.replace('-', ' ')}" for status in Status)
    return f"overlay {result.overlay} at {result.ref[:12]} ({result.mode}): {parts}"


class Style(Protocol):
    """Colours text for a terminal (the CLI passes ``typer.style``; this module stays free of the CLI)."""

    def __call__(self, text: str, *, fg: str, bold: bool = ...) -> str: ...


def _plain(text: str, *, fg: str, bold: bool = False) -> str:
    return text


def _text_field(item: FieldDrift, style: Style) -> list[str]:
    manager = item.manager or "not recorded"
    git = style(printable(_value(item.desired)), fg="green")
    live = style(printable(_value(item.live)), fg="red")
    return [f"  {printable(item.path_text)}  (changed by: {printable(manager)})", f"    git:     {git}",
            f"    cluster: {live}"]


def _text_object(obj: ObjectDrift, style: Style) -> list[str]:
    status = style(obj.status.value, fg=_COLOURS[obj.status], bold=True)
    why = f" ({_EXPLAIN[obj.status]})" if obj.status in _EXPLAIN else ""
    lines = [f"{printable(obj.display)}: {status}{why}"]
    for item in obj.fields:
        lines.extend(_text_field(item, style))
    return lines


def render_text(results: Sequence[DriftResult], *, style: Style = _plain) -> str:
    """A readable per-object diff of everything not in sync, then one summary line per overlay.

    ``style`` colours the status words, values and summaries; the default leaves them plain.
    """
    lines: list[str] = []
    for result in results:
        for obj in result.objects:
            if obj.status is not Status.IN_SYNC:
                lines.extend(_text_object(obj, style))
        lines.append(style(_headline(result), fg="yellow" if result.drifted else "green"))
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    text = _value(value)
    if len(text) > _MARKDOWN_VALUE_LIMIT:
        text = text[: _MARKDOWN_VALUE_LIMIT - 1] + "…"
    text = text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return f"`{text}`"


def render_markdown(results: Sequence[DriftResult]) -> str:
    """A Markdown report per overlay: a summary table, then a table of fields per drifted object."""
    out: list[str] = []
    for result in results:
        verdict = "drift found" if result.drifted else "in sync"
        out.append(f"## Drift: overlay `{result.overlay}` — {verdict}\n")
        out.append(f"Commit `{result.ref}`, mode `{result.mode}`.\n")
        counts = result.summary
        out.append("| " + " | ".join(status.value for status in Status) + " |")
        out.append("|" + "---|" * len(Status))
        out.append("| " + " | ".join(str(counts[status.value]) for status in Status) + " |\n")
        for obj in result.objects:
            if obj.status is Status.IN_SYNC:
                continue
            why = f" ({_EXPLAIN[obj.status]})" if obj.status in _EXPLAIN else ""
            where = f"{obj.namespace}/" if obj.namespace else ""
            out.append(f"### {obj.kind} `{where}{obj.name}` — {obj.status.value}{why}\n")
            if obj.fields:
                out.append("| field | git | cluster | changed by |")
                out.append("|---|---|---|---|")
                for item in obj.fields:
                    out.append(f"| `{item.path_text}` | {_cell(item.desired)} | {_cell(item.live)} | "
                               f"{item.manager or 'not recorded'} |")
                out.append("")
    return "\n".join(out) + "\n"
