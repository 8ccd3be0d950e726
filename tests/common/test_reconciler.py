"""Job-state transitions and the reconciler, in-process on SQLite and on Postgres.

The reconciler gets a recording ``send_task`` and a queue size chosen by the test, so
each repair (requeue a silent run, re-send a lost message, finalize) is seen on its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from services.common import db, jobs
from services.common.jobs.reconciler import reconcile_once
from services.common.runtime.settings import get_settings
from tests.gpu_worker.test_tasks import FakeEngine, Sent, make_experiment, row
from tests.gpu_worker.test_tasks import env as tasks_env  # noqa: F401


@pytest.fixture
def env(tasks_env):  # noqa: F811
    """The reconciler looks at every row: start from an empty job table."""
    with db.session_scope() as s:
        s.execute(delete(db.Event))
        s.execute(delete(db.Run))
        s.execute(delete(db.Experiment))
        s.commit()
    return tasks_env


def settings(**kw: Any):
    return get_settings().model_copy(
        update={"heartbeat_timeout_s": 5.0, "redispatch_after_s": 0.0, **kw}
    )


def claim(run_id: str, worker: str) -> Any:
    with db.session_scope() as s:
        out = jobs.claim_run(s, run_id, worker, max_attempts=3, heartbeat_timeout_s=5.0)
        s.commit()
        return out


def age_heartbeat(run_id: str, seconds: float) -> None:
    with db.session_scope() as s:
        run = s.get(db.Run, run_id)
        run.heartbeat_at = db.utcnow() - timedelta(seconds=seconds)
        s.commit()


def test_a_duplicate_delivery_is_dropped_while_the_holder_beats(env):
    _, run_ids = make_experiment()
    first = claim(run_ids[0], "elsewhere:1")
    assert isinstance(first, jobs.Claim) and first.attempt == 1
    assert claim(run_ids[0], "elsewhere:2") == jobs.ClaimOutcome.HELD
    age_heartbeat(run_ids[0], 60)  # silent holder on another host: taken over
    again = claim(run_ids[0], "elsewhere:2")
    assert isinstance(again, jobs.Claim) and again.attempt == 2


def test_a_holder_whose_process_is_gone_is_taken_over_at_once(env):
    import socket

    _, run_ids = make_experiment()
    claim(run_ids[0], f"{socket.gethostname()}:{2**22 + 12345}")  # no such pid
    again = claim(run_ids[0], jobs.worker_identity())
    assert isinstance(again, jobs.Claim) and again.attempt == 2


def test_silent_runs_are_requeued_then_failed_after_max_attempts(env):
    exp_id, run_ids = make_experiment()
    sent = Sent()
    for attempt in range(1, 4):
        assert isinstance(claim(run_ids[0], "elsewhere:1"), jobs.Claim)
        age_heartbeat(run_ids[0], 60)
        out = reconcile_once(sent, lambda q: 99, settings(max_attempts=3))
        if attempt < 3:
            assert out.requeued == [run_ids[0]]
            assert row(db.Run, run_ids[0]).status == "queued"
            assert sent[-1] == ("gpu.run_experiment_run", run_ids[0])
    run = row(db.Run, run_ids[0])
    assert out.failed == [run_ids[0]] and run.status == "failed"
    assert run.error_code == "worker_lost" and "no heartbeat" in run.error_message
    assert "after 3 attempts" in run.error_message
    # a fresh holder is left alone
    assert isinstance(claim(run_ids[1], "elsewhere:1"), jobs.Claim)
    assert reconcile_once(Sent(), lambda q: 99, settings()).requeued == []


def test_lost_messages_are_sent_again_only_when_the_queue_is_short(env):
    exp_id, run_ids = make_experiment()
    sent = Sent()
    out = reconcile_once(sent, lambda q: 2, settings())  # both messages may be there
    assert out.resent_runs == [] and sent == []
    out = reconcile_once(sent, lambda q: 0 if q == "gpu" else 99, settings())
    assert sorted(out.resent_runs) == sorted(run_ids)
    assert sorted(sent) == sorted(("gpu.run_experiment_run", r) for r in run_ids)
    # not yet due: sent a moment ago
    again = reconcile_once(Sent(), lambda q: 0, settings(redispatch_after_s=60))
    assert again.resent_runs == []
    # broker unreachable: nothing sent, nothing lost
    assert reconcile_once(Sent(), lambda q: None, settings()).resent_runs == []


def test_extracted_runs_get_their_analysis_and_finished_experiments_their_finalize(env):
    from services.analysis.tasks import consume_states_with
    from services.gpu_worker.tasks import consume_run_with

    exp_id, run_ids = make_experiment()

    def lost(name: str, args: list[Any]) -> None:
        raise ConnectionError("broker down (test)")

    for run_id in run_ids:  # the analysis messages are lost
        assert consume_run_with(run_id, FakeEngine(), env["store"], lost) == "extracted"
    sent = Sent()
    out = reconcile_once(sent, lambda q: 0, settings())
    assert sorted(out.resent_analyses) == sorted(run_ids) and out.finalized == []
    for run_id in run_ids:
        consume_states_with(run_id, env["store"])
    assert row(db.Experiment, exp_id).status == "succeeded"

    exp2, runs2 = make_experiment()  # all runs terminal, the finalize message lost
    with db.session_scope() as s:
        for run_id in runs2:
            jobs.fail_run(s, run_id, jobs.ErrorCode.ENGINE_ERROR, "boom", "failed")
        s.commit()
    out = reconcile_once(Sent(), lambda q: 99, settings())
    assert out.finalized == [exp2]


def test_cancelling_with_a_dead_holder_ends_cancelled(env):
    from services.analysis.tasks import consume_experiment_with

    exp_id, run_ids = make_experiment()
    claim(run_ids[0], "elsewhere:1")
    with db.session_scope() as s:
        assert jobs.request_cancel(s, exp_id) == jobs.CancelOutcome.CANCELLING
        s.commit()
    age_heartbeat(run_ids[0], 60)
    sent = Sent()
    out = reconcile_once(sent, lambda q: 99, settings())
    assert out.cancelled == [run_ids[0]] and out.finalized == [exp_id]
    assert consume_experiment_with(exp_id, env["store"]) == "cancelled"


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_cancel_of_a_finished_experiment_is_refused(env, status):
    exp_id, _ = make_experiment()
    with db.session_scope() as s:
        jobs.finish_experiment(s, exp_id, jobs.ExperimentStatus(status))
        assert jobs.request_cancel(s, exp_id) == jobs.CancelOutcome.FINISHED


def test_reconcile_cli_runs_one_pass(env, capsys):
    from services.cli import main as cli

    exp_id, run_ids = make_experiment()
    with db.session_scope() as s:
        for run_id in run_ids:
            jobs.cancel_run(s, run_id, "test")
        s.commit()
    assert cli.main(["reconcile"]) == 0
    out = capsys.readouterr().out
    assert f"finalized           1  {exp_id}" in out


def test_the_worker_beats_while_it_computes(env):
    import time

    from services.gpu_worker.liveness import heartbeat

    _, run_ids = make_experiment()
    me = jobs.worker_identity()
    assert isinstance(claim(run_ids[0], me), jobs.Claim)
    age_heartbeat(run_ids[0], 60)
    with heartbeat(run_ids[0], me, every_s=0.05):
        time.sleep(0.5)
    beat = row(db.Run, run_ids[0]).heartbeat_at
    assert db.utcnow() - beat < timedelta(seconds=5)
    # a silent holder is requeued, a beating one is not
    assert reconcile_once(Sent(), lambda q: 99, settings()).requeued == []
