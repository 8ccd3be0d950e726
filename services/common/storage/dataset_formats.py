"""Datasets as people have them: CSV, Parquet and JSONL with any column names, and rows
read by the ``datasets`` library, turned into the task rows of ``datasets.py``.

A ``ColumnMapping`` names the text and label columns and, for integer labels (what
Hugging Face datasets store: ``{"sentence": ..., "label": 1}``), the label words. The
result is the same ``{"text", "label"}`` rows (or ``{"source", "target"}`` ones) that
``parse_jsonl`` accepts, checked with the same limits, and stored as JSONL, so every
reader of an upload sees one format. Errors name the row and the column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from services.common.storage.datasets import (
    MAX_LABELS,
    MAX_ROWS,
    DatasetError,
    check_rows,
    jsonl_objects,
    parse_jsonl,
    text_problem,
)

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
PARQUET_MAGIC = b"PAR1"
# Parquet is compressed: what a file may expand to in memory, checked from its footer first.
MAX_PARQUET_UNCOMPRESSED = 64 * 1024 * 1024


@dataclass(frozen=True)
class ColumnMapping:
    """Which columns hold the text and the label, and the words of integer labels
    (``label_names[i]`` for label ``i``; without them an integer label is kept as its digits)."""

    text_column: str | None = None
    label_column: str | None = None
    label_names: tuple[str, ...] = ()

    @property
    def given(self) -> bool:
        """Whether any column was named (else the columns must be text+label or source+target)."""
        return bool(self.text_column or self.label_column or self.label_names)

    def check(self) -> None:
        """The label words obey the dataset rules (DatasetError otherwise)."""
        if len(self.label_names) > MAX_LABELS:
            raise DatasetError(f"{len(self.label_names)} label names (max {MAX_LABELS})")
        for i, word in enumerate(self.label_names):
            problem = text_problem(word)
            if problem:
                raise DatasetError(f"label name {i} {problem}")


def detect_format(raw: bytes, declared: str | None = None, filename: str | None = None) -> Format:
    """The format of an upload: as declared, else by the file name's suffix, else Parquet by
    its magic bytes, JSONL when the first character opens an object, CSV otherwise."""
    if declared and declared != "auto":
        if declared not in FORMATS:
            raise DatasetError(f"format {declared!r}: one of {', '.join(FORMATS)}")
        return declared  # type: ignore[return-value]
    suffix = (filename or "").rsplit(".", 1)[-1].lower()
    if suffix in ("csv", "parquet"):
        return suffix  # type: ignore[return-value]
    if suffix in ("jsonl", "json", "ndjson"):
        return "jsonl"
    if raw.startswith(PARQUET_MAGIC):
        return "parquet"
    return "jsonl" if raw.lstrip()[:1] == b"{" else "csv"


def read_records(raw: bytes, fmt: Format, name: str) -> list[dict[str, Any]]:
    """The rows of a file as dicts (at most MAX_ROWS; DatasetError naming the row)."""
    if fmt == "parquet":
        return _parquet_records(raw, name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{name}: not UTF-8 ({exc.reason})") from None
    if fmt == "csv":
        return _csv_records(text, name)
    records: list[dict[str, Any]] = []
    for _, obj in jsonl_objects(text, name):
        records.append(obj)
        _check_count(records, name)
    return records


def _check_count(records: list[Any], name: str) -> None:
    if len(records) > MAX_ROWS:
        raise DatasetError(f"{name}: more than {MAX_ROWS} rows")


def _csv_records(text: str, name: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records: list[dict[str, Any]] = []
    try:
        for record in reader:
            if None in record:  # more fields than the header names
                raise DatasetError(
                    f"{name}: row {reader.line_num - 1}: more fields than the header's "
                    f"{len(reader.fieldnames or [])}"
                )
            records.append(record)
            _check_count(records, name)
    except csv.Error as exc:
        raise DatasetError(f"{name}: row {reader.line_num - 1}: not valid CSV ({exc})") from None
    if not reader.fieldnames:
        raise DatasetError(f"{name}: no header row")
    return records


def _parquet_records(raw: bytes, name: str) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pfile = pq.ParquetFile(io.BytesIO(raw))
        meta = pfile.metadata
        if meta.num_rows > MAX_ROWS:
            raise DatasetError(f"{name}: {meta.num_rows} rows (max {MAX_ROWS})")
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > MAX_PARQUET_UNCOMPRESSED:
            raise DatasetError(
                f"{name}: {size} bytes uncompressed (max {MAX_PARQUET_UNCOMPRESSED})"
            )
        return list(pfile.read().to_pylist())
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"{name}: not a readable Parquet file ({exc})") from None


def label_word(value: Any, names: tuple[str, ...]) -> Any:
    """A label as its word: an integer (or the digits of one, as CSV gives them) through
    ``names`` when given, else as its digits; anything else unchanged (checked later)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and names and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        if not names:
            return str(value)
        if not 0 <= value < len(names):
            raise ValueError(f"label {value} has no name (label names: {', '.join(names)})")
        return names[value]
    return value


