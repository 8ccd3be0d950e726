"""What every Celery worker of the service does besides its tasks, through Celery's
signals and one bootstep. Imported by the worker entry modules
(``services.gpu_worker.worker``, ``services.analysis.tasks``); the engine knows nothing
of it.

- logs: JSON lines (``ICL_IT_LOG_FORMAT``) instead of Celery's own format, with the
  task id, the run id and the experiment id bound while a task runs;
- metrics: task duration and queue wait recorded in the pool child; the main process
  serves every child's values on ``ICL_IT_METRICS_PORT``;
- heartbeat: the main process's timer touches ``ICL_IT_HEARTBEAT_FILE`` every 10 s
  (container healthchecks and liveness probes read its age);
- traces: OpenTelemetry for Celery and SQLAlchemy when an OTLP endpoint is set.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from celery import bootsteps
from celery.signals import (
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from services.common.runtime import observability, prometheus
from services.common.runtime.celery_app import TASK_ANALYZE, TASK_FINALIZE, TASK_RUN, app
from services.common.runtime.settings import get_settings

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 10.0
_started: dict[str, tuple[float, Any]] = {}  # task id -> (start time, log-context token)


_service = "worker"


def install(service: str) -> None:
    """Called by a worker entry module at import: names the service in logs and traces.
    The signal handlers below are connected by importing this module."""
    global _service
    _service = service


def service_name() -> str:
    """The name this worker process was installed under (for logs and traces)."""
    return _service


# -- logs ---------------------------------------------------------------------------------
@celeryd_init.connect(weak=False)  # the worker's first signal: its own warnings are JSON too
@setup_logging.connect(weak=False)  # connected, so Celery leaves the root logger to us
def _setup_logging(**_: Any) -> None:
    observability.configure_logging(service_name())


def _ids_for(task_name: str, args: tuple[Any, ...]) -> dict[str, str | None]:
    """The run / experiment a task is about (tasks take one id argument)."""
    if not args:
        return {}
    if task_name == TASK_FINALIZE:
        return {"experiment_id": str(args[0])}
    if task_name in (TASK_RUN, TASK_ANALYZE):
        run_id = str(args[0])
        try:
            from services.common.db import Run, session_scope

            with session_scope() as s:
                run = s.get(Run, run_id)
                return {"run_id": run_id, "experiment_id": run.experiment_id if run else None}
        except Exception:  # logging context only: never fail a task for it
            return {"run_id": run_id}
    return {}


# -- per task -----------------------------------------------------------------------------
def _sent_at(task: Any) -> float | None:
    request = getattr(task, "request", None)
    value = getattr(request, prometheus.SENT_AT_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(prometheus.SENT_AT_HEADER)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@task_prerun.connect(weak=False)
def _on_task_start(
    task_id: str | None = None, task: Any = None, args: Any = None, **_: Any
) -> None:
    name = getattr(task, "name", "?")
    token = observability.bind(task_id=task_id, task=name, **_ids_for(name, tuple(args or ())))
    _started[task_id or ""] = (time.perf_counter(), token)
    sent_at = _sent_at(task)
    if sent_at is not None:
        info = getattr(getattr(task, "request", None), "delivery_info", None) or {}
        queue = info.get("routing_key") or "?"
        prometheus.QUEUE_WAIT.labels(queue).observe(max(time.time() - sent_at, 0.0))


@task_postrun.connect(weak=False)
def _on_task_end(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id or "", None)
    if started is None:
        return
    t0, token = started
    prometheus.TASK_DURATION.labels(getattr(task, "name", "?"), state or "?").observe(
        time.perf_counter() - t0
    )
    with suppress(ValueError):  # bound in another context (not in prefork)
        observability.unbind(token)


# -- process lifecycle --------------------------------------------------------------------
@worker_init.connect(weak=False)
def _on_worker_init(**_: Any) -> None:
    """Main process, before the pool forks: fresh metric files, the metrics server,
    tracing (children inherit it)."""
    settings = get_settings()
    observability.configure_tracing(service_name())
    observability.instrument_celery()
    if settings.metrics_port:
        observability.clear_multiproc_dir()
        from prometheus_client import start_http_server

        try:
            start_http_server(settings.metrics_port, registry=observability.metrics_registry())
            log.info("metrics on :%d/metrics", settings.metrics_port)
        except OSError as exc:  # e.g. two workers of `icl-it up` with one port
            log.warning("metrics server not started on :%d: %s", settings.metrics_port, exc)


@worker_process_shutdown.connect(weak=False)
def _on_child_exit(pid: int | None = None, **_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def heartbeat_file() -> Path | None:
    """The heartbeat file from the settings, or None when there is none."""
    return get_settings().heartbeat_file


def touch_heartbeat() -> None:
    """Update the heartbeat file's modification time, if one is configured."""
    path = heartbeat_file()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


class Heartbeat(bootsteps.StartStopStep):
    """Touches the heartbeat file from the worker's own timer: when the main loop stops
    turning, the file ages and the healthcheck fails."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        """Touch the heartbeat file now and then every ``HEARTBEAT_EVERY_S`` seconds."""
        if heartbeat_file() is not None:
            touch_heartbeat()
            self.tref = worker.timer.call_repeatedly(HEARTBEAT_EVERY_S, touch_heartbeat)

    def stop(self, worker: Any) -> None:
        """Stop touching the heartbeat file."""
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


app.steps["worker"].add(Heartbeat)


@worker_ready.connect(weak=False)
def _on_ready(**_: Any) -> None:
    touch_heartbeat()


@worker_shutdown.connect(weak=False)
def _on_shutdown(**_: Any) -> None:
    path = heartbeat_file()
    if path is not None:
        path.unlink(missing_ok=True)
    observability.flush_traces()
