"""A submit while the broker is down: stored as queued, answered 202, and sent by the
reconciler once the broker is back. Against a private redis-server the test stops and
starts again (tests/fixtures/private_servers.py), never the machine's shared one.

The API is in-process (ASGITransport) with the real Celery gateway; the database is the
embedded SQLite file, which the reconciler reads through the global settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common import db
from services.common.db import keys
from services.common.runtime.settings import Settings, get_settings
from tests.fixtures.private_servers import PrivateRedis

pytestmark = [pytest.mark.anyio, pytest.mark.services]
SPEC: dict[str, Any] = {"name": "broker-down", "inference": {"n": 4}, "demos": {"k": 2},
                        "seeds": [0, 1]}  # fmt: skip


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def settings(tmp_path: Path, redis_server: PrivateRedis, monkeypatch) -> Iterator[Settings]:
    """The app's settings and the process's (the reconciler reads the latter)."""
    home = tmp_path / "home"
    monkeypatch.setenv("ICL_IT_HOME", str(home))
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ICL_IT_BROKER_PREFIX", "broker-down:")
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        get_settings.cache_clear()


def _waiting(settings: Settings, experiment_id: str) -> list[db.Run]:
    with db.session_scope(settings.db_url) as s:
        return list(s.query(db.Run).filter_by(experiment_id=experiment_id).order_by(db.Run.index))


async def test_submit_while_the_broker_is_down_is_sent_when_it_is_back(
    settings: Settings, redis_server: PrivateRedis
):
    from services.api.main import create_app
    from services.common.jobs.reconciler import broker_queue_size, reconcile_once

    db.migrate(settings.db_url)
    app = create_app(settings, run_migrations=False)  # the real Celery gateway
    with db.session_scope(settings.db_url) as s:
        _, key = keys.create_key(s, "broker-down")
        s.commit()
    celery = app.state.queue.celery
    size = broker_queue_size(celery)
    assert size("gpu") == 0  # the broker answers

    redis_server.stop()
    t0 = time.monotonic()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": f"Bearer {key}"},
    ) as c:
        r = await c.post("/v1/experiments", json=SPEC)
        assert r.status_code == 202, r.text
        exp = (await c.get(f"/v1/experiments/{r.json()['id']}")).json()
    assert time.monotonic() - t0 < 30
    assert exp["status"] == "queued" and exp["error"] is None
    runs = _waiting(settings, exp["id"])
    assert len(runs) >= 2 and all(r.status == "queued" and r.dispatched_at is None for r in runs)

    def send(name: str, args: list[Any]) -> None:  # as start_reconciler sends
        celery.send_task(name, args=args, retry=True, retry_policy={"max_retries": 2})

    while_down = reconcile_once(send, size, settings)
    assert while_down.resent_runs == []  # no broker: nothing can be sent yet

    redis_server.start()  # the same port: the broker is back, empty
    back = reconcile_once(send, size, settings)
    assert sorted(back.resent_runs) == sorted(r.id for r in runs)
    assert size("gpu") == len(runs)  # every task is in the real queue now
    assert all(r.dispatched_at is not None for r in _waiting(settings, exp["id"]))
    assert reconcile_once(send, size, settings).resent_runs == []  # sent once, not again
