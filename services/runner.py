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

RunProgress = Callable[[int, int, RunConfig, int, int, str], None]


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
    from services.analysis.figures import make_figures
    from services.analysis.report import render_report_html
    from services.analysis.summarize import analyze_run, summarize_experiment
    from services.gpu_worker.engine import Engine

    engine = engine or Engine()
    runs = expand_runs(spec)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "spec.json", spec.model_dump(mode="json"))
    analyses: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for i, run in enumerate(runs):

        def progress(done: int, total: int, stage: str, i: int = i, run: RunConfig = run) -> None:
            if on_progress is not None:
                on_progress(i, len(runs), run, done, total, stage)

        result = engine.run(run, progress=progress)
        run_dir = out / "runs" / run.key
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "states.safetensors").write_bytes(result.states.to_bytes())
        write_json(run_dir / "prompts.json", {"prompts": result.prompts, "tuning": result.tuning})
        analysis = analyze_run(run.model_dump(mode="json"), result.states, list(spec.metrics))
        analysis["timings"] = result.timings
        write_json(run_dir / "analysis.json", analysis)
        analyses.append(analysis)
        for stage, seconds in result.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    results = summarize_experiment(spec.model_dump(mode="json"), analyses)
    results["timings"] = timings
    write_json(out / "results.json", results)
    figures = make_figures(results)
    for name, png in figures.items():  # e.g. figures/layers-main-cosine.png
        path = out / "figures" / (name.replace("/", "-") + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
    (out / "report.html").write_text(render_report_html(results, figures))
    return results
