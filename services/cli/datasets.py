"""``icl-it datasets upload`` and ``--data FILE``: a dataset file as people have it (JSONL,
CSV or Parquet) with the columns that hold the text and the label (docs/DATA.md)."""

from __future__ import annotations

import argparse
from typing import Any

FORMATS = ("auto", "jsonl", "csv", "parquet")


def add_mapping_arguments(p: argparse.ArgumentParser) -> None:
    """The format and column-mapping options of a dataset file."""
    p.add_argument(
        "--format",
        dest="data_format",
        choices=FORMATS,
        help="the file's format (default: its suffix, else detected)",
    )
    p.add_argument("--text-column", metavar="NAME", help="the text column (default: text)")
    p.add_argument("--label-column", metavar="NAME", help="the label column (default: label)")
    p.add_argument(
        "--label-names",
        metavar="W0,W1,...",
        help="words of integer labels, in order: label 0 is W0 (else kept as digits)",
    )


def mapping_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options ``add_mapping_arguments`` parsed, as ``upload_dataset`` keywords."""
    names = getattr(args, "label_names", None)
    return {
        "format": getattr(args, "data_format", None),
        "text_column": getattr(args, "text_column", None),
        "label_column": getattr(args, "label_column", None),
        "label_names": [w.strip() for w in names.split(",")] if names else None,
    }


def add_upload_command(datasets_sub: Any, func: Any) -> None:
    """``datasets upload FILE`` with its options."""
    q = datasets_sub.add_parser(
        "upload",
        help="upload FILE (JSONL, CSV or Parquet); prints the task name upload:<id>",
        description="Upload a dataset: JSONL rows {text, label} / {source, target}, or "
        "CSV, Parquet or JSONL with other columns named by --text-column and "
        "--label-column; integer labels (Hugging Face style) become --label-names words.",
    )
    q.add_argument("file")
    add_mapping_arguments(q)
    q.set_defaults(func=func)
