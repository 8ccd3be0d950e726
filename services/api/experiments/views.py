"""The experiments' read side: rows -> response models (summaries with progress, the
detail with its runs, pages of experiments and events), and the stored results and
report. Commands that change rows are in ``service``."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from services.api.errors import Conflict, Invalid
from services.api.experiments import headline, schemas
from services.api.experiments import repository as repo
from services.common import db, jobs
from services.common.db.status import ExperimentStatus, RunStatus
from services.common.storage.artifacts import ArtifactStore


def _error(code: str | None, message: str | None) -> schemas.ErrorInfo | None:
    return schemas.ErrorInfo(code=code, message=message or "") if code else None


def _progress(experiment: db.Experiment, progressed: float) -> schemas.Progress:
    """progressed: finished runs count 1, running runs their own progress, read from the
    runs in one statement (one snapshot), so the fraction never steps back when a run
    moves from running to finished between two reads."""
    total = experiment.total_runs
    fraction = 1.0 if experiment.status == jobs.ExperimentStatus.SUCCEEDED else 0.0
    if total and experiment.status != jobs.ExperimentStatus.SUCCEEDED:
        fraction = min(progressed / total, 1.0)
    return schemas.Progress(
        completed_runs=experiment.completed_runs, total_runs=total, fraction=round(fraction, 4)
    )


def summary(
    experiment: db.Experiment, progressed: float = 0.0, store: ArtifactStore | None = None
) -> schemas.ExperimentSummary:
    """The list view of an experiment: status, times, progress, error, what it runs and,
    with the store and once it has results, its primary test."""
    return schemas.ExperimentSummary(
        id=experiment.id,
        name=experiment.name,
        tags=list(experiment.tags or []),
        status=ExperimentStatus(experiment.status),
        created_at=experiment.created_at,
        started_at=experiment.started_at,
        finished_at=experiment.finished_at,
        progress=_progress(experiment, progressed),
        error=_error(experiment.error_code, experiment.error_message),
        models=headline.models(experiment.spec),
        cells=headline.cells(experiment),
        primary=headline.primary(store, experiment),
    )


def run_summary(run: db.Run) -> schemas.RunSummary:
    """One run as the experiment's detail shows it."""
    return schemas.RunSummary(
        id=run.id,
        index=run.index,
        key=run.key,
        status=RunStatus(run.status),
        stage=run.stage,
        progress=run.progress,
        attempts=run.attempts,
        studies=run.studies,
        factors=run.factors,
        control=run.config.get("control", "none"),
        seed=run.config.get("seed", 0),
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=_error(run.error_code, run.error_message),
    )


def detail(
    session: Session, experiment: db.Experiment, store: ArtifactStore | None = None
) -> schemas.Experiment:
    """The experiment with its spec and runs; progress counts running runs' own progress."""
    runs = repo.runs_of(session, experiment.id)
    progressed = sum(
        1.0
        if r.status in jobs.TERMINAL
        else r.progress
        if r.status == jobs.RunStatus.RUNNING
        else 0.0
        for r in runs
    )
    return schemas.Experiment(
        **summary(experiment, progressed, store).model_dump(),
        spec=experiment.spec,
        runs=[run_summary(r) for r in runs],
    )


def list_experiments(
    session: Session,
    owner: str | None,
    limit: int,
    after: str | None,
    where: repo.ExperimentFilter = repo.ExperimentFilter(),
    store: ArtifactStore | None = None,
) -> schemas.ExperimentList:
    """Newest first, narrowed by ``where``; ``owner=None`` lists every owner's (admin keys)."""
    cursor = None
    if after is not None:
        cursor = repo.get_for_owner(session, owner, after) if db.is_id(after) else None
        if cursor is None:
            raise Invalid.at(["query", "after"], "unknown cursor", "invalid_cursor")
    rows, has_more = repo.page_for_owner(session, owner, limit, cursor, where)
    progressed = repo.run_progress(session, [r.id for r in rows])
    return schemas.ExperimentList(
        data=[summary(r, progressed.get(r.id, 0.0), store) for r in rows],
        has_more=has_more,
        next_cursor=rows[-1].id if has_more and rows else None,
    )


def event_item(e: db.Event) -> schemas.Event:
    """One event row as the API shows it (a list item, and an SSE message's data)."""
    return schemas.Event(
        id=e.id,
        created_at=e.created_at,
        level=e.level,
        type=e.type,
        message=e.message,
        run_id=e.run_id,
        data=e.data,
    )


def events(
    session: Session, experiment: db.Experiment, after: int | None, limit: int
) -> schemas.EventList:
    """A page of the experiment's events after the cursor ``after``, oldest first."""
    rows, has_more = repo.events_page(session, experiment.id, after, limit)
    return schemas.EventList(
        data=[event_item(e) for e in rows],
        has_more=has_more,
        next_cursor=str(rows[-1].id) if rows else (str(after) if after is not None else None),
    )


def results(store: ArtifactStore, experiment: db.Experiment) -> dict[str, Any]:
    """The stored results document; 409 until the experiment has one."""
    if experiment.results_key is None:
        raise Conflict(_not_ready(experiment, "results"))
    return json.loads(store.get(experiment.results_key))


def report(store: ArtifactStore, experiment: db.Experiment) -> str:
    """The stored HTML report; 409 until the experiment has one."""
    if experiment.report_key is None:
        raise Conflict(_not_ready(experiment, "report"))
    return store.get(experiment.report_key).decode()


def _not_ready(experiment: db.Experiment, what: str) -> str:
    if experiment.status in jobs.TERMINAL:
        return f"experiment {experiment.status} without a {what} (no run succeeded)"
    return f"experiment is {experiment.status}; the {what} exist once it has finished"
