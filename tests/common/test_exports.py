"""Long-table exports equal the JSON results number for number (CSV and Parquet).

Two sources: the committed duan2023 default-scale results (11 cells, every factor) and a
document the real analysis code computes from synthetic hidden states, whose per-run
analyses feed the per-example table.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from services.common.storage import exports

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "reports" / "duan2023-default" / "results.json"


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def _parquet_rows(data: bytes) -> list[dict[str, Any]]:
    return pq.read_table(io.BytesIO(data)).to_pylist()


def _same(json_value: Any, csv_text: str, parquet_value: Any) -> bool:
    if json_value is None:
        return csv_text == "" and parquet_value is None
    if isinstance(json_value, float) and math.isnan(json_value):
        return False  # the documents hold no NaN (allow_nan=False)
    return float(csv_text) == json_value and parquet_value == json_value


def _expected_cell_rows(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(cell, metric, pair, layer, stat, value) straight from the nested JSON."""
    out = []
    for cell in results["cells"]:
        for metric, per_pair in cell["metrics"].items():
            for pair, block in per_pair.items():
                for stat in exports.STAT_COLUMNS:
                    for layer, value in enumerate(block[stat]):
                        out.append((cell["cell"], metric, pair, layer, stat, value))
        for condition, acc in cell["accuracy"].items():
            for stat in exports.STAT_COLUMNS:
                out.append((cell["cell"], "accuracy", condition, None, stat, acc.get(stat)))
    return out


def test_cell_table_equals_the_committed_results_number_for_number() -> None:
    results = json.loads(COMMITTED.read_text())
    table = exports.cell_table(results, "duan2023-default")
    csv_rows = _csv_rows(exports.to_csv(table))
    pq_rows = _parquet_rows(exports.to_parquet(table))
    assert len(csv_rows) == len(pq_rows) == len(table[1])
    assert list(csv_rows[0]) == table[0] == list(pq_rows[0])

    index = {}
    for c, p in zip(csv_rows, pq_rows, strict=True):
        layer = None if c["layer"] == "" else int(c["layer"])
        assert p["layer"] == layer and p["cell"] == c["cell"] and p["pair"] == c["pair"]
        index[(c["cell"], c["metric"], c["pair"], layer)] = (c, p)
    expected = _expected_cell_rows(results)
    assert len(expected) == len(index) * len(exports.STAT_COLUMNS)
    for cell, metric, pair, layer, stat, value in expected:
        c, p = index[(cell, metric, pair, layer)]
        assert _same(value, c[stat], p[stat]), (cell, metric, pair, layer, stat, value)

    # factors become typed columns; layer names come from the document
    first = pq_rows[0]
    assert isinstance(first["demos.k"], int) and isinstance(first["demos.label_noise"], float)
    assert first["layer_name"] == "embeddings" and first["experiment"] == "duan2023-default"
    assert {r["metric"] for r in pq_rows} == {*results["metrics"], "accuracy"}


def _states(n_ex: int, n_layers: int, d: int, seed: int) -> Any:
    from services.common.storage.hidden_states import RunStates

    rng = np.random.default_rng(seed)
    conditions = ["anchor", "icl", "it", "it_untuned"]
    return RunStates(
        hidden=rng.normal(size=(n_ex, len(conditions), n_layers + 2, d)).astype(np.float32),
        label_logprobs=-np.abs(rng.normal(size=(n_ex, len(conditions), 2))).astype(np.float32),
        labels=rng.integers(0, 2, size=n_ex),
        conditions=conditions,
        example_ids=[f"sentiment:{i}" for i in range(n_ex)],
        label_names=["negative", "positive"],
    )


