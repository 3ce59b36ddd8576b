"""Round-trip YAML: the only module that imports ruamel.yaml.

Files people also edit by hand (the spec, kustomizations) are read and written through here so that their
comments, key order and quoting survive, and so that errors can name the line a value stands on.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gitops_gen.errors import InputError

FieldPath = tuple[str | int, ...]


class YamlSyntaxError(InputError):
    """A YAML file does not parse; the message carries the parser's line and column."""


# Words YAML 1.1 reads as booleans. ruamel writes YAML 1.2, where they are plain strings, but kustomize and
# kubectl read YAML 1.1: an unquoted `yes` reaches the cluster as true. Written quoted, they stay strings.
_YAML11_BOOLEANS = frozenset(word for base in ("y", "yes", "n", "no", "on", "off")
                             for word in (base, base.capitalize(), base.upper()))


def _quote_yaml11_booleans(representer: Any, value: str) -> Any:
    if value in _YAML11_BOOLEANS:
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return representer.represent_str(value)


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.representer.add_representer(str, _quote_yaml11_booleans)
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096  # never fold long strings: a re-dump must not move text to new lines
    return yaml


# Bounds on a document people write by hand: a YAML alias "bomb" (a few hundred bytes whose aliases expand to
# billions of values) or a pathological nesting must be refused at once, not expanded into gigabytes.
MAX_DOCUMENT_BYTES = 1_000_000
MAX_VALUES = 100_000
MAX_DEPTH = 100


def load_round_trip(text: str, source: str) -> Any:
    """Parse ``text`` keeping comments and layout; raise ``YamlSyntaxError`` naming ``source``.

    The document is refused when it is larger than ``MAX_DOCUMENT_BYTES``, nests deeper than ``MAX_DEPTH``, or
    its aliases expand to more than ``MAX_VALUES`` values, so that ``to_plain`` and ``line_numbers`` stay cheap.
    """
    if len(text) > MAX_DOCUMENT_BYTES:
        raise YamlSyntaxError(f"{source}: {len(text)} characters is larger than a spec can be "
                              f"({MAX_DOCUMENT_BYTES}): is this the right file?")
    try:
        document = _round_trip().load(text)
    except RecursionError:
        raise YamlSyntaxError(f"{source}: YAML nests too deeply to read (more than {MAX_DEPTH} levels)") from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise YamlSyntaxError(f"{where}: YAML does not parse: {error.problem or error.context}") from error
    except YAMLError as error:
        raise YamlSyntaxError(f"{source}: YAML does not parse: {error}") from error
    _check_expansion(document, source)
    return document


def _check_expansion(document: Any, source: str) -> None:
    """Count the values the document holds with every alias expanded, without expanding anything."""
    budget = MAX_VALUES
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise YamlSyntaxError(f"{source}: its aliases expand to more than {MAX_VALUES} values; write the values "
                                  "out instead of repeating anchors")
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(f"{source}: YAML nests too deeply to read (more than {MAX_DEPTH} levels)")
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


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


# --- in-place edits of scalar values -------------------------------------------------------------------------
#
# A round-trip dump re-renders the whole file: ruamel keeps comments and key order, but not every spacing,
# indentation or line-folding choice a person made. Edits of `images:` must leave everything but the values
# they change byte for byte as it was, so they are spliced into the original text at the positions a YAML
# parser reports, and the result is parsed again to prove it holds exactly the intended data.
#
# The positions come from PyYAML's composer (libyaml when PyYAML has it): it reports the same node marks as
# ruamel's, about twenty times faster, which is what lets a bump of fifty overlays take a blink.


class YamlEditError(InputError):
    """A YAML file cannot be edited in place without changing more than the values asked for."""


@dataclass(frozen=True)
class ScalarEdit:
    """Set the string value at ``path`` (the last element is a mapping key), or remove the key (``None``).

    A missing key is added after the mapping's last key, in the style of its neighbours.
    """

    path: FieldPath
    value: str | None


