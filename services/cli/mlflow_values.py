"""A results document as MLflow values: parameters, tags, and metric series whose step is
the layer index. No mlflow import here: plain strings and numbers, ready for
``mlflow.entities`` (``services/cli/mlflow_export.py`` logs them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

# MLflow's limits per value (mlflow.utils.validation)
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
SERIES_STATS = ("mean", "ci_low", "ci_high")


def param_text(value: Any) -> str:
    """A parameter's value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested document as dotted keys (``demos.k``); a list of objects by index
    (``studies.0.name``), a list of plain values as one JSON text."""
    if isinstance(value, Mapping):
        items: Iterator[tuple[str, Any]] = ((str(k), v) for k, v in value.items())
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: param_text(value)[:MAX_PARAM_LENGTH]}
    flat: dict[str, str] = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return flat


def cell_run_name(cell: Mapping[str, Any]) -> str:
    """A cell named by its factors and control, e.g. 'demos.k=4' or 'random_init: base'."""
    factors = ", ".join(f"{k}={v}" for k, v in (cell.get("factors") or {}).items()) or "base"
    control = cell.get("control") or "none"
    return factors if control == "none" else f"{control}: {factors}"


def cell_params(cell: Mapping[str, Any]) -> dict[str, str]:
    """The parameters of a cell's run: what sets it apart from the other cells."""
    params = {f"factor.{k}": param_text(v) for k, v in (cell.get("factors") or {}).items()}
    params.update(
        cell=str(cell.get("cell")),
        control=str(cell.get("control")),
        studies=";".join(cell.get("studies") or []),
        n_examples=param_text(cell.get("n_examples")),
        n_seeds=param_text(cell.get("n_seeds")),
        report_layer=param_text(cell.get("report_layer")),
    )
    return params


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def cell_metrics(cell: Mapping[str, Any]) -> list[tuple[str, float, int]]:
    """``(key, value, step)`` for every number of a cell worth a curve: each metric x pair
    per layer (step = layer index), accuracy per condition, the primary test. Values that
    are null in the document (undefined at a layer) are left out."""
    out: list[tuple[str, float, int]] = []
    for metric, per_pair in (cell.get("metrics") or {}).items():
        for pair, block in per_pair.items():
            for stat in SERIES_STATS:
                series = block.get(stat, block.get("value") if stat == "mean" else None)
                key = f"{metric}/{pair}" if stat == "mean" else f"{metric}/{pair}/{stat}"
                for layer, value in enumerate(series or []):
                    if (number := _number(value)) is not None:
                        out.append((key, number, layer))
    for condition, acc in (cell.get("accuracy") or {}).items():
        value = acc.get("mean") if isinstance(acc, Mapping) else acc
        if (number := _number(value)) is not None:
            out.append((f"accuracy/{condition}", number, 0))
    return out + primary_metrics(cell.get("primary") or {})


def primary_metrics(primary: Mapping[str, Any]) -> list[tuple[str, float, int]]:
    """The primary test's numbers (difference, interval, p, mde, ...) at its layer."""
    test = primary.get("pairing_test") or primary.get("test") or {}
    at = primary.get("layer")
    if not isinstance(at, int):
        return []
    numbers = ((name, _number(value)) for name, value in test.items())
    return [(f"primary/{name}", number, at) for name, number in numbers if number is not None]


def statements_markdown(results: Mapping[str, Any]) -> str:
    """The statements, one bullet each: '- **main** (primary): At layer 31 ...'."""
    return "".join(
        f"- **{s.get('study')}** ({s.get('kind')}): {s.get('text')}\n"
        for s in results.get("statements") or []
    )


def statement_tags(results: Mapping[str, Any]) -> dict[str, str]:
    """One tag per statement, ``statement.<study>.<kind>`` (':' in a kind becomes '.')."""
    return {
        f"statement.{s.get('study')}.{str(s.get('kind')).replace(':', '.')}": str(s.get("text"))[
            :MAX_TAG_LENGTH
        ]
        for s in results.get("statements") or []
    }
