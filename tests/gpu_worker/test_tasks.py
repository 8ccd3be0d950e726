"""Task logic without a broker: idempotency, failures, cancellation, race-safe finalizing.

The task bodies are called in-process with a fake engine (random states of the right
shape), on SQLite and on the real Postgres.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from services.common import db
from services.common.runtime.settings import get_settings
from services.common.spec import ExperimentSpec, RunConfig, expand_runs
from services.common.storage.artifacts import ArtifactStore
from services.common.storage.hidden_states import RunStates, sha256_hex
from services.common.storage.layout import TUNING_FILE, run_file_key

SPEC = {"name": "tasks", "inference": {"n": 5}, "demos": {"k": 2}, "seeds": [0, 1], "controls": []}


class FakeEngine:
    """Engine stand-in: states of the right shape, optional failure or cancellation."""

    def __init__(self, fail: Exception | None = None, cancel_at: str | None = None):
        self.fail, self.cancel_at, self.calls = fail, cancel_at, 0

    def execute(self, run: RunConfig, *, progress=None, should_cancel=None, on_tuning=None):
        from services.gpu_worker.engine import Cancelled, RunOutput
        from services.gpu_worker.run_progress import TuningStep

        self.calls += 1
        for i, stage in enumerate(("anchor", "icl", "adapter 1/1", "done")):
            if should_cancel is not None and should_cancel():
                raise Cancelled(stage)
            if progress is not None:
                progress(i, 3, stage)
            if stage == self.cancel_at:
                self.cancel_requested()
        for step in range(1, 4):  # three steps at once: the throttle keeps the 1st and last
            if on_tuning is not None:
                on_tuning(TuningStep(0, 1, step, 3, [0], [2.0 / step], 0.5 * (3 - step)))
        if self.fail is not None:
            raise self.fail
        rng = np.random.default_rng(run.seed)
        n, conds = run.inference.n, ["anchor", "icl", "it"]
        states = RunStates(
            hidden=rng.normal(size=(n, 3, 4, 8)).astype(np.float32),
            label_logprobs=-np.abs(rng.normal(size=(n, 3, 2))).astype(np.float32),
            labels=rng.integers(0, 2, size=n),
            conditions=conds,
            example_ids=[f"sentiment:{i}" for i in range(n)],
            label_names=["negative", "positive"],
        )
        tuning = [{"adapter": 0, "examples": [3], "losses": [2.0, 1.0, 2.0 / 3]}]
        return RunOutput(states, [{"example_id": "x"}], tuning, {"total": 0.1, "tune": 0.5}, 3)

    def cancel_requested(self) -> None:  # replaced per test
        pass


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def env(request, tmp_path: Path, monkeypatch) -> dict[str, Any]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("DATABASE_URL", url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("ICL_IT_HOME", str(tmp_path))
    monkeypatch.delenv("ARTIFACT_URL", raising=False)
    get_settings.cache_clear()
    db.migrate()
    yield {"store": ArtifactStore(get_settings().artifacts)}
    get_settings.cache_clear()


def make_experiment(spec: dict[str, Any] = SPEC) -> tuple[str, list[str]]:
    from services.api.experiments import repository

    model = ExperimentSpec.model_validate(spec)
    with db.session_scope() as s:
        exp, run_ids = repository.insert_experiment(
            s,
            owner="t",
            spec=model.model_dump(mode="json"),
            runs=expand_runs(model),
            idempotency_key=None,
            request_hash="h",
        )
        s.commit()
        return exp.id, run_ids


class Sent(list):
    def __call__(self, name: str, args: list[Any]) -> None:
        self.append((name, *args))


def count(model: Any, **where: Any) -> int:
    with db.session_scope() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def row(model: Any, id: str) -> Any:
    with db.session_scope() as s:
        return s.get(model, id)


def test_run_then_analysis_then_finalize(env):
    from services.analysis.tasks import consume_states_with
    from services.gpu_worker.tasks import consume_run_with

    exp_id, run_ids = make_experiment()
    sent = Sent()
    for run_id in run_ids:
        assert consume_run_with(run_id, FakeEngine(), env["store"], sent) == "extracted"
    assert sent == [("analysis.analyze_run", r) for r in run_ids]
    run = row(db.Run, run_ids[0])
    assert run.status == "running" and run.attempts == 1 and run.states_shape == [5, 3, 4, 8]
    assert env["store"].get(run.states_key) and env["store"].get(run.prompts_key)
    tuning = json.loads(env["store"].get(run_file_key(exp_id, run_ids[0], TUNING_FILE)))
    assert tuning["adapters"] == [
        {
            "adapter": 0,
            "condition": "it",
            "example": 3,
            "examples": [3],
            "steps": [1, 2, 3],
            "loss": [2.0, 1.0, 2.0 / 3],
        }
    ]
    assert tuning["step_rate_per_s"] == 3 / 0.5 and tuning["wall_s"] == 0.5
    with db.session_scope() as s:
        events = s.scalars(
            select(db.Event)
            .where(db.Event.run_id == run_ids[0], db.Event.type == "tuning")
            .order_by(db.Event.id)
        ).all()
        # throttled: the first step, then the group's last (the second came too soon)
        assert [e.data["step"] for e in events] == [1, 3]
        assert events[-1].data == {
            "run_id": run_ids[0],
            "group": 0,
            "groups": 1,
            "step": 3,
            "steps": 3,
            "adapters": [0],
            "loss": [2.0 / 3],
            "eta_s": 0.0,
        }
        assert "loss 0.67" in events[-1].message

    assert consume_states_with(run_ids[0], env["store"]) == "succeeded"
    assert row(db.Experiment, exp_id).status == "running"
    assert consume_states_with(run_ids[1], env["store"]) == "succeeded"
    exp = row(db.Experiment, exp_id)
    assert exp.status == "succeeded" and exp.completed_runs == 2 and exp.finished_at
    assert env["store"].get(exp.results_key).startswith(b'{"schema": "icl-it/results/v1"')
    assert b"<html" in env["store"].get(exp.report_key).lower()
    # redelivered analysis: no second finish, no new rows
    events = count(db.Event, experiment_id=exp_id)
    assert consume_states_with(run_ids[1], env["store"]) == "already_succeeded"
    assert count(db.Event, experiment_id=exp_id) == events
    assert count(db.Event, experiment_id=exp_id, type="experiment.succeeded") == 1


def test_redelivered_run_task_rewrites_the_same_row(env):
    from services.gpu_worker.tasks import consume_run_with

    exp_id, run_ids = make_experiment()
    sent = Sent()
    engine = FakeEngine()
    assert consume_run_with(run_ids[0], engine, env["store"], sent) == "extracted"
    first = row(db.Run, run_ids[0])
    # delivered again after extraction: no recompute, analysis enqueued again
    assert consume_run_with(run_ids[0], engine, env["store"], sent) == "extracted"
    assert engine.calls == 1 and sent[-1] == ("analysis.analyze_run", run_ids[0])
    # delivered again mid-run (worker died before recording states): recompute, same keys
    with db.session_scope() as s:
        r = s.get(db.Run, run_ids[0])
        r.states_key = None
        s.commit()
    assert consume_run_with(run_ids[0], engine, env["store"], sent) == "extracted"
    again = row(db.Run, run_ids[0])
    assert engine.calls == 2 and again.attempts == 2
    assert again.states_key == first.states_key and again.prompts_key == first.prompts_key
    stored = env["store"].get(again.states_key)
    assert sha256_hex(stored) == again.states_sha256  # the row describes the new bytes
    assert RunStates.from_bytes(stored).hidden.shape == tuple(first.states_shape)
    assert count(db.Run, experiment_id=exp_id) == 2


def test_engine_error_fails_the_run_and_the_experiment(env):
    from services.analysis.tasks import consume_experiment_with, consume_states_with
    from services.gpu_worker.models import ModelLoadError
    from services.gpu_worker.tasks import consume_run_with

    exp_id, run_ids = make_experiment()
    sent = Sent()
    assert (
        consume_run_with(
            run_ids[0], FakeEngine(ModelLoadError("no such model")), env["store"], sent
        )
        == "failed"
    )
    assert sent == [("analysis.finalize_experiment", exp_id)]
    run = row(db.Run, run_ids[0])
    assert run.status == "failed" and run.error_code == "model_unavailable"
    assert "no such model" in run.error_message
    assert consume_experiment_with(exp_id, env["store"]) == "pending"
    consume_run_with(run_ids[1], FakeEngine(), env["store"], sent)
    consume_states_with(run_ids[1], env["store"])
    exp = row(db.Experiment, exp_id)
    assert exp.status == "failed" and exp.error_code == "run_failed"
    assert "1 of 2 runs failed" in exp.error_message
    assert exp.results_key is not None  # partial results from the run that succeeded


def test_cancel_stops_at_a_step_boundary_and_skips_queued_runs(env, monkeypatch):
    from services.analysis.tasks import consume_experiment_with
    from services.common import jobs
    from services.gpu_worker.tasks import consume_run_with

    exp_id, run_ids = make_experiment()
    engine = FakeEngine(cancel_at="icl")

    def cancel() -> None:
        with db.session_scope() as s:
            jobs.request_cancel(s, exp_id)
            s.commit()

    engine.cancel_requested = cancel  # type: ignore[method-assign]
    sent = Sent()
    monkeypatch.setattr("services.gpu_worker.liveness.CANCEL_CHECK_EVERY_S", 0.0)
    assert consume_run_with(run_ids[0], engine, env["store"], sent) == "cancelled"
    # the cancel request itself cancelled the queued run: its task finds it cancelled
    assert consume_run_with(run_ids[1], FakeEngine(), env["store"], sent) == "already_cancelled"
    assert [r.status for r in (row(db.Run, i) for i in run_ids)] == ["cancelled", "cancelled"]
    assert consume_experiment_with(exp_id, env["store"]) == "cancelled"
    assert row(db.Experiment, exp_id).status == "cancelled"


def test_poison_run_fails_after_max_attempts(env):
    from services.gpu_worker.tasks import consume_run_with

    _, run_ids = make_experiment()
    with db.session_scope() as s:
        s.get(db.Run, run_ids[0]).attempts = get_settings().max_attempts
        s.commit()
    assert consume_run_with(run_ids[0], FakeEngine(), env["store"], Sent()) == "failed"
    assert row(db.Run, run_ids[0]).error_code == "worker_lost"


def test_concurrent_finalizers_finish_exactly_once(env, monkeypatch):
    from services.analysis.tasks import consume_experiment_with, consume_states_with
    from services.gpu_worker.tasks import consume_run_with

    exp_id, run_ids = make_experiment()
    for run_id in run_ids:
        consume_run_with(run_id, FakeEngine(), env["store"], Sent())
    # both runs succeed without finalizing, then six finalizers start at once
    with monkeypatch.context() as m:
        m.setattr("services.analysis.tasks.consume_experiment_with", lambda *a: "skipped")
        for run_id in run_ids:
            consume_states_with(run_id, env["store"])
    assert row(db.Experiment, exp_id).status == "running"

    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def finalize() -> None:
        barrier.wait()
        outcomes.append(consume_experiment_with(exp_id, env["store"]))

    threads = [threading.Thread(target=finalize) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["noop"] * 5 + ["succeeded"], outcomes
    assert count(db.Event, experiment_id=exp_id, type="experiment.succeeded") == 1
    assert row(db.Experiment, exp_id).status == "succeeded"


def test_hard_time_limit_is_recorded_by_the_main_process(env, monkeypatch):
    from celery.exceptions import TimeLimitExceeded

    import services.gpu_worker.tasks as gpu_tasks

    exp_id, run_ids = make_experiment()
    sent = Sent()
    monkeypatch.setattr(gpu_tasks.app, "send_task", sent)
    gpu_tasks._on_hard_time_limit(
        sender=gpu_tasks.consume_run, exception=TimeLimitExceeded(5), args=[run_ids[0]]
    )
    run = row(db.Run, run_ids[0])
    assert run.status == "failed" and run.error_code == "time_limit"
    assert sent == [("analysis.finalize_experiment", exp_id)]
    # other tasks and other exceptions are not this handler's business
    gpu_tasks._on_hard_time_limit(
        sender=gpu_tasks.consume_run, exception=ValueError(), args=[run_ids[1]]
    )
    assert row(db.Run, run_ids[1]).status == "queued"
