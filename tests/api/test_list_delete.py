"""GET /v1/experiments filters (status, name, tag, id prefix), tags at submit, DELETE of a
finished experiment (rows and files), GET /v1/datasets: on SQLite and on real Postgres,
with the real artifact store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.common import db, jobs
from services.common.db import keys
from services.common.db.status import ExperimentStatus
from services.common.runtime.settings import Settings
from services.common.storage.layout import RESULTS_FILE, experiment_file_key, run_file_key
from tests.fixtures.api import api_client

pytestmark = pytest.mark.anyio
SPEC: dict[str, Any] = {"name": "list-test", "inference": {"n": 4}, "demos": {"k": 2}}


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path, api_app: Any) -> Any:
    """A fresh app (own database and store) on SQLite or on a real Postgres database."""
    from services.api.main import create_app

    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = Settings(ICL_IT_HOME=tmp_path, DATABASE_URL=url)
    db.migrate(settings.db_url)
    return create_app(settings, queue=type(api_app.state.queue)(), run_migrations=False)


def new_key(app: Any, name: str = "k") -> str:
    with db.session_scope(app.state.settings.db_url) as s:
        _, key = keys.create_key(s, f"{name}-{uuid.uuid4().hex[:6]}")
        s.commit()
    return key


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app, new_key(app)) as c:
        yield c


async def submit(client: httpx.AsyncClient, **patch: Any) -> dict[str, Any]:
    r = await client.post("/v1/experiments", json={**SPEC, **patch})
    assert r.status_code == 202, r.text
    return r.json()


def finish(app: Any, experiment_id: str, status: ExperimentStatus, **keys: str) -> None:
    """Move the experiment to a final status with the job transition the workers use."""
    with db.session_scope(app.state.settings.db_url) as s:
        assert jobs.finish_experiment(s, experiment_id, status, **keys)
        s.commit()


async def ids(client: httpx.AsyncClient, query: str = "") -> list[str]:
    r = await client.get(f"/v1/experiments{query}")
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["data"]]


async def test_tags_are_stored_listed_and_filtered(client):
    a = await submit(client, name="alpha-run", tags=["baseline", "k=8"])
    b = await submit(client, name="beta", tags=["baseline"])
    c = await submit(client, name="Gamma-Alpha")
    assert a["tags"] == ["baseline", "k=8"] and a["spec"]["tags"] == ["baseline", "k=8"]
    assert c["tags"] == []
    assert await ids(client, "?tag=baseline") == [b["id"], a["id"]]
    assert await ids(client, "?tag=baseline&tag=k=8") == [a["id"]]
    assert await ids(client, "?tag=nope") == []
    # name: a substring in any case; % and _ are literal, not wildcards
    assert await ids(client, "?name=ALPHA") == [c["id"], a["id"]]
    assert await ids(client, "?name=%25") == []
    assert await ids(client, "?name=alpha_run") == []


@pytest.mark.parametrize(
    "tags", [["has space"], ["x", "x"], ["a" * 33], [str(i) for i in range(17)], ["-x"]]
)
async def test_bad_tags_are_422_naming_the_field(client, tags):
    r = await client.post("/v1/experiments", json={**SPEC, "tags": tags})
    assert r.status_code == 422, r.text
    assert any(e["loc"][:2] == ["body", "tags"] for e in r.json()["errors"]), r.json()


async def test_status_filter_is_honoured(client, app):
    queued = await submit(client)
    done = await submit(client)
    failed = await submit(client)
    finish(app, done["id"], ExperimentStatus.SUCCEEDED)
    finish(app, failed["id"], ExperimentStatus.FAILED)
    assert await ids(client, "?status=queued") == [queued["id"]]
    assert await ids(client, "?status=succeeded") == [done["id"]]
    assert await ids(client, "?status=succeeded&status=failed") == [failed["id"], done["id"]]
    assert await ids(client, "?status=running") == []
    assert (await client.get("/v1/experiments?status=bogus")).status_code == 422
    # the filter holds across pages
    first = (await client.get("/v1/experiments?status=queued&status=failed&limit=1")).json()
    assert [e["id"] for e in first["data"]] == [failed["id"]] and first["has_more"]
    nxt = await ids(client, f"?status=queued&status=failed&limit=1&after={first['next_cursor']}")
    assert nxt == [queued["id"]]


async def test_id_prefix_is_owner_scoped(client, app):
    mine = await submit(client)
    async with api_client(app, new_key(app, "other")) as other:
        theirs = await submit(other)
        assert await ids(other, f"?id_prefix={mine['id'][:12]}") == []
    assert await ids(client, f"?id_prefix={mine['id'][:12]}") == [mine["id"]]
    assert await ids(client, f"?id_prefix={theirs['id']}") == []
    for bad in ["XYZ", "a" * 33, "a%25"]:
        r = await client.get(f"/v1/experiments?id_prefix={bad}")
        assert r.status_code == 422, (bad, r.text)


def count(app: Any, model: Any, experiment_id: str) -> int:
    with db.session_scope(app.state.settings.db_url) as s:
        return int(
            s.scalar(
                select(func.count()).select_from(model).where(model.experiment_id == experiment_id)
            )
            or 0
        )


async def test_delete_removes_rows_and_files_of_a_finished_experiment_only(client, app):
    store = app.state.store
    doomed, kept = await submit(client), await submit(client)
    files = {}
    for e in (doomed, kept):
        results = experiment_file_key(e["id"], RESULTS_FILE)
        states = run_file_key(e["id"], e["runs"][0]["id"], "states.safetensors")
        store.put(results, b"{}")
        store.put(states, b"\0" * 64)
        files[e["id"]] = [results, states]
    # not finished: 409, nothing removed
    r = await client.delete(f"/v1/experiments/{doomed['id']}")
    assert r.status_code == 409, r.text
    assert "queued" in r.json()["detail"]
    assert all(store.list_keys(k.rsplit("/", 1)[0]) for k in files[doomed["id"]])

    finish(app, doomed["id"], ExperimentStatus.SUCCEEDED, results_key=files[doomed["id"]][0])
    async with api_client(app, new_key(app, "other")) as other:  # someone else's: 404
        assert (await other.delete(f"/v1/experiments/{doomed['id']}")).status_code == 404
    assert count(app, db.Run, doomed["id"]) == len(doomed["runs"])
    assert count(app, db.Event, doomed["id"]) >= 1

    r = await client.delete(f"/v1/experiments/{doomed['id']}")
    assert r.status_code == 204, r.text
    assert (await client.get(f"/v1/experiments/{doomed['id']}")).status_code == 404
    assert count(app, db.Run, doomed["id"]) == 0
    assert count(app, db.Event, doomed["id"]) == 0
    assert store.sizes(f"experiments/{doomed['id']}") == {}
    assert (await client.delete(f"/v1/experiments/{doomed['id']}")).status_code == 404
    # the other experiment is untouched
    assert sorted(store.sizes(f"experiments/{kept['id']}")) == sorted(files[kept["id"]])
    assert count(app, db.Run, kept["id"]) == len(kept["runs"])


async def test_artifact_sizes_come_from_the_store(client, app):
    e = await submit(client)
    key = experiment_file_key(e["id"], RESULTS_FILE)
    app.state.store.put(key, b'{"x": 1}')
    finish(app, e["id"], ExperimentStatus.SUCCEEDED, results_key=key)
    listed = (await client.get(f"/v1/experiments/{e['id']}/artifacts")).json()["data"]
    assert [(a["id"], a["size_bytes"]) for a in listed] == [("results", len(b'{"x": 1}'))]


async def test_datasets_are_listed_per_owner(client, app):
    assert (await client.get("/v1/datasets")).json() == {"data": []}
    rows = b'{"text": "good", "label": "positive"}\n{"text": "bad", "label": "negative"}\n'
    ids_ = []
    for _ in range(2):
        r = await client.post("/v1/datasets", content=rows)
        assert r.status_code == 201, r.text
        ids_.append(r.json()["id"])
    listed = (await client.get("/v1/datasets")).json()["data"]
    assert [d["id"] for d in listed] == ids_[::-1]
    assert {d["n_rows"] for d in listed} == {2}
    async with api_client(app, new_key(app, "other")) as other:
        assert (await other.get("/v1/datasets")).json() == {"data": []}
