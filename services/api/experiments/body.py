"""The submit body, read with a size limit and validated off the event loop.

FastAPI validates a declared body model on the event loop; a spec's validation expands
its runs, so the route takes the raw body and validates it in a worker thread with the
same error shapes (``loc`` starts with ``body``) as FastAPI's own validation.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.api.errors import BadRequest, PayloadTooLarge
from services.common.spec import ExperimentSpec
from services.common.spec.parsing import ParseError, load_json


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; a 413 once it is over ``limit`` bytes, declared or streamed."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is limited to {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is limited to {limit} bytes")
    return bytes(body)


def parse_error(exc: ParseError, field: str = "body") -> RequestValidationError:
    """A bounded parser's refusal as the 422 FastAPI gives for unparsable JSON (``loc``
    names the body, ``type`` the limit: json_invalid, too_deep, int_too_large, ...)."""
    where = [exc.line, exc.column] if exc.line is not None else []
    return RequestValidationError(
        [{"type": exc.kind, "loc": (field, *where), "msg": exc.msg, "input": {}}]
    )


def validate_spec(data: Any) -> ExperimentSpec:
    """A parsed body -> the spec, with pydantic's errors located under ``body``."""
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc


def parse_spec(raw: bytes) -> ExperimentSpec:
    """A submitted body -> the spec, through the bounded JSON parser; every refusal a 4xx."""
    try:
        data: Any = load_json(raw)
    except ParseError as exc:
        if exc.kind == "unicode_error":
            raise BadRequest("the body is not UTF-8 JSON") from exc
        raise parse_error(exc) from exc
    return validate_spec(data)
