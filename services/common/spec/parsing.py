"""Bounded parsers for text a client sends: JSON (submit bodies, JSONL dataset rows) and
YAML (spec files, the dashboard's spec box).

Each is called on bytes whose size the caller has already capped while streaming, and
each bounds what that many bytes can still cost:

- nesting: at most ``MAX_DEPTH`` levels (``limits.MAX_DEPTH``, the spec's own limit), so
  neither the C JSON scanner nor YAML's recursive composer can hit a RecursionError;
- integers: at most ``MAX_INT_DIGITS`` digits, checked on the text before ``int()`` runs
  (Python's int-str limit raises a bare ValueError at 4300 digits);
- floats: finite only (JSON ``NaN``/``1e999``, YAML ``.nan``/``.inf`` would otherwise
  become nan/inf, or null once re-encoded);
- YAML: the safe loader without aliases (a 370-byte "billion laughs" expands to GBs),
  with a node budget, only the plain JSON-like tags (``!!binary``, ``!!set``,
  ``!!python/...``, timestamps are refused or stay strings), and string keys only.

Every failure is a ``ParseError`` (a ValueError) with a ``kind`` and, where known, the
line and column, which the API turns into a 4xx problem.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from services.common.spec.limits import MAX_DEPTH

MAX_INT_DIGITS = 40  # every integer field of the spec fits in 19 digits (2**63)
MAX_YAML_NODES = 100_000

_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


class ParseError(ValueError):
    """Text that is not, or not within the limits of, the expected JSON/YAML."""

    def __init__(
        self,
        msg: str,
        kind: str = "parse_error",
        line: int | None = None,
        column: int | None = None,
        reason: str | None = None,
    ):
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(msg + where + (f": {reason}" if reason else ""))
        self.msg, self.kind, self.line, self.column = msg, kind, line, column


def _bounded_int(text: str) -> int:
    if len(text.lstrip("+-").replace("_", "")) > MAX_INT_DIGITS:
        raise ParseError(f"integer with more than {MAX_INT_DIGITS} digits", "int_too_large")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ParseError(f"number {text[:40]!r} is not finite", "not_finite")
    return value


def _no_constant(text: str) -> Any:
    raise ParseError(f"{text} is not a JSON number", "not_finite")


def check_depth(data: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise ParseError when ``data`` nests lists/objects deeper than ``max_depth``
    (iterative: the check itself never recurses)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= max_depth:
                raise ParseError(f"nested deeper than {max_depth} levels", "too_deep")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def load_json(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """JSON text -> Python value, within the limits above. Raises ParseError."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 ({exc.reason})", "unicode_error") from None
    try:
        data = json.loads(
            text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg}"
        raise ParseError(msg, "json_invalid", exc.lineno, exc.colno) from None
    except RecursionError:
        raise ParseError(f"nested deeper than {max_depth} levels", "too_deep") from None
    except ParseError:
        raise
    except ValueError as exc:  # e.g. an int conversion limit this module did not foresee
        raise ParseError(f"not valid JSON: {exc}", "json_invalid") from None
    check_depth(data, max_depth)
    return data


def _mark_error(msg: str, kind: str, node_or_event: Any) -> ParseError:
    mark = getattr(node_or_event, "start_mark", None)
    if mark is None:
        return ParseError(msg, kind)
    return ParseError(msg, kind, mark.line + 1, mark.column + 1)


class BoundedSafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases, with a depth and node budget, plain tags only,
    finite floats, bounded integers and string keys."""

    # implicit resolvers of the plain tags only: a date or '=' stays a string
    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag in _PLAIN_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: Any, max_depth: int = MAX_DEPTH) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0
        self._max_depth = max_depth

    def compose_node(self, parent: Any, index: Any) -> Any:
        """One node within the limits: no aliases (no billion-laughs expansion), at most
        ``MAX_YAML_NODES`` nodes, ``max_depth`` levels, and plain tags only."""
        if self.check_event(yaml.AliasEvent):
            raise _mark_error(
                "YAML aliases (*name) are not allowed", "yaml_alias", self.peek_event()
            )
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise _mark_error(
                f"more than {MAX_YAML_NODES} YAML nodes", "too_large", self.peek_event()
            )
        if self._depth >= self._max_depth and self.check_event(
            yaml.SequenceStartEvent, yaml.MappingStartEvent
        ):
            raise _mark_error(
                f"nested deeper than {self._max_depth} levels", "too_deep", self.peek_event()
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node.tag not in _PLAIN_TAGS:
            raise _mark_error(f"YAML tag {node.tag!r} is not allowed", "yaml_tag", node)
        return node

    def construct_yaml_int(self, node: Any) -> int:
        """An int, refused above ``MAX_INT_DIGITS`` digits before ``int()`` spends time on it."""
        if len(str(node.value).replace("_", "").lstrip("+-")) > MAX_INT_DIGITS:
            raise _mark_error(
                f"integer with more than {MAX_INT_DIGITS} digits", "int_too_large", node
            )
        return int(super().construct_yaml_int(node))

    def construct_yaml_float(self, node: Any) -> float:
        """A float, refused when not finite (``.inf``, ``.nan``, or a literal that overflows)."""
        value = float(super().construct_yaml_float(node))
        if not math.isfinite(value):
            raise _mark_error(f"number {str(node.value)[:40]!r} is not finite", "not_finite", node)
        return value

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """A mapping whose keys must be strings (YAML reads ``1:`` and ``true:`` as int, bool)."""
        for key_node, _ in node.value:
            if key_node.tag != _STR:
                raise _mark_error("mapping keys must be strings", "key_type", key_node)
        return super().construct_mapping(node, deep=deep)


BoundedSafeLoader.add_constructor("tag:yaml.org,2002:int", BoundedSafeLoader.construct_yaml_int)
BoundedSafeLoader.add_constructor("tag:yaml.org,2002:float", BoundedSafeLoader.construct_yaml_float)


def load_yaml(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """YAML (or JSON, a subset) text -> Python value, within the limits above; empty text
    is None. Raises ParseError."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 ({exc.reason})", "unicode_error") from None
    loader = BoundedSafeLoader(text, max_depth)
    try:
        return loader.get_single_data()
    except ParseError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ParseError("not valid YAML/JSON", "yaml_error", line, column, exc.problem) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ParseError("not valid YAML/JSON", "yaml_error", reason=type(exc).__name__) from None
    finally:
        loader.dispose()
