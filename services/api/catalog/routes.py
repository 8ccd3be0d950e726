"""/v1/models and /v1/tasks: what a spec can name (from services.common.spec.catalog)."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from services.api.catalog import schemas
from services.common.spec.catalog import BUILTIN_TASKS, KNOWN_MODELS
from services.common.storage.datasets import load_builtin

router = APIRouter(prefix="/v1", tags=["catalog"])


@router.get("/models", response_model=schemas.ModelList, summary="Known models")
def list_models() -> schemas.ModelList:
    """The models a spec can name in ``model``, with their source and size."""
    return schemas.ModelList(
        data=[
            schemas.Model(
                name=m.name,
                source=m.source,
                hf_id=m.hf_id,
                description=m.description,
                chat=m.chat,
                params=m.params,
            )
            for m in KNOWN_MODELS.values()
        ]
    )


@cache
def _n_rows(task: str) -> int:
    return len(load_builtin(task).examples)


@router.get("/tasks", response_model=schemas.TaskList, summary="Builtin tasks")
def list_tasks() -> schemas.TaskList:
    """The builtin tasks a spec can name in ``data.task``, with their labels and row counts."""
    return schemas.TaskList(
        data=[
            schemas.Task(
                name=t.name,
                kind=t.kind,
                description=t.description,
                labels=list(t.labels),
                n_rows=_n_rows(t.name),
            )
            for t in BUILTIN_TASKS.values()
        ]
    )
