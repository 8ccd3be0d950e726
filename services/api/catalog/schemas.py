"""What can be run: models and builtin tasks."""

from __future__ import annotations

from pydantic import BaseModel


class Model(BaseModel):
    """A model from the catalog; ``hf_id`` is the Hugging Face repository it is pulled from."""

    name: str
    source: str
    hf_id: str | None
    description: str
    chat: bool
    params: str


class ModelList(BaseModel):
    """The known models."""

    data: list[Model]


class Task(BaseModel):
    """A builtin task: its kind, label set and number of rows."""

    name: str
    kind: str
    description: str
    labels: list[str]
    n_rows: int


class TaskList(BaseModel):
    """The builtin tasks."""

    data: list[Task]
