"""Which errors are the infrastructure's (retry them) and which are the user's (record them).

A database or broker connection error says nothing about the run: the task is retried
with backoff (Celery ``autoretry_for``), or a small write is retried in place, and the
message is never acknowledged as if the work were done. Everything else (a bad spec, a
model that does not load) is recorded on the run and not retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import kombu.exceptions
import sqlalchemy.exc
import tenacity

log = logging.getLogger(__name__)
T = TypeVar("T")


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis.exceptions
    except ImportError:  # pragma: no cover - redis is pinned
        return ()
    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    kombu.exceptions.OperationalError,
    ConnectionError,
    *_redis_errors(),
)

# Celery task options: retried with exponential backoff (capped), never acked-and-dropped
# on a connection error. If even the retry cannot be published, the row still says what
# is due and the reconciler sends it again.
TASK_RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 40,
}


def is_transient(exc: BaseException) -> bool:
    """True for database and broker connection errors, which are retried rather than recorded."""
    return isinstance(exc, TRANSIENT_ERRORS)


def retry_transient(
    fn: Callable[[], T],
    *,
    what: str,
    deadline_s: float = 300.0,
    first_delay_s: float = 0.5,
    max_delay_s: float = 15.0,
) -> T:
    """Call ``fn`` until it returns, retrying transient errors with backoff for up to
    ``deadline_s`` (for writes that must land: recomputing a GPU run costs far more).

    The delays double from ``first_delay_s`` up to ``max_delay_s`` with +-20% jitter; once
    the next wait would pass the deadline, the last error is raised as it is."""
    deadline = time.monotonic() + deadline_s

    def past_deadline(state: tenacity.RetryCallState) -> bool:
        pause = state.upcoming_sleep or _backoff(first_delay_s, max_delay_s)(state)
        return time.monotonic() + pause > deadline

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning("%s: %s; retrying in %.1fs", what, type(exc).__name__, state.upcoming_sleep)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TRANSIENT_ERRORS),
        wait=_backoff(first_delay_s, max_delay_s),
        stop=past_deadline,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retrying(fn)


def _backoff(first_s: float, max_s: float) -> Callable[[tenacity.RetryCallState], float]:
    """Doubling delays from ``first_s`` capped at ``max_s``, each scaled by 0.8..1.2."""

    def wait(state: tenacity.RetryCallState) -> float:
        delay = min(first_s * 2 ** (state.attempt_number - 1), max_s)
        return delay * random.uniform(0.8, 1.2)

    return wait


def poll_until(
    ready: Callable[[], bool], *, timeout_s: float, what: str, interval_s: float = 0.25
) -> None:
    """Call ``ready`` every ``interval_s`` until it returns True; TimeoutError naming
    ``what`` after ``timeout_s``. An exception from ``ready`` (a child process that died)
    is raised at once."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda ok: not ok),
        wait=tenacity.wait_fixed(interval_s),
        stop=tenacity.stop_after_delay(timeout_s),
    )
    try:
        retrying(ready)
    except tenacity.RetryError:
        raise TimeoutError(f"{what} after {timeout_s:.0f} s") from None


def send_safely(send_task: Callable[..., Any], name: str, args: list[Any]) -> bool:
    """Send a follow-up task; a broker error is logged, not raised: the row records that
    the task is due, and the reconciler sends it again."""
    try:
        send_task(name, args=args)
        return True
    except Exception as exc:
        log.warning("could not send %s%s (%s); the reconciler will", name, args, exc)
        return False
