"""Hostile and out-of-range input: every one a 4xx naming the limit, never a 500.

In-process app on SQLite (and one on a database that does not answer).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_api import SPEC, assert_problem, submit

from services.common.runtime.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "patch",
    [
        {"description": "a\x00b"},
        {"model": {"name": "smollm2\x00-135m"}},
        {"studies": [{"name": "s", "description": "x\x07y"}]},
        {"sweep": {"demos.k": [1, 2]}, "description": "tab\tand newline\n are fine\x1f"},
    ],
)
async def test_control_characters_are_422(client, patch):
    body = assert_problem(await submit(client, {**SPEC, **patch}), 422)
    assert "control character" in body["detail"]


async def test_nul_in_ids_cursors_and_headers_is_never_a_500(client):
    for path in ("/v1/experiments/abc%00def", "/v1/experiments/abc%00def/events",
                 "/v1/datasets/abc%00def", "/v1/experiments/" + "a" * 5000):  # fmt: skip
        assert_problem(await client.get(path), 404)
    body = assert_problem(await client.get("/v1/experiments", params={"after": "a\x00b"}), 422)
    assert body["errors"][0]["loc"] == ["query", "after"]
    r = await submit(client, headers={"Idempotency-Key": "k\x01"})
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["header", "idempotency-key"]


async def test_event_cursor_is_bounded(client):
    exp_id = (await submit(client)).json()["id"]
    ok = await client.get(f"/v1/experiments/{exp_id}/events", params={"after": 2**63 - 1})
    assert ok.status_code == 200 and ok.json()["data"] == []
    body = assert_problem(
        await client.get(f"/v1/experiments/{exp_id}/events", params={"after": 2**63}), 422
    )
    assert body["errors"][0]["loc"] == ["query", "after"]


async def test_sweep_size_is_computed_before_expansion(client):
    grid = {k: list(range(1, 33)) for k in ("demos.k", "inference.n", "lora.r", "lora.epochs")}
    t0 = time.perf_counter()
    body = assert_problem(await submit(client, {**SPEC, "sweep": grid}), 422)
    elapsed = time.perf_counter() - t0
    assert "at least 1048576 runs" in body["detail"] and "max 512" in body["detail"]
    assert elapsed < 2.0, elapsed  # no 10^6-point expansion (it took minutes and GBs)


@pytest.mark.parametrize(
    ("patch", "loc", "type_"),
    [
        ({"model": {"name": "no-such-model"}}, ["body", "model", "name"], "model_not_allowed"),
        ({"model": {"name": "file:///etc/passwd"}}, ["body", "model", "name"], "model_not_allowed"),
        ({"model": {"name": "/etc"}}, ["body", "model", "name"], "model_not_allowed"),
        ({"data": {"task": "no_such_task"}}, ["body", "data", "task"], "unknown_task"),
        (
            {"inference": {"indices": [1_000_000_000]}},
            ["body", "inference", "indices"],
            "index_out_of_range",
        ),  # fmt: skip
        ({"report_layer": 31}, ["body", "report_layer"], "report_layer_out_of_range"),
    ],
)
async def test_what_the_service_cannot_run_is_refused_at_submit(client, patch, loc, type_):
    body = assert_problem(await submit(client, {**SPEC, **patch}), 422)
    assert body["errors"][0]["loc"] == loc and body["errors"][0]["type"] == type_, body


async def test_the_last_layer_and_a_row_of_the_dataset_are_accepted(client):
    r = await submit(client, {**SPEC, "report_layer": 30, "inference": {"indices": [0, 3]}})
    assert r.status_code == 202, r.text


async def test_local_model_dirs_are_checked_at_submit(tmp_path: Path, api_app):
    from services.api.main import create_app
    from services.common.db import migrate

    model = tmp_path / "models" / "tiny"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"num_hidden_layers": 4}))
    settings = Settings(
        ICL_IT_HOME=tmp_path,
        ICL_IT_MODEL_DIRS=str(tmp_path / "models"),
        ICL_IT_ALLOW_ANONYMOUS=True,
    )
    migrate(settings.db_url)
    app = create_app(settings, queue=type(api_app.state.queue)(), run_migrations=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        ok = await submit(c, {**SPEC, "model": {"name": str(model)}, "report_layer": 4})
        assert ok.status_code == 202, ok.text
        deep = await submit(c, {**SPEC, "model": {"name": str(model)}, "report_layer": 5})
        assert "has layers 0..4" in assert_problem(deep, 422)["detail"]
        outside = await submit(c, {**SPEC, "model": {"name": str(tmp_path)}})
        assert "ICL_IT_MODEL_DIRS" in assert_problem(outside, 422)["detail"]


async def test_database_down_is_503_with_retry_after_and_no_hosts(tmp_path: Path, api_app):
    from services.api.main import create_app
    from tests.fixtures.helpers import free_port

    port = free_port()  # nothing listens there
    settings = Settings(
        ICL_IT_HOME=tmp_path, DATABASE_URL=f"postgresql://nobody@127.0.0.1:{port}/none"
    )
    app = create_app(settings, queue=type(api_app.state.queue)(), run_migrations=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://t",
        headers={"Authorization": "Bearer iclit_whatever"},  # checked against the database
    ) as c:
        for r in (
            await c.get("/v1/experiments"),
            await c.get("/v1/experiments/" + "0" * 32),
            await submit(c),
        ):
            body = assert_problem(r, 503)
            assert r.headers["retry-after"] == "5"
            assert str(port) not in r.text and "127.0.0.1" not in r.text, body
        ready = await c.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
        assert ready.json()["checks"] == {"database": "unavailable", "broker": "ok"}
        assert str(port) not in ready.text


def _problem_refs(doc: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    out = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for code, resp in op["responses"].items():
                if code[0] in "45" and "content" in resp:
                    out.append((path, method, code, sorted(resp["content"])))
    return out


async def test_openapi_declares_problem_json_and_the_503s(client):
    doc = (await client.get("/openapi.json")).json()
    refs = _problem_refs(doc)
    assert refs
    for path, method, code, types in refs:
        if path == "/readyz":
            assert types == ["application/json"]  # the Health body, also when 503
        else:
            assert types == ["application/problem+json"], (path, method, code, types)
    for path, item in doc["paths"].items():
        if path.startswith(("/v1/experiments", "/v1/datasets")):  # the catalog is static
            for op in item.values():
                assert {"422", "500", "503"} <= set(op["responses"]), path


async def test_a_large_spec_is_validated_off_the_event_loop(client):
    import asyncio

    studies = [
        {"name": f"s{i}", "sweep": {"demos.k": list(range(1, 33)), "lora.r": list(range(1, 17))},
         "overrides": {"lora.epochs": i + 1}}
        for i in range(16)
    ]  # fmt: skip
    finished: list[str] = []

    async def big() -> httpx.Response:
        r = await submit(client, {**SPEC, "studies": studies})
        finished.append("submit")
        return r

    async def health() -> None:
        await asyncio.sleep(0.05)  # the submission is being validated now
        assert (await client.get("/healthz")).status_code == 200
        finished.append("healthz")

    r, _ = await asyncio.gather(big(), health())
    assert "spec expands to 8193 runs (max 512)" in assert_problem(r, 422)["detail"]
    assert finished == ["healthz", "submit"]


@pytest.mark.parametrize(
    "patch",
    [  # found by the fuzzer: the preset read these before pydantic checked their types
        {"preset": "duan2023", "model": -2.3e16},
        {"preset": "duan2023", "model": "x"},
        {"preset": "duan2023", "scale": []},
        {"preset": ["duan2023"]},
        {"preset": "duan2023", "models": {"a": 1}},
    ],
)
async def test_preset_with_wrong_types_is_422(client, patch):
    assert_problem(await submit(client, {**SPEC, **patch}), 422)