@pytest.fixture(scope="module")
def analysed() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A results document and its per-run analyses, from the real analysis code."""
    from services.analysis.per_run import run_similarities
    from services.analysis.summarize import summarize_experiment
    from services.common.spec import ExperimentSpec, expand_runs

    spec = ExperimentSpec.model_validate(
        {"name": "export", "seeds": [0, 1], "sweep": {"demos.k": [2, 4]}, "inference": {"n": 5}}
    )
    analyses = [
        run_similarities(run.model_dump(mode="json"), _states(5, 3, 16, i), list(spec.metrics))
        for i, run in enumerate(expand_runs(spec))
    ]
    return summarize_experiment(spec.model_dump(mode="json"), analyses), analyses


def test_cell_table_of_a_fresh_analysis(analysed: tuple[dict[str, Any], list[Any]]) -> None:
    results, _ = analysed
    table = exports.cell_table(results, "x")
    csv_rows, pq_rows = _csv_rows(exports.to_csv(table)), _parquet_rows(exports.to_parquet(table))
    got = {
        (c["cell"], c["metric"], c["pair"], c["layer"], s): (c[s], p[s])
        for c, p in zip(csv_rows, pq_rows, strict=True)
        for s in exports.STAT_COLUMNS
    }
    for cell, metric, pair, layer, stat, value in _expected_cell_rows(results):
        c, p = got[(cell, metric, pair, "" if layer is None else str(layer), stat)]
        assert _same(value, c, p), (cell, metric, pair, layer, stat)


def test_example_table_equals_the_run_analyses(analysed: tuple[dict[str, Any], list[Any]]) -> None:
    _, analyses = analysed
    table = exports.example_table(analyses, "x")
    csv_rows = _csv_rows(exports.to_csv(table))
    pq_rows = _parquet_rows(exports.to_parquet(table))
    assert "demos.k" in table[0] and "seed" in table[0]
    lookup = {
        (c["run"], c["example_id"], c["metric"], c["pair"], c["layer"]): (c["value"], p["value"])
        for c, p in zip(csv_rows, pq_rows, strict=True)
    }
    expected = 0
    for run in analyses:
        for metric, per_pair in run["values"].items():
            for pair, values in per_pair.items():
                per_example = isinstance(values[0], list)
                for i, series in enumerate(values if per_example else [values]):
                    example = run["example_ids"][i] if per_example else ""
                    for layer, value in enumerate(series):
                        c, p = lookup[(run["key"], example, metric, pair, str(layer))]
                        assert _same(value, c, p), (run["key"], example, metric, pair, layer)
                        expected += 1
        for condition, flags in run["correct"].items():
            for i, flag in enumerate(flags):
                c, p = lookup[(run["key"], run["example_ids"][i], "correct", condition, "")]
                assert _same(float(flag), c, p)
                expected += 1
    assert expected == len(csv_rows) == len(pq_rows)
    # CKA is one value per run: no example id
    assert any(r["metric"] == "cka" and r["example_id"] is None for r in pq_rows)


def test_a_new_metric_appears_without_code_changes() -> None:
    results = {
        "cells": [
            {
                "cell": "c1",
                "control": "none",
                "studies": ["main"],
                "factors": {},
                "metrics": {
                    "shift_cosine": {
                        "matched": {
                            "mean": [0.5, 0.25],
                            "std": [0.1, 0.2],
                            "ci_low": [0.4, None],
                            "ci_high": [0.6, None],
                            "n": [8, 8],
                        }
                    }
                },
            }
        ]
    }
    rows = _parquet_rows(exports.to_parquet(exports.cell_table(results)))
    assert [(r["metric"], r["pair"], r["layer"], r["mean"], r["ci_low"]) for r in rows] == [
        ("shift_cosine", "matched", 0, 0.5, 0.4),
        ("shift_cosine", "matched", 1, 0.25, None),
    ]


def test_local_export_of_a_results_directory(tmp_path: Path) -> None:
    """`icl-it export DIR` works on an output directory without a server."""
    from services.cli.main import main

    out = tmp_path / "cells.parquet"
    assert main(["export", str(COMMITTED.parent), "--format", "parquet", "-o", str(out)]) == 0
    rows = pq.read_table(out).to_pylist()
    assert rows and rows[0]["experiment"] == "duan2023-default"
