"""``POST /ui/parse-spec``: the dashboard's spec box (YAML or JSON text) -> a JSON object.

It parses and validates nothing else and touches no state, yet it is a route like any
other: an API key is required (and so the per-key rate limit of ``get_principal``
applies), the body is read with a byte cap before parsing, the bounded parser of
``services.common.spec.parsing`` (no aliases, depth, node and integer caps) runs in a worker
thread, and only ``application/yaml`` or ``application/json`` bodies are read: those
types need a CORS preflight, so a foreign page cannot post here with a plain form or a
``text/plain`` fetch.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from services.api.bodies import read_body
from services.api.deps import CurrentPrincipal
from services.api.errors import PROBLEM_RESPONSES, Invalid, Problem, UnsupportedMediaType
from services.common.spec.parsing import ParseError, load_json, load_yaml

MAX_SPEC_TEXT = 256 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml")
JSON_TYPES = ("application/json",)

router = APIRouter(tags=["dashboard"], responses=PROBLEM_RESPONSES)

# Documented as JSON only: client generators refuse application/yaml (the dashboard sends
# YAML as application/yaml, which the route reads as well).
_BODY = {
    "required": True,
    "description": f"A spec as JSON, or as YAML text sent as application/yaml; at most "
    f"{MAX_SPEC_TEXT} bytes.",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def spec_text_to_object(raw: bytes, media_type: str) -> dict[str, Any]:
    """Parse the text with the bounded parser its type names; a mapping or a 422 at
    ``spec_text`` (where the dashboard shows it, next to the text box)."""
    try:
        if media_type in JSON_TYPES:
            data = load_json(raw) if raw.strip() else {}
        else:
            data = load_yaml(raw)
    except ParseError as exc:
        raise Invalid.at(["spec_text"], str(exc), exc.kind) from None  # str: with line
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise Invalid.at(["spec_text"], "the spec must be a mapping of fields", "type_error")
    return data


@router.post(
    "/ui/parse-spec",
    summary="Parse spec text (YAML or JSON) into a JSON object, for the dashboard's form",
    response_model=dict[str, Any],
    openapi_extra={"requestBody": _BODY},
    responses={
        413: {"model": Problem, "description": "Larger than the limit"},
        415: {"model": Problem, "description": "Not application/yaml or application/json"},
    },
)
async def parse_spec_text(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """YAML or JSON text (the request body) -> the JSON object the form merges its
    fields into. Nothing is stored; the spec is validated when it is submitted."""
    media_type = _media_type(request)
    if media_type not in YAML_TYPES + JSON_TYPES:
        raise UnsupportedMediaType(
            f"send the spec as {' or '.join(YAML_TYPES[:1] + JSON_TYPES)}, not {media_type[:80]!r}"
        )
    raw = await read_body(request, MAX_SPEC_TEXT)
    return await run_in_threadpool(spec_text_to_object, raw, media_type)
