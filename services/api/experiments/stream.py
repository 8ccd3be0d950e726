"""An experiment's events as server-sent events: ``GET /v1/experiments/{id}/events/stream``.

Each event is one SSE message: ``id:`` the event id (a reconnecting client sends it back
as ``Last-Event-ID``), ``event:`` the event type, ``data:`` the event as the events
route's JSON. The stream polls the event log (Postgres or SQLite, the source of truth)
and ends once the experiment has finished and its last events have been sent; a comment
line every ``KEEPALIVE_S`` keeps proxies from closing an idle stream.

Minimal version written with the dashboard's live loss curve (issue 20); the lead
reconciles it with the events helper's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from services.api.experiments import schemas, views
from services.common import db
from services.common.db.status import TERMINAL

POLL_S = 0.5
KEEPALIVE_S = 15.0
PAGE = 200


def sse_message(event: schemas.Event) -> str:
    """One event as an SSE message (``id``, ``event``, ``data`` lines and a blank line)."""
    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n"


def _read(
    sessions: sessionmaker[Session], experiment_id: str, after: int | None
) -> tuple[list[schemas.Event], bool]:
    """The next events after ``after``, and whether the experiment has finished."""
    with sessions() as session:
        experiment = session.get(db.Experiment, experiment_id)
        finished = experiment is None or experiment.status in TERMINAL
        if experiment is None:
            return [], True
        page = views.events(session, experiment, after, PAGE)
        return page.data, finished and not page.has_more


async def event_stream(
    sessions: sessionmaker[Session], experiment_id: str, after: int | None
) -> AsyncIterator[str]:
    """SSE messages of the experiment's events after ``after``, until it has finished."""
    yield "retry: 2000\n\n"
    last_sent = time.monotonic()
    while True:
        events, done = await run_in_threadpool(_read, sessions, experiment_id, after)
        for event in events:
            after = event.id
            yield sse_message(event)
            last_sent = time.monotonic()
        if done:
            return
        if time.monotonic() - last_sent > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        if not events:
            await asyncio.sleep(POLL_S)
