"""GPU queue task: one run of an experiment, from its row to hidden-state artifacts.

``run_experiment_run(run_id)`` is idempotent on the run id. A redelivered task (the
worker process died, Celery put the message back) claims the same row again, rewrites
the same artifact keys and updates the same row; it never adds runs. A run whose
artifacts are already recorded is not recomputed: its analysis is enqueued again.

Order of writes: artifacts, then the row (keys, checksum, shape), then events, then
the analysis task. A reader that sees a key on a row can always fetch the artifact.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure, worker_process_init
from sqlalchemy import select, update

from services.common.artifacts import ArtifactStore, artifact_key
from services.common.celery_app import TASK_ANALYZE, TASK_FINALIZE, TASK_RUN, app
from services.common.db import (
    CANCEL_REQUESTED,
    CANCELLED,
    FAILED,
    QUEUED,
    RUNNING,
    TERMINAL,
    Experiment,
    Run,
    add_event,
    dispose_engines,
    refresh_completed_runs,
    session_scope,
    utcnow,
)
from services.common.settings import get_settings
from services.common.spec import RunConfig
from services.common.states import sha256_hex

if TYPE_CHECKING:
    from services.gpu_worker.engine import Engine

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # deliveries of one run before it is failed as a poison message
PROGRESS_EVERY_S = 1.0  # row updates from the progress callback, at most this often
PROGRESS_EVENT_STEP = 0.1  # a run.progress event each time a run moved this much further
CANCEL_CHECK_EVERY_S = 0.5

_engine: Engine | None = None


@worker_process_init.connect
def _init_worker_process(**_: Any) -> None:
    """Runs in each pool child after fork: CUDA and the model live here, never in the parent."""
    dispose_engines()
    try:
        get_engine()
    except Exception:  # retried by the first task, which records the error on its run
        log.exception("could not create the engine in worker process %d", os.getpid())


def get_engine() -> Engine:
    """The per-process engine; models stay loaded in it across tasks."""
    global _engine
    if _engine is None:
        from services.gpu_worker.engine import Engine

        _engine = Engine()
    return _engine


def store() -> ArtifactStore:
    return ArtifactStore(get_settings().artifacts)


def run_artifact_key(experiment_id: str, run_id: str, name: str) -> str:
    return artifact_key("experiments", experiment_id, "runs", run_id, name)


def error_code_for(exc: BaseException) -> str:
    """A stable error code for an exception raised by the engine (no torch import)."""
    name = type(exc).__name__
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time_limit"
    if name == "ModelLoadError":
        return "model_unavailable"
    if name == "DatasetError":
        return "invalid_data"
    if name == "OutOfMemoryError" or isinstance(exc, MemoryError):
        return "out_of_memory"
    if isinstance(exc, ValueError):
        return "invalid_spec"
    return "engine_error"


@app.task(name="gpu.run_experiment_run")
def run_experiment_run(run_id: str) -> str:
    return execute_run(run_id, get_engine(), store(), app.send_task)


@task_failure.connect
def _on_hard_time_limit(
    sender: Any = None, exception: Any = None, args: Any = None, **_: Any
) -> None:
    """The hard time limit killed the child, so ``execute_run`` never recorded the end.

    Runs in the worker's main process (no CUDA there); the message is acknowledged.
    """
    if getattr(sender, "name", None) != TASK_RUN or not isinstance(exception, TimeLimitExceeded):
        return
    run_id = args[0] if args else None
    if run_id:
        msg = f"the GPU task exceeded its hard time limit ({exception})"
        _end_run(run_id, FAILED, "time_limit", msg, "killed at the hard time limit")
        _send_finalize(run_id, app.send_task)


# ---------------------------------------------------------------------------------------


def _claim(run_id: str) -> tuple[RunConfig, str, int] | str:
    """Mark the run running (attempts + 1); returns (config, experiment id, attempt) or
    the outcome when there is nothing to compute."""
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            log.warning("run %s: no such row; dropping the task", run_id)
            return "missing"
        exp = s.get(Experiment, run.experiment_id)
        assert exp is not None
        if run.status in TERMINAL:
            return "already_" + run.status
        if run.states_key is not None:  # extracted on an earlier delivery
            return "extracted"
        if exp.status in CANCEL_REQUESTED or exp.status in TERMINAL:
            _finish_run(s, run, CANCELLED, None, None, "cancelled before it started")
            s.commit()
            return "cancelled"
        if run.attempts >= MAX_ATTEMPTS:
            msg = f"the worker was lost {run.attempts} times while computing this run"
            _finish_run(s, run, FAILED, "worker_lost", msg, msg)
            s.commit()
            return "failed"
        claimed = s.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.in_((QUEUED, RUNNING)))
            .values(
                status=RUNNING,
                attempts=Run.attempts + 1,
                started_at=utcnow(),
                stage="starting",
                progress=0.0,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return "not_claimed"
        s.execute(
            update(Experiment)
            .where(Experiment.id == exp.id, Experiment.status == QUEUED)
            .values(status=RUNNING, started_at=utcnow())
        )
        attempt = run.attempts + 1
        add_event(
            s,
            exp.id,
            "run.started",
            f"run {run.index + 1}/{exp.total_runs} started"
            + (f" (attempt {attempt})" if attempt > 1 else ""),
            run_id=run_id,
            data={"attempt": attempt, "pid": os.getpid(), "host": socket.gethostname()},
        )
        s.commit()
        return RunConfig.model_validate(run.config), exp.id, attempt


def _finish_run(
    s: Any, run: Run, status: str, code: str | None, message: str | None, note: str
) -> None:
    s.execute(
        update(Run)
        .where(Run.id == run.id, Run.status.not_in(TERMINAL))
        .values(status=status, finished_at=utcnow(), error_code=code, error_message=message)
        .execution_options(synchronize_session=False)
    )
    refresh_completed_runs(s, run.experiment_id)
    add_event(
        s,
        run.experiment_id,
        f"run.{status}",
        f"run {run.index + 1}: {note}",
        run_id=run.id,
        level="error" if status == FAILED else "info",
        data={"error_code": code} if code else {},
    )


def _end_run(run_id: str, status: str, code: str | None, message: str | None, note: str) -> None:
    with session_scope() as s:
        run = s.get(Run, run_id)
        assert run is not None
        _finish_run(s, run, status, code, message, note)
        s.commit()


def _progress_writer(run_id: str, experiment_id: str) -> Callable[[int, int, str], None]:
    """Progress into the run row (at most every PROGRESS_EVERY_S) and the events: one at
    each new phase, and one each time the run moved PROGRESS_EVENT_STEP further."""
    last_time, last_phase, last_event = 0.0, "", -1.0

    def progress(done: int, total: int, stage: str) -> None:
        nonlocal last_time, last_phase, last_event
        now = time.monotonic()
        phase = stage.split(" ", 1)[0]  # "adapter 3/30" -> one phase for all adapters
        new_phase = phase != last_phase
        if not new_phase and now - last_time < PROGRESS_EVERY_S:
            return
        last_time, last_phase = now, phase
        fraction = min(max(done / total, 0.0), 1.0) if total else 0.0
        emit = new_phase or fraction - last_event >= PROGRESS_EVENT_STEP
        with session_scope() as s:
            s.execute(
                update(Run)
                .where(Run.id == run_id, Run.status == RUNNING)
                .values(stage=stage[:64], progress=fraction)
            )
            if emit:
                last_event = fraction
                add_event(
                    s,
                    experiment_id,
                    "run.progress",
                    f"{stage} ({fraction:.0%})",
                    run_id=run_id,
                    level="debug",
                    data={"stage": stage, "done": done, "total": total, "fraction": fraction},
                )
            s.commit()

    return progress


def _cancel_reader(experiment_id: str) -> Callable[[], bool]:
    """Reads the experiment's status at most every CANCEL_CHECK_EVERY_S seconds."""
    last_time, cancel = 0.0, False

    def should_cancel() -> bool:
        nonlocal last_time, cancel
        now = time.monotonic()
        if not cancel and now - last_time >= CANCEL_CHECK_EVERY_S:
            last_time = now
            with session_scope() as s:
                status = s.scalar(select(Experiment.status).where(Experiment.id == experiment_id))
            cancel = status is None or status in CANCEL_REQUESTED
        return cancel

    return should_cancel


