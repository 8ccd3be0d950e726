"""HTTP contract tests: the app in-process (ASGITransport), SQLite, no broker, no workers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.common.spec import ExperimentSpec, expand_runs
from tests.fixtures.api import api_client

pytestmark = pytest.mark.anyio

SPEC: dict[str, Any] = {"name": "api-test", "inference": {"n": 4}, "demos": {"k": 2}}
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) == PROBLEM_KEYS and body["status"] == status
    return body


async def submit(client: httpx.AsyncClient, spec: dict[str, Any] | None = None, **kw: Any):
    return await client.post("/v1/experiments", json=spec or SPEC, **kw)


async def test_submit_returns_202_with_location_and_queues_every_run(client, queue):
    before = len(queue.runs)
    r = await submit(client)
    assert r.status_code == 202, r.text
    body = r.json()
    assert r.headers["location"] == f"/v1/experiments/{body['id']}"
    assert body["status"] == "queued"
    assert body["error"] is None and body["started_at"] is None
    n = len(expand_runs(ExperimentSpec.model_validate(SPEC)))
    assert body["progress"] == {"completed_runs": 0, "total_runs": n, "fraction": 0.0}
    assert [run["status"] for run in body["runs"]] == ["queued"] * n
    assert {run["control"] for run in body["runs"]} == {"none", "random_init"}
    assert queue.runs[before:] == [run["id"] for run in body["runs"]]
    assert body["spec"]["demos"]["k"] == 2

    got = await client.get(body["id"].join(["/v1/experiments/", ""]))
    assert got.status_code == 200 and got.json()["id"] == body["id"]
    events = (await client.get(f"/v1/experiments/{body['id']}/events")).json()
    assert [e["type"] for e in events["data"]] == ["experiment.queued"]
    assert set(events["data"][0]) == {
        "id",
        "created_at",
        "level",
        "type",
        "message",
        "run_id",
        "data",
    }


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"demos": {"k": 0}}, ["body", "demos", "k"]),
        ({"lora": {"r": 100000}}, ["body", "lora", "r"]),
        ({"metrics": ["euclid"]}, ["body", "metrics", 0]),
        ({"surprise": 1}, ["body", "surprise"]),
        ({"data": {"task": "../etc/passwd"}}, ["body", "data", "task"]),
    ],
)
async def test_bad_spec_is_422_naming_the_field_and_never_stored(client, patch, loc):
    r = await submit(client, {**SPEC, **patch})
    body = assert_problem(r, 422)
    assert loc in [e["loc"] for e in body["errors"]], body
    assert ".".join(map(str, loc)) in body["detail"]
    assert (await client.get("/v1/experiments")).json()["data"] == []


async def test_invalid_json_and_sweep_point_are_422(client):
    r = await client.post(
        "/v1/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 422)
    r = await submit(client, {**SPEC, "sweep": {"demos.k": [1, 0]}})
    body = assert_problem(r, 422)
    assert "demos.k" in body["detail"]


async def test_unknown_experiment_and_route_are_404_problems(client):
    for path in (
        "/v1/experiments/0123456789abcdef0123456789abcdef",
        "/v1/experiments/nope/events",
        "/v1/experiments/nope/results",
        "/v1/experiments/nope/artifacts/results",
        "/v1/nothing-here",
    ):
        assert_problem(await client.get(path), 404)
    assert_problem(await client.post("/v1/experiments/nope/cancel"), 404)


async def test_another_owners_experiment_is_404(client, api_app, make_key):
    exp = (await submit(client)).json()
    async with api_client(api_app, make_key("other")) as other:
        for path in ("", "/events", "/results", "/report", "/artifacts"):
            assert_problem(await other.get(f"/v1/experiments/{exp['id']}{path}"), 404)
        assert_problem(await other.post(f"/v1/experiments/{exp['id']}/cancel"), 404)
        assert all(
            e["id"] != exp["id"] for e in (await other.get("/v1/experiments")).json()["data"]
        )


async def test_malformed_authorization_is_401(client):
    r = await client.get("/v1/experiments", headers={"Authorization": "Basic abc"})
    assert_problem(r, 401)


async def test_idempotency_key_same_body_replays_other_body_conflicts(client, queue):
    headers = {"Idempotency-Key": "k-1"}
    first = await submit(client, headers=headers)
    queued = len(queue.runs)
    again = await submit(client, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(queue.runs) == queued  # nothing queued twice
    conflict = await submit(client, {**SPEC, "demos": {"k": 3}}, headers=headers)
    body = assert_problem(conflict, 409)
    assert first.json()["id"] in body["detail"]
    other_key = await submit(client, headers={"Idempotency-Key": "k-2"})
    assert other_key.json()["id"] != first.json()["id"]
    too_long = await submit(client, headers={"Idempotency-Key": "x" * 300})
    assert ["header", "idempotency-key"] in [
        e["loc"] for e in assert_problem(too_long, 422)["errors"]
    ]


async def test_idempotency_keys_are_per_owner(client, api_app, make_key):
    mine = (await submit(client, headers={"Idempotency-Key": "shared"})).json()
    async with api_client(api_app, make_key()) as other:
        theirs = await other.post(
            "/v1/experiments",
            json={**SPEC, "name": "theirs"},
            headers={"Idempotency-Key": "shared"},
        )
    assert theirs.status_code == 202 and theirs.json()["id"] != mine["id"]


async def test_pagination_newest_first_with_cursor(client):
    ids = [(await submit(client, {**SPEC, "name": f"e{i}"})).json()["id"] for i in range(5)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if after:
            params["after"] = after
        page = (await client.get("/v1/experiments", params=params)).json()
        assert set(page) == {"data", "has_more", "next_cursor"}
        seen += [e["id"] for e in page["data"]]
        pages += 1
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        after = page["next_cursor"]
    assert pages == 3 and seen == ids[::-1]
    bad = await client.get("/v1/experiments", params={"after": "nope"})
    assert ["query", "after"] in [e["loc"] for e in assert_problem(bad, 422)["errors"]]
    assert_problem(await client.get("/v1/experiments", params={"limit": 0}), 422)


async def test_cancel_queued_experiment_cancels_it_at_once(client):
    exp = (await submit(client)).json()
    r = await client.post(f"/v1/experiments/{exp['id']}/cancel")
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "cancelled" and body["finished_at"] is not None
    assert {run["status"] for run in body["runs"]} == {"cancelled"}
    assert body["progress"]["completed_runs"] == body["progress"]["total_runs"]
    again = await client.post(f"/v1/experiments/{exp['id']}/cancel")
    assert again.status_code == 202 and again.json()["status"] == "cancelled"
    types = [
        e["type"] for e in (await client.get(f"/v1/experiments/{exp['id']}/events")).json()["data"]
    ]
    assert types == ["experiment.queued", "experiment.cancelling", "experiment.cancelled"]
    assert_problem(await client.get(f"/v1/experiments/{exp['id']}/results"), 409)


async def test_results_report_before_finish_are_409_and_artifacts_empty(client):
    exp = (await submit(client)).json()
    for path in ("results", "report"):
        body = assert_problem(await client.get(f"/v1/experiments/{exp['id']}/{path}"), 409)
        assert "queued" in body["detail"]
    assert (await client.get(f"/v1/experiments/{exp['id']}/artifacts")).json() == {"data": []}
    assert_problem(await client.get(f"/v1/experiments/{exp['id']}/artifacts/../../etc"), 404)


async def test_events_cursor(client):
    exp = (await submit(client)).json()
    await client.post(f"/v1/experiments/{exp['id']}/cancel")
    url = f"/v1/experiments/{exp['id']}/events"
    first = (await client.get(url, params={"limit": 1})).json()
    assert len(first["data"]) == 1 and first["has_more"]
    rest = (await client.get(url, params={"after": first["next_cursor"]})).json()
    assert [e["id"] for e in rest["data"]] == sorted(e["id"] for e in rest["data"])
    assert rest["data"][0]["id"] > first["data"][0]["id"] and not rest["has_more"]
    empty = (await client.get(url, params={"after": rest["next_cursor"]})).json()
    assert empty["data"] == [] and empty["next_cursor"] == rest["next_cursor"]


async def test_broker_down_on_submit_is_202_and_the_experiment_stays_queued(client, queue, api_app):
    """The database is the source of truth: the runs wait there, marked never sent, for
    the reconciler (tests/system/test_broker_down_submit.py sends them on a real Redis)."""
    from services.common import db

    queue.fail = True
    r = await submit(client)
    assert r.status_code == 202, r.text
    exp = (await client.get(f"/v1/experiments/{r.json()['id']}")).json()
    assert exp["status"] == "queued" and exp["error"] is None
    events = (await client.get(f"/v1/experiments/{exp['id']}/events")).json()["data"]
    assert "experiment.dispatch_deferred" in [e["type"] for e in events]
    with db.session_scope(api_app.state.settings.db_url) as s:
        runs = s.query(db.Run).filter_by(experiment_id=exp["id"]).all()
        assert runs and all(r.status == "queued" and r.dispatched_at is None for r in runs)
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"


async def test_health_and_catalog(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    models = (await client.get("/v1/models")).json()["data"]
    assert "smollm2-135m" in {m["name"] for m in models}
    tasks = {t["name"]: t for t in (await client.get("/v1/tasks")).json()["data"]}
    assert tasks["sentiment"]["labels"] == ["negative", "positive"]
    assert tasks["sentiment"]["n_rows"] > 0


JSONL = "\n".join(
    json.dumps({"text": f"review {i}", "label": "good" if i % 2 else "bad"}) for i in range(20)
)


async def test_dataset_upload_and_use_in_a_spec(client, api_app, make_key):
    r = await client.post(
        "/v1/datasets", content=JSONL.encode(), headers={"content-type": "application/x-ndjson"}
    )
    assert r.status_code == 201, r.text
    ds = r.json()
    assert ds["task"] == f"upload:{ds['id']}" and ds["kind"] == "classification"
    assert ds["n_rows"] == 20
    assert (await client.get(f"/v1/datasets/{ds['id']}")).json() == ds
    key = f"datasets/{ds['id']}.jsonl"
    assert api_app.state.store.get(key) == JSONL.encode()

    ok = await submit(client, {**SPEC, "data": {"task": ds["task"]}})
    assert ok.status_code == 202, ok.text
    missing = await submit(client, {**SPEC, "data": {"task": "upload:" + "0" * 32}})
    assert ["body", "data", "task"] in [e["loc"] for e in assert_problem(missing, 422)["errors"]]

    async with api_client(api_app, make_key()) as other:
        assert_problem(await other.get(f"/v1/datasets/{ds['id']}"), 404)
        theirs = await other.post(
            "/v1/experiments", json={**SPEC, "demos": {"k": 2, "source_task": ds["task"]}}
        )
        assert ["body", "demos", "source_task"] in [
            e["loc"] for e in assert_problem(theirs, 422)["errors"]
        ]


async def test_dataset_upload_rejects_bad_rows_and_large_bodies(client):
    bad = await client.post("/v1/datasets", content=b'{"text": "a", "label": "x"}\n{"oops": 1}\n')
    body = assert_problem(bad, 422)
    assert "line 2" in body["detail"] and body["errors"][0]["loc"] == ["body"]
    big = await client.post("/v1/datasets", content=b"x" * (5 * 1024 * 1024 + 1))
    assert_problem(big, 413)


async def test_openapi_documents_problems_and_the_contract(client):
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/v1/experiments",
        "/v1/experiments/{experiment_id}",
        "/v1/experiments/{experiment_id}/cancel",
        "/v1/experiments/{experiment_id}/events",
        "/v1/experiments/{experiment_id}/results",
        "/v1/experiments/{experiment_id}/report",
        "/v1/experiments/{experiment_id}/artifacts",
        "/v1/experiments/{experiment_id}/artifacts/{artifact_id}",
        "/v1/models",
        "/v1/tasks",
        "/v1/datasets",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    post = paths["/v1/experiments"]["post"]
    assert set(post["responses"]) >= {"202", "400", "404", "409", "422", "503"}
    ref = post["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert ref.endswith("/Problem")
    assert "Retry-After" in post["responses"]["503"]["headers"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ExperimentSpec"
    )


async def test_hub_model_policy_is_a_422_at_submit(tmp_path):
    """ICL_IT_HUB_MODELS limits which Hub ids a spec may name; catalog names always pass."""
    from services.api.main import create_app
    from services.common.db import migrate
    from services.common.runtime.settings import Settings

    class Queue:
        runs: list[str] = []

        def enqueue_runs(self, run_ids: list[str]) -> None:
            self.runs.extend(run_ids)

    settings = Settings(
        ICL_IT_HOME=tmp_path, ICL_IT_HUB_MODELS="meta-llama/*", ICL_IT_ALLOW_ANONYMOUS=True
    )
    migrate(settings.db_url)
    queue = Queue()
    app = create_app(settings, queue=queue, run_migrations=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        r = await submit(client, {**SPEC, "model": {"name": "someone/huge-model"}})
        body = assert_problem(r, 422)
        (err,) = body["errors"]
        assert err["loc"] == ["body", "model", "name"] and err["type"] == "model_not_allowed"
        assert "ICL_IT_HUB_MODELS" in err["msg"] and "meta-llama/*" in err["msg"]
        bad_sweep = {**SPEC, "sweep": {"model.name": ["smollm2-135m", "someone/x"]}}
        body = assert_problem(await submit(client, bad_sweep), 422)
        assert body["errors"][0]["loc"] == ["body", "sweep", "model.name", 1]  # the value
        assert queue.runs == []
        assert (await client.get("/v1/experiments")).json()["data"] == []
        for name in ("llama-2-7b", "meta-llama/Llama-2-70b-hf"):
            r = await submit(client, {**SPEC, "model": {"name": name}})
            assert r.status_code == 202, r.text
