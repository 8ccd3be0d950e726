"""Faults mid-experiment, on private Redis and Postgres servers this module starts itself.

Each scenario of issue 10's table: the broker killed (no persistence: every message
lost) and back 5 s later; Postgres stopped and back 5 s later; the GPU worker's master
and child SIGKILLed and restarted 2 s later (with a cancel while it is down); the whole
stack and the broker killed and started again. Each experiment must end ``succeeded``
(or ``cancelled`` where it was cancelled) within a bounded time, with exactly one
result set per run and artifacts that match their checksums.

The stack runs with seconds-scale liveness settings (heartbeat timeout, reconciler
period, re-send delay), so the reconciler repairs what the fault left within seconds.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.local.stack import worker_argv
from tests.fixtures.helpers import events, running_stack, stack_env, tiny_spec, wait_for
from tests.fixtures.private_servers import PrivatePostgres, PrivateRedis, available

pytestmark = pytest.mark.services

RECOVER_S = 120  # bound on "ends within a bounded time after the fault"
OUTAGE_S = 5.0
N_RUNS = 2


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple[PrivateRedis, PrivatePostgres]]:
    why = available()
    if why:
        pytest.skip(why)
    redis = PrivateRedis(tmp_path_factory.mktemp("private-redis"))
    pg = PrivatePostgres()
    try:
        redis.start()
        pg.init()
        pg.start()
        yield redis, pg
    finally:
        redis.kill()
        pg.destroy()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_model_dir, servers):
    redis, pg = servers
    home = tmp_path_factory.mktemp("faults")
    env = stack_env(
        home,
        tiny_model_dir,
        DATABASE_URL=pg.url,
        REDIS_URL=redis.url,
        ICL_IT_BROKER_PREFIX="faults:",
        ICL_IT_HEARTBEAT_TIMEOUT="4",
        ICL_IT_RECONCILE_EVERY="1",
        ICL_IT_REDISPATCH_AFTER="3",
        ICL_IT_MAX_ATTEMPTS="3",
    )
    with running_stack(env, home / "stack.log") as (s, client):
        yield s, client


def _spec(model_dir: Path, name: str) -> dict[str, Any]:
    # per-example adapters: each run has step boundaries to be interrupted between
    return tiny_spec(
        model_dir, name=name, inference={"n": 6}, lora={"epochs": 10}, seeds=list(range(N_RUNS))
    )


def _submit(client: httpx.Client, spec: dict[str, Any]) -> str:
    r = client.post("/v1/experiments", json=spec)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _wait_mid_run(client: httpx.Client, exp_id: str) -> None:
    """Until a run is running and tuning its adapters (the fault then hits mid-run)."""

    def adapting() -> bool:
        runs = client.get(f"/v1/experiments/{exp_id}").json()["runs"]
        return any(
            r["status"] == "running" and (r["stage"] or "").startswith("adapter") for r in runs
        )

    wait_for(adapting, 90, "a run to reach its adapters", interval=0.1)


def _get(client: httpx.Client, path: str) -> httpx.Response:
    """GET that rides out the API's own restart."""
    for _ in range(100):
        try:
            return client.get(path)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"GET {path}: the API did not answer")


