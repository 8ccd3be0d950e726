"""The dashboard's plots in headless Chromium (Debian's /usr/bin/chromium driven by
Playwright's Python package; Playwright's own browser download does not work here).

Two servers, both real:
- ``surface_stack`` (tests/fixtures/surface.py): the API and both workers on the embedded
  database, with ``finished`` (a succeeded tiny experiment owned by ``user_key``) and
  ``finished_k1`` (another one, k = 1), for the plots of finished results;
- ``pg_api``: the API alone, served by uvicorn in a thread, on the session's Postgres test
  database, with a recording queue instead of Celery: an experiment submitted there stays
  queued, and a test appends its events (as the GPU worker would) to watch the dashboard
  follow them live.

``open_page(server, key)`` opens a page logged in with ``key`` (through the key form, as
a user does) and fails the test on any script error or Content-Security-Policy violation
the page reports. Without /usr/bin/chromium (or ICL_IT_CHROMIUM) the browser tests skip
with the reason; ``.ci/run`` installs chromium. Screenshots: ICL_IT_DASHBOARD_SCREENSHOTS=1
writes docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.api import RecordingQueue
from tests.fixtures.browser import launch_chromium
from tests.fixtures.helpers import free_port, tiny_spec, wait_status

REPO = Path(__file__).resolve().parents[2]
SHOTS = (
    REPO / "docs" / "screenshots" if os.environ.get("ICL_IT_DASHBOARD_SCREENSHOTS") == "1" else None
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium, or a skip that says how to get one."""
    with launch_chromium() as browser:
        yield browser


@dataclass
class Server:
    """A running API: its base URL and an API key of its database."""

    url: str
    key: str
    db_url: str


@pytest.fixture(scope="module")
def pg_api(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path
) -> Iterator[Server]:
    """The API (uvicorn, in a thread) on the Postgres test database; runs stay queued."""
    import uvicorn

    from services.api.main import create_app
    from services.common import db
    from services.common.db import keys, migrate
    from services.common.runtime.settings import Settings

    settings = Settings(
        ICL_IT_HOME=tmp_path_factory.mktemp("pg-api-home"),
        DATABASE_URL=postgres_url,
        REDIS_URL=None,
        ARTIFACT_URL=None,
        ICL_IT_MODEL_DIRS=str(tiny_model_dir.parent),
    )
    migrate(postgres_url)
    with db.session_scope(postgres_url) as s:
        _, key = keys.create_key(s, "browser-user")
        s.commit()
    app = create_app(settings, queue=RecordingQueue(), run_migrations=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    try:
        yield Server(f"http://127.0.0.1:{port}", key, postgres_url)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def finished_k1(http: httpx.Client, tiny_model_dir: Path) -> dict[str, Any]:
    """A second succeeded experiment of ``user_key`` (k = 1, one seed), to compare with."""
    spec = tiny_spec(tiny_model_dir, name="surface-k1", demos={"k": 1}, controls=[])
    response = http.post("/v1/experiments", json=spec)
    assert response.status_code == 202, response.text
    body = wait_status(http, response.json()["id"], timeout=180)
    assert body["status"] == "succeeded", body
    return body


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Callable[[str, str], Any]]:
    """open_page(base_url, key): a new page logged in with ``key``. Script errors and CSP
    violations the pages report fail the test at teardown."""
    contexts: list[Any] = []
    problems: list[str] = []

    def watch(message: Any) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text or "Refused" in text):
            problems.append(f"console: {text}")

    def open_(base_url: str, key: str) -> Any:
        context = chromium.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("console", watch)
        page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
        page.goto("/")
        page.fill("#api-key", key)
        page.click("#key-form button")
        page.wait_for_load_state()
        assert page.inner_text("#key-state") == "key set"
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def screenshot(locator: Any, name: str) -> None:
    """A PNG of one element under docs/screenshots/ when ICL_IT_DASHBOARD_SCREENSHOTS=1."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture
def shot() -> Callable[[Any, str], None]:
    """``shot(locator, name)``: see ``screenshot``."""
    return screenshot
