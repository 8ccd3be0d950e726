"""Experiment commands: record a spec and queue its runs (deferred to the reconciler while
the broker is down), and cancel. The read side is ``views``; the downloadable files are
``artifacts``."""

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
from services.api.experiments import checks
from services.api.experiments import repository as repo
from services.api.queue import TaskQueue
from services.common import db, jobs
from services.common.db.owner_lock import lock_owner
from services.common.runtime.settings import Settings
from services.common.spec import ExperimentSpec, expand_runs
from services.common.spec.limits import control_char_problem
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.layout import experiment_prefix

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 255
QUOTA_RETRY_AFTER_S = 30


def request_hash(spec: dict[str, Any]) -> str:
    """The canonical JSON's sha256: what an Idempotency-Key replay must match."""
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
    checks.check_hf_data(runs, settings)
    lock_owner(session, owner)  # count and insert atomically, across API processes
    checks.check_catalog(session, owner, spec, settings)  # under the lock: uploads stay
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


def delete(session: Session, store: ArtifactStore, experiment: db.Experiment) -> None:
    """Delete a finished experiment: its rows (runs and events cascade), then its files.
    409 while it is queued, running or being cancelled: a worker may still write to it."""
    experiment_id, status = experiment.id, experiment.status
    if not repo.delete_finished(session, experiment_id):
        session.rollback()
        raise Conflict(
            f"experiment is {status}; only a finished experiment can be deleted "
            "(cancel it first, then delete it once it has stopped)"
        )
    session.commit()
    try:
        store.delete_prefix(experiment_prefix(experiment_id))
    except OSError as exc:  # the rows are gone; stray files are only disk space
        log.warning("experiment %s: files not removed: %s", experiment_id, exc)
