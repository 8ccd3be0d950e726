"""Experiment logic: record a spec and queue its runs, read state back, cancel."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.api.errors import (
    Conflict,
    Invalid,
    TooManyRequests,
)
from services.api.experiments import checks, schemas
from services.api.experiments import repository as repo
from services.api.queue import TaskQueue
from services.common import db, jobs
from services.common.db.owner_lock import lock_owner
from services.common.db.status import ExperimentStatus, RunStatus
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, expand_runs
from services.common.spec.limits import control_char_problem
from services.common.storage.artifacts import ArtifactStore

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 255
QUOTA_RETRY_AFTER_S = 30


def request_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def create_experiment(
    session: Session,
    queue: TaskQueue,
    owner: str,
    spec: ExperimentSpec,
    idempotency_key: str | None,
    settings: Settings,
) -> tuple[db.Experiment, bool]:
    """Record the experiment and its runs, then queue the runs. Returns (row, created).

    The same Idempotency-Key with the same spec returns the first experiment; with
    another spec it is a 409.
    """
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise Invalid.at(
            ["header", "idempotency-key"], f"must be 1..{MAX_IDEMPOTENCY_KEY} characters"
        )
    if idempotency_key is not None and (problem := control_char_problem(idempotency_key)):
        raise Invalid.at(["header", "idempotency-key"], problem)
    spec_doc = spec.model_dump(mode="json")
    digest = request_hash(spec_doc)
    if idempotency_key is not None:
        existing = repo.find_by_idempotency_key(session, owner, idempotency_key)
        if existing is not None:
            return _replay(existing, digest), False
    runs = expand_runs(spec)
    checks.check_models(spec, runs, settings)
    lock_owner(session, owner)  # count and insert atomically, across API processes
    checks.check_tasks(session, owner, runs)  # under the lock: no upload deleted meanwhile
    active = repo.count_active(session, owner)
    if active >= settings.max_active_experiments:
        raise TooManyRequests(
            f"{active} experiments of this API key are queued or running; at most "
            f"{settings.max_active_experiments} (ICL_IT_MAX_ACTIVE_EXPERIMENTS)",
            headers={"Retry-After": str(QUOTA_RETRY_AFTER_S)},
        )
    try:
        experiment, run_ids = repo.insert_experiment(
            session,
            owner=owner,
            spec=spec_doc,
            runs=runs,
            idempotency_key=idempotency_key,
            request_hash=digest,
        )
        db.add_event(
            session,
            experiment.id,
            "experiment.queued",
            f"experiment queued with {len(runs)} runs",
            data={"total_runs": len(runs)},
        )
        session.commit()
    except IntegrityError:  # a concurrent request with the same key won the insert
        session.rollback()
        assert idempotency_key is not None
        existing = repo.find_by_idempotency_key(session, owner, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, digest), False

    try:
        queue.enqueue_runs(run_ids)
    except Exception as exc:
        defer_dispatch(session, experiment.id, run_ids, exc)
    return experiment, True


def defer_dispatch(
    session: Session, experiment_id: str, run_ids: list[str], exc: Exception
) -> None:
    """The broker did not take the runs: they stay queued in the database (the source of
    truth), marked never sent, and the reconciler sends them once the broker answers
    again (``services/common/jobs/reconciler.py``). The submission still succeeded."""
    log.warning(
        "broker unreachable (%s); experiment %s stays queued for the reconciler",
        type(exc).__name__,
        experiment_id,
    )
    repo.mark_not_dispatched(session, run_ids)
    db.add_event(
        session,
        experiment_id,
        "experiment.dispatch_deferred",
        "the task broker is unreachable; the runs stay queued and are sent when it is back",
        level="warning",
    )
    session.commit()


def _replay(existing: db.Experiment, digest: str) -> db.Experiment:
    if existing.request_hash != digest:
        raise Conflict(
            "this Idempotency-Key was used with a different request body "
            f"(experiment {existing.id})"
        )
    return existing


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


def summary(experiment: db.Experiment, progressed: float = 0.0) -> schemas.ExperimentSummary:
    return schemas.ExperimentSummary(
        id=experiment.id,
        name=experiment.name,
        status=ExperimentStatus(experiment.status),
        created_at=experiment.created_at,
        started_at=experiment.started_at,
        finished_at=experiment.finished_at,
        progress=_progress(experiment, progressed),
        error=_error(experiment.error_code, experiment.error_message),
    )


def run_summary(run: db.Run) -> schemas.RunSummary:
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


def detail(session: Session, experiment: db.Experiment) -> schemas.Experiment:
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
        **summary(experiment, progressed).model_dump(),
        spec=experiment.spec,
        runs=[run_summary(r) for r in runs],
    )


def list_experiments(
    session: Session, owner: str | None, limit: int, after: str | None
) -> schemas.ExperimentList:
    """Newest first; ``owner=None`` lists every owner's (admin keys)."""
    cursor = None
    if after is not None:
        cursor = repo.get_for_owner(session, owner, after) if db.is_id(after) else None
        if cursor is None:
            raise Invalid.at(["query", "after"], "unknown cursor", "invalid_cursor")
    rows, has_more = repo.page_for_owner(session, owner, limit, cursor)
    progressed = repo.run_progress(session, [r.id for r in rows])
    return schemas.ExperimentList(
        data=[summary(r, progressed.get(r.id, 0.0)) for r in rows],
        has_more=has_more,
        next_cursor=rows[-1].id if has_more and rows else None,
    )


def cancel(session: Session, queue: TaskQueue, experiment: db.Experiment) -> db.Experiment:
    """Ask running work to stop at its next step boundary; queued runs never start."""
    outcome = jobs.request_cancel(session, experiment.id)
    if outcome == jobs.CancelOutcome.FINISHED:
        raise Conflict(f"experiment already {experiment.status}")
    session.commit()
    if outcome == jobs.CancelOutcome.FINALIZE:
        try:
            queue.enqueue_finalize(experiment.id)
        except Exception:  # the reconciler finalizes it (all its runs are terminal)
            log.warning("could not queue the finalization of %s", experiment.id)
    session.refresh(experiment)
    return experiment


def events(
    session: Session, experiment: db.Experiment, after: int | None, limit: int
) -> schemas.EventList:
    rows, has_more = repo.events_page(session, experiment.id, after, limit)
    return schemas.EventList(
        data=[
            schemas.Event(
                id=e.id,
                created_at=e.created_at,
                level=e.level,
                type=e.type,
                message=e.message,
                run_id=e.run_id,
                data=e.data,
            )
            for e in rows
        ],
        has_more=has_more,
        next_cursor=str(rows[-1].id) if rows else (str(after) if after is not None else None),
    )


def results(store: ArtifactStore, experiment: db.Experiment) -> dict[str, Any]:
    if experiment.results_key is None:
        raise Conflict(_not_ready(experiment, "results"))
    return json.loads(store.get(experiment.results_key))


def report(store: ArtifactStore, experiment: db.Experiment) -> str:
    if experiment.report_key is None:
        raise Conflict(_not_ready(experiment, "report"))
    return store.get(experiment.report_key).decode()


def _not_ready(experiment: db.Experiment, what: str) -> str:
    if experiment.status in jobs.TERMINAL:
        return f"experiment {experiment.status} without a {what} (no run succeeded)"
    return f"experiment is {experiment.status}; the {what} exist once it has finished"
