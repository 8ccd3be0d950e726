"""A running GPU task's signs of life, all through the run's row: a heartbeat from a
thread, progress (row and ``run.progress`` events), and the cooperative cancel check.

Each tolerates a database outage: a failed beat or progress write is logged and tried
again later; a failed cancel check lets the run go on until the next check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from services.common import jobs
from services.common.db import add_event, session_scope
from services.common.runtime.retry import is_transient

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from services.gpu_worker.run_progress import TuningStep

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0  # row updates from the progress callback, at most this often
PROGRESS_EVENT_STEP = 0.1  # a run.progress event each time a run moved this much further
CANCEL_CHECK_EVERY_S = 0.5
TUNING_EVENT_EVERY_S = 1.0  # a ``tuning`` event at most this often (and each group's last step)


@contextmanager
def heartbeat(run_id: str, worker_id: str, every_s: float) -> Iterator[None]:
    """Beat from a thread while the run computes; a failed beat (database down) is
    logged and tried again at the next beat."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                with session_scope() as s:
                    jobs.heartbeat(s, run_id, worker_id)
                    s.commit()
            except Exception as exc:
                log.warning("run %s: heartbeat failed (%s)", run_id, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def _best_effort(run_id: str, what: str) -> Iterator[Session]:
    """A session committed at the end of the block; a transient database error drops the
    write (logged) instead of failing the run: progress and events are not the truth."""
    try:
        with session_scope() as s:
            yield s
            s.commit()
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("run %s: %s not recorded (%s)", run_id, what, type(exc).__name__)


def progress_writer(
    run_id: str, experiment_id: str, worker_id: str
) -> Callable[[float, int, str], None]:
    """Progress into the run row (with the heartbeat) and the events: one at each new
    phase, and one each time the run moved PROGRESS_EVENT_STEP further."""
    last_time, last_phase, last_event = 0.0, "", -1.0

    def progress(done: float, total: int, stage: str) -> None:
        nonlocal last_time, last_phase, last_event
        now = time.monotonic()
        phase = stage.split(" ", 1)[0]  # "adapter 3/30" -> one phase for all adapters
        new_phase = phase != last_phase
        if not new_phase and now - last_time < PROGRESS_EVERY_S:
            return
        last_time, last_phase = now, phase
        fraction = min(max(done / total, 0.0), 1.0) if total else 0.0
        emit = new_phase or fraction - last_event >= PROGRESS_EVENT_STEP
        with _best_effort(run_id, "progress") as s:
            jobs.heartbeat(s, run_id, worker_id, stage=stage, progress=fraction)
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

    return progress


def tuning_writer(run_id: str, experiment_id: str) -> Callable[[TuningStep], None]:
    """``tuning`` events (each adapter's loss at a step, the ETA): at most one per
    TUNING_EVENT_EVERY_S, plus the last step of each adapter group. A database outage
    drops the event (the losses are in tuning.json at the end)."""
    last_time = -TUNING_EVENT_EVERY_S

    def record(step: TuningStep) -> None:
        nonlocal last_time
        now = time.monotonic()
        if step.step < step.steps and now - last_time < TUNING_EVENT_EVERY_S:
            return
        last_time = now
        with _best_effort(run_id, "tuning event") as s:
            add_event(
                s,
                experiment_id,
                "tuning",
                step.message(),
                run_id=run_id,
                level="debug",
                data=step.event_data(run_id),
            )

    return record


def cancel_reader(experiment_id: str) -> Callable[[], bool]:
    """Reads the experiment's status at most every CANCEL_CHECK_EVERY_S seconds; while the
    database is unreachable the run goes on (the next check will tell)."""
    last_time, cancel = 0.0, False

    def should_cancel() -> bool:
        nonlocal last_time, cancel
        now = time.monotonic()
        if not cancel and now - last_time >= CANCEL_CHECK_EVERY_S:
            last_time = now
            try:
                with session_scope() as s:
                    cancel = jobs.cancel_requested(s, experiment_id)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("cancel check failed (%s); going on", type(exc).__name__)
        return cancel

    return should_cancel
