"""The reconciler: Postgres says what is due, the broker is only how it gets delivered.

One pass (``reconcile_once``) looks at the rows and repairs what a lost message, a
killed worker or an outage left behind:

1. a running run whose holder stopped heart-beating (``ICL_IT_HEARTBEAT_TIMEOUT``), or
   whose process on this host is gone, is queued again and its task re-sent; after
   ``ICL_IT_MAX_ATTEMPTS`` it fails (``worker_lost``) with the reason; in an experiment
   being cancelled it is cancelled instead;
2. queued runs whose task was sent more than ``ICL_IT_REDISPATCH_AFTER`` seconds ago
   are sent again when the ``gpu`` queue holds fewer messages than there are such runs
   (the broker lost some; duplicates are harmless: the claim drops them);
3. the same for extracted runs waiting for their analysis (queue ``analysis``);
4. an experiment whose runs are all terminal (a finalize message was lost, or it is
   ``cancelling`` with nothing left running) gets a finalize task.

Every write is a conditional transition from ``services.common.jobs``, so any number of
reconcilers may run at once. Where it runs: a daemon thread in the main process of each
Celery worker (GPU and analysis), once at worker start and every
``ICL_IT_RECONCILE_EVERY`` seconds (``start_reconciler``); ``icl-it reconcile`` runs one
pass by hand. A pass that meets a database or broker error logs it and tries again at
the next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from services.common import jobs
from services.common.db import Experiment, Run, session_scope, utcnow
from services.common.jobs import CANCEL_REQUESTED, TERMINAL, RunStatus
from services.common.runtime.celery_app import (
    ANALYSIS_QUEUE,
    GPU_QUEUE,
    TASK_ANALYZE,
    TASK_FINALIZE,
    TASK_RUN,
)
from services.common.runtime.retry import send_safely
from services.common.runtime.settings import Settings, get_settings

log = logging.getLogger(__name__)

SendTask = Callable[..., Any]
QueueSize = Callable[[str], int | None]


@dataclass
class Pass:
    """What one reconciler pass did: the ids of the runs and experiments it repaired, by action."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    resent_runs: list[str] = field(default_factory=list)
    resent_analyses: list[str] = field(default_factory=list)
    finalized: list[str] = field(default_factory=list)

    def any(self) -> bool:
        """True when the pass changed or re-sent anything."""
        return any(getattr(self, f) for f in self.__dataclass_fields__)


def reconcile_once(
    send_task: SendTask,
    queue_size: QueueSize,
    settings: Settings | None = None,
    *,
    trust_silence: bool = True,
) -> Pass:
    """One pass. ``trust_silence=False`` (the database was unreachable less than a
    heartbeat timeout ago, so no worker could beat) requeues only runs whose process is
    known to be gone."""
    settings = settings or get_settings()
    out = Pass()
    _requeue_silent_runs(send_task, settings, out, trust_silence)
    _resend(send_task, queue_size, settings, out, extracted=False)
    _resend(send_task, queue_size, settings, out, extracted=True)
    _finalize_finished(send_task, out)
    if out.any():
        log.warning("reconciler: %s", out)
    return out


def _requeue_silent_runs(
    send_task: SendTask, settings: Settings, out: Pass, trust_silence: bool
) -> None:
    cutoff = utcnow() - timedelta(seconds=settings.heartbeat_timeout_s)
    with session_scope() as s:
        running = s.scalars(
            select(Run).where(Run.status == RunStatus.RUNNING.value, Run.states_key.is_(None))
        ).all()
        for run in running:
            beat = run.heartbeat_at or run.started_at
            silent = trust_silence and (beat is None or beat < cutoff)
            if not silent and not jobs.holder_is_dead(run.worker_id):
                continue
            reason = (
                f"no heartbeat from its worker for over {settings.heartbeat_timeout_s:g}s"
                if silent
                else "its worker process is gone"
            )
            outcome = jobs.requeue_run(s, run, max_attempts=settings.max_attempts, reason=reason)
            s.commit()
            if outcome == RunStatus.QUEUED:
                out.requeued.append(run.id)
                send_safely(send_task, TASK_RUN, [run.id])
            elif outcome == RunStatus.FAILED:
                out.failed.append(run.id)
            elif outcome == RunStatus.CANCELLED:
                out.cancelled.append(run.id)


