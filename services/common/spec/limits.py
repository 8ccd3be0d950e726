"""Input limits checked before a spec is expanded or stored (called from ``spec.py``).

- Sections (model, data, ...) are objects before a preset reads them.
- No NUL or other control character, and no lone surrogate, in any string (keys
  included): Postgres rejects NUL in JSONB and text, a lone surrogate cannot be encoded
  as UTF-8 (a tokenizer or a file write fails on it), and control characters have no
  business in names or ids. Tab, newline and carriage return are allowed (descriptions,
  texts). Uploaded dataset rows are checked with the same rule (``datasets.parse_jsonl``).
- The number of runs, computed arithmetically from the sweep sizes before any expansion,
  so that a 32^4 grid is refused in microseconds instead of being built.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_DEPTH = 32


def control_char_problem(value: str) -> str | None:
    """Why ``value`` is refused (it contains a control character), or None when it is fine."""
    match = _CONTROL.search(value)
    if match is None:
        return None
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"lone surrogate U+{code:04X} is not allowed (not encodable as UTF-8)"
    return f"control character U+{code:04X} is not allowed"


def reject_control_chars(data: Any, path: str = "", depth: int = 0) -> None:
    """Raise ValueError naming the first string (or key) with a control character."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{path or 'body'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, str):
        problem = control_char_problem(data)
        if problem:
            raise ValueError(f"{path or 'value'}: {problem}")
    elif isinstance(data, dict):
        for key, value in data.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and control_char_problem(key):
                raise ValueError(f"{path or 'body'}: key {key!r}: {control_char_problem(key)}")
            reject_control_chars(value, sub, depth + 1)
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            reject_control_chars(value, f"{path}[{i}]", depth + 1)


SECTIONS = ("model", "data", "inference", "demos", "template", "lora", "extraction", "causal")


def check_raw_spec(data: Any) -> None:
    """Before anything reads the raw spec: no control characters anywhere; with a preset
    (which reads ``model.name``, ``models``, ``scale``), the fields it reads have the
    right shape, so that a wrong type is a 422 and never a crash in the preset."""
    reject_control_chars(data)
    if not isinstance(data, dict) or not data.get("preset"):
        return
    for key in ("preset", "scale"):
        if key in data and not isinstance(data[key], str):
            raise ValueError(f"{key}: must be a string, not {type(data[key]).__name__}")
    for key in SECTIONS:
        if key in data and not isinstance(data[key], dict):
            raise ValueError(f"{key}: must be an object, not {type(data[key]).__name__}")
    if "models" in data and not isinstance(data["models"], list):
        raise ValueError(f"models: must be a list, not {type(data['models']).__name__}")


def _distinct(values: list[Any]) -> int:
    return len({json.dumps(v, sort_keys=True, default=str) for v in values})


def min_runs(sweeps: list[dict[str, list[Any]]], n_seeds: int) -> int:
    """A lower bound on the runs a spec expands to: the largest study's grid of distinct
    values times the seeds (points of one study never coincide)."""
    largest = max((math.prod(_distinct(v) for v in sweep.values()) for sweep in sweeps), default=1)
    return largest * n_seeds


def check_run_count(sweeps: list[dict[str, list[Any]]], n_seeds: int, max_runs: int) -> None:
    """Refuse a spec whose runs surely exceed ``max_runs`` (a lower bound, before expanding it)."""
    n = min_runs(sweeps, n_seeds)
    if n > max_runs:
        raise ValueError(f"spec expands to at least {n} runs (max {max_runs}: MAX_RUNS)")
