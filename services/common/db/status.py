"""Job statuses and error codes: str enums, so the stored values stay plain strings.

    experiment: queued -> running -> succeeded | failed | cancelled  (cancelling in between)
    run:        queued -> running -> succeeded | failed | cancelled  (running -> queued when
                the reconciler requeues a run whose worker stopped heart-beating)

Only ``services.common.jobs`` writes these to rows; everything else reads them.
"""

from __future__ import annotations

from enum import StrEnum


class ExperimentStatus(StrEnum):
    """The states of an experiment; ``cancelling`` lasts until its running work stops."""

    QUEUED = "queued"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunStatus(StrEnum):
    """The states of a run."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ErrorCode(StrEnum):
    """``error.code`` of a failed run or experiment (part of the API contract)."""

    TIME_LIMIT = "time_limit"
    MODEL_UNAVAILABLE = "model_unavailable"
    INVALID_DATA = "invalid_data"
    OUT_OF_MEMORY = "out_of_memory"
    INVALID_SPEC = "invalid_spec"
    ENGINE_ERROR = "engine_error"
    WORKER_LOST = "worker_lost"
    ANALYSIS_ERROR = "analysis_error"
    RUN_FAILED = "run_failed"
    BROKER_UNAVAILABLE = "broker_unavailable"


# plain strings, for SQL ``IN`` lists (the enums compare equal to them)
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
CANCEL_REQUESTED: frozenset[str] = frozenset({"cancelling", "cancelled"})
