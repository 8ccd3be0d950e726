"""Fixtures for the service tests.

Fast API tests: the app on an embedded SQLite file with an in-memory task queue
(no broker, no workers), called through httpx's ASGITransport. Each test gets its own
owner (API key), so tests never see each other's experiments.

Stack tests (marked ``services``): real worker processes started by ``services.stack``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from services.common.settings import Settings


class RecordingQueue:
    """Stands in for the Celery gateway: remembers what would have been sent."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.finalized: list[str] = []
        self.fail = False

    def enqueue_runs(self, run_ids: list[str]) -> None:
        if self.fail:
            raise ConnectionError("broker down (test)")
        self.runs.extend(run_ids)

    def enqueue_finalize(self, experiment_id: str) -> None:
        self.finalized.append(experiment_id)

    def ping(self) -> None:
        if self.fail:
            raise ConnectionError("broker down (test)")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("api-home")
    return Settings(ICL_IT_HOME=home, DATABASE_URL=None, REDIS_URL=None, ARTIFACT_URL=None)


@pytest.fixture(scope="session")
def api_app(api_settings: Settings) -> Any:
    from services.api.main import create_app
    from services.common.db import migrate

    migrate(api_settings.db_url)
    return create_app(api_settings, queue=RecordingQueue(), run_migrations=False)


@pytest.fixture
def queue(api_app: Any) -> Iterator[RecordingQueue]:
    q = api_app.state.queue
    q.fail = False
    yield q
    q.fail = False


@pytest.fixture
def make_key(api_app: Any) -> Callable[..., str]:
    """Register a new API key in the test app's database; returns the key."""
    from services.common import db, keys

    def make(name: str = "test", admin: bool = False) -> str:
        with db.session_scope(api_app.state.settings.db_url) as s:
            _, key = keys.create_key(s, name, admin=admin)
            s.commit()
        return key

    return make


@pytest.fixture
def api_key(make_key: Callable[..., str]) -> str:
    return make_key(f"test-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def client(api_app: Any, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as c:
        yield c
