"""Run transitions: claim, heartbeat, record, fail, cancel, requeue (see ``services.common.jobs``)."""

from __future__ import annotations

import enum
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common.db import Experiment, Run, add_event, utcnow

# the statuses and error codes, imported from here by callers of the transitions
from services.common.db.status import (
    CANCEL_REQUESTED,
    TERMINAL,
    ErrorCode,
    ExperimentStatus,
    RunStatus,
)

_ACTIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)


def worker_identity() -> str:
    """``host:pid`` of this process; stored on the run it holds, never shown to users."""
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(worker_id: str | None) -> bool:
    """True when the holder ran on this host and its process is gone (it cannot beat)."""
    if not worker_id or ":" not in worker_id:
        return True
    host, _, pid = worker_id.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine: only its heartbeat tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def changed_rows(result: Any) -> int:
    """The rows a conditional UPDATE changed: 1 means this caller won the transition."""
    return int(result.rowcount)


def _run_ended_event(s: Session, run: Run, status: str, code: str | None, note: str) -> None:
    add_event(
        s,
        run.experiment_id,
        f"run.{status}",
        f"run {run.index + 1}: {note}",
        run_id=run.id,
        level="error" if status == RunStatus.FAILED else "info",
        data={"error_code": code} if code else {},
    )


def refresh_completed_runs(s: Session, experiment_id: str) -> None:
    """Recount terminal runs (idempotent, unlike an increment, under redelivery)."""
    done = (
        select(func.count())
        .select_from(Run)
        .where(Run.experiment_id == experiment_id, Run.status.in_(TERMINAL))
        .scalar_subquery()
    )
    s.execute(update(Experiment).where(Experiment.id == experiment_id).values(completed_runs=done))


# -- runs: the GPU worker ------------------------------------------------------------------


class ClaimOutcome(enum.StrEnum):
    """Why a run task has nothing to compute."""

    MISSING = "missing"
    ALREADY_SUCCEEDED = "already_succeeded"
    ALREADY_FAILED = "already_failed"
    ALREADY_CANCELLED = "already_cancelled"
    EXTRACTED = "extracted"  # states recorded earlier: analysis is due
    CANCELLED = "cancelled"  # cancelled before it started (now)
    FAILED = "failed"  # attempts exhausted (now)
    HELD = "held"  # a live worker holds it: this delivery is a duplicate


@dataclass(frozen=True)
class Claim:
    """A run a worker has claimed: what it needs to compute it, and which attempt this is."""

    run_id: str
    experiment_id: str
    config: dict[str, Any]
    attempt: int
    index: int
    total_runs: int


