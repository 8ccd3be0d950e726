"""The SDK's offline parts: ``Results`` (cells by label, ``to_pandas`` and its missing-
pandas message) over a committed results document and the service's own table code,
and the server-sent events parser."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from services.common.storage import exports

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "clients" / d) for d in ("sdk", "python")]
DOC = REPO / "docs" / "reports" / "duan2023-smoke" / "results.json"

from icl_it_sdk import PANDAS_MISSING, Results, sse_messages  # noqa: E402
from icl_it_sdk.results import bind_tables  # noqa: E402


def _results(doc: dict[str, Any]) -> Results:
    def fetch(table: str) -> dict[str, Any]:
        assert table == "cells"
        return exports.to_records(exports.cell_table(doc, "exp"))

    return bind_tables(Results.from_dict(doc), fetch)


def _labelled() -> dict[str, Any]:
    from services.analysis.vocabulary import label_cells

    doc = json.loads(DOC.read_text())
    doc["cells"] = label_cells([{k: v for k, v in c.items() if k != "label"} for c in doc["cells"]])
    return doc


def test_cells_by_label_and_the_long_table_as_a_dataframe() -> None:
    doc = _labelled()
    results = _results(doc)
    labels = results.labels()
    assert len(set(labels)) == len(labels) == len(doc["cells"])
    assert labels == [c["label"] for c in doc["cells"]]
    one = doc["cells"][-1]
    assert results.cell(one["label"]).cell == one["cell"] == results.cell(one["cell"]).cell
    with pytest.raises(KeyError, match="cells: "):
        results.cell("no such cell")
    frame = results.to_pandas()
    columns, rows = exports.cell_table(doc, "exp")
    assert list(frame.columns) == columns and len(frame) == len(rows)
    assert set(frame["label"]) == set(labels)


def test_a_document_without_labels_names_cells_by_id() -> None:
    doc = json.loads(DOC.read_text())
    for cell in doc["cells"]:
        cell.pop("label", None)
    assert _results(doc).labels() == [c["cell"] for c in doc["cells"]]


def test_to_pandas_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    results = _results(_labelled())
    monkeypatch.setitem(sys.modules, "pandas", None)  # what `import pandas` sees uninstalled
    with pytest.raises(ImportError) as raised:
        results.to_pandas()
    assert str(raised.value) == PANDAS_MISSING and "icl-it-sdk[pandas]" in PANDAS_MISSING


def test_sse_messages_parse_pings_multiline_data_and_fields() -> None:
    lines = [": ping", "", "id: 7", "event: tuning", "data: {", "data: }", "", "data: x", ""]
    assert list(sse_messages(lines)) == [
        {"id": "7", "event": "tuning", "data": "{\n}"},
        {"data": "x"},
    ]


def test_submit_file_reads_yaml_and_json(tmp_path: Path) -> None:
    from icl_it_sdk import IclIt

    sent: list[Any] = []

    class Recording(IclIt):
        def submit(self, spec: Any, *, idempotency_key: str | None = None) -> Any:
            sent.append(spec)
            return None

    (tmp_path / "a.yaml").write_text("name: a\ndemos:\n  k: 8\n")
    (tmp_path / "b.json").write_text('{"name": "b"}')
    (tmp_path / "c.yml").write_text("- not\n- a mapping\n")
    with Recording("http://127.0.0.1:9") as api:
        api.submit_file(tmp_path / "a.yaml")
        api.submit_file(os.fspath(tmp_path / "b.json"))
        with pytest.raises(ValueError, match="mapping"):
            api.submit_file(tmp_path / "c.yml")
    assert sent == [{"name": "a", "demos": {"k": 8}}, {"name": "b"}]


def test_wait_gives_up_on_an_unreachable_api_within_its_timeout() -> None:
    """``wait`` retries transient failures (tenacity) but never sleeps past its timeout."""
    import socket
    import time

    from icl_it_sdk import IclIt, WaitTimeout

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    started = time.monotonic()
    with IclIt(url, api_key="k") as api, pytest.raises(WaitTimeout) as raised:
        api.wait("0" * 32, timeout=1.0)
    assert time.monotonic() - started < 5
    assert raised.value.last_status == "unknown"
