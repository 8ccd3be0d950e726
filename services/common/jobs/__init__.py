"""Job state: every status transition of experiments and runs, as named functions.

The API, the GPU worker, the analysis worker and the reconciler call these; none of them
writes a status itself. Each transition is a conditional UPDATE (``WHERE status IN ...``),
so concurrent callers (a redelivered task, two finalizers, the API cancelling while a
worker finishes, two reconcilers) change a row at most once. Transitions take a session
and never commit: the caller commits, then acknowledges its message or answers.

    claim_run             queued (or running, held by a dead worker) -> running
    heartbeat             running: the holder says it is alive
    record_extraction     running: hidden states written, analysis due
    fail_run              non-terminal -> failed (with an error code)
    cancel_run            non-terminal -> cancelled
    record_analysis       running -> succeeded ("analysed")
    requeue_run           running, holder silent -> queued again (reconciler)
    request_cancel        experiment queued | running -> cancelling
    finish_experiment     experiment non-terminal -> succeeded | failed | cancelled
"""

from __future__ import annotations

# the statuses and error codes, imported from here by callers of the transitions
from services.common.db.status import (
    CANCEL_REQUESTED,
    TERMINAL,
    ErrorCode,
    ExperimentStatus,
    RunStatus,
)
from services.common.jobs.experiments import (
    CancelOutcome,
    final_status,
    finish_experiment,
    request_cancel,
)
from services.common.jobs.runs import (
    Claim,
    ClaimOutcome,
    cancel_requested,
    cancel_run,
    claim_run,
    fail_run,
    heartbeat,
    holder_is_dead,
    mark_dispatched,
    record_analysis,
    record_extraction,
    refresh_completed_runs,
    requeue_run,
    worker_identity,
)

__all__ = [
    "CANCEL_REQUESTED",
    "CancelOutcome",
    "Claim",
    "ClaimOutcome",
    "ErrorCode",
    "ExperimentStatus",
    "RunStatus",
    "TERMINAL",
    "cancel_requested",
    "cancel_run",
    "claim_run",
    "fail_run",
    "final_status",
    "finish_experiment",
    "heartbeat",
    "holder_is_dead",
    "mark_dispatched",
    "record_analysis",
    "record_extraction",
    "refresh_completed_runs",
    "request_cancel",
    "requeue_run",
    "worker_identity",
]
