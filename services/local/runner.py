"""Run an experiment in-process: the engine, then the analysis, into one output directory.

Layout of ``out``:

    results.json                  the results document (schema: results.schema.json)
    report.html                   self-contained report with the figures
    figures/*.png                 layer-wise curves per study and metric (and factor plots)
    runs/<run key>/states.safetensors   hidden states [example, condition, layer, d_model]
    runs/<run key>/prompts.json   exact prompt text and token ids of every condition
    runs/<run key>/analysis.json  per-example, per-layer similarities of that run
    spec.json                     the resolved spec
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.common.spec import ExperimentSpec, RunConfig, expand_runs

RunProgress = Callable[[int, int, RunConfig, float, int, str], None]


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False))
    tmp.replace(path)


def run_in_process(
    spec: ExperimentSpec,
    out: Path,
    *,
    engine: Any | None = None,
    on_progress: RunProgress | None = None,
) -> dict[str, Any]:
    """Run every RunConfig of ``spec`` with one warm engine; returns the results document."""
    timings = extract_runs(spec, out, engine=engine, on_progress=on_progress)
    return analyze_outputs(spec, out, timings=timings)


def extract_runs(
    spec: ExperimentSpec,
    out: Path,
    *,
    engine: Any | None = None,
    on_progress: RunProgress | None = None,
    resume: bool = False,
) -> dict[str, float]:
    """The GPU half: states.safetensors and prompts.json of every run under out/runs/.
    With ``resume``, runs whose states are already there are skipped. Returns the summed
    stage timings."""
    from services.gpu_worker.engine import Engine

    engine = engine or Engine()
    runs = expand_runs(spec)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "spec.json", spec.model_dump(mode="json"))
    timings: dict[str, float] = {}
    for i, run in enumerate(runs):
        run_dir = out / "runs" / run.key
        if resume and (run_dir / "states.safetensors").exists():
            continue

        def progress(done: float, total: int, stage: str, i: int = i, run: RunConfig = run) -> None:
            if on_progress is not None:
                on_progress(i, len(runs), run, done, total, stage)

        result = engine.run(run, progress=progress)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(
            run_dir / "prompts.json",
            {"prompts": result.prompts, "tuning": result.tuning, "timings": result.timings},
        )
        (run_dir / "states.safetensors").write_bytes(result.states.to_bytes())
        for stage, seconds in result.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return timings


def analyze_outputs(
    spec: ExperimentSpec, out: Path, *, timings: dict[str, float] | None = None
) -> dict[str, Any]:
    """The analysis half, from the stored states alone: per-run analysis.json, then
    results.json, figures/ and report.html. Rerunnable after the analysis code changes."""
    from services.analysis.figures import make_figures
    from services.analysis.report import render_report_html
    from services.analysis.summarize import analyze_run, summarize_experiment
    from services.common.hidden_states import RunStates

    analyses: list[dict[str, Any]] = []
    for run in expand_runs(spec):
        run_dir = out / "runs" / run.key
        states = RunStates.from_bytes((run_dir / "states.safetensors").read_bytes())
        analysis = analyze_run(run.model_dump(mode="json"), states, list(spec.metrics))
        prompts = json.loads((run_dir / "prompts.json").read_text())
        analysis["timings"] = prompts.get("timings", {})
        write_json(run_dir / "analysis.json", analysis)
        analyses.append(analysis)
    results = summarize_experiment(spec.model_dump(mode="json"), analyses)
    results["timings"] = timings if timings is not None else _summed_timings(analyses)
    write_json(out / "results.json", results)
    figures = make_figures(results)
    for name, png in figures.items():  # e.g. figures/layers-main-cosine.png
        path = out / "figures" / (name.replace("/", "-") + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    (out / "report.html").write_text(render_report_html(results, figures))
    return results


def _summed_timings(analyses: list[dict[str, Any]]) -> dict[str, float]:
    timings: dict[str, float] = {}
    for a in analyses:
        for stage, seconds in a.get("timings", {}).items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    return timings
