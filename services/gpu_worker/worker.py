"""GPU worker entry point (one process per GPU):

    celery -A services.gpu_worker.worker worker -Q gpu -c 1 -P prefork

The parent process only consumes messages; each task runs in the pool child, where
``worker_process_init`` creates the engine (CUDA initialises there, never before fork)
and keeps its models warm across tasks.
"""

from __future__ import annotations

import services.gpu_worker.tasks  # noqa: F401  (registers the task and the child init)
from services.common.runtime import worker_signals
from services.common.runtime.celery_app import app

worker_signals.install("gpu-worker")  # JSON logs, metrics, heartbeat, traces

__all__ = ["app"]
