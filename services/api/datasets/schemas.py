"""What the dataset routes return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Dataset(BaseModel):
    """An uploaded JSONL dataset, referenced from a spec as ``upload:<id>``."""

    id: str
    task: str = Field(description="Use as data.task or demos.source_task: upload:<id>.")
    kind: Literal["classification", "translation"]
    n_rows: int
    size_bytes: int
    sha256: str
    created_at: datetime


class DatasetList(BaseModel):
    """Your uploaded datasets, newest first."""

    data: list[Dataset]


class UploadOptions(BaseModel):
    """How to read an upload (query parameters): its format and which columns hold what."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["auto", "jsonl", "csv", "parquet"] = Field(
        "auto",
        description="auto: Parquet by its magic bytes, JSONL when the body starts with '{', "
        "else CSV (with a header row).",
    )
    text_column: str | None = Field(
        None, min_length=1, max_length=64, description="The text column (default: text)."
    )
    label_column: str | None = Field(
        None, min_length=1, max_length=64, description="The label column (default: label)."
    )
    label_names: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=32,
        description="Words of integer labels, in order (repeat the parameter): label i is "
        "label_names[i]. Without them an integer label is kept as its digits.",
    )
