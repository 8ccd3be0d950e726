"""GET /v1/experiments/{id}/results?format=csv|parquet&table=cells|examples on a real stack:
the tables equal the JSON results and the per-run analysis artifacts number for number."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from services.common.storage import exports

pytestmark = pytest.mark.services


def test_cells_table_equals_the_results_document(
    http: httpx.Client, finished: dict[str, Any]
) -> None:
    url = f"/v1/experiments/{finished['id']}/results"
    results = http.get(url).json()
    parquet = http.get(url, params={"format": "parquet"})
    assert parquet.status_code == 200
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    rows = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    text = http.get(url, params={"format": "csv"}).text
    csv_rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(csv_rows) > 0
    by_key = {(r["cell"], r["metric"], r["pair"], r["layer"]): r for r in rows}
    checked = 0
    for cell in results["cells"]:
        for metric, per_pair in cell["metrics"].items():
            for pair, block in per_pair.items():
                for layer, mean in enumerate(block["mean"]):
                    row = by_key[(cell["cell"], metric, pair, layer)]
                    assert row["mean"] == mean and row["n"] == block["n"][layer]
                    assert row["ci_low"] == block["ci_low"][layer]
                    checked += 1
    assert checked == sum(1 for r in rows if r["metric"] != "accuracy")
    for c, p in zip(csv_rows, rows, strict=True):
        assert (float(c["mean"]) if c["mean"] else None) == p["mean"]
    records = http.get(url, params={"format": "json", "table": "cells"}).json()
    assert records["columns"] == list(rows[0]) and len(records["rows"]) == len(rows)


def test_examples_table_equals_the_run_analyses(
    http: httpx.Client, finished: dict[str, Any]
) -> None:
    base = f"/v1/experiments/{finished['id']}"
    analyses = [
        json.loads(http.get(a["url"]).content)
        for a in http.get(f"{base}/artifacts").json()["data"]
        if a["kind"] == "analysis"
    ]
    assert len(analyses) == 2
    data = http.get(f"{base}/results", params={"format": "parquet", "table": "examples"})
    rows = pq.read_table(io.BytesIO(data.content)).to_pylist()
    expected = exports.example_table(analyses, finished["id"])[1]
    assert len(rows) == len(expected)
    got = {(r["run"], r["example_id"], r["metric"], r["pair"], r["layer"]): r for r in rows}
    for want in expected:
        row = got[(want["run"], want["example_id"], want["metric"], want["pair"], want["layer"])]
        assert row["value"] == want["value"]
    assert {r["seed"] for r in rows} == {0, 1}


def test_tables_before_the_end_and_bad_formats_are_problems(
    http: httpx.Client, finished: dict[str, Any]
) -> None:
    bad = http.get(f"/v1/experiments/{finished['id']}/results", params={"format": "xlsx"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"][-1] == "format"
    missing = http.get("/v1/experiments/nope/results", params={"format": "csv"})
    assert missing.status_code == 404


def test_tables_are_the_owners_only(
    surface_stack: Any, finished: dict[str, Any], other_key: str
) -> None:
    url = f"{surface_stack.url}/v1/experiments/{finished['id']}/results"
    for key, status in ((other_key, 404), ("made-up-key", 401), (None, 401)):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        r = httpx.get(url, params={"format": "csv"}, headers=headers, timeout=30)
        assert r.status_code == status, (key, r.text)