def execute_run(
    run_id: str,
    engine: Engine,
    artifacts: ArtifactStore,
    send_task: Callable[..., Any],
) -> str:
    """Compute one run. Never raises for a failed run: the failure is recorded on its row."""
    claimed = _claim(run_id)
    if claimed == "extracted":
        send_task(TASK_ANALYZE, args=[run_id])
        return claimed
    if isinstance(claimed, str):
        if claimed in ("cancelled", "failed"):
            _send_finalize(run_id, send_task)
        return claimed
    config, experiment_id, attempt = claimed
    log.info("run %s (experiment %s) attempt %d: computing", run_id, experiment_id, attempt)

    from services.gpu_worker.engine import Cancelled

    try:
        out = engine.run(
            config,
            progress=_progress_writer(run_id, experiment_id),
            should_cancel=_cancel_reader(experiment_id),
        )
        states = out.states.to_bytes()
        states_key = run_artifact_key(experiment_id, run_id, "states.safetensors")
        prompts_key = run_artifact_key(experiment_id, run_id, "prompts.json")
        artifacts.put(states_key, states)
        prompts = {"run_key": config.key, "prompts": out.prompts, "tuning": out.tuning}
        artifacts.put(prompts_key, json.dumps(prompts, default=str).encode())
    except Cancelled:
        _end_run(run_id, CANCELLED, None, None, "cancelled at a step boundary")
        _send_finalize(run_id, send_task)
        return "cancelled"
    except Exception as exc:  # recorded on the row; the worker process lives on
        code = error_code_for(exc)
        log.exception("run %s failed (%s)", run_id, code)
        _end_run(run_id, FAILED, code, f"{type(exc).__name__}: {exc}"[:4000], f"failed ({code})")
        _send_finalize(run_id, send_task)
        return "failed"

    shape = [int(n) for n in out.states.hidden.shape]
    with session_scope() as s:
        s.execute(
            update(Run)
            .where(Run.id == run_id)
            .values(
                states_key=states_key,
                states_sha256=sha256_hex(states),
                states_shape=shape,
                states_bytes=len(states),
                prompts_key=prompts_key,
                timings={k: float(v) for k, v in out.timings.items()},
                stage="extracted",
                progress=1.0,
            )
        )
        add_event(
            s,
            experiment_id,
            "run.extracted",
            f"hidden states {shape} written",
            run_id=run_id,
            data={"shape": shape, "sha256": sha256_hex(states), "timings": out.timings},
        )
        s.commit()
    send_task(TASK_ANALYZE, args=[run_id])
    return "extracted"


def _send_finalize(run_id: str, send_task: Callable[..., Any]) -> None:
    with session_scope() as s:
        run = s.get(Run, run_id)
        experiment_id = run.experiment_id if run else None
    if experiment_id:
        send_task(TASK_FINALIZE, args=[experiment_id])
