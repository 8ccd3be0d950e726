"""Reading a request body under a size limit: one function for every route that takes raw
bytes (experiment specs, dataset uploads)."""

from __future__ import annotations

from fastapi import Request

from services.api.errors import PayloadTooLarge


async def read_body(request: Request, limit: int, what: str = "the body is") -> bytes:
    """The raw body; a 413 once it is over ``limit`` bytes, declared or streamed (the
    message: f"{what} limited to {limit} bytes")."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"{what} limited to {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"{what} limited to {limit} bytes")
    return bytes(body)
