"""The one error shape: problem details (RFC 9457), for every error the API returns.

    {"type": ..., "title": ..., "status": 422, "detail": ...,
     "errors": [{"loc": ["body", "demos", "k"], "msg": ..., "type": ...}]}

Validation errors name the offending field in ``loc``; 404, 409, 413 and 5xx use the
same shape with an empty ``errors`` list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_ECHO = 512  # characters of a detail or message: a problem never echoes a huge input
TYPE_BASE = "https://icl-it.invalid/problems/"


class ProblemItem(BaseModel):
    """One invalid field of a request: where it is, what is wrong, and the error type."""

    loc: list[str | int] = Field(description="Where the problem is, e.g. body.demos.k.")
    msg: str
    type: str


class Problem(BaseModel):
    """The body of every error response (RFC 9457 problem details)."""

    type: str = Field(description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    status = 500
    kind = "internal-error"
    title = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[ProblemItem] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.headers = headers

    def problem(self) -> Problem:
        """The problem document this exception answers with."""
        return Problem(
            type=TYPE_BASE + self.kind,
            title=self.title,
            status=self.status,
            detail=self.detail,
            errors=self.errors,
        )


class BadRequest(ProblemError):
    """400: the request cannot be read (for example a body that is not UTF-8)."""

    status, kind, title = 400, "bad-request", "Bad request"


class Unauthorized(ProblemError):
    """401: no API key, or an unknown or revoked one."""

    status, kind, title = 401, "unauthorized", "Unauthorized"


class NotFound(ProblemError):
    """404: no such resource, or one owned by someone else."""

    status, kind, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    """409: the request conflicts with the resource's current state."""

    status, kind, title = 409, "conflict", "Conflict"


class PayloadTooLarge(ProblemError):
    """413: the body is over the route's size limit."""

    status, kind, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    """415: the body's content type is not one the route reads."""

    status, kind, title = 415, "unsupported-media-type", "Unsupported media type"


class Invalid(ProblemError):
    """422: the request is well formed but a field is invalid."""

    status, kind, title = 422, "validation-error", "Request validation failed"

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str, type: str = "value_error") -> Invalid:
        """A 422 with one error at ``loc``, e.g. ``["body", "demos", "k"]``."""
        return cls(
            f"{'.'.join(map(str, loc))}: {msg}",
            errors=[ProblemItem(loc=list(loc), msg=msg, type=type)],
        )


def invalid(items: list[ProblemItem]) -> Invalid:
    """A 422 with every item (each said once in ``errors``); the detail counts them and
    lists them on one line, for a reader of the detail alone."""
    return Invalid(validation_detail(items), errors=items)


def validation_detail(items: list[ProblemItem]) -> str:
    """'2 errors: body.demos.k: ...; body.model.name: ...' (one error: without the count)."""
    listed = "; ".join(f"{'.'.join(map(str, i.loc))}: {i.msg}" for i in items)
    return listed if len(items) == 1 else f"{len(items)} errors: {listed}"


class TooManyRequests(ProblemError):
    """429: the key's rate limit or active-experiment quota is reached."""

    status, kind, title = 429, "too-many-requests", "Too many requests"


class Unavailable(ProblemError):
    """503: a dependency (the database or the broker) is down; the client should retry."""

    status, kind, title = 503, "unavailable", "Service unavailable"


RETRY_AFTER_S = 5  # seconds a client should wait after a 503 (a dependency is down)


def database_unavailable() -> Unavailable:
    """The 503 answered while the database cannot be reached, with a Retry-After header."""
    return Unavailable(
        "the database is unavailable; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


# Documented on every route, so generated clients know the error body.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": desc}
    for code, desc in {
        401: "Missing, unknown or revoked API key",
        404: "Not found (or owned by someone else)",
        409: "Conflict with the current state",
        422: "Validation error; errors[].loc names the field",
        429: "Rate limit or active-experiment quota of this API key reached; see Retry-After",
        500: "Unexpected server error (details in the server log only)",
        503: "A dependency (the database) is unavailable; retry after Retry-After seconds",
    }.items()
}
for _code in (429, 503):
    PROBLEM_RESPONSES[_code]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer"},
        }
    }
BAD_JSON_RESPONSE: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not parsable JSON"}
}


# For routes whose success body is not JSON (HTML): their errors are still JSON problems.
PROBLEM_RESPONSES_JSON: dict[int | str, dict[str, Any]] = {
    code: {
        "description": r["description"],
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        **({"headers": r["headers"]} if "headers" in r else {}),
    }
    for code, r in PROBLEM_RESPONSES.items()
}


def truncate(text: str | None, limit: int = MAX_ECHO) -> str | None:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _bounded(problem: Problem) -> Problem:
    """Every echoed string of a problem cut to MAX_ECHO (an id, a field value, a message
    built from the input): one place, so that no route can answer with its 60 KB input."""
    errors = [
        e.model_copy(update={"msg": truncate(e.msg), "loc": [truncate_loc(p) for p in e.loc]})
        for e in problem.errors[:50]
    ]
    return problem.model_copy(update={"detail": truncate(problem.detail), "errors": errors})


def truncate_loc(part: str | int) -> str | int:
    """A location part as echoed in an error: names cut to 128 characters, indices kept."""
    return part if isinstance(part, int) else truncate(part, 128) or ""


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem document as an ``application/problem+json`` response with its status code."""
    return JSONResponse(
        jsonable_encoder(_bounded(problem)),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_items(errors: list[Any]) -> list[ProblemItem]:
    items = []
    for err in errors:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        msg = str(err.get("msg", "invalid"))
        items.append(ProblemItem(loc=loc, msg=msg, type=str(err.get("type", "value_error"))))
    return items


_STATUS_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with a problem document: raised problems, validation errors, HTTP errors,
    a down database (503) and anything unexpected (500, details only in the log)."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.problem(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = _validation_items(list(exc.errors()))
        return problem_response(invalid(items).problem())

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _STATUS_TITLES.get(exc.status_code, "Error")
        kind = title.lower().replace(" ", "-")
        problem = Problem(
            type=TYPE_BASE + kind, title=title, status=exc.status_code, detail=str(exc.detail)
        )
        return problem_response(problem, getattr(exc, "headers", None))

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlalchemy.exc.InterfaceError)
    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        problem = database_unavailable()
        return problem_response(problem.problem(), problem.headers)

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(ProblemError("unexpected error; see the server log").problem())
