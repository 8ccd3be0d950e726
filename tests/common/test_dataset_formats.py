"""Uploads as people have them (issue 20): CSV, Parquet and Hugging Face-style JSONL rows
through a column mapping, checked by the rules of the documented JSONL and stored as it."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.common.storage.dataset_formats import (
    ColumnMapping,
    detect_format,
    normalize_upload,
)
from services.common.storage.datasets import MAX_ROWS, MAX_TEXT_CHARS, DatasetError, parse_jsonl

CSV = b'sentence,label,idx\nA fine film.,1,0\n"Dull, and long.",0,1\nLoved it.,1,2\n'
MAPPED = ColumnMapping("sentence", "label", ("negative", "positive"))


def parquet(table: dict[str, list[object]]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.table(table), buf)
    return buf.getvalue()


def test_csv_with_a_mapping_is_stored_as_the_documented_jsonl():
    kind, rows, stored = normalize_upload(CSV, filename="mine.csv", mapping=MAPPED)
    assert kind == "classification"
    assert rows[1] == {"text": "Dull, and long.", "label": "negative"}
    # what is stored reads back through the engine's own parser, unchanged
    assert parse_jsonl(stored.decode()) == (kind, rows)


def test_integer_labels_without_names_are_kept_as_their_digits():
    _, rows, _ = normalize_upload(CSV, mapping=ColumnMapping("sentence", "label"))
    assert [r["label"] for r in rows] == ["1", "0", "1"]


def test_hugging_face_style_jsonl_rows_map_the_same_way():
    raw = b'{"sentence": "A fine film.", "label": 1}\n{"sentence": "Dull.", "label": 0}\n'
    kind, rows, stored = normalize_upload(raw, mapping=MAPPED)
    assert rows == [
        {"text": "A fine film.", "label": "positive"},
        {"text": "Dull.", "label": "negative"},
    ]
    assert json.loads(stored.decode().splitlines()[0]) == rows[0]
    with pytest.raises(DatasetError, match="keys must be exactly text\\+label"):
        normalize_upload(raw)  # without a mapping, the documented format only


def test_parquet_is_read_by_its_magic_bytes_and_string_labels_stay():
    raw = parquet({"review": ["good", "bad", "fine"], "y": ["pos", "neg", "pos"]})
    assert detect_format(raw) == "parquet"
    kind, rows, _ = normalize_upload(raw, mapping=ColumnMapping("review", "y"))
    assert kind == "classification" and rows[1] == {"text": "bad", "label": "neg"}


def test_csv_with_the_documented_columns_needs_no_mapping():
    raw = b"source,target\nHello.,Bonjour.\nThank you.,Merci.\n"
    kind, rows, _ = normalize_upload(raw, fmt="csv")
    assert kind == "translation" and rows[0] == {"source": "Hello.", "target": "Bonjour."}


@pytest.mark.parametrize(
    ("raw", "mapping", "message"),
    [
        (
            CSV,
            ColumnMapping("text", "label"),
            "no column 'text' \\(columns: idx, label, sentence\\)",
        ),
        (
            CSV,
            ColumnMapping("sentence", "label", ("neg",)),
            "row 1: column 'label': label 1 has no name",
        ),
        (b"a,b\nx,y\n", ColumnMapping(), "columns a, b: name the text and label columns"),
        (b"sentence,label\nok,1\n,0\n", MAPPED, "row 2: column 'sentence' must be a non-empty"),
        (b"sentence,label\nok,1\nfine,1,extra\n", MAPPED, "row 2: more fields than the header"),
        (b"sentence,label\nok,1\n", MAPPED, "needs at least 2 rows"),
        (b"sentence,label\nok,1\nfine,1\n", MAPPED, "needs at least 2 distinct labels"),
    ],
)
def test_errors_name_the_row_and_the_column(raw, mapping, message):
    with pytest.raises(DatasetError, match=message):
        normalize_upload(raw, fmt="csv", mapping=mapping)


def test_the_limits_of_an_upload_hold_for_every_format():
    long_text = "x" * (MAX_TEXT_CHARS + 1)
    raw = parquet({"text": ["ok", long_text], "label": ["a", "b"]})
    with pytest.raises(DatasetError, match=f"row 2: column 'text' longer than {MAX_TEXT_CHARS}"):
        normalize_upload(raw)
    many = parquet({"text": ["t"] * (MAX_ROWS + 1), "label": ["a"] * (MAX_ROWS + 1)})
    with pytest.raises(DatasetError, match=f"{MAX_ROWS + 1} rows \\(max {MAX_ROWS}\\)"):
        normalize_upload(many)
    with pytest.raises(DatasetError, match="control character"):
        normalize_upload(b"text,label\nok\x07,a\nfine,b\n", fmt="csv")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        normalize_upload(b"PAR1 but not really")
