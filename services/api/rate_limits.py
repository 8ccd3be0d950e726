"""Request rate limits that hold across API replicas (the ``limits`` library).

- Per API key: ``ICL_IT_RATE_LIMIT`` requests a minute and at most ``ICL_IT_RATE_BURST``
  in any one second (moving windows).
- Per client address, for requests without a valid key (none, unknown, revoked: every
  one a 401): ``ICL_IT_RATE_LIMIT_ANONYMOUS`` a minute, so that guessing keys or
  hammering the 401 path costs the caller, not us. Under ``ICL_IT_ALLOW_ANONYMOUS`` a
  request without a key gets a key's limits, counted per client address.

The counters live in Redis when ``REDIS_URL`` is set (every replica shares them, under
the stack's ``ICL_IT_BROKER_PREFIX``), else in this process (the embedded stack has one
API process). If Redis does not answer, requests go ahead (logged): a broker outage must
not turn into an API outage, and submissions are kept in the database meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from services.common.runtime.settings import Settings

log = logging.getLogger(__name__)
REDIS_TIMEOUT_S = 1.0


def make_storage(settings: Settings) -> Storage:
    """Redis (shared by the replicas) when REDIS_URL is set, else this process's memory."""
    if not settings.redis_url:
        return MemoryStorage()
    storage = storage_from_string(
        settings.redis_url,
        key_prefix=f"{settings.broker_prefix}limits",
        socket_timeout=REDIS_TIMEOUT_S,  # a Redis that hangs must not hang every request
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
    if not isinstance(storage, Storage):  # an async+ scheme: not for these sync routes
        raise ValueError("REDIS_URL: an async+ scheme cannot back the rate limits")
    return storage


class RequestLimits:
    """The API's limits; ``wait_*`` answer 0 when a request may go ahead, else the
    seconds until it may (for Retry-After)."""

    def __init__(self, settings: Settings, storage: Storage | None = None):
        self.limiter = MovingWindowRateLimiter(storage or make_storage(settings))
        self.per_key: Sequence[RateLimitItem] = (
            RateLimitItemPerMinute(settings.rate_limit_per_min),
            RateLimitItemPerSecond(settings.rate_burst),
        )
        self.per_address: Sequence[RateLimitItem] = (
            RateLimitItemPerMinute(settings.rate_limit_anonymous_per_min),
        )

    def wait_key(self, owner: str) -> float:
        """Seconds until this key may send again (0: now), counting this request."""
        return self._wait(self.per_key, "key", owner)

    def wait_address(self, address: str) -> float:
        """Seconds until this client address may send again (0: now), counting this request."""
        return self._wait(self.per_address, "address", address)

    def _wait(self, items: Sequence[RateLimitItem], *identity: str) -> float:
        try:
            for item in items:
                if not self.limiter.hit(item, *identity):
                    reset = self.limiter.get_window_stats(item, *identity).reset_time
                    return max(reset - time.time(), 1.0)
        except Exception as exc:  # the shared store is down: let the request through
            log.warning("rate limit not checked (%s: %s)", type(exc).__name__, exc)
        return 0.0