def _columns_for(first: Mapping[str, Any], mapping: ColumnMapping, name: str) -> dict[str, str]:
    """Output key -> input column: the mapping's, or the documented ones."""
    columns = set(first)
    if mapping.given:
        pairs = {"text": mapping.text_column or "text", "label": mapping.label_column or "label"}
    elif {"text", "label"} <= columns:
        pairs = {"text": "text", "label": "label"}
    elif {"source", "target"} <= columns:
        pairs = {"source": "source", "target": "target"}
    else:
        raise DatasetError(
            f"{name}: columns {', '.join(sorted(columns))}: name the text and label columns "
            "(--text-column, --label-column; text_column, label_column in the API)"
        )
    missing = [c for c in pairs.values() if c not in columns]
    if missing:
        raise DatasetError(
            f"{name}: no column {missing[0]!r} (columns: {', '.join(sorted(columns))})"
        )
    return pairs


def map_records(
    records: Iterable[Mapping[str, Any]], mapping: ColumnMapping, name: str
) -> tuple[str, list[dict[str, str]]]:
    """(kind, task rows) from records, through ``mapping``: each value checked with the rules
    of ``parse_jsonl`` (DatasetError naming the row, counted from 1, and the column)."""
    mapping.check()
    rows: list[dict[str, str]] = []
    pairs: dict[str, str] | None = None
    for i, record in enumerate(records, start=1):
        pairs = pairs or _columns_for(record, mapping, name)
        row: dict[str, str] = {}
        for key, column in pairs.items():
            value = record.get(column)
            if key in ("label", "target"):
                try:
                    value = label_word(value, mapping.label_names)
                except ValueError as exc:
                    raise DatasetError(f"{name}: row {i}: column {column!r}: {exc}") from None
            problem = text_problem(value)
            if problem:
                raise DatasetError(f"{name}: row {i}: column {column!r} {problem}")
            row[key] = str(value)
        rows.append(row)
        _check_count(rows, name)
    kind = "translation" if pairs and "source" in pairs else "classification"
    check_rows(kind, rows, name)
    return kind, rows


def to_jsonl(rows: list[dict[str, str]]) -> bytes:
    """Task rows as the JSONL an upload is stored as (what ``parse_jsonl`` reads back)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def normalize_upload(
    raw: bytes,
    *,
    fmt: str | None = None,
    filename: str | None = None,
    mapping: ColumnMapping = ColumnMapping(),
    name: str = "upload",
) -> tuple[str, list[dict[str, str]], bytes]:
    """(kind, rows, bytes to store) of an uploaded file. JSONL in the documented format is
    stored as sent; anything else (CSV, Parquet, other columns, integer labels) is mapped
    and stored as that JSONL."""
    found = detect_format(raw, fmt, filename)
    if found == "jsonl" and not mapping.given:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{name}: not UTF-8 ({exc.reason})") from None
        kind, rows = parse_jsonl(text, name=name)
        return kind, rows, raw
    kind, rows = map_records(read_records(raw, found, name), mapping, name)
    return kind, rows, to_jsonl(rows)
