"""``GET /v1/experiments/{id}/events/stream`` against the real stack (API + real workers):
a tiny experiment followed live from its submit to its end, a resume with Last-Event-ID
and ?after=, owner scoping, and the SDK's and the CLI's follow reading the same stream."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from icl_it_sdk import IclIt, NotFound, sse_messages

from tests.fixtures.helpers import events, tiny_spec

pytestmark = pytest.mark.services


def _stream(
    http: httpx.Client, experiment_id: str, headers: dict[str, str] | None = None, **params: Any
) -> list[dict[str, str]]:
    """Every message of one stream, read until the server ends it."""
    path = f"/v1/experiments/{experiment_id}/events/stream"
    with http.stream("GET", path, headers=headers or {}, params=params, timeout=120) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return list(sse_messages(r.iter_lines()))


def test_a_live_experiment_streams_in_order_resumes_and_ends(
    http: httpx.Client, tiny_model_dir: Path
) -> None:
    submitted = http.post("/v1/experiments", json=tiny_spec(tiny_model_dir, name="sse"))
    assert submitted.status_code == 202, submitted.text
    eid = submitted.json()["id"]

    path = f"/v1/experiments/{eid}/events/stream"
    live, status_at_first = [], None
    with http.stream("GET", path, timeout=120) as r:  # opened while queued
        for message in sse_messages(r.iter_lines()):
            if status_at_first is None:  # delivered as written, not when the stream ends
                status_at_first = http.get(f"/v1/experiments/{eid}").json()["status"]
            live.append(message)
    assert status_at_first in ("queued", "running"), status_at_first
    logged = events(http, eid)
    assert [int(m["id"]) for m in live] == [e["id"] for e in logged]  # all, in order
    assert [m["event"] for m in live] == [e["type"] for e in logged]
    assert [json.loads(m["data"]) for m in live] == logged  # data = the list's item
    assert logged[0]["type"] == "experiment.queued"
    assert logged[-1]["type"] == "experiment.succeeded"

    middle = logged[len(logged) // 2]["id"]
    resumed = _stream(http, eid, headers={"Last-Event-ID": str(middle)})
    assert [int(m["id"]) for m in resumed] == [e["id"] for e in logged if e["id"] > middle]
    after = _stream(http, eid, after=middle)
    assert after == resumed
    # the header wins over ?after= (EventSource sends it on reconnect)
    assert _stream(http, eid, headers={"Last-Event-ID": str(middle)}, after=0) == resumed
    assert _stream(http, eid, after=logged[-1]["id"]) == []  # nothing after the last


def test_the_stream_is_scoped_to_the_owner_and_checks_its_cursor(
    surface_stack: Any, finished: dict[str, Any], other_key: str, http: httpx.Client
) -> None:
    path = f"/v1/experiments/{finished['id']}/events/stream"
    theirs = httpx.get(
        f"{surface_stack.url}{path}", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert theirs.status_code == 404
    assert httpx.get(f"{surface_stack.url}{path}").status_code == 401
    bad = http.get(path, headers={"Last-Event-ID": "not-a-number"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == [
        "header",
        "last-event-id",
    ]


def test_the_sdk_follows_the_stream(
    surface_stack: Any, finished: dict[str, Any], user_key: str
) -> None:
    with IclIt(surface_stack.url, api_key=user_key) as api:
        followed = [e.id for e in api.events(finished["id"], follow=True)]
        paged = [e.id for e in api.events(finished["id"])]
        assert followed == paged and followed
        assert [e.id for e in api.events(finished["id"], after=followed[1], follow=True)] == (
            followed[2:]
        )
        with pytest.raises(NotFound):
            list(api.events("0" * 32, follow=True))


def test_the_stream_holds_no_connection_while_idle_on_postgres(postgres_url: str) -> None:
    """The generator itself on the real Postgres, with events inserted while it waits: it
    yields them in order, has no pooled connection checked out while a reader keeps it
    waiting at a yield (each poll's session is closed before its events are sent), and
    ends once the experiment has ended and its last event is sent."""
    import anyio

    from services.api.experiments.stream import event_messages
    from services.common import db

    db.migrate(postgres_url)
    engine, sessions = db.get_engine(postgres_url), db.get_sessionmaker(postgres_url)
    with sessions() as s:
        exp = db.Experiment(
            id=db.new_id(), owner="o", name="sse", status="running", spec={}, request_hash="h", total_runs=0,
            completed_runs=0, created_at=db.utcnow(),
        )  # fmt: skip
        s.add(exp)
        db.add_event(s, exp.id, "experiment.queued", "queued")
        s.commit()
        eid = exp.id

    def write(type_: str, status: str | None = None) -> None:
        with sessions() as s:
            db.add_event(s, eid, type_, type_, data={"loss": [1.5, 0.5], "adapters": [0, 1]})
            if status is not None:
                s.get(db.Experiment, eid).status = status  # type: ignore[union-attr]
            s.commit()

    async def follow() -> tuple[list[str], list[int]]:
        seen, checked_out = [], []
        stream = event_messages(sessions, eid, None, poll_s=0.05)
        async with anyio.create_task_group() as tg:

            async def writer() -> None:
                await anyio.sleep(0.3)  # a few idle polls first
                await anyio.to_thread.run_sync(write, "tuning")
                await anyio.sleep(0.2)
                await anyio.to_thread.run_sync(write, "experiment.succeeded", "succeeded")

            tg.start_soon(writer)
            async for message in stream:
                await anyio.sleep(0.02)  # a slow reader: the generator waits at its yield
                checked_out.append(engine.pool.checkedout())
                seen.append(f"{message.event}:{json.loads(str(message.data))['type']}")
        return seen, checked_out

    seen, checked_out = anyio.run(follow)
    assert seen == [
        "experiment.queued:experiment.queued",
        "tuning:tuning",  # any event type passes through unchanged
        "experiment.succeeded:experiment.succeeded",
    ]
    assert checked_out and set(checked_out) == {0}
