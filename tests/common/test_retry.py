"""``retry_transient`` (tenacity): transient database/broker errors are retried with
growing, jittered delays until the deadline; anything else is raised at once."""

from __future__ import annotations

import time

import pytest
import sqlalchemy.exc

from services.common.runtime.retry import retry_transient


def _down() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_transient_errors_are_retried_until_the_call_lands(caplog) -> None:
    calls: list[float] = []

    def flaky() -> str:
        calls.append(time.monotonic())
        if len(calls) < 4:
            raise _down()
        return "written"

    assert retry_transient(flaky, what="a write", first_delay_s=0.01, max_delay_s=0.04) == "written"
    assert len(calls) == 4
    gaps = [b - a for a, b in zip(calls[:-1], calls[1:], strict=True)]
    assert gaps[0] >= 0.01 * 0.8 and gaps[1] >= 0.02 * 0.8  # doubling, jittered by +-20%
    warnings = [r.getMessage() for r in caplog.records if "a write" in r.getMessage()]
    assert len(warnings) == 3 and "OperationalError" in warnings[0]


def test_other_errors_are_not_retried() -> None:
    calls = []

    def wrong() -> None:
        calls.append(1)
        raise ValueError("a bad spec")

    with pytest.raises(ValueError, match="bad spec"):
        retry_transient(wrong, what="a write", first_delay_s=0.01)
    assert calls == [1]


def test_the_last_transient_error_is_raised_at_the_deadline() -> None:
    calls = []

    def always_down() -> None:
        calls.append(1)
        raise _down()

    started = time.monotonic()
    with pytest.raises(sqlalchemy.exc.OperationalError):
        retry_transient(always_down, what="a write", deadline_s=0.2, first_delay_s=0.02)
    assert time.monotonic() - started < 0.2 + 0.1  # never sleeps past the deadline
    assert 2 <= len(calls) <= 5


def test_poll_until_returns_when_ready_and_raises_what_it_waited_for() -> None:
    from services.common.runtime.retry import poll_until

    answers = iter([False, False, True])
    calls = []

    def ready() -> bool:
        calls.append(1)
        return next(answers)

    poll_until(ready, timeout_s=5, what="never", interval_s=0.01)
    assert len(calls) == 3
    with pytest.raises(TimeoutError, match="/readyz not ok after 0 s"):
        poll_until(lambda: False, timeout_s=0.05, what="/readyz not ok", interval_s=0.01)

    def died() -> bool:
        raise RuntimeError("api exited with code 1")

    with pytest.raises(RuntimeError, match="exited"):  # raised at once, not waited out
        poll_until(died, timeout_s=30, what="x")
