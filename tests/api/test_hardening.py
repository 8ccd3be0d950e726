"""Issue 19 part B, in-process: security headers, bounded error echoes, /metrics behind a
key, the access log, private state files, dataset quotas and DELETE, rate limits per
client address and shared across replicas through Redis, the active-experiment quota
under 8 parallel submits on Postgres and SQLite. Each test failed on the code before the fix.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api import SPEC, assert_problem, submit

from services.common import db
from services.common.db import keys
from services.common.runtime.settings import Settings

pytestmark = pytest.mark.anyio
ROWS = b'{"text": "good film", "label": "positive"}\n{"text": "bad film", "label": "negative"}\n'


def _app(tmp_path: Path, api_app: Any, migrate: bool = True, **settings: Any) -> Any:
    from services.api.main import create_app

    s = Settings(ICL_IT_HOME=tmp_path, **settings)
    if migrate:
        db.migrate(s.db_url)
    return create_app(s, queue=type(api_app.state.queue)(), run_migrations=False)


def _key(app: Any, name: str = "k", admin: bool = False) -> str:
    with db.session_scope(app.state.settings.db_url) as s:
        _, key = keys.create_key(s, name, admin=admin)
        s.commit()
    return key


def _client(app: Any, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    )


# -- headers ------------------------------------------------------------------------------
PAGES = ["/", "/ui/submit", "/ui/compare", "/ui/experiments/x", "/docs", "/redoc",
         "/ui/static/dashboard.js", "/v1/experiments", "/v1/experiments/nope", "/openapi.json",
         "/healthz", "/no-such-route"]  # fmt: skip


async def test_every_response_carries_the_security_headers(client):
    for path in PAGES:
        r = await client.get(path)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, (path, csp)
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and "'unsafe-inline'" not in script_src.group(1), (path, csp)
        assert "'unsafe-eval'" not in csp, path
        assert r.headers.get("x-frame-options") == "DENY", path
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("referrer-policy") == "no-referrer", path


async def test_dashboard_pages_have_no_inline_script(client):
    for path in ("/", "/ui/submit", "/ui/compare", "/ui/experiments/x"):
        html = (await client.get(path)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html, re.I), path
    js = (await client.get("/ui/static/dashboard.js")).text
    assert "localStorage.setItem" not in js and "createObjectURL(new Blob([html]" not in js


async def test_swagger_runs_its_own_inline_script_only(client):
    r = await client.get("/docs")
    hashes = re.findall(r"'sha256-[A-Za-z0-9+/=]+'", r.headers["content-security-policy"])
    assert len(hashes) == 1  # Swagger UI's start-up script, and nothing else


# -- echoes, metrics, logs ----------------------------------------------------------------
async def test_error_bodies_truncate_echoed_input(client):
    exp_id = (await submit(client)).json()["id"]
    huge = "a" * 60_000
    r = await client.get(f"/v1/experiments/{exp_id}/artifacts/{huge}")
    assert_problem(r, 404)
    assert len(r.content) < 2_000, len(r.content)


async def test_metrics_need_an_admin_key_or_the_metrics_token(tmp_path, api_app):
    app = _app(tmp_path, api_app, ICL_IT_METRICS_TOKEN="scrape-" + uuid.uuid4().hex)
    user, admin = _key(app, "user"), _key(app, "admin", admin=True)
    for key in (None, user, "iclit_unknown"):
        async with _client(app, key) as c:
            r = await c.get("/metrics")
            assert r.status_code == 401 and "icl_it_experiments" not in r.text, key
    for key in (admin, app.state.settings.metrics_token):
        async with _client(app, key) as c:
            r = await c.get("/metrics")
            assert r.status_code == 200 and "icl_it_experiments" in r.text, key


def test_the_separate_metrics_listener_needs_no_key(tmp_path, api_app):
    from prometheus_client import CollectorRegistry

    from services.api.prometheus import serve_metrics_port
    from tests.fixtures.helpers import free_port

    port = free_port()
    app = _app(tmp_path, api_app, ICL_IT_METRICS_PORT=port)
    server = serve_metrics_port(app, CollectorRegistry())
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200 and "icl_it_http_requests" in r.text
    finally:
        server.shutdown()


async def test_access_log_is_off_by_default_and_scrubs_key_like_query_values(
    tmp_path, api_app, caplog
):
    from services.common.runtime import observability

    assert Settings().access_log is False
    observability.configure_logging("api", Settings(ICL_IT_LOG_FORMAT="json"))
    with caplog.at_level(logging.INFO):
        logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /?api_key=leak HTTP/1.1"')
    assert "leak" not in caplog.text  # uvicorn's access log stays off, whatever its flag

    secret = "iclit_" + uuid.uuid4().hex
    app = _app(tmp_path, api_app, ICL_IT_ACCESS_LOG=True)
    caplog.clear()
    async with _client(app, None) as c:
        with caplog.at_level(logging.INFO, logger="icl_it.access"):
            params = {"api_key": secret, "token": secret, "limit": "5", "Access_Token": secret}
            await c.get("/v1/experiments", params=params)
    records = [r for r in caplog.records if getattr(r, "event", None) == "http.request"]
    assert records and "limit=5" in records[0].query and "api_key=[redacted]" in records[0].query
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_side and all(secret not in str(vars(r)) for r in server_side)


# -- state on disk ------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_state_directory_and_files_are_private(tmp_path, api_app):
    from services.common.runtime.celery_app import make_celery

    home = tmp_path / "state"
    app = _app(home, api_app)
    make_celery(app.state.settings)
    assert _mode(home) == 0o700
    assert _mode(home / "icl_it.db") == 0o600 and _mode(home / "broker.db") == 0o600
    async with _client(app, _key(app)) as c:
        dataset = (await c.post("/v1/datasets", content=ROWS)).json()
    files = [p for p in (home / "artifacts").rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files), files
    assert dataset["id"] in str(files)
    folders = [home / "artifacts", *(p for p in (home / "artifacts").rglob("*") if p.is_dir())]
    assert all(_mode(p) == 0o700 for p in folders)


# -- datasets -----------------------------------------------------------------------------
async def test_dataset_count_and_byte_quotas_per_key(tmp_path, api_app):
    app = _app(tmp_path, api_app, ICL_IT_MAX_DATASETS=2, ICL_IT_MAX_DATASET_BYTES=len(ROWS) * 3)
    a, b = _key(app, "a"), _key(app, "b")
    async with _client(app, a) as ca, _client(app, b) as cb:
        first = await ca.post("/v1/datasets", content=ROWS)
        assert (await ca.post("/v1/datasets", content=ROWS)).status_code == 201
        body = assert_problem(await ca.post("/v1/datasets", content=ROWS), 409)
        assert "ICL_IT_MAX_DATASETS" in body["detail"]
        assert (await cb.post("/v1/datasets", content=ROWS * 3)).status_code == 201  # B's own
        body = assert_problem(await cb.post("/v1/datasets", content=ROWS), 409)
        assert "ICL_IT_MAX_DATASET_BYTES" in body["detail"]
        assert (await ca.delete(f"/v1/datasets/{first.json()['id']}")).status_code == 204
        assert (await ca.post("/v1/datasets", content=ROWS)).status_code == 201  # freed


async def test_delete_dataset_refused_while_an_active_experiment_uses_it(client, api_app, make_key):
    dataset = (await client.post("/v1/datasets", content=ROWS)).json()
    url = f"/v1/datasets/{dataset['id']}"
    async with _client(api_app, make_key("other")) as other:
        assert_problem(await other.delete(url), 404)  # another key's: not found
    exp = await submit(client, {**SPEC, "data": {"task": f"upload:{dataset['id']}"}})
    assert exp.status_code == 202, exp.text
    body = assert_problem(await client.delete(url), 409)
    assert exp.json()["id"] in body["detail"]
    assert (await client.get(url)).status_code == 200
    await client.post(f"/v1/experiments/{exp.json()['id']}/cancel")
    assert (await client.delete(url)).status_code == 204
    assert_problem(await client.get(url), 404)
    assert_problem(await client.delete(url), 404)


# -- rate limits --------------------------------------------------------------------------
async def test_requests_without_a_valid_key_are_limited_per_address(tmp_path, api_app):
    app = _app(tmp_path, api_app, ICL_IT_RATE_LIMIT_ANONYMOUS=3)
    key = _key(app)
    async with _client(app, "iclit_guess") as bad, _client(app, None) as none:
        codes = [(await bad.get("/v1/experiments")).status_code for _ in range(3)]
        codes += [(await none.get("/v1/experiments")).status_code]
        assert codes == [401, 401, 401, 429], codes
        r = await bad.get("/v1/experiments")
        assert "ICL_IT_RATE_LIMIT_ANONYMOUS" in assert_problem(r, 429)["detail"]
        assert int(r.headers["retry-after"]) >= 1
    async with _client(app, key) as good:  # a valid key has its own limit
        assert (await good.get("/v1/experiments")).status_code == 200


async def test_anonymous_mode_gets_a_keys_rate_per_address(tmp_path, api_app):
    app = _app(tmp_path, api_app, ICL_IT_ALLOW_ANONYMOUS=True, ICL_IT_RATE_LIMIT_ANONYMOUS=2,
               ICL_IT_RATE_BURST=4)  # fmt: skip
    async with _client(app, None) as c:
        codes = [(await c.get("/v1/experiments")).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429], codes  # the burst of a key, not the 401 limit


async def test_rate_limit_is_shared_by_replicas_through_redis(tmp_path, api_app, redis_url):
    prefix = f"icl_it_test_{uuid.uuid4().hex[:8]}:"
    shared = dict(REDIS_URL=redis_url, ICL_IT_BROKER_PREFIX=prefix, ICL_IT_RATE_BURST=4)
    one = _app(tmp_path, api_app, **shared)
    two = _app(tmp_path, api_app, migrate=False, **shared)  # a second replica, same database
    key = _key(one)
    async with _client(one, key) as c1, _client(two, key) as c2:
        codes = [(await c1.get("/v1/experiments")).status_code for _ in range(2)]
        codes += [(await c2.get("/v1/experiments")).status_code for _ in range(3)]
    assert codes == [200, 200, 200, 200, 429], codes
    import redis

    r = redis.Redis.from_url(redis_url)
    for k in r.scan_iter(f"{prefix}*"):
        r.delete(k)


@pytest.mark.parametrize("database", ["postgres", "sqlite"])
async def test_active_quota_holds_under_parallel_submits(tmp_path, api_app, database, request):
    url = request.getfixturevalue("postgres_url") if database == "postgres" else None
    app = _app(tmp_path, api_app, DATABASE_URL=url, ICL_IT_MAX_ACTIVE_EXPERIMENTS=2)
    key = _key(app, f"parallel-{uuid.uuid4().hex[:6]}")
    async with _client(app, key) as c:
        answers = await asyncio.gather(*(submit(c) for _ in range(8)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [202, 202] + [429] * 6, codes
    async with _client(app, key) as c:
        listed = (await c.get("/v1/experiments")).json()["data"]
    assert len(listed) == 2
