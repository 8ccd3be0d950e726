"""GPU queue task: one run of an experiment, from its row to hidden-state artifacts.

``consume_run(run_id)`` is idempotent on the run id. A redelivered task (the
worker process died, Celery put the message back) claims the same row again, rewrites
the same artifact keys and updates the same row; it never adds runs. A run whose
artifacts are already recorded is not recomputed: its analysis is enqueued again.

Order of writes: artifacts, then the row (keys, checksum, shape), then events, then
the analysis task. A reader that sees a key on a row can always fetch the artifact.

While it computes, the task's process beats (``runs.heartbeat_at``), records progress and
checks for a cancel (``gpu_worker.liveness``); the reconciler requeues a run whose holder
went silent. Status changes go through
``services.common.jobs``; connection errors are retried (``services.common.runtime.retry``), and a
follow-up task that cannot be sent is sent again by the reconciler, since the row says
it is due.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure, worker_process_init, worker_ready

from services.common import jobs
from services.common.db import dispose_engines, session_scope
from services.common.jobs import Claim, ClaimOutcome, ErrorCode
from services.common.runtime.celery_app import TASK_ANALYZE, TASK_FINALIZE, TASK_RUN, app
from services.common.runtime.retry import (
    TASK_RETRY_OPTIONS,
    is_transient,
    retry_transient,
    send_safely,
)
from services.common.runtime.settings import get_settings
from services.common.spec import RunConfig
from services.common.storage.artifacts import ArtifactStore, configured_store
from services.common.storage.hidden_states import sha256_hex
from services.common.storage.layout import PROMPTS_FILE, STATES_FILE, run_file_key
from services.gpu_worker.liveness import (
    cancel_reader,
    heartbeat,
    progress_writer,
    tuning_writer,
)
from services.gpu_worker.run_telemetry import observe_run
from services.gpu_worker.steps import extract_run

if TYPE_CHECKING:
    from services.gpu_worker.engine import Engine

log = logging.getLogger(__name__)

_engine: Engine | None = None


@worker_process_init.connect
def _init_worker_process(**_: Any) -> None:
    """Runs in each pool child after fork: CUDA and the model live here, never in the parent."""
    dispose_engines()
    try:
        get_engine()
    except Exception:  # retried by the first task, which records the error on its run
        log.exception("could not create the engine in a worker process")


@worker_ready.connect
def _start_reconciler(**_: Any) -> None:
    """The main process (no CUDA) reconciles at start and then periodically."""
    from services.common.jobs.reconciler import start_reconciler

    start_reconciler(app)


def get_engine() -> Engine:
    """The per-process engine; models stay loaded in it across tasks."""
    global _engine
    if _engine is None:
        from services.gpu_worker.engine import Engine

        _engine = Engine()
    return _engine


def error_code_for(exc: BaseException) -> ErrorCode:
    """A stable error code for an exception raised by the engine."""
    from services.common.storage.datasets import DatasetError
    from services.gpu_worker.models import ModelLoadError

    if isinstance(exc, SoftTimeLimitExceeded):
        return ErrorCode.TIME_LIMIT
    if isinstance(exc, ModelLoadError):
        return ErrorCode.MODEL_UNAVAILABLE
    if isinstance(exc, DatasetError):
        return ErrorCode.INVALID_DATA
    torch = sys.modules.get("torch")
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    if isinstance(exc, MemoryError) or (oom is not None and isinstance(exc, oom)):
        return ErrorCode.OUT_OF_MEMORY
    if isinstance(exc, ValueError):
        return ErrorCode.INVALID_SPEC
    return ErrorCode.ENGINE_ERROR


@app.task(name=TASK_RUN, **TASK_RETRY_OPTIONS)
def consume_run(run_id: str) -> str:
    """Celery task: ``consume_run_with`` on this worker's engine; retried on transient errors."""
    return consume_run_with(run_id, get_engine(), configured_store(), app.send_task)


@task_failure.connect
def _on_hard_time_limit(
    sender: Any = None, exception: Any = None, args: Any = None, **_: Any
) -> None:
    """The hard time limit killed the child, so ``consume_run_with`` never recorded the end.

    Runs in the worker's main process (no CUDA there); the message is acknowledged.
    """
    if getattr(sender, "name", None) != TASK_RUN or not isinstance(exception, TimeLimitExceeded):
        return
    run_id = args[0] if args else None
    if run_id:
        msg = f"the GPU task exceeded its hard time limit ({exception})"
        experiment_id = _write(
            lambda s: jobs.fail_run(
                s, run_id, ErrorCode.TIME_LIMIT, msg, "killed at the hard time limit"
            ),
            run_id,
        )
        if experiment_id:
            send_safely(app.send_task, TASK_FINALIZE, [experiment_id])