_FastLoader: Any = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)


def load_plain(text: str, source: str) -> Any:
    """Parse one YAML document into plain data, fast (no comments kept); errors name ``source`` and the line."""
    try:
        return pyyaml.load(text, Loader=_FastLoader)
    except pyyaml.MarkedYAMLError as error:
        raise _syntax_error(error, source) from error
    except pyyaml.YAMLError as error:
        raise YamlSyntaxError(f"{source}: YAML does not parse: {error}") from error


def edit_scalars(text: str, source: str, edits: Sequence[ScalarEdit]) -> str:
    """Return ``text`` with ``edits`` applied and every other character unchanged.

    Raise ``YamlSyntaxError`` when ``text`` does not parse and ``YamlEditError`` (naming ``source`` and the
    field) when an edit cannot be made in place: the parent is not a mapping, the value is not a plain or
    quoted scalar, or it carries an anchor or a tag.
    """
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom) :]
    newline = "\r\n" if "\r\n" in body else "\n"
    try:
        root = pyyaml.compose(body, Loader=_FastLoader)
    except pyyaml.MarkedYAMLError as error:
        raise _syntax_error(error, source) from error
    except pyyaml.YAMLError as error:
        raise YamlSyntaxError(f"{source}: YAML does not parse: {error}") from error
    splices = [_splice_for(body, root, edit, source, newline) for edit in edits]
    result = body
    previous_start = len(body) + 1
    for start, end, replacement in sorted(splices, key=lambda s: (s[0], s[1]), reverse=True):
        if end > previous_start:
            raise YamlEditError(f"{source}: two edits overlap near character {start}; edit one field at a time")
        result = result[:start] + replacement + result[end:]
        previous_start = start
    _verify_edits(body, result, source, edits)
    return bom + result


def _syntax_error(error: MarkedYAMLError | pyyaml.MarkedYAMLError, source: str) -> YamlSyntaxError:
    mark = error.problem_mark or error.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    return YamlSyntaxError(f"{where}: YAML does not parse: {error.problem or error.context}")