def _resend(
    send_task: SendTask, queue_size: QueueSize, settings: Settings, out: Pass, *, extracted: bool
) -> None:
    queue, task = (ANALYSIS_QUEUE, TASK_ANALYZE) if extracted else (GPU_QUEUE, TASK_RUN)
    due = utcnow() - timedelta(seconds=settings.redispatch_after_s)
    if extracted:
        waiting = and_(Run.status == RunStatus.RUNNING.value, Run.states_key.is_not(None))
    else:
        waiting = Run.status == RunStatus.QUEUED.value
    with session_scope() as s:
        live = Experiment.status.not_in(CANCEL_REQUESTED | TERMINAL)
        base = select(Run).join(Experiment, Experiment.id == Run.experiment_id).where(waiting)
        if not extracted:
            base = base.where(live)
        n_waiting = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        if n_waiting == 0:
            return
        size = queue_size(queue)
        if size is None or size >= n_waiting:
            return  # broker unreachable, or every waiting run can still have its message
        stale = s.scalars(
            base.where(or_(Run.dispatched_at.is_(None), Run.dispatched_at < due)).order_by(
                Run.experiment_id, Run.index
            )
        ).all()
        for run in stale:
            if jobs.mark_dispatched(s, run.id, run.dispatched_at):
                s.commit()
                if send_safely(send_task, task, [run.id]):
                    (out.resent_analyses if extracted else out.resent_runs).append(run.id)


def _finalize_finished(send_task: SendTask, out: Pass) -> None:
    with session_scope() as s:
        open_runs = (
            select(func.count())
            .select_from(Run)
            .where(Run.experiment_id == Experiment.id, Run.status.not_in(TERMINAL))
            .scalar_subquery()
        )
        ids = s.scalars(
            select(Experiment.id).where(Experiment.status.not_in(TERMINAL), open_runs == 0)
        ).all()
    for experiment_id in ids:
        if send_safely(send_task, TASK_FINALIZE, [experiment_id]):
            out.finalized.append(experiment_id)


def broker_queue_size(app: Any) -> QueueSize:
    """Messages ready in a queue (unacknowledged ones not counted); None when the broker
    does not answer."""

    def size(queue: str) -> int | None:
        try:
            with app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                return int(conn.default_channel.queue_declare(queue=queue).message_count)
        except Exception as exc:
            log.warning("reconciler: queue %s size unknown (%s)", queue, type(exc).__name__)
            return None

    return size


_started = threading.Event()


def start_reconciler(app: Any, settings: Settings | None = None) -> threading.Thread | None:
    """A daemon thread: one pass now, then every ``reconcile_every_s`` (once per process)."""
    if _started.is_set():
        return None
    _started.set()
    settings = settings or get_settings()
    size = broker_queue_size(app)

    def send(name: str, args: list[Any]) -> None:
        app.send_task(name, args=args, retry=True, retry_policy={"max_retries": 2})

    def loop() -> None:
        last_failure = -float("inf")
        while True:
            trust = time.monotonic() - last_failure >= settings.heartbeat_timeout_s
            try:
                reconcile_once(send, size, settings, trust_silence=trust)
            except Exception as exc:  # database down: the next tick tries again
                last_failure = time.monotonic()
                log.warning("reconciler pass failed: %s", type(exc).__name__)
            if settings.reconcile_every_s <= 0:
                return
            threading.Event().wait(settings.reconcile_every_s)

    thread = threading.Thread(target=loop, name="reconciler", daemon=True)
    thread.start()
    return thread
