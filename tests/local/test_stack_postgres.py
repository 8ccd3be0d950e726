"""End to end on the real servers: Postgres, Redis, and real worker processes.

One stack (uvicorn + GPU worker + analysis worker, as subprocesses) serves the whole
module; the tiny random-init Llama keeps every run around a second on a CPU.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.common import db
from services.common.spec import ExperimentSpec
from services.common.storage.hidden_states import RunStates
from tests.fixtures.helpers import (
    events,
    running_stack,
    stack_env,
    tiny_spec,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_model_dir, module_postgres_url, redis_url, broker_prefix):
    home = tmp_path_factory.mktemp("stack-pg")
    env = stack_env(
        home,
        tiny_model_dir,
        DATABASE_URL=module_postgres_url,
        REDIS_URL=redis_url,
        ICL_IT_BROKER_PREFIX=f"{broker_prefix}stack-pg:",
    )
    with running_stack(env, home / "stack.log") as (s, client):
        yield s, client


@pytest.fixture
def client(stack):
    return stack[1]


def test_readyz_sees_postgres_and_redis(client):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_submit_poll_results_report_artifacts(client, tiny_model_dir):
    spec = tiny_spec(tiny_model_dir, seeds=[0, 1])
    r = client.post("/v1/experiments", json=spec, headers={"Idempotency-Key": "e2e-1"})
    assert r.status_code == 202, r.text
    exp_id = r.json()["id"]

    done = wait_status(client, exp_id, timeout=150)
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"completed_runs": 2, "total_runs": 2, "fraction": 1.0}
    assert all(run["status"] == "succeeded" and run["attempts"] == 1 for run in done["runs"])
    assert done["started_at"] and done["finished_at"]

    results = client.get(f"/v1/experiments/{exp_id}/results").json()
    assert results["schema"] == "icl-it/results/v1"
    assert {r["key"] for r in results["runs"]} == {run["key"] for run in done["runs"]}
    report = client.get(f"/v1/experiments/{exp_id}/report")
    assert report.status_code == 200 and "text/html" in report.headers["content-type"]

    artifacts = client.get(f"/v1/experiments/{exp_id}/artifacts").json()["data"]
    states = [a for a in artifacts if a["kind"] == "states"]
    assert len(states) == 2 and {a["kind"] for a in artifacts} >= {"results", "report"}
    blob = client.get(states[0]["url"])
    assert blob.status_code == 200 and len(blob.content) == states[0]["size_bytes"]
    loaded = RunStates.from_bytes(blob.content)
    assert list(loaded.hidden.shape) == states[0]["shape"]
    assert loaded.conditions == ["anchor", "icl", "it", "it_untuned"]

    types = [e["type"] for e in events(client, exp_id)]
    assert types[0] == "experiment.queued" and types[-1] == "experiment.succeeded"
    assert types.count("run.started") == types.count("run.succeeded") == 2

    # the same Idempotency-Key: same body -> the same experiment; other body -> 409
    again = client.post("/v1/experiments", json=spec, headers={"Idempotency-Key": "e2e-1"})
    assert again.status_code == 202 and again.json()["id"] == exp_id
    assert again.json()["status"] == "succeeded"
    other = client.post(
        "/v1/experiments", json={**spec, "seeds": [5]}, headers={"Idempotency-Key": "e2e-1"}
    )
    assert other.status_code == 409 and other.json()["status"] == 409


def test_bad_spec_unknown_id_other_owner(client, tiny_model_dir, module_postgres_url):
    bad = client.post("/v1/experiments", json=tiny_spec(tiny_model_dir, demos={"k": 0}))
    assert bad.status_code == 422
    assert ["body", "demos", "k"] in [e["loc"] for e in bad.json()["errors"]]
    assert client.get("/v1/experiments/" + "f" * 32).status_code == 404
    mine = client.get("/v1/experiments").json()["data"][0]["id"]
    from services.common.db import keys

    with db.session_scope(module_postgres_url) as s:
        _, other_key = keys.create_key(s, "other")
        s.commit()
    theirs = client.get(f"/v1/experiments/{mine}", headers={"Authorization": f"Bearer {other_key}"})
    assert theirs.status_code == 404 and theirs.json()["title"] == "Not found"
    unknown = client.get(f"/v1/experiments/{mine}", headers={"Authorization": "Bearer x"})
    assert unknown.status_code == 401


def _slow_spec(model_dir: Path, **kw: Any) -> dict[str, Any]:
    # per-example adapters: one step boundary per inference example
    return tiny_spec(model_dir, inference={"n": 8}, lora={"epochs": 20}, **kw)


def test_cancel_a_running_experiment(client, tiny_model_dir):
    exp_id = client.post(
        "/v1/experiments", json=_slow_spec(tiny_model_dir, seeds=[0, 1, 2, 3])
    ).json()["id"]
    # Generous waits: alone this takes about a second, but late in a full CI session the
    # worker has been seen 5x slower (test_submit_poll_results_report_artifacts: 45 s vs 8 s).
    wait_for(
        lambda: any(e["type"] == "run.progress" for e in events(client, exp_id)),
        180,
        "the first run to make progress",
    )
    r = client.post(f"/v1/experiments/{exp_id}/cancel")
    assert r.status_code == 202
    assert r.json()["status"] in ("cancelling", "cancelled")
    done = wait_status(client, exp_id, timeout=180)
    assert done["status"] == "cancelled", done
    statuses = [run["status"] for run in done["runs"]]
    assert "cancelled" in statuses and not {"queued", "running"} & set(statuses)
    assert statuses.count("succeeded") < 4
    types = [e["type"] for e in events(client, exp_id)]
    assert "experiment.cancelling" in types and types[-1] == "experiment.cancelled"


def test_sigkill_of_the_worker_child_redelivers_the_run(
    client, tiny_model_dir, module_postgres_url
):
    exp_id = client.post("/v1/experiments", json=_slow_spec(tiny_model_dir)).json()["id"]

    def started_mid_run() -> dict[str, Any] | None:
        evs = events(client, exp_id)
        started = [e for e in evs if e["type"] == "run.started"]
        adapters = [
            e
            for e in evs
            if e["type"] == "run.progress" and e["data"]["stage"].startswith("adapter")
        ]
        return started[0] if started and adapters else None

    wait_for(started_mid_run, 90, "the run to reach its adapters")

    def holder() -> str:
        with db.session_scope(module_postgres_url) as s:
            return s.scalar(select(db.Run.worker_id).where(db.Run.experiment_id == exp_id))

    killed = holder()  # "host:pid" of the pool child running the task (not in events)
    pid = int(killed.rsplit(":", 1)[1])
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)  # the pool child running the task; the worker replaces it

    done = wait_status(client, exp_id, timeout=150)
    assert done["status"] == "succeeded", done
    (run,) = done["runs"]
    assert run["attempts"] == 2
    evs = events(client, exp_id)
    starts = [e for e in evs if e["type"] == "run.started"]
    assert [e["data"]["attempt"] for e in starts] == [1, 2]
    assert holder() != killed
    assert not any("pid" in e["data"] or "host" in e["data"] for e in evs)
    assert [e["type"] for e in evs].count("run.succeeded") == 1

    with db.session_scope(module_postgres_url) as s:
        n_rows = s.scalar(
            select(func.count()).select_from(db.Run).where(db.Run.experiment_id == exp_id)
        )
        n_key = s.scalar(
            select(func.count())
            .select_from(db.Run)
            .where(db.Run.experiment_id == exp_id, db.Run.key == run["key"])
        )
    assert n_rows == done["progress"]["total_runs"] == 1 and n_key == 1


def test_duan2023_smoke_preset_end_to_end(client, tiny_model_dir, module_postgres_url):
    """Issue 4: the smoke preset through API -> Celery -> analysis -> Postgres."""
    body = {"preset": "duan2023", "scale": "smoke", "model": {"name": str(tiny_model_dir)}}
    r = client.post("/v1/experiments", json=body)
    assert r.status_code == 202, r.text
    exp_id = r.json()["id"]
    total = r.json()["progress"]["total_runs"]
    assert total >= 9  # main, k ladder, similarity, noise, mismatch, template, control
    done = wait_status(client, exp_id, timeout=400)
    assert done["status"] == "succeeded", done
    results = client.get(f"/v1/experiments/{exp_id}/results").json()
    studies = {s["name"]: s for s in results["studies"]}
    preset = ExperimentSpec(preset="duan2023", scale="smoke")
    assert set(studies) == {study.name for study in preset.studies}
    for study in studies.values():
        assert study["statement"], study["name"]
        assert study["tests"] and study["primary_tests"], study["name"]
    assert results["statements"][0]["kind"] == "primary"
    assert [s["levels"] for s in (studies["n_demos"],)] == [[1, 4]]
    assert results["controls"]["random_init"], "random-init control missing"
    assert "layer 0" in results["conventions"]["layer_indexing"].lower()
    report = client.get(f"/v1/experiments/{exp_id}/report").text
    assert report.count("<img") >= 7
    with db.session_scope(module_postgres_url) as s:
        n_rows = s.scalar(
            select(func.count()).select_from(db.Run).where(db.Run.experiment_id == exp_id)
        )
    assert n_rows == total
