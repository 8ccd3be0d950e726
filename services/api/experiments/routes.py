"""/v1/experiments: submit, list, read, cancel, events, results, report, artifacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from services.api.bodies import read_body
from services.api.deps import (
    CurrentOwner,
    CurrentPrincipal,
    ExperimentDep,
    QueueDep,
    SessionDep,
    SettingsDep,
    StoreDep,
)
from services.api.errors import (
    BAD_JSON_RESPONSE,
    PROBLEM_RESPONSES,
    PROBLEM_RESPONSES_JSON,
)
from services.api.experiments import artifacts, export, schemas, service, stream, views
from services.api.experiments.body import validate_submission
from services.api.experiments.repository import ExperimentFilter
from services.api.openapi import RESULTS_REF
from services.api.security import REPORT_CSP
from services.common.db.status import ExperimentStatus
from services.common.spec.tags import MAX_TAGS, Tag
from services.common.storage import exports

MAX_EVENT_ID = 2**63 - 1  # BIGINT
ID_PREFIX_PATTERN = r"^[0-9a-f]{1,32}$"  # ids are uuid4 hex
SANDBOXED = {"Content-Security-Policy": REPORT_CSP}  # an HTML artifact opened as a page
MAX_SPEC_BYTES = 256 * 1024
SPEC_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExperimentSpec"}}},
}

router = APIRouter(prefix="/v1/experiments", tags=["experiments"], responses=PROBLEM_RESPONSES)


@router.post(
    "",
    status_code=202,
    response_model=schemas.Experiment,
    summary="Submit an experiment",
    openapi_extra={"requestBody": SPEC_BODY},
    responses={
        202: {
            "description": "Accepted (also for a replay of an earlier Idempotency-Key, "
            "with the header Idempotent-Replayed: true)"
        },
        **BAD_JSON_RESPONSE,
        413: {**PROBLEM_RESPONSES[422], "description": "Body larger than the limit"},
        503: {
            **PROBLEM_RESPONSES[503],
            "description": "The broker or the database is unavailable; retry after Retry-After",
        },
    },
)
async def submit_experiment(
    request: Request,
    response: Response,
    session: SessionDep,
    queue: QueueDep,
    owner: CurrentOwner,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Same key + same body returns the first experiment; "
            "same key + another body is a 409."
        ),
    ] = None,
) -> schemas.Experiment:
    """Validate the spec, record the experiment and its runs, and queue the runs. With an
    Idempotency-Key, a retried submit returns the first experiment."""
    # The body is read here and validated in a worker thread: a large spec never blocks
    # the event loop (health checks, other requests) while it is checked and expanded.
    raw = await read_body(request, MAX_SPEC_BYTES)

    def submit() -> tuple[schemas.Experiment, bool]:
        spec = validate_submission(session, owner, raw, settings)
        experiment, created = service.create_experiment(
            session, queue, owner, spec, idempotency_key, settings
        )
        return views.detail(session, experiment), created

    detail, created = await run_in_threadpool(submit)
    response.headers["Location"] = f"/v1/experiments/{detail.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return detail


@router.get("", response_model=schemas.ExperimentList, summary="List your experiments")
def list_experiments(
    session: SessionDep,
    store: StoreDep,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    status: Annotated[
        list[ExperimentStatus] | None, Query(description="Any of these statuses (repeatable)")
    ] = None,
    name: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Names containing this (any case)"),
    ] = None,
    tag: Annotated[
        list[Tag] | None, Query(max_length=MAX_TAGS, description="Every one of these tags")
    ] = None,
    id_prefix: Annotated[
        str | None,
        Query(pattern=ID_PREFIX_PATTERN, description="Ids starting with this (short ids)"),
    ] = None,
) -> schemas.ExperimentList:
    """Your experiments, newest first, a page at a time (admin keys see everyone's),
    narrowed by status, name, tags and id prefix."""
    owner = None if principal.admin else principal.owner  # admin keys list everyone's
    where = ExperimentFilter(
        statuses=tuple(s.value for s in status or ()),
        name=name,
        tags=tuple(tag or ()),
        id_prefix=id_prefix,
    )
    return views.list_experiments(session, owner, limit, after, where, store)


@router.get("/{experiment_id}", response_model=schemas.Experiment, summary="Get an experiment")
def get_experiment(
    experiment: ExperimentDep, session: SessionDep, store: StoreDep
) -> schemas.Experiment:
    """An experiment's status, progress, resolved spec and runs (and its primary test)."""
    return views.detail(session, experiment, store)


@router.delete(
    "/{experiment_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a finished experiment with its runs, events and files (409 until finished)",
)
def delete_experiment(experiment: ExperimentDep, session: SessionDep, store: StoreDep) -> Response:
    """Delete a finished (succeeded, failed or cancelled) experiment: its runs, its events
    and every file it stored. 409 while it is queued, running or being cancelled."""
    service.delete(session, store, experiment)
    return Response(status_code=204)


@router.post(
    "/{experiment_id}/cancel",
    status_code=202,
    response_model=schemas.Experiment,
    summary="Cancel an experiment (running work stops at its next step boundary)",
)
def cancel_experiment(
    experiment: ExperimentDep, session: SessionDep, queue: QueueDep
) -> schemas.Experiment:
    """Ask an experiment to stop: queued runs never start, running ones stop at their next step
    boundary; 409 once it has finished."""
    return views.detail(session, service.cancel(session, queue, experiment))


@router.get("/{experiment_id}/events", response_model=schemas.EventList, summary="Events")
def list_events(
    experiment: ExperimentDep,
    session: SessionDep,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="Events with a larger id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> schemas.EventList:
    """An experiment's event log (state changes, progress, errors), oldest first; poll with ?after=
    for new events."""
    return views.events(session, experiment, after, limit)


@router.get(
    "/{experiment_id}/events/stream",
    response_class=EventSourceResponse,
    summary="Events as server-sent events, until the experiment has ended",
    responses=stream.STREAM_RESPONSES,
)
async def stream_events(
    request: Request,
    experiment: ExperimentDep,
    session: SessionDep,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_EVENT_ID, description="Events with a larger id")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="Resume after this event (sent by EventSource)")
    ] = None,
) -> EventSourceResponse:
    """The event log as it grows (``id``: event id, ``event``: its type, ``data``: the event
    as in ``/events``), resumable with Last-Event-ID or ?after=; ends once the experiment
    has ended and its last event is sent."""
    cursor = stream.resume_cursor(last_event_id, after)
    experiment_id = experiment.id
    session.close()  # the stream polls in sessions of its own: hold no connection
    messages = stream.event_messages(request.app.state.sessionmaker, experiment_id, cursor)
    return EventSourceResponse(messages, ping=stream.PING_S)