def _wait_final(client: httpx.Client, exp_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        r = _get(client, f"/v1/experiments/{exp_id}")
        if r.status_code != 200:
            return None
        body = r.json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(done, RECOVER_S, f"experiment {exp_id} to finish after the fault")


def assert_one_result_set(client: httpx.Client, exp_id: str, done: dict[str, Any]) -> None:
    assert done["status"] == "succeeded", done
    runs = done["runs"]
    assert len(runs) == N_RUNS and all(r["status"] == "succeeded" for r in runs), runs
    results = client.get(f"/v1/experiments/{exp_id}/results").json()
    keys = [r["key"] for r in results["runs"]]
    assert sorted(keys) == sorted(r["key"] for r in runs)  # each run once
    evs = events(client, exp_id)
    types = [e["type"] for e in evs]
    assert types.count("run.succeeded") == N_RUNS
    assert types.count("experiment.succeeded") == 1 and types[-1] == "experiment.succeeded"
    assert not any("pid" in e["data"] or "host" in e["data"] for e in evs)
    artifacts = client.get(f"/v1/experiments/{exp_id}/artifacts").json()["data"]
    states = [a for a in artifacts if a["kind"] == "states"]
    assert len(states) == N_RUNS
    for artifact in states:
        blob = client.get(artifact["url"]).content
        assert hashlib.sha256(blob).hexdigest() == artifact["sha256"]


def test_broker_killed_without_persistence_for_5s(stack, servers, tiny_model_dir):
    _, client = stack
    redis, _ = servers
    exp_id = _submit(client, _spec(tiny_model_dir, "redis-down"))
    _wait_mid_run(client, exp_id)
    redis.kill()  # queued runs 2..3 and the in-flight message are gone with it
    time.sleep(OUTAGE_S)
    assert client.get(f"/v1/experiments/{exp_id}").status_code == 200  # reads need no broker
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "unavailable"
    redis.start()
    t0 = time.monotonic()
    done = _wait_final(client, exp_id)
    print(f"FAULT redis_down_{OUTAGE_S:g}s recovered_in={time.monotonic() - t0:.1f}s")
    assert_one_result_set(client, exp_id, done)


def test_postgres_down_for_5s(stack, servers, tiny_model_dir):
    _, client = stack
    _, pg = servers
    exp_id = _submit(client, _spec(tiny_model_dir, "pg-down"))
    _wait_mid_run(client, exp_id)
    pg.stop("immediate")
    try:
        r = client.get(f"/v1/experiments/{exp_id}")
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"].isdigit()
        assert r.headers["content-type"].startswith("application/problem+json")
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unavailable"
        assert str(pg.port) not in ready.text and str(pg.port) not in r.text
        time.sleep(OUTAGE_S)
    finally:
        pg.start()
    t0 = time.monotonic()
    done = _wait_final(client, exp_id)
    print(f"FAULT postgres_down_{OUTAGE_S:g}s recovered_in={time.monotonic() - t0:.1f}s")
    assert_one_result_set(client, exp_id, done)


def _kill_gpu_worker(s: Any) -> None:
    os.killpg(s.procs["gpu"].pid, signal.SIGKILL)  # master and pool child
    s.procs["gpu"].wait(timeout=10)


def test_sigkill_of_gpu_master_and_child_then_restart(stack, tiny_model_dir):
    s, client = stack
    exp_id = _submit(client, _spec(tiny_model_dir, "gpu-killed"))
    _wait_mid_run(client, exp_id)
    _kill_gpu_worker(s)
    time.sleep(2)
    s.start_one("gpu", worker_argv("gpu"))
    t0 = time.monotonic()
    done = _wait_final(client, exp_id)
    print(f"FAULT gpu_sigkill_master_child recovered_in={time.monotonic() - t0:.1f}s")
    assert_one_result_set(client, exp_id, done)
    assert max(r["attempts"] for r in done["runs"]) == 2


def test_cancel_while_the_gpu_worker_is_dead(stack, tiny_model_dir):
    s, client = stack
    exp_id = _submit(client, _spec(tiny_model_dir, "gpu-killed-cancel"))
    _wait_mid_run(client, exp_id)
    _kill_gpu_worker(s)
    try:
        r = client.post(f"/v1/experiments/{exp_id}/cancel")
        assert r.status_code == 202 and r.json()["status"] == "cancelling"
        # nothing holds the running run any more: the reconciler ends it
        done = _wait_final(client, exp_id)
        assert done["status"] == "cancelled", done
        statuses = {r["status"] for r in done["runs"]}
        # the run held by the dead worker is cancelled; one that finished before stays
        assert "cancelled" in statuses and statuses <= {"cancelled", "succeeded"}, statuses
    finally:
        s.start_one("gpu", worker_argv("gpu"))


def test_full_stack_and_broker_restart(stack, servers, tiny_model_dir):
    s, client = stack
    redis, _ = servers
    exp_id = _submit(client, _spec(tiny_model_dir, "full-restart"))
    _wait_mid_run(client, exp_id)
    for proc in s.procs.values():
        os.killpg(proc.pid, signal.SIGKILL)
    for proc in s.procs.values():
        proc.wait(timeout=10)
    redis.kill()
    redis.start()
    s.start()
    s.wait_ready(timeout=90)
    t0 = time.monotonic()
    done = _wait_final(client, exp_id)
    print(f"FAULT full_restart recovered_in={time.monotonic() - t0:.1f}s")
    assert_one_result_set(client, exp_id, done)
