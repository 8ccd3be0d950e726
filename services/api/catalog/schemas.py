"""What can be run: models and builtin tasks."""

from __future__ import annotations

from pydantic import BaseModel


class Model(BaseModel):
    name: str
    source: str
    hf_id: str | None
    description: str
    chat: bool
    params: str


class ModelList(BaseModel):
    data: list[Model]


class Task(BaseModel):
    name: str
    kind: str
    description: str
    labels: list[str]
    n_rows: int


class TaskList(BaseModel):
    data: list[Task]
