"""Load on loopback: 500 submissions from several clients, each with an Idempotency-Key,
then a replay of all 500, against the API as a real process (uvicorn) on the real
servers (Postgres, Redis). No workers: every experiment is then cancelled, which is
terminal at once for an experiment none of whose runs started.

Checks: exactly 500 experiments, every replay answers the first experiment, every
experiment ends terminal, no 5xx. Records p50/p99 of submit and of GET by id.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.common import db
from services.common.db import keys
from services.local.stack import Stack
from tests.fixtures.helpers import free_port

pytestmark = pytest.mark.services

N_SUBMISSIONS = 500
N_CLIENTS = 5
SPEC: dict[str, Any] = {"name": "load", "inference": {"n": 4}, "demos": {"k": 2}, "seeds": [0]}


def _p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)
    )


@pytest.fixture(scope="module")
def api(tmp_path_factory, postgres_url, redis_url, broker_prefix):
    home = tmp_path_factory.mktemp("load")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ICL_IT_", "DATABASE_", "REDIS_"))
    }
    env |= {
        "ICL_IT_HOME": str(home),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "ICL_IT_BROKER_PREFIX": f"{broker_prefix}load:",  # nothing consumes these
        "ICL_IT_RATE_LIMIT": "1000000",
        "ICL_IT_RATE_BURST": "1000000",
        "ICL_IT_MAX_ACTIVE_EXPERIMENTS": "100000",
    }
    with open(home / "api.log", "w") as log:
        stack = Stack(env, port=free_port(), services=("api",), log=log)
        try:
            stack.start()
            stack.wait_ready(timeout=60)
            with db.session_scope(postgres_url) as s:
                row, key = keys.create_key(s, f"load-{uuid.uuid4().hex[:6]}")
                s.commit()
            yield stack.url, key, row.owner
        finally:
            stack.stop(grace=2)


def test_500_submissions_with_idempotency_keys_and_a_replay(api, postgres_url):
    url, key, owner = api
    run = uuid.uuid4().hex[:8]
    idem = [f"load-{run}-{i}" for i in range(N_SUBMISSIONS)]

    def submit_all(indices: list[int]) -> list[tuple[int, str, float, bool]]:
        out = []
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            for i in indices:
                t0 = time.perf_counter()
                r = c.post(
                    "/v1/experiments",
                    json={**SPEC, "name": f"load-{i}"},
                    headers={"Idempotency-Key": idem[i]},
                )
                dt = time.perf_counter() - t0
                assert r.status_code == 202, r.text
                out.append((i, r.json()["id"], dt, r.headers.get("idempotent-replayed") == "true"))
        return out

    def in_parallel(fn: Any, items: list[Any]) -> list[Any]:
        shards = [items[k::N_CLIENTS] for k in range(N_CLIENTS)]
        with ThreadPoolExecutor(N_CLIENTS) as pool:
            return [x for part in pool.map(fn, shards) for x in part]

    t0 = time.perf_counter()
    first = in_parallel(submit_all, list(range(N_SUBMISSIONS)))
    submit_wall = time.perf_counter() - t0
    replay = in_parallel(submit_all, list(range(N_SUBMISSIONS)))
    ids = {i: exp_id for i, exp_id, _, _ in first}
    assert len(set(ids.values())) == N_SUBMISSIONS
    assert not any(replayed for *_, replayed in first)
    assert all(replayed and ids[i] == exp_id for i, exp_id, _, replayed in replay)
    with db.session_scope(postgres_url) as s:
        n = s.scalar(
            select(func.count()).select_from(db.Experiment).where(db.Experiment.owner == owner)
        )
    assert n == N_SUBMISSIONS

    def get_and_cancel(exp_ids: list[str]) -> list[tuple[float, str]]:
        out = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
            for exp_id in exp_ids:
                t0 = time.perf_counter()
                r = c.get(f"/v1/experiments/{exp_id}")
                dt = time.perf_counter() - t0
                assert r.status_code == 200, r.text
                cancel = c.post(f"/v1/experiments/{exp_id}/cancel")
                assert cancel.status_code == 202, cancel.text
                out.append((dt, cancel.json()["status"]))
        return out

    reads = in_parallel(get_and_cancel, list(ids.values()))
    assert {status for _, status in reads} == {"cancelled"}
    with db.session_scope(postgres_url) as s:
        open_ = s.scalar(
            select(func.count())
            .select_from(db.Experiment)
            .where(db.Experiment.owner == owner, db.Experiment.status.not_in(db_terminal()))
        )
    assert open_ == 0

    submit_s = [dt for _, _, dt, _ in first]
    replay_s = [dt for _, _, dt, _ in replay]
    get_s = [dt for dt, _ in reads]
    print(
        f"LOAD submissions={N_SUBMISSIONS} clients={N_CLIENTS} wall={submit_wall:.1f}s "
        f"submit_p50={_p(submit_s, 50) * 1000:.0f}ms submit_p99={_p(submit_s, 99) * 1000:.0f}ms "
        f"replay_p99={_p(replay_s, 99) * 1000:.0f}ms "
        f"get_p50={_p(get_s, 50) * 1000:.0f}ms get_p99={_p(get_s, 99) * 1000:.0f}ms"
    )


def db_terminal() -> list[str]:
    from services.common.jobs import TERMINAL

    return sorted(TERMINAL)