def _dotted(path: FieldPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _parent_mapping(root: pyyaml.Node | None, path: FieldPath, source: str) -> pyyaml.MappingNode:
    node = root
    for depth, part in enumerate(path):
        child: pyyaml.Node | None = None
        if isinstance(part, int) and isinstance(node, pyyaml.SequenceNode) and 0 <= part < len(node.value):
            child = node.value[part]
        elif isinstance(part, str) and isinstance(node, pyyaml.MappingNode):
            child = next((value for key, value in node.value if key.value == part), None)
        if child is None:
            raise YamlEditError(f"{source}: {_dotted(path[: depth + 1])} does not exist")
        node = child
    if not isinstance(node, pyyaml.MappingNode):
        raise YamlEditError(f"{source}: {_dotted(path) or 'the document'} is not a mapping")
    return node


def _splice_for(
    text: str, root: pyyaml.Node | None, edit: ScalarEdit, source: str, newline: str
) -> tuple[int, int, str]:
    *parent_path, key = edit.path
    if not isinstance(key, str):
        raise YamlEditError(f"{source}: {_dotted(edit.path)} must end with a mapping key")
    where = f"{source}:{_dotted(edit.path)}"
    parent = _parent_mapping(root, tuple(parent_path), source)
    pairs = parent.value
    position = next((i for i, (k, _) in enumerate(pairs) if k.value == key), None)
    flow = bool(parent.flow_style)
    if position is None:
        if edit.value is None:
            raise YamlEditError(f"{where} does not exist, so it cannot be removed")
        if not pairs:
            raise YamlEditError(f"{where}: the mapping is empty; cannot tell where the key belongs")
        last_key, last_value = pairs[-1]
        addition = f"{key}: {_scalar_text(edit.value, None, flow)}"
        if flow:
            return last_value.end_mark.index, last_value.end_mark.index, f", {addition}"
        if not isinstance(last_value, pyyaml.ScalarNode) or last_value.style in ("|", ">"):
            raise YamlEditError(f"{where}: the mapping ends with a nested block; add the key by hand")
        end = _line_end(text, last_value.end_mark.index)
        indent = " " * last_key.start_mark.column
        if end > 0 and text[end - 1] != "\n":  # the file ends without a line break: keep it that way
            return end, end, f"{newline}{indent}{addition}"
        return end, end, f"{indent}{addition}{newline}"
    key_node, value_node = pairs[position]
    start, end = value_node.start_mark.index, value_node.end_mark.index
    # An anchored or aliased value starts with its anchor (`&a`); a tagged one with `!`. Editing either
    # would change other places, or the type: leave those to a person.
    if not isinstance(value_node, pyyaml.ScalarNode) or text[start:end][:1] in ("&", "*", "!"):
        raise YamlEditError(f"{where} is not a plain or quoted value (a block, list, anchor, alias or tag)")
    if edit.value is not None:
        return start, end, _scalar_text(edit.value, value_node.style, flow, where)
    if flow:
        if position > 0:
            return pairs[position - 1][1].end_mark.index, end, ""
        if len(pairs) > 1:
            return key_node.start_mark.index, pairs[1][0].start_mark.index, ""
        raise YamlEditError(f"{where} is the only key of its mapping; remove the entry by hand")
    line_start = text.rfind("\n", 0, key_node.start_mark.index) + 1
    if not text[line_start : key_node.start_mark.index].strip():
        return line_start, _line_end(text, end), ""
    if position + 1 < len(pairs):  # the first key of a list item (`- digest: ...`): the next key takes its place
        return key_node.start_mark.index, pairs[position + 1][0].start_mark.index, ""
    raise YamlEditError(f"{where} is the only key of its mapping; remove the entry by hand")


def _line_end(text: str, index: int) -> int:
    """The index just past the line break that ends the line holding ``index`` (or the end of the text)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def _scalar_text(value: str, style: str | None, flow: bool, where: str = "") -> str:
    if style == '"':
        return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar with the same value
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style in ("|", ">"):
        raise YamlEditError(f"{where} is a block scalar; write it as a plain value first")
    return value if _plain_holds(value, flow) else "'" + value.replace("'", "''") + "'"


@functools.cache
def _plain_holds(value: str, flow: bool) -> bool:
    """True when ``value`` written unquoted reads back as the same string under YAML 1.1 (PyYAML, and Go's
    YAML libraries in their 1.1 habits) and YAML 1.2 (ruamel): ``4.3``, ``true``, ``on``, ``0o17`` do not."""
    if not value or value != value.strip() or any(c in value for c in "\n\r\t"):
        return False
    probe = f"{{k: {value}}}" if flow else f"k: {value}\n"
    try:
        readings = [pyyaml.load(probe, Loader=_FastLoader), YAML(typ="safe", pure=True).load(probe)]
    except (pyyaml.YAMLError, YAMLError):
        return False
    return all(isinstance(read, dict) and list(read) == ["k"] and read["k"] == value for read in readings)


def _verify_edits(before: str, after: str, source: str, edits: Sequence[ScalarEdit]) -> None:
    expected = load_plain(before, source)
    for edit in edits:
        *parent_path, key = edit.path
        parent = expected
        for part in parent_path:
            parent = parent[part]
        if edit.value is None:
            parent.pop(key, None)
        else:
            parent[key] = edit.value
    try:
        actual = load_plain(after, source)
    except YamlSyntaxError as error:
        raise YamlEditError(f"{source}: an in-place edit would break the file ({error}); edit it by hand") from error
    if actual != expected:
        raise YamlEditError(f"{source}: an in-place edit would change more than the values asked for; edit it by hand")
