"""/v1/datasets: upload a JSONL task dataset, usable as data.task = upload:<id>."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from services.api.bodies import read_body
from services.api.datasets import schemas, service
from services.api.deps import CurrentOwner, SessionDep, SettingsDep, StoreDep
from services.api.errors import PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], responses=PROBLEM_RESPONSES)

_BODY = {
    "required": True,
    "description": 'JSONL rows: {"text", "label"} (classification) or {"source", "target"} '
    "(translation); or CSV, Parquet or JSONL with other columns, named by the query "
    f"parameters; at most {service.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
    # octet-stream: what OpenAPI client generators send as a raw body; any type is read
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


@router.post(
    "",
    status_code=201,
    response_model=schemas.Dataset,
    summary="Upload a dataset (JSONL, CSV or Parquet)",
    openapi_extra={"requestBody": _BODY},
    responses={413: {"model": Problem, "description": "Larger than the limit"}},
)
async def upload_dataset(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    owner: CurrentOwner,
    settings: SettingsDep,
    upload: Annotated[schemas.UploadOptions, Query()],
) -> schemas.Dataset:
    """Upload a dataset (JSONL, CSV or Parquet, with a column mapping); it is validated like a
    builtin task and stored as JSONL under a new id. Name it in a spec as ``upload:<id>``."""
    raw = await read_body(request, service.MAX_UPLOAD_BYTES, "uploads are")
    return await run_in_threadpool(
        service.create_dataset, session, store, owner, raw, settings, upload
    )


@router.get("", response_model=schemas.DatasetList, summary="List your uploaded datasets")
def list_datasets(session: SessionDep, owner: CurrentOwner) -> schemas.DatasetList:
    """Your uploaded datasets, newest first."""
    return service.list_datasets(session, owner)


@router.get("/{dataset_id}", response_model=schemas.Dataset, summary="Get an uploaded dataset")
def get_dataset(dataset_id: str, session: SessionDep, owner: CurrentOwner) -> schemas.Dataset:
    """An uploaded dataset's kind, size and hash; 404 when it is not yours."""
    return service.get_dataset(session, owner, dataset_id)


@router.delete(
    "/{dataset_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an uploaded dataset (409 while an unfinished experiment uses it)",
)
def delete_dataset(
    dataset_id: str, session: SessionDep, store: StoreDep, owner: CurrentOwner
) -> Response:
    """Delete one of your datasets; 409 while an unfinished experiment reads it."""
    service.delete_dataset(session, store, owner, dataset_id)
    return Response(status_code=204)