# The document's schema is the analysis's own JSON Schema, added by services/api/openapi.py.
_RESULTS = {
    "oneOf": [
        {"$ref": RESULTS_REF},
        {"$ref": "#/components/schemas/ResultsTable"},
    ],
    "description": "The results document (services/common/schemas/results.schema.json); "
    "with ?table=, the table as {columns, rows}.",
}
_TABLE = {"type": "string", "format": "binary"}


@router.get(
    "/{experiment_id}/results",
    summary="The results document (schema icl-it/results/v1), or a long table of it "
    "(?format=csv|parquet, ?table=cells|examples; docs/EXPORTS.md); 409 until finished",
    response_model=None,
    responses={
        200: {
            "content": {
                "application/json": {"schema": _RESULTS},
                "text/csv": {"schema": _TABLE},
                "application/vnd.apache.parquet": {"schema": _TABLE},
            }
        }
    },
)
def get_results(
    experiment: ExperimentDep,
    store: StoreDep,
    session: SessionDep,
    format: Annotated[
        export.ExportFormat,
        Query(description="json: the document (or the table's records with ?table=)"),
    ] = "json",
    table: Annotated[
        export.ExportTable | None,
        Query(
            description="cells: statistics per cell, metric, pair and layer; "
            "examples: per-example values. Default with csv/parquet: cells."
        ),
    ] = None,
) -> Any:
    """The results of a finished experiment, as the JSON document or as a long table."""
    if format == "json" and table is None:
        return views.results(store, experiment)
    which = table or "cells"
    rows = export.table(session, store, experiment, which)
    name = export.filename(experiment, which, format)
    return Response(
        exports.render(rows, format),
        media_type=exports.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get(
    "/{experiment_id}/report",
    response_class=HTMLResponse,
    summary="HTML report with the figures; 409 until finished",
    responses=PROBLEM_RESPONSES_JSON,
)
def get_report(experiment: ExperimentDep, store: StoreDep) -> HTMLResponse:
    """The HTML report of a finished experiment."""
    # opened straight from the API, the report runs sandboxed: an opaque origin, no script
    return HTMLResponse(views.report(store, experiment), headers=SANDBOXED)


@router.get(
    "/{experiment_id}/artifacts",
    response_model=schemas.ArtifactList,
    summary="Hidden-state and result artifacts, with download links",
)
def list_artifacts(
    experiment: ExperimentDep, session: SessionDep, store: StoreDep
) -> schemas.ArtifactList:
    """The files an experiment produced (hidden states, analyses, results, report, figures), with
    download links."""
    return artifacts.list_artifacts(session, store, experiment)


@router.get(
    "/{experiment_id}/artifacts/{artifact_id}",
    response_class=Response,
    summary="Download one artifact",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_artifact(
    experiment: ExperimentDep, artifact_id: str, session: SessionDep, store: StoreDep
) -> Response:
    """Download one artifact's bytes."""
    artifact, key, filename = artifacts.find_artifact(session, store, experiment, artifact_id)
    path = store.local_path(key)
    if path is not None:
        return FileResponse(
            path, media_type=artifact.media_type, filename=filename, headers=SANDBOXED
        )
    return Response(
        store.get(key),
        media_type=artifact.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **SANDBOXED},
    )
