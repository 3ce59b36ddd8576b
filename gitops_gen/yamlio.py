"""Round-trip YAML: the only module that imports ruamel.yaml.

Files people also edit by hand (the spec, kustomizations) are read and written through here so that their
comments, key order and quoting survive, and so that errors can name the line a value stands on.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gitops_gen.errors import InputError

FieldPath = tuple[str | int, ...]


class YamlSyntaxError(InputError):
    """A YAML file does not parse; the message carries the parser's line and column."""


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096  # never fold long strings: a re-dump must not move text to new lines
    return yaml


def load_round_trip(text: str, source: str) -> Any:
    """Parse ``text`` keeping comments and layout; raise ``YamlSyntaxError`` naming ``source``."""
    try:
        return _round_trip().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlSyntaxError(f"{where}: YAML does not parse: {error.problem or error.context}") from error
    except YAMLError as error:
        raise YamlSyntaxError(f"{source}: YAML does not parse: {error}") from error


def dump_round_trip(data: Any) -> str:
    """Serialize data loaded by ``load_round_trip`` (or plain data) back to text."""
    stream = io.StringIO()
    _round_trip().dump(data, stream)
    return stream.getvalue()


def to_plain(data: Any) -> Any:
    """Convert round-trip containers to plain dicts, lists and scalars."""
    if isinstance(data, dict):
        return {str(key): to_plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [to_plain(item) for item in data]
    if isinstance(data, str):
        return str(data)
    return data


def line_numbers(data: Any) -> dict[FieldPath, int]:
    """Map every key and list item of round-trip ``data`` to its 1-based line in the source."""
    return dict(_walk_lines(data, ()))


def _walk_lines(node: Any, path: FieldPath) -> Iterator[tuple[FieldPath, int]]:
    if isinstance(node, CommentedMap):
        for key in node:
            line = node.lc.key(key)[0] + 1
            yield (*path, str(key)), line
            yield from _walk_lines(node[key], (*path, str(key)))
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            yield (*path, index), node.lc.item(index)[0] + 1
            yield from _walk_lines(item, (*path, index))


def read_round_trip(path: Path) -> Any:
    """Read and parse a file with ``load_round_trip``."""
    return load_round_trip(path.read_text(encoding="utf-8"), str(path))
