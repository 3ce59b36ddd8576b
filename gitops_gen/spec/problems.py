"""From pydantic's ``ValidationError`` to the one-line ``SpecError`` a user reads: the spec file, the line, the
field path (``gitops-gen.yaml:12: sidekiq[0].concurrency: ...``) and, for an unknown key, the closest known one."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from gitops_gen import yamlio
from gitops_gen.errors import SpecError

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def spec_error(error: ValidationError, source: str, lines: dict[yamlio.FieldPath, int],
               prefix: tuple[str, ...] = ()) -> SpecError:
    """The first problem of ``error`` (in the section at ``prefix`` of the spec), with the line ``lines`` gives."""
    first = error.errors(include_url=False)[0]
    location = _user_location(first["loc"], lines, prefix)
    field = field_path(location)
    line = nearest_line(location, lines)
    problem = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        unknown = str(location[-1])
        known = _known_keys(location[:-1])
        hint = difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
        problem = f"unknown field {unknown!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
        problem += f" (known fields here: {', '.join(known)})" if known and not hint else ""
    elif first["type"] in ("int_type", "greater_than", "greater_than_equal", "less_than_equal"):  # strict ints
        problem = f"{problem} (got {first.get('input')!r})"
    return SpecError(source, problem, line=line, field=field or None)


def _user_location(loc: tuple[str | int, ...], lines: dict[yamlio.FieldPath, int],
                   prefix: tuple[str, ...]) -> tuple[str | int, ...]:
    """pydantic's location of an error, as keys of the spec: without the union branches pydantic adds."""
    location: tuple[str | int, ...] = prefix
    for part in loc:
        # A key the file has is the user's, even one named `int` or `a[b]` (an extraEnv variable, a label).
        if (*location, part) in lines or not _is_pydantic_branch(part):
            location += (part,)
    return location


def _is_pydantic_branch(part: str | int) -> bool:
    # Union branches show up in locations as their type names (`str`, `function-after[...]`). The spec's only
    # union of plain types is a quantity's `str | int | float`, and the first error is always its `str` branch's.
    return isinstance(part, str) and (part == "str" or "[" in part)


def field_path(location: tuple[str | int, ...]) -> str:
    """``sidekiq[0].queues``; a key that is not a plain name is quoted: ``pods.nodeSelector["kubernetes.io/os"]``,
    ``mastodon.extraEnv[""]``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            path += f"[{json.dumps(part)}]"
        else:
            path += f".{part}" if path else part
    return path


def nearest_line(location: tuple[str | int, ...], lines: dict[yamlio.FieldPath, int]) -> int | None:
    for end in range(len(location), 0, -1):
        line = lines.get(location[:end])
        if line is not None:
            return line
    return None


def _known_keys(location: tuple[str | int, ...]) -> list[str]:
    # The whole model is built only here, on the error path: drift validates its sections without it.
    from gitops_gen.spec.model import Spec

    model: Any = Spec
    keyed = False  # the part before was a mapping of the user's keys (overlays): this part is one of those
    for part in location:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part or n == part), None)
        if field is None:
            return []
        keyed = get_origin(field.annotation) is dict  # overlays: no mapping of models is optional
        model = _model_of(field.annotation)
        if model is None:
            return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_of(argument)
        if found is not None:
            return found
    return None
