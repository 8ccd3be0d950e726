"""API keys, isolation between keys, revocation, the per-key rate limit and quota.

In-process app on SQLite; keys are registered the way ``icl-it keys create`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api import JSONL, SPEC, assert_problem, submit

from services.common import db
from services.common.db import keys
from services.common.runtime.settings import Settings

pytestmark = pytest.mark.anyio


def _client(app: Any, key: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


async def test_key_a_cannot_see_or_touch_key_bs_things(api_app, make_key):
    a, b, admin = make_key("a"), make_key("b"), make_key("ops", admin=True)
    async with _client(api_app, a) as ca, _client(api_app, b) as cb, _client(api_app, admin) as cz:
        exp = (await submit(cb)).json()["id"]
        ds = (await cb.post("/v1/datasets", content=JSONL.encode())).json()["id"]
        for path in ("", "/events", "/results", "/report", "/artifacts", "/artifacts/results"):
            assert_problem(await ca.get(f"/v1/experiments/{exp}{path}"), 404)
        assert_problem(await ca.post(f"/v1/experiments/{exp}/cancel"), 404)
        assert_problem(await ca.get(f"/v1/datasets/{ds}"), 404)
        assert exp not in [e["id"] for e in (await ca.get("/v1/experiments")).json()["data"]]
        bad = await submit(ca, {**SPEC, "data": {"task": f"upload:{ds}"}})
        assert assert_problem(bad, 422)["errors"][0]["type"] == "unknown_dataset"
        # B sees its own; an admin key sees (and may cancel) everyone's
        assert (await cb.get(f"/v1/experiments/{exp}")).status_code == 200
        assert exp in [e["id"] for e in (await cz.get("/v1/experiments")).json()["data"]]
        assert (await cz.get(f"/v1/experiments/{exp}")).status_code == 200
        assert (await cz.post(f"/v1/experiments/{exp}/cancel")).status_code == 202


async def test_unknown_revoked_and_missing_keys_are_401(api_app, make_key):
    key = make_key("soon-revoked")
    async with _client(api_app, key) as c:
        assert (await c.get("/v1/experiments")).status_code == 200
        with db.session_scope(api_app.state.settings.db_url) as s:
            assert keys.revoke(s, "soon-revoked") == 1
            s.commit()
        r = await c.get("/v1/experiments")
        assert assert_problem(r, 401)["detail"] == "unknown or revoked API key"
        assert r.headers["www-authenticate"] == "Bearer"
    async with _client(api_app, "iclit_never-registered") as c:
        assert_problem(await c.get("/v1/experiments"), 401)
    async with _client(api_app, None) as c:  # anonymous access is off by default
        assert (
            "API key is required" in assert_problem(await c.get("/v1/experiments"), 401)["detail"]
        )
    async with _client(api_app, None) as c:
        assert (await c.get("/healthz")).status_code == 200  # probes need no key


def _app(tmp_path: Path, api_app: Any, **settings: Any) -> Any:
    from services.api.main import create_app

    s = Settings(ICL_IT_HOME=tmp_path, **settings)
    db.migrate(s.db_url)
    return create_app(s, queue=type(api_app.state.queue)(), run_migrations=False)


def _key(app: Any, name: str = "k") -> str:
    with db.session_scope(app.state.settings.db_url) as s:
        _, key = keys.create_key(s, name)
        s.commit()
    return key


async def test_rate_limit_is_429_with_retry_after_per_key(tmp_path, api_app):
    app = _app(tmp_path, api_app, ICL_IT_RATE_LIMIT=60, ICL_IT_RATE_BURST=5)
    a, b = _key(app, "a"), _key(app, "b")
    async with _client(app, a) as ca, _client(app, b) as cb:
        codes = [(await ca.get("/v1/experiments")).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}, codes
        r = await ca.get("/v1/experiments")
        body = assert_problem(r, 429)
        assert "60 requests per minute" in body["detail"] and "ICL_IT_RATE_LIMIT" in body["detail"]
        assert int(r.headers["retry-after"]) >= 1
        assert (await cb.get("/v1/experiments")).status_code == 200  # B has its own bucket


async def test_active_experiment_quota_is_429_and_replays_still_answer(tmp_path, api_app):
    app = _app(tmp_path, api_app, ICL_IT_MAX_ACTIVE_EXPERIMENTS=2)
    key = _key(app)
    async with _client(app, key) as c:
        first = await submit(c, headers={"Idempotency-Key": "one"})
        assert first.status_code == 202
        assert (await submit(c)).status_code == 202
        r = await submit(c)
        body = assert_problem(r, 429)
        assert "at most 2 (ICL_IT_MAX_ACTIVE_EXPERIMENTS)" in body["detail"]
        assert r.headers["retry-after"].isdigit()
        again = await submit(c, headers={"Idempotency-Key": "one"})
        assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
        await c.post(f"/v1/experiments/{first.json()['id']}/cancel")  # frees a slot
        assert (await submit(c)).status_code == 202


async def test_anonymous_access_only_when_set(tmp_path, api_app, caplog):
    with caplog.at_level("WARNING"):
        app = _app(tmp_path, api_app, ICL_IT_ALLOW_ANONYMOUS=True)
    assert "ICL_IT_ALLOW_ANONYMOUS" in caplog.text
    async with _client(app, None) as c:
        assert (await submit(c)).status_code == 202


def test_keys_cli_create_list_revoke_and_the_local_key(tmp_path, monkeypatch, capsys):
    from services.cli import main as cli
    from services.common.runtime.settings import get_settings

    monkeypatch.setenv("ICL_IT_HOME", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert cli.main(["keys", "create", "--name", "alice", "--admin"]) == 0
        key = capsys.readouterr().out.strip().splitlines()[-1]
        assert key.startswith("iclit_")
        assert cli.main(["keys", "list"]) == 0
        listing = capsys.readouterr().out
        assert "alice" in listing and "yes" in listing and key not in listing
        with db.session_scope() as s:
            row = keys.find_active(s, key)
            assert row is not None and row.admin and row.key_hash != key
        assert cli.main(["keys", "revoke", "alice"]) == 0
        assert cli.main(["keys", "revoke", "alice"]) == 1  # nothing active left
        with db.session_scope() as s:
            assert keys.find_active(s, key) is None

        local = keys.ensure_local_key()  # what `make demo` / `make up` do at start
        assert (tmp_path / "api_key").read_text().strip() == local
        assert oct((tmp_path / "api_key").stat().st_mode & 0o777) == "0o600"
        assert keys.ensure_local_key() == local  # reused while it is valid
        with db.session_scope() as s:
            keys.revoke(s, "local")
            s.commit()
        assert keys.ensure_local_key() != local  # replaced once revoked
    finally:
        get_settings.cache_clear()
