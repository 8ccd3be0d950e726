"""The tuning-loss figure: each run's loss curve (from its states' metadata) travels through
the run analysis and the results into a figure the report shows."""

from __future__ import annotations

import base64

from services.analysis.figures import make_figures
from services.analysis.per_run import run_similarities
from services.analysis.report import render_report_html
from services.analysis.summarize import summarize_experiment
from services.analysis.tuning_figure import TUNING_FIGURE_KEY, loss_curves, tuning_loss_figure
from services.common.spec import ExperimentSpec, expand_runs
from tests.analysis.test_summarize_report import N_EX, synthetic_states

PNG = b"\x89PNG"


def _results(with_curves: bool) -> dict:
    spec = ExperimentSpec(name="tuning", inference={"n": N_EX}, seeds=[0, 1])
    runs = []
    for rc in expand_runs(spec):
        states = synthetic_states(rc.seed, 2)
        if with_curves:
            mean = [3.0 / (s + rc.seed + 1) for s in range(4)]
            curve = {"step": [1, 2, 3, 4], "mean": mean, "min": mean, "max": mean}
            curve["min"] = [x - 0.1 for x in mean]
            curve["max"] = [None, *mean[1:]]  # a diverged step stays a gap
            states.meta["it_loss_curve"] = curve
        runs.append(run_similarities(rc.model_dump(mode="json"), states, list(spec.metrics)))
    return summarize_experiment(spec.model_dump(mode="json"), runs)


def test_loss_curves_reach_the_results_and_the_report() -> None:
    results = _results(with_curves=True)
    curves = loss_curves(results)
    assert len(curves) == len(results["runs"]) == 4  # two seeds, with the random-init control
    assert list(curves[0][1]["step"]) == [1, 2, 3, 4]
    assert sorted({c["mean"][0] for _, c in curves}) == [1.5, 3.0]  # each run its own curve
    figures = make_figures(results)
    assert figures[TUNING_FIGURE_KEY].startswith(PNG)
    html = render_report_html(results, figures)
    assert base64.b64encode(figures[TUNING_FIGURE_KEY]).decode() in html


def test_no_figure_without_tuning() -> None:
    results = _results(with_curves=False)
    assert loss_curves(results) == [] and tuning_loss_figure(results) is None
    assert TUNING_FIGURE_KEY not in make_figures(results)
