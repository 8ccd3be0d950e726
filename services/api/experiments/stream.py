"""``GET /v1/experiments/{id}/events/stream``: the event log as server-sent events.

Each event row is one SSE message: ``id:`` the event id, ``event:`` its type, ``data:``
the same JSON object as an item of ``GET .../events``. Any event type passes through
unchanged. A client resumes with the ``Last-Event-ID`` header (what EventSource sends on
reconnect) or ``?after=``. The stream ends after the last event of a finished experiment.

The generator polls the database every ``POLL_S`` seconds, each poll in a session of its
own, opened and closed in a worker thread: an idle stream holds no database connection,
and a client that goes away cancels the generator at its next await.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from sqlalchemy.orm import Session
from sse_starlette import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from services.api.errors import Invalid
from services.api.experiments import repository as repo
from services.api.experiments import views
from services.common import db
from services.common.db.status import TERMINAL

POLL_S = 1.0  # seconds between two reads of the event log while nothing is new
PING_S = 15  # seconds between keep-alive comments (proxies close silent connections)
PAGE = 500  # events read per poll
MAX_EVENT_ID = 2**63 - 1  # BIGINT

STREAM_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "text/event-stream: one message per event (id, event = its type, "
        "data = the Event object as JSON), comments as keep-alive pings; it ends after "
        "the last event of a finished experiment.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def resume_cursor(last_event_id: str | None, after: int | None) -> int | None:
    """Where the stream starts: after the ``Last-Event-ID`` header's event (a reconnect),
    else after ``?after=``, else at the first event."""
    if last_event_id is None or not last_event_id.strip():
        return after
    text = last_event_id.strip()
    if not text.isdigit() or int(text) > MAX_EVENT_ID:
        raise Invalid.at(["header", "last-event-id"], "must be an event id (an integer)")
    return int(text)


def _poll(
    sessionmaker: Callable[[], Session], experiment_id: str, after: int | None
) -> tuple[Sequence[db.Event], bool, bool]:
    """(events after the cursor, whether more follow, whether the experiment had ended
    before they were read): one short-lived session, closed before returning."""
    with sessionmaker() as session:
        status = session.get(db.Experiment, experiment_id)
        ended = status is None or str(status.status) in TERMINAL
        rows, has_more = repo.events_page(session, experiment_id, after, PAGE)
        session.expunge_all()
        return rows, has_more, ended


async def event_messages(
    sessionmaker: Callable[[], Session],
    experiment_id: str,
    after: int | None,
    poll_s: float = POLL_S,
) -> AsyncIterator[ServerSentEvent]:
    """The experiment's events after ``after`` as SSE messages, until it has ended and
    its last event is sent. The status is read before the events, so an experiment seen
    ended has written all its events by the time they are read."""
    cursor = after
    while True:
        rows, has_more, ended = await run_in_threadpool(_poll, sessionmaker, experiment_id, cursor)
        for row in rows:
            item = views.event_item(row)
            yield ServerSentEvent(data=item.model_dump_json(), event=item.type, id=str(item.id))
            cursor = row.id
        if has_more:
            continue
        if ended:
            return
        await asyncio.sleep(poll_s)