def claim_run(
    s: Session,
    run_id: str,
    worker_id: str,
    *,
    max_attempts: int,
    heartbeat_timeout_s: float,
) -> Claim | ClaimOutcome:
    """Take a run for computing (attempts + 1), or say why there is nothing to compute.

    A running run is taken over only from a holder that cannot be computing it any more:
    this process itself (a redelivery to the same process), a dead process on this host,
    or a holder whose heartbeat is older than ``heartbeat_timeout_s``.
    """
    run = s.get(Run, run_id, populate_existing=True)
    if run is None:
        return ClaimOutcome.MISSING
    exp = s.get(Experiment, run.experiment_id, populate_existing=True)
    assert exp is not None
    if run.status in TERMINAL:
        return ClaimOutcome("already_" + run.status)
    if run.states_key is not None:
        return ClaimOutcome.EXTRACTED
    if exp.status in CANCEL_REQUESTED or exp.status in TERMINAL:
        cancel_run(s, run, "cancelled before it started")
        return ClaimOutcome.CANCELLED
    if run.status == RunStatus.RUNNING and run.worker_id != worker_id:
        beat = run.heartbeat_at or run.started_at
        fresh = beat is not None and utcnow() - beat < timedelta(seconds=heartbeat_timeout_s)
        if fresh and not holder_is_dead(run.worker_id):
            return ClaimOutcome.HELD
    if run.attempts >= max_attempts:
        msg = f"the worker was lost {run.attempts} times while computing this run"
        fail_run(s, run, ErrorCode.WORKER_LOST, msg, msg)
        return ClaimOutcome.FAILED
    now = utcnow()
    claimed = s.execute(
        update(Run)
        .where(Run.id == run_id, Run.status.in_(_ACTIVE), Run.attempts == run.attempts)
        .values(
            status=RunStatus.RUNNING.value,
            attempts=Run.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            worker_id=worker_id,
            stage="starting",
            progress=0.0,
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(claimed) != 1:
        return ClaimOutcome.HELD  # another delivery claimed it between our read and write
    s.execute(
        update(Experiment)
        .where(Experiment.id == exp.id, Experiment.status == ExperimentStatus.QUEUED)
        .values(status=ExperimentStatus.RUNNING.value, started_at=now)
    )
    attempt = run.attempts + 1
    add_event(
        s,
        exp.id,
        "run.started",
        f"run {run.index + 1}/{exp.total_runs} started"
        + (f" (attempt {attempt})" if attempt > 1 else ""),
        run_id=run_id,
        data={"attempt": attempt},
    )
    return Claim(run_id, exp.id, dict(run.config), attempt, run.index, exp.total_runs)


def heartbeat(
    s: Session,
    run_id: str,
    worker_id: str,
    *,
    stage: str | None = None,
    progress: float | None = None,
) -> bool:
    """The holder is alive (and, optionally, where it is); False when it no longer holds
    the run (requeued by the reconciler, cancelled, finished)."""
    values: dict[str, Any] = {"heartbeat_at": utcnow()}
    if stage is not None:
        values["stage"] = stage[:64]
    if progress is not None:
        values["progress"] = progress
    result = s.execute(
        update(Run)
        .where(Run.id == run_id, Run.worker_id == worker_id, Run.status == RunStatus.RUNNING.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) == 1


def cancel_requested(s: Session, experiment_id: str) -> bool:
    """True when the experiment is being cancelled or is gone: running work should stop."""
    status = s.scalar(select(Experiment.status).where(Experiment.id == experiment_id))
    return status is None or status in CANCEL_REQUESTED


def record_extraction(
    s: Session,
    run_id: str,
    worker_id: str,
    *,
    states_key: str,
    states_sha256: str,
    states_shape: list[int],
    states_bytes: int,
    prompts_key: str,
    timings: dict[str, float],
) -> bool:
    """Hidden states are in the store; the run now waits for its analysis. False when
    this worker no longer holds the run (requeued to another, cancelled, finished)."""
    run = s.get(Run, run_id)
    if run is None:
        return False
    result = s.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.RUNNING.value, Run.worker_id == worker_id)
        .values(
            states_key=states_key,
            states_sha256=states_sha256,
            states_shape=states_shape,
            states_bytes=states_bytes,
            prompts_key=prompts_key,
            timings=timings,
            stage="extracted",
            progress=1.0,
            dispatched_at=utcnow(),  # the analysis task is sent right after the commit
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(result) != 1:
        return False
    add_event(
        s,
        run.experiment_id,
        "run.extracted",
        f"hidden states {states_shape} written",
        run_id=run_id,
        data={"shape": states_shape, "sha256": states_sha256, "timings": timings},
    )
    return True


def _end_run(
    s: Session, run: Run | str, status: RunStatus, code: str | None, message: str | None, note: str
) -> bool:
    row = s.get(Run, run) if isinstance(run, str) else run
    if row is None:
        return False
    result = s.execute(
        update(Run)
        .where(Run.id == row.id, Run.status.not_in(TERMINAL))
        .values(
            status=status.value,
            finished_at=utcnow(),
            error_code=code,
            error_message=message,
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(result) != 1:
        return False
    refresh_completed_runs(s, row.experiment_id)
    _run_ended_event(s, row, status, code, note)
    return True


def fail_run(s: Session, run: Run | str, code: ErrorCode, message: str, note: str) -> bool:
    """Mark a run failed with a code and message unless it has ended; True if this call ended it."""
    return _end_run(s, run, RunStatus.FAILED, code.value, message[:4000], note)


def cancel_run(s: Session, run: Run | str, note: str) -> bool:
    """Mark a run cancelled, unless it has already ended; True if this call ended it."""
    return _end_run(s, run, RunStatus.CANCELLED, None, None, note)


# -- runs: the analysis worker -------------------------------------------------------------


def record_analysis(s: Session, run_id: str, analysis_key: str) -> bool:
    """running (extracted) -> succeeded; True for the one caller that did it."""
    run = s.get(Run, run_id)
    if run is None:
        return False
    done = s.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == RunStatus.RUNNING.value)
        .values(
            status=RunStatus.SUCCEEDED.value,
            finished_at=utcnow(),
            analysis_key=analysis_key,
            stage="done",
            progress=1.0,
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(done) != 1:
        return False
    refresh_completed_runs(s, run.experiment_id)
    add_event(
        s, run.experiment_id, "run.succeeded", f"run {run.index + 1}: analysed", run_id=run_id
    )
    return True


# -- runs: the reconciler ------------------------------------------------------------------


def requeue_run(s: Session, run: Run, *, max_attempts: int, reason: str) -> RunStatus | None:
    """A running run whose holder went silent: queued again, or failed once its attempts
    are spent, or cancelled when its experiment is being cancelled. None when the row
    moved on in the meantime."""
    exp_status = s.scalar(select(Experiment.status).where(Experiment.id == run.experiment_id))
    if exp_status in CANCEL_REQUESTED or exp_status in TERMINAL:
        return RunStatus.CANCELLED if cancel_run(s, run, f"cancelled ({reason})") else None
    if run.attempts >= max_attempts:
        msg = f"{reason}; gave up after {run.attempts} attempts"
        return RunStatus.FAILED if fail_run(s, run, ErrorCode.WORKER_LOST, msg, msg) else None
    result = s.execute(
        update(Run)
        .where(
            Run.id == run.id,
            Run.status == RunStatus.RUNNING.value,
            Run.worker_id.is_(None) if run.worker_id is None else Run.worker_id == run.worker_id,
            Run.states_key.is_(None),
        )
        .values(
            status=RunStatus.QUEUED.value,
            worker_id=None,
            stage="requeued",
            progress=0.0,
            dispatched_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(result) != 1:
        return None
    add_event(
        s,
        run.experiment_id,
        "run.requeued",
        f"run {run.index + 1}: requeued ({reason})",
        run_id=run.id,
        level="warning",
        data={"attempts": run.attempts},
    )
    return RunStatus.QUEUED


def mark_dispatched(s: Session, run_id: str, seen: datetime | None) -> bool:
    """Claim the right to re-send a run's task (compare-and-set on ``dispatched_at``), so
    that several reconcilers send it once."""
    cond = Run.dispatched_at.is_(None) if seen is None else Run.dispatched_at == seen
    result = s.execute(
        update(Run)
        .where(Run.id == run_id, cond)
        .values(dispatched_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return changed_rows(result) == 1


# -- experiments ---------------------------------------------------------------------------
