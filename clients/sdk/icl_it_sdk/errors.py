"""Typed exceptions: every non-success answer of the API, with its problem document."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One entry of a problem's ``errors[]``: where (``loc``) and what (``msg``)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    @property
    def path(self) -> str:
        """``loc`` without the leading ``body`` as a dotted path, e.g. ``demos.k``."""
        parts = self.loc[1:] if self.loc[:1] == ("body",) else self.loc
        return ".".join(str(p) for p in parts)


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem document (``type, title, status, detail, errors[]``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: tuple[FieldError, ...] = field(default_factory=tuple)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_body(cls, status: int, reason: str, content: bytes) -> Problem:
        try:
            body = json.loads(content) if content else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or "title" not in body:
            text = content.decode(errors="replace").strip()[:500] or None
            return cls(type="about:blank", title=reason, status=status, detail=text)
        errors = tuple(
            FieldError(
                loc=tuple(item.get("loc") or ()),
                msg=str(item.get("msg", "")),
                type=str(item.get("type", "")),
            )
            for item in body.get("errors") or []
            if isinstance(item, dict)
        )
        detail = body.get("detail")
        return cls(
            type=str(body.get("type", "about:blank")),
            title=str(body["title"]),
            status=int(body.get("status", status)),
            detail=detail if isinstance(detail, str) else None,
            errors=errors,
            raw=body,
        )


class ApiError(Exception):
    """The API answered with an error. ``problem`` is its problem document."""

    status: int = 0

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.status = problem.status
        super().__init__(self.render())

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str | None:
        return self.problem.detail

    @property
    def errors(self) -> tuple[FieldError, ...]:
        return self.problem.errors

    def render(self) -> str:
        """The status and title, then each field error once on its own line, located by
        its path in the spec (``demos.k``); the detail only when there are none (it
        repeats them on one line)."""
        p = self.problem
        head = f"HTTP {p.status} {p.title}"
        if not p.errors:
            return head + (f": {p.detail}" if p.detail else "")
        count = f" ({len(p.errors)} errors)" if len(p.errors) > 1 else ""
        lines = [f"{head}{count}:"]
        lines += [f"  {e.path or '.'.join(map(str, e.loc)) or 'body'}: {e.msg}" for e in p.errors]
        return "\n".join(lines)

    @classmethod
    def from_response(cls, response: Any) -> ApiError:
        """From a generated client's ``Response`` (or an httpx one): the typed subclass."""
        status = int(response.status_code)
        reason = HTTPStatus(status).phrase if status in _PHRASES else "Error"
        return error_for(status, reason, bytes(response.content))


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    """409: e.g. results asked for before the experiment finished, an Idempotency-Key reused."""

    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class ValidationFailed(ApiError):
    """422: the spec (or another request part) is invalid; ``errors`` names each field."""

    status = 422


class RateLimited(ApiError):
    status = 429


class ServerError(ApiError):
    """5xx: worth retrying later."""

    status = 500


class Unavailable(ServerError):
    status = 503


class WaitTimeout(TimeoutError):
    """``wait()`` gave up before the experiment reached a final state."""

    def __init__(self, experiment_id: str, timeout: float, last_status: str) -> None:
        self.experiment_id, self.timeout, self.last_status = experiment_id, timeout, last_status
        super().__init__(f"experiment {experiment_id} still {last_status} after {timeout:.0f} s")


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
    503: Unavailable,
}


_PHRASES = {int(s) for s in HTTPStatus}


def error_for(status: int, reason: str, content: bytes) -> ApiError:
    """The typed exception for an HTTP error answer."""
    problem = Problem.from_body(status, reason, content)
    kind = _BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if status >= 500 else ApiError
    return kind(problem)
