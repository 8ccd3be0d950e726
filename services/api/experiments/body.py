"""The submit body, read with a size limit and validated off the event loop.

FastAPI validates a declared body model on the event loop; a spec's validation expands
its runs, so the route takes the raw body and validates it in a worker thread with the
same error shapes (``loc`` starts with ``body``) as FastAPI's own validation.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from services.api.errors import BadRequest, PayloadTooLarge
from services.common.spec import ExperimentSpec


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


def parse_spec(raw: bytes) -> ExperimentSpec:
    """Parse and validate a spec, raising FastAPI's own errors (``loc`` starting with ``body``)."""
    try:
        data: Any = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BadRequest("the body is not UTF-8 JSON") from exc
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ]
        ) from exc
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from exc
