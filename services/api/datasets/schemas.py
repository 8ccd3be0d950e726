"""What the dataset routes return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


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