# ---------------------------------------------------------------------------------------


def _write(change: Callable[[Any], object], run_id: str) -> str | None:
    """Apply one transition to a run and commit it, retrying connection errors; returns
    the run's experiment id."""

    def attempt() -> str | None:
        with session_scope() as s:
            change(s)
            s.commit()
            from services.common.db import Run

            run = s.get(Run, run_id)
            return run.experiment_id if run else None

    return retry_transient(attempt, what=f"recording run {run_id}")


def _claim(run_id: str, worker_id: str) -> Claim | ClaimOutcome:
    settings = get_settings()
    with session_scope() as s:
        claimed = jobs.claim_run(
            s,
            run_id,
            worker_id,
            max_attempts=settings.max_attempts,
            heartbeat_timeout_s=settings.heartbeat_timeout_s,
        )
        s.commit()
        return claimed


def consume_run_with(
    run_id: str,
    engine: Engine,
    artifacts: ArtifactStore,
    send_task: Callable[..., Any],
) -> str:
    """Compute one run. Never raises for a failed run: the failure is recorded on its row.

    Connection errors while claiming propagate (the task is retried with backoff); the
    final write is retried in place, so a finished computation is not thrown away.
    """
    worker_id = jobs.worker_identity()
    claimed = _claim(run_id, worker_id)
    if claimed == ClaimOutcome.EXTRACTED:
        send_safely(send_task, TASK_ANALYZE, [run_id])
        return claimed.value
    if isinstance(claimed, ClaimOutcome):
        if claimed in (ClaimOutcome.CANCELLED, ClaimOutcome.FAILED):
            _send_finalize(run_id, send_task)
        if claimed == ClaimOutcome.HELD:
            log.info("run %s is held by a live worker; dropping this duplicate delivery", run_id)
        return claimed.value
    experiment_id, attempt = claimed.experiment_id, claimed.attempt
    config = RunConfig.model_validate(claimed.config)
    log.info("run %s (experiment %s) attempt %d: computing", run_id, experiment_id, attempt)

    from services.gpu_worker.engine import Cancelled

    settings = get_settings()
    try:
        with heartbeat(run_id, worker_id, settings.heartbeat_timeout_s / 4):
            run = extract_run(
                engine,
                config,
                progress=progress_writer(run_id, experiment_id, worker_id),
                should_cancel=cancel_reader(experiment_id),
                on_tuning=tuning_writer(run_id, experiment_id),
            )
        keys = {name: run_file_key(experiment_id, run_id, name) for name in run.files}
        for name, data in run.files.items():
            artifacts.put(keys[name], data)
    except Cancelled:
        _write(lambda s: jobs.cancel_run(s, run_id, "cancelled at a step boundary"), run_id)
        _send_finalize(run_id, send_task)
        return "cancelled"
    except Exception as exc:
        if is_transient(exc):
            raise  # the infrastructure's, not the run's: retried
        code = error_code_for(exc)
        log.exception("run %s failed (%s)", run_id, code)
        message = f"{type(exc).__name__}: {exc}"
        _write(lambda s: jobs.fail_run(s, run_id, code, message, f"failed ({code})"), run_id)
        _send_finalize(run_id, send_task)
        return "failed"

    observe_run(run.output)  # stage times, tokens/s, adapters/s, GPU memory (never raises)
    recorded = _write(
        lambda s: jobs.record_extraction(
            s,
            run_id,
            worker_id,
            states_key=keys[STATES_FILE],
            states_sha256=sha256_hex(run.states),
            states_shape=run.shape,
            states_bytes=len(run.states),
            prompts_key=keys[PROMPTS_FILE],
            timings=run.timings,
        ),
        run_id,
    )
    if recorded is None:
        return "missing"
    send_safely(send_task, TASK_ANALYZE, [run_id])
    return "extracted"


def _send_finalize(run_id: str, send_task: Callable[..., Any]) -> None:
    from services.common.db import Run

    def experiment_of() -> str | None:
        with session_scope() as s:
            run = s.get(Run, run_id)
            return run.experiment_id if run else None

    experiment_id = retry_transient(experiment_of, what=f"reading run {run_id}")
    if experiment_id:
        send_safely(send_task, TASK_FINALIZE, [experiment_id])
