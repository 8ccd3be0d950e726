"""The analysis steps of the pipeline, called by both orchestrators.

    analyze_run(config, states, metrics, timings) -> analysis.json document of one run
    analyze_experiment(spec, analyses)               -> results.json, report.html, figures/*

The Celery tasks (``analysis.tasks``) store what these return as artifacts under
``experiments/<id>/``; the in-process runner (``local.runner``) writes the same bytes
under its output directory. Neither orchestrator computes, sums or serialises anything
itself, so both paths write the same files with the same contents (timings and ids
aside).

No torch here (the analysis worker's image has none); matplotlib is imported only when
the figures are drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.analysis.documents import Results, RunAnalysis
from services.analysis.per_run import run_similarities
from services.analysis.summarize import summarize_experiment
from services.common.spec import ExperimentSpec, RunConfig
from services.common.storage.hidden_states import RunStates
from services.common.storage.layout import (
    FIGURES_DIR,
    REPORT_FILE,
    RESULTS_FILE,
    figure_path,
    json_bytes,
)


def analyze_run(
    config: RunConfig,
    states: RunStates,
    metrics: Iterable[str],
    timings: Mapping[str, float] | None = None,
) -> RunAnalysis:
    """One run's analysis document: per-example, per-layer similarities, accuracy, the
    adapters' losses, and the run's stage timings (from the GPU step)."""
    run = {**config.model_dump(mode="json"), "cell": config.cell}
    analysis = run_similarities(run, states, list(metrics))
    analysis["timings"] = {stage: float(s) for stage, s in (timings or {}).items()}
    return analysis


def summed_timings(analyses: Iterable[RunAnalysis]) -> dict[str, float]:
    """Stage -> seconds over every run: the one place run timings are added up."""
    total: dict[str, float] = {}
    for analysis in analyses:
        for stage, seconds in (analysis.get("timings") or {}).items():
            total[stage] = total.get(stage, 0.0) + float(seconds)
    return total


@dataclass(frozen=True)
class ExperimentFiles:
    """The experiment-level outputs: the results document and every file, by relative
    path (results.json, report.html, figures/<name>.png)."""

    results: Results
    files: dict[str, bytes]

    @property
    def figures(self) -> dict[str, bytes]:
        """figures/<name>.png -> PNG, by file name (without the folder)."""
        prefix = FIGURES_DIR + "/"
        return {k[len(prefix) :]: v for k, v in self.files.items() if k.startswith(prefix)}


def analyze_experiment(spec: ExperimentSpec, analyses: list[RunAnalysis]) -> ExperimentFiles:
    """results.json (with the summed timings), the figures, and report.html showing them."""
    from services.analysis.figures import make_figures
    from services.analysis.report import render_report_html

    results = summarize_experiment(spec, analyses)
    results["timings"] = summed_timings(analyses)
    figures = make_figures(results)
    files = {RESULTS_FILE: json_bytes(results)}
    files.update({figure_path(k): png for k, png in figures.items()})
    files[REPORT_FILE] = render_report_html(results, figures).encode()
    return ExperimentFiles(results, files)
