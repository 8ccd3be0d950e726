"""Experiment transitions: request a cancel, decide and record the final status
(see ``services.common.jobs``)."""

from __future__ import annotations

import enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.db import Experiment, Run, add_event, utcnow
from services.common.db.status import (
    CANCEL_REQUESTED,
    TERMINAL,
    ErrorCode,
    ExperimentStatus,
    RunStatus,
)
from services.common.jobs.runs import changed_rows, refresh_completed_runs


class CancelOutcome(enum.StrEnum):
    """What a cancel request did to an experiment; on ``FINALIZE`` the caller queues the summary."""

    FINISHED = "finished"  # it had already succeeded or failed: nothing to cancel
    UNCHANGED = "unchanged"  # already cancelling or cancelled
    CANCELLED = "cancelled"  # nothing had run: cancelled at once
    CANCELLING = "cancelling"  # running work stops at its next step boundary
    FINALIZE = "finalize"  # nothing left to run, some results: the summary is due


def request_cancel(s: Session, experiment_id: str) -> CancelOutcome:
    """queued | running -> cancelling; queued runs are cancelled before they start."""
    status = s.scalar(select(Experiment.status).where(Experiment.id == experiment_id))
    if status in (ExperimentStatus.SUCCEEDED, ExperimentStatus.FAILED):
        return CancelOutcome.FINISHED
    changed = s.execute(
        update(Experiment)
        .where(
            Experiment.id == experiment_id,
            Experiment.status.in_((ExperimentStatus.QUEUED.value, ExperimentStatus.RUNNING.value)),
        )
        .values(status=ExperimentStatus.CANCELLING.value)
        .execution_options(synchronize_session=False)
    )
    if changed_rows(changed) != 1:
        return CancelOutcome.UNCHANGED
    n = s.execute(
        update(Run)
        .where(Run.experiment_id == experiment_id, Run.status == RunStatus.QUEUED.value)
        .values(status=RunStatus.CANCELLED.value, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    refresh_completed_runs(s, experiment_id)
    add_event(
        s,
        experiment_id,
        "experiment.cancelling",
        "cancellation requested",
        data={"runs_cancelled_before_start": changed_rows(n)},
    )
    statuses = [
        st for (st,) in s.execute(select(Run.status).where(Run.experiment_id == experiment_id))
    ]
    if any(st not in TERMINAL for st in statuses):
        return CancelOutcome.CANCELLING
    if RunStatus.SUCCEEDED in statuses:
        return CancelOutcome.FINALIZE
    finish_experiment(s, experiment_id, ExperimentStatus.CANCELLED)
    return CancelOutcome.CANCELLED


def final_status(
    experiment_status: str, runs: list[tuple[str, str | None, str | None]]
) -> tuple[ExperimentStatus, ErrorCode | None, str | None]:
    """(status, error_code, error_message) of an experiment whose runs are all terminal.

    ``runs`` holds (status, error_code, error_message) per run, in run order.
    """
    statuses = [status for status, _, _ in runs]
    if experiment_status in CANCEL_REQUESTED and RunStatus.CANCELLED in statuses:
        return ExperimentStatus.CANCELLED, None, None
    failed = [(code, msg) for status, code, msg in runs if status == RunStatus.FAILED]
    if failed:
        code, msg = failed[0]
        return (
            ExperimentStatus.FAILED,
            ErrorCode.RUN_FAILED,
            f"{len(failed)} of {len(runs)} runs failed; first: [{code}] {msg}",
        )
    if RunStatus.CANCELLED in statuses:
        return ExperimentStatus.CANCELLED, None, None
    return ExperimentStatus.SUCCEEDED, None, None


def finish_experiment(
    s: Session,
    experiment_id: str,
    status: ExperimentStatus,
    *,
    error_code: ErrorCode | None = None,
    error_message: str | None = None,
    results_key: str | None = None,
    report_key: str | None = None,
) -> bool:
    """Move a non-terminal experiment to its final status; True for the one caller that did.

    A conditional UPDATE, so concurrent finalizers (two analysis tasks finishing
    together, or the API cancelling) finish an experiment exactly once.
    """
    assert status in TERMINAL, status
    code = error_code.value if error_code is not None else None
    result = s.execute(
        update(Experiment)
        .where(Experiment.id == experiment_id, Experiment.status.not_in(TERMINAL))
        .values(
            status=status.value,
            finished_at=utcnow(),
            error_code=code,
            error_message=error_message,
            results_key=results_key,
            report_key=report_key,
        )
        .execution_options(synchronize_session=False)
    )
    if changed_rows(result) != 1:
        return False
    refresh_completed_runs(s, experiment_id)
    add_event(
        s,
        experiment_id,
        f"experiment.{status.value}",
        f"experiment {status.value}" + (f": {error_message}" if error_message else ""),
        level="error" if status == ExperimentStatus.FAILED else "info",
        data={"status": status.value, "error_code": code},
    )
    return True
