"""Analysis queue tasks: per-run similarities, then the experiment's results and report.

No torch here, directly or through an import: this worker runs on small CPU images.

``consume_states(run_id)`` reads the run's hidden states from the artifact store, writes the
per-run analysis artifact, marks the run succeeded, and finalizes the experiment when
it was the last run. ``consume_experiment(experiment_id)`` (finalize) is also sent on its own by
the GPU worker (a run failed or was cancelled) and by the API (cancel). Finalizing is
idempotent and race-safe: any number of finalizers may compute the summary, but the
conditional UPDATE in ``finish_experiment`` lets exactly one of them finish it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from celery.signals import worker_process_init, worker_ready
from sqlalchemy import select

from services.analysis.pipeline import analyze_experiment, analyze_run
from services.common import jobs
from services.common.db import Experiment, Run, dispose_engines, session_scope
from services.common.jobs import TERMINAL, ErrorCode, ExperimentStatus, RunStatus
from services.common.runtime import worker_signals
from services.common.runtime.celery_app import TASK_ANALYZE, TASK_FINALIZE, app
from services.common.runtime.retry import TASK_RETRY_OPTIONS, is_transient, retry_transient
from services.common.spec import ExperimentSpec, RunConfig
from services.common.storage.artifacts import ArtifactStore, configured_store
from services.common.storage.hidden_states import RunStates, sha256_hex
from services.common.storage.layout import (
    ANALYSIS_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    experiment_file_key,
    json_bytes,
    run_file_key,
)

log = logging.getLogger(__name__)
worker_signals.install("analysis-worker")  # JSON logs, metrics, heartbeat, traces


@worker_process_init.connect
def _init_worker_process(**_: Any) -> None:
    dispose_engines()


@worker_ready.connect
def _start_reconciler(**_: Any) -> None:
    """The main process reconciles at start and then periodically."""
    from services.common.jobs.reconciler import start_reconciler

    start_reconciler(app)


@app.task(name=TASK_ANALYZE, **TASK_RETRY_OPTIONS)
def consume_states(run_id: str) -> str:
    """Celery task: ``consume_states_with`` with the configured store; retried on transient
    errors."""
    return consume_states_with(run_id, configured_store())


@app.task(name=TASK_FINALIZE, **TASK_RETRY_OPTIONS)
def consume_experiment(experiment_id: str) -> str:
    """Celery task: ``consume_experiment_with`` with the configured store (finalize once
    every run has ended)."""
    return consume_experiment_with(experiment_id, configured_store())


# ---------------------------------------------------------------------------------------


def consume_states_with(run_id: str, artifacts: ArtifactStore) -> str:
    """The body of the ``consume_states`` task: the run's analysis.json artifact from its
    stored states (``pipeline.analyze_run``), then the run's and experiment's rows."""
    with session_scope() as s:
        run = s.get(Run, run_id)
        if run is None:
            log.warning("run %s: no such row; dropping the task", run_id)
            return "missing"
        exp = s.get(Experiment, run.experiment_id)
        assert exp is not None
        experiment_id, status, states_key = exp.id, run.status, run.states_key
        config, metrics, expected_sha = run.config, exp.spec["metrics"], run.states_sha256
        timings = run.timings or {}
    if status in TERMINAL:  # a redelivered task after the run was finished
        consume_experiment_with(experiment_id, artifacts)
        return "already_" + status
    if states_key is None:
        log.warning("run %s has no hidden states yet; dropping the task", run_id)
        return "not_extracted"

    try:
        data = artifacts.get(states_key)
        if sha256_hex(data) != expected_sha:
            raise RuntimeError(f"artifact {states_key} does not match its recorded sha256")
        states = RunStates.from_bytes(data)
        analysis = analyze_run(RunConfig.model_validate(config), states, metrics, timings)
        key = run_file_key(experiment_id, run_id, ANALYSIS_FILE)
        artifacts.put(key, json_bytes(analysis))
    except Exception as exc:  # recorded on the row; the worker lives on
        if is_transient(exc):
            raise  # retried by the task
        log.exception("analysis of run %s failed", run_id)
        message = f"{type(exc).__name__}: {exc}"
        _commit(
            lambda s: jobs.fail_run(s, run_id, ErrorCode.ANALYSIS_ERROR, message, "analysis failed")
        )
        consume_experiment_with(experiment_id, artifacts)
        return "failed"

    _commit(lambda s: jobs.record_analysis(s, run_id, key))
    consume_experiment_with(experiment_id, artifacts)
    return "succeeded"


def _commit(change: Callable[[Any], object]) -> None:
    def attempt() -> None:
        with session_scope() as s:
            change(s)
            s.commit()

    retry_transient(attempt, what="recording an analysis")


def consume_experiment_with(experiment_id: str, artifacts: ArtifactStore) -> str:
    """Summarise and finish the experiment once every run is terminal; else a no-op."""
    with session_scope() as s:
        exp = s.get(Experiment, experiment_id)
        if exp is None or exp.status in TERMINAL:
            return "noop"
        runs = s.scalars(select(Run).where(Run.experiment_id == experiment_id).order_by(Run.index))
        rows = [(r.status, r.error_code, r.error_message, r.analysis_key) for r in runs]
        spec, exp_status = exp.spec, exp.status
    if any(status not in TERMINAL for status, *_ in rows):
        return "pending"

    results_key = report_key = None
    summary_error: str | None = None
    analysis_keys = [key for status, _, _, key in rows if status == RunStatus.SUCCEEDED and key]
    if analysis_keys:
        try:
            results_key, report_key = _write_summary(experiment_id, spec, analysis_keys, artifacts)
        except Exception as exc:
            log.exception("summary of experiment %s failed", experiment_id)
            summary_error = f"{type(exc).__name__}: {exc}"[:4000]

    status, code, message = jobs.final_status(exp_status, [(st, c, m) for st, c, m, _ in rows])
    if summary_error is not None and status == ExperimentStatus.SUCCEEDED:
        status, code, message = ExperimentStatus.FAILED, ErrorCode.ANALYSIS_ERROR, summary_error
    with session_scope() as s:
        won = jobs.finish_experiment(
            s,
            experiment_id,
            status,
            error_code=code,
            error_message=message,
            results_key=results_key,
            report_key=report_key,
        )
        s.commit()
    return status.value if won else "noop"


def _write_summary(
    experiment_id: str, spec: dict[str, Any], analysis_keys: list[str], artifacts: ArtifactStore
) -> tuple[str, str]:
    """Store ``pipeline.analyze_experiment`` under experiments/<id>/: results.json,
    report.html and figures/<name>.png. Returns the results' and the report's keys."""
    analyses = [json.loads(artifacts.get(key)) for key in analysis_keys]
    out = analyze_experiment(ExperimentSpec.model_validate(spec), analyses)
    keys = {path: experiment_file_key(experiment_id, path) for path in out.files}
    for path, data in out.files.items():
        artifacts.put(keys[path], data)
    return keys[RESULTS_FILE], keys[REPORT_FILE]
