"""Run an experiment in-process: the engine, then the analysis, into one output directory.

The same step functions as the Celery tasks (``gpu_worker.steps.extract_run``,
``analysis.pipeline.analyze_run`` and ``analyze_experiment``), so this writes the same
files with the same contents as the artifacts of an experiment run through the
services, laid out by run key instead of run id (``common.storage.layout`` names every file).
A run's record, which the services keep in its database row, is ``runs/<key>/run.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.common.spec import ExperimentSpec, RunConfig, expand_runs
from services.common.storage.layout import (
    ANALYSIS_FILE,
    RUN_RECORD_FILE,
    SPEC_FILE,
    STATES_FILE,
    json_bytes,
    local_run_dir,
)

if TYPE_CHECKING:  # the analysis is imported only when it runs
    from services.analysis.documents import Results, RunAnalysis

RunProgress = Callable[[int, int, RunConfig, float, int, str], None]


def write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary name, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def run_experiment(
    spec: ExperimentSpec,
    out: Path,
    *,
    engine: Any | None = None,
    on_progress: RunProgress | None = None,
) -> Results:
    """Run every RunConfig of ``spec`` with one warm engine; returns the results document."""
    run_extraction(spec, out, engine=engine, on_progress=on_progress)
    return run_analyses(spec, out)


def run_extraction(
    spec: ExperimentSpec,
    out: Path,
    *,
    engine: Any | None = None,
    on_progress: RunProgress | None = None,
    resume: bool = False,
) -> list[str]:
    """The GPU half: states.safetensors and prompts.json of every run under out/runs/.
    With ``resume``, runs whose states are already there are skipped. Returns the keys
    of the runs computed now."""
    from services.gpu_worker.engine import Engine
    from services.gpu_worker.steps import extract_run

    engine = engine or Engine()
    runs = expand_runs(spec)
    write_bytes(out / SPEC_FILE, json_bytes(spec.model_dump(mode="json")))
    computed: list[str] = []
    for i, run in enumerate(runs):
        run_dir = local_run_dir(out, run.key)
        if resume and (run_dir / STATES_FILE).exists():
            continue

        def progress(done: float, total: int, stage: str, i: int = i, run: RunConfig = run) -> None:
            if on_progress is not None:
                on_progress(i, len(runs), run, done, total, stage)

        extracted = extract_run(engine, run, progress=progress)
        for name, data in extracted.files.items():
            write_bytes(run_dir / name, data)
        record = {"run_key": run.key, "timings": extracted.timings}
        write_bytes(run_dir / RUN_RECORD_FILE, json_bytes(record))
        computed.append(run.key)
    return computed


def run_analyses(spec: ExperimentSpec, out: Path) -> Results:
    """The analysis half, from the stored states alone: per-run analysis.json, then
    results.json, figures/ and report.html. Rerunnable after the analysis code changes."""
    from services.analysis.pipeline import analyze_experiment, analyze_run
    from services.common.storage.hidden_states import RunStates

    analyses: list[RunAnalysis] = []
    for run in expand_runs(spec):
        run_dir = local_run_dir(out, run.key)
        states = RunStates.from_bytes((run_dir / STATES_FILE).read_bytes())
        timings = json.loads((run_dir / RUN_RECORD_FILE).read_text())["timings"]
        analysis = analyze_run(run, states, spec.metrics, timings)
        write_bytes(run_dir / ANALYSIS_FILE, json_bytes(analysis))
        analyses.append(analysis)
    outputs = analyze_experiment(spec, analyses)
    for path, data in outputs.files.items():
        write_bytes(out / path, data)
    return outputs.results
