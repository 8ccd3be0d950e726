"""The one Celery app: two queues, ``gpu`` and ``analysis``; Postgres holds job state.

Delivery is at-least-once: a task is acknowledged only after it returns
(``task_acks_late``) and is put back when its worker process dies
(``task_reject_on_worker_lost``), so every task is idempotent on its run id. Each worker
takes one task at a time (prefetch 1): GPU tasks are long and must not queue up behind a
busy process. No result backend: a Celery PENDING means "unknown", and the rows are
the truth.

Tasks are sent by name, so the API enqueues GPU work without importing torch.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from services.common.runtime.settings import Settings, get_settings
from services.common.storage.private_files import private_file

GPU_QUEUE = "gpu"
ANALYSIS_QUEUE = "analysis"

TASK_RUN = "gpu.run_experiment_run"
TASK_ANALYZE = "analysis.analyze_run"
TASK_FINALIZE = "analysis.finalize_experiment"

ANALYSIS_TIME_LIMIT_S = 30 * 60
SOFT_LIMIT_MARGIN_S = 60
WORKER_PROC_ALIVE_TIMEOUT_S = 300


def time_limits(settings: Settings) -> dict[str, int]:
    """Hard time limit per task name (seconds)."""
    return {
        TASK_RUN: settings.task_time_limit_s,
        TASK_ANALYZE: ANALYSIS_TIME_LIMIT_S,
        TASK_FINALIZE: ANALYSIS_TIME_LIMIT_S,
    }


def visibility_timeout(settings: Settings) -> int:
    """Seconds before the broker redelivers an unacked task; default: the run time limit + 1 h."""
    return settings.visibility_timeout_s or settings.task_time_limit_s + 3600


def _transport_options(settings: Settings) -> dict[str, Any]:
    if settings.broker_url.startswith("sqla+"):
        # The SQLAlchemy transport passes its options to create_engine; SQLite waits
        # for the lock instead of failing when the API and both workers write at once.
        return {"connect_args": {"timeout": 30}}
    return {
        "visibility_timeout": visibility_timeout(settings),
        "global_keyprefix": settings.broker_prefix,
    }


def make_celery(settings: Settings | None = None) -> Celery:
    """The one Celery app for the API and both workers: late acks, one task at a time, tasks routed
    by name prefix; refuses a visibility timeout not above every time limit."""
    settings = settings or get_settings()
    limits = time_limits(settings)
    vt = visibility_timeout(settings)
    # A task still running when the visibility timeout expires is delivered a second
    # time, to another worker. Every task must be killed by its time limit first.
    if not vt > max(limits.values()):
        raise RuntimeError(
            f"broker visibility timeout ({vt}s) must exceed the longest task time limit "
            f"({max(limits.values())}s); raise ICL_IT_VISIBILITY_TIMEOUT"
        )
    if settings.broker_url.startswith("sqla+sqlite:///"):
        private_file(settings.broker_url.split("///", 1)[1])  # 0600: the queued run ids

    app = Celery("icl_it", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        broker_transport_options=_transport_options(settings),
        broker_connection_retry_on_startup=True,
        task_queues=(Queue(GPU_QUEUE), Queue(ANALYSIS_QUEUE)),
        task_default_queue=ANALYSIS_QUEUE,
        task_routes={"gpu.*": {"queue": GPU_QUEUE}, "analysis.*": {"queue": ANALYSIS_QUEUE}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        # A new pool child imports torch and builds its engine before reporting "up";
        # the 4 s default would kill and respawn it forever on a busy machine.
        worker_proc_alive_timeout=WORKER_PROC_ALIVE_TIMEOUT_S,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_annotations={
            name: {"time_limit": limit, "soft_time_limit": max(limit - SOFT_LIMIT_MARGIN_S, 1)}
            for name, limit in limits.items()
        },
        # Broadcast (remote control) needs fan-out, which the SQLAlchemy transport lacks.
        worker_enable_remote_control=not settings.broker_url.startswith("sqla+"),
        # Cold shutdown (SIGQUIT; containers remap SIGTERM to it) gives running tasks this
        # long, then requeues them: runs are idempotent, so a stopped run starts over.
        worker_soft_shutdown_timeout=settings.soft_shutdown_s,
        enable_utc=True,
    )
    return app


app = make_celery()
