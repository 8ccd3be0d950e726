"""Server-sent events: the experiment's event stream, read with httpx streaming.

``GET /v1/experiments/{id}/events/stream`` sends one message per event (``id``: the
event id, ``event``: its type, ``data``: the event as JSON) and comments as keep-alive
pings, and ends after the last event of a finished experiment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import httpx
import tenacity
from icl_it_client.models import Event

from icl_it_sdk.errors import error_for

TRANSIENT_TRIES = 5  # failures in a row (a read, a reconnect) before giving up
TRANSIENT_WAIT_MAX_S = 10.0


def sse_messages(lines: Iterable[str]) -> Iterator[dict[str, str]]:
    """Server-sent event messages (``{"id", "event", "data"}``) from a stream's lines;
    comments (keep-alive pings) are skipped, multi-line data joined with newlines."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield {**fields, "data": "\n".join(data)}
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name in ("id", "event"):
            fields[name] = value


def follow_events(http: httpx.Client, experiment_id: str, after: int | None) -> Iterator[Event]:
    """The experiment's events from its stream, after ``after``, until it has ended; a
    dropped connection is resumed after the last event seen (Last-Event-ID), with backoff."""
    last = [after]

    def read() -> Iterator[Event]:
        headers = {"Last-Event-ID": str(last[0])} if last[0] is not None else {}
        path = f"/v1/experiments/{experiment_id}/events/stream"
        with http.stream("GET", path, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise error_for(response.status_code, response.reason_phrase, response.content)
            for message in sse_messages(response.iter_lines()):
                event = Event.from_dict(json.loads(message["data"]))
                last[0] = event.id
                yield event

    for attempt in tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(httpx.TransportError),
        wait=tenacity.wait_exponential(multiplier=1, max=TRANSIENT_WAIT_MAX_S),
        stop=tenacity.stop_after_attempt(TRANSIENT_TRIES),
        reraise=True,
    ):
        with attempt:
            yield from read()
