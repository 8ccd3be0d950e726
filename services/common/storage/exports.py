"""Long tables from a results document, for pandas / R / a spreadsheet. No torch, no numpy.

Two tables (columns documented in docs/EXPORTS.md):

- ``cell_table(results)``: one row per cell x metric x pair x layer (statistics pooled
  over the cell's seeds), plus ``metric="accuracy"`` rows (pair = condition, no layer);
- ``example_table(analyses)``: one row per run x example x metric x pair x layer, from
  the per-run analysis documents (``runs/<key>/analysis.json``, artifact kind
  ``analysis``); across-example metrics (CKA) have one value per run (example_id empty),
  and ``metric="correct"`` rows hold each example's 0/1 correctness per condition.

Both read metrics and pairs from the document itself, so a new metric appears as new
rows without a code change. Factor columns (one per swept field, e.g. ``demos.k``) are
the union over the document's cells.

A table is ``(columns, rows)``; ``to_csv`` / ``to_parquet`` / ``to_records`` write it.
Floats are written with ``repr`` in CSV, so a CSV round trip is exact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Row = dict[str, Any]
Table = tuple[list[str], list[Row]]

STAT_COLUMNS = ("mean", "ci_low", "ci_high", "std", "n")
CELL_HEAD = ("experiment", "cell", "label", "control", "studies")
CELL_TAIL = ("metric", "pair", "layer", "layer_name", *STAT_COLUMNS)
EXAMPLE_HEAD = ("experiment", "cell", "run", "seed", "control", "studies")
EXAMPLE_TAIL = ("example_id", "metric", "pair", "layer", "layer_name", "value")
TABLES = ("cells", "examples")
FORMATS = ("json", "csv", "parquet")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


def _factor_columns(items: Iterable[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        for key in item.get("factors") or {}:
            seen.setdefault(str(key), None)
    return list(seen)


def _layer_name(names: Sequence[str] | None, layer: int) -> str:
    if names and layer < len(names):
        return str(names[layer])
    return "embeddings" if layer == 0 else f"block_{layer}"


def _head(experiment: str, item: Mapping[str, Any], factors: list[str]) -> Row:
    row: Row = {
        "experiment": experiment,
        "cell": item.get("cell"),
        "control": item.get("control"),
        "studies": ";".join(item.get("studies") or []),
    }
    values = item.get("factors") or {}
    for name in factors:
        row[name] = values.get(name)
    return row


def cell_table(results: Mapping[str, Any], experiment: str = "") -> Table:
    """Per-cell statistics: every metric and pair in ``results["cells"]``, every layer."""
    cells = list(results.get("cells") or [])
    factors = _factor_columns(cells)
    columns = [*CELL_HEAD, *factors, *CELL_TAIL]
    rows: list[Row] = []
    for cell in cells:
        head = {**_head(experiment, cell, factors), "label": cell.get("label")}
        names = cell.get("layer_names")
        for metric, per_pair in (cell.get("metrics") or {}).items():
            for pair, block in per_pair.items():
                means = block.get("mean", block.get("value")) or []
                for layer in range(len(means)):
                    row = {**head, "metric": metric, "pair": pair, "layer": layer}
                    row["layer_name"] = _layer_name(names, layer)
                    for stat in STAT_COLUMNS:
                        series = block.get(stat, block.get("value") if stat == "mean" else None)
                        row[stat] = series[layer] if series is not None else None
                    rows.append(row)
        for condition, acc in (cell.get("accuracy") or {}).items():
            row = {**head, "metric": "accuracy", "pair": condition}
            row.update(layer=None, layer_name=None)
            for stat in STAT_COLUMNS:
                row[stat] = acc.get(stat) if isinstance(acc, Mapping) else None
            if not isinstance(acc, Mapping):
                row["mean"] = acc
            rows.append(row)
    return columns, rows


def example_table(analyses: Sequence[Mapping[str, Any]], experiment: str = "") -> Table:
    """Per-example values from per-run analysis documents (one per run)."""
    factors = _factor_columns(analyses)
    columns = [*EXAMPLE_HEAD, *factors, *EXAMPLE_TAIL]
    rows: list[Row] = []
    for run in analyses:
        head = _head(experiment, run, factors)
        head = {
            **{k: head[k] for k in ("experiment", "cell")},
            "run": run.get("key"),
            "seed": run.get("seed"),
            **{k: v for k, v in head.items() if k not in ("experiment", "cell")},
        }
        names = run.get("layer_names")
        ids = list(run.get("example_ids") or [])
        for metric, per_pair in (run.get("values") or {}).items():
            for pair, values in per_pair.items():
                per_example = bool(values) and isinstance(values[0], list)
                series = values if per_example else [values]
                for i, layers in enumerate(series):
                    example = (ids[i] if i < len(ids) else i) if per_example else None
                    for layer, value in enumerate(layers):
                        rows.append(
                            {
                                **head,
                                "example_id": None if example is None else str(example),
                                "metric": metric,
                                "pair": pair,
                                "layer": layer,
                                "layer_name": _layer_name(names, layer),
                                "value": value,
                            }
                        )
        for condition, flags in (run.get("correct") or {}).items():
            for i, flag in enumerate(flags or []):
                rows.append(
                    {
                        **head,
                        "example_id": str(ids[i] if i < len(ids) else i),
                        "metric": "correct",
                        "pair": condition,
                        "layer": None,
                        "layer_name": None,
                        "value": None if flag is None else float(flag),
                    }
                )
    return columns, rows


# -- writers ------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def to_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV with a header row."""
    columns, rows = table
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell_text(row.get(c)) for c in columns])
    return buf.getvalue().encode()


def to_records(table: Table) -> dict[str, Any]:
    """The table as ``{columns, rows}`` with one object per row (the JSON form of ``?table=``)."""
    columns, rows = table
    return {"columns": columns, "rows": [{c: row.get(c) for c in columns} for row in rows]}


def _arrow_type(values: list[Any]) -> Any:
    import pyarrow as pa

    present = [v for v in values if v is not None]
    if not present:
        return pa.null()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def to_parquet(table: Table) -> bytes:
    """Parquet bytes; numbers keep their type (int64 / float64), nulls stay null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns, rows = table
    arrays = []
    for column in columns:
        values = [row.get(column) for row in rows]
        kind = _arrow_type(values)
        if kind == pa.string():
            values = [None if v is None else _cell_text(v) for v in values]
        elif kind == pa.float64():
            values = [None if v is None else float(v) for v in values]
        arrays.append(pa.array(values, type=kind))
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), buf)
    return buf.getvalue()


def render(table: Table, fmt: str) -> bytes:
    """The table in ``fmt`` (json, csv or parquet)."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "parquet":
        return to_parquet(table)
    if fmt == "json":
        return json.dumps(to_records(table), allow_nan=False).encode()
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
