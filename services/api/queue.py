"""The task-queue gateway: how the API hands work to the workers.

Tasks are sent by name through the one Celery configuration, so the API never imports
worker code (nor torch). Tests replace ``TaskQueue`` with an in-memory recorder.
"""

from __future__ import annotations

from typing import Protocol

from celery import Celery

from services.common.runtime.celery_app import TASK_FINALIZE, TASK_RUN, make_celery
from services.common.runtime.settings import Settings


class TaskQueue(Protocol):
    """What the API needs from the task queue: send runs and finalizations, and check the broker."""

    def enqueue_runs(self, run_ids: list[str]) -> None:
        """Queue one run task per run id for the GPU workers."""

    def enqueue_finalize(self, experiment_id: str) -> None:
        """Queue the finalization of an experiment (summary and final status)."""

    def ping(self) -> None:
        """Raise if the broker cannot be reached."""


class CeleryTaskQueue:
    """The task queue on the shared Celery configuration; tasks are sent by name."""

    def __init__(self, settings: Settings):
        self.celery: Celery = make_celery(settings)

    def enqueue_runs(self, run_ids: list[str]) -> None:
        """Send one run task per id over one producer connection, retrying a failed publish."""
        with self.celery.producer_or_acquire() as producer:
            for run_id in run_ids:
                self.celery.send_task(
                    TASK_RUN,
                    args=[run_id],
                    producer=producer,
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.2},
                )

    def enqueue_finalize(self, experiment_id: str) -> None:
        """Send the experiment's finalize task to the analysis queue."""
        self.celery.send_task(TASK_FINALIZE, args=[experiment_id], retry=True)

    def ping(self) -> None:
        """Raise if the broker does not accept a connection (2 s timeout, one retry)."""
        with self.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
