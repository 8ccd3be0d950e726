"""The analysis steps both orchestrators call: analyze_run and analyze_experiment."""

from __future__ import annotations

import json

import pytest

from services.analysis.per_run import run_similarities
from services.analysis.pipeline import analyze_experiment, analyze_run, summed_timings
from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.layout import REPORT_FILE, RESULTS_FILE, figure_file
from tests.analysis.test_summarize_report import N_EX, synthetic_states


@pytest.fixture(scope="module")
def spec() -> ExperimentSpec:
    return ExperimentSpec(
        name="pipeline", inference={"n": N_EX}, sweep={"demos.k": [1, 4]}, seeds=[0, 1]
    )


@pytest.fixture(scope="module")
def analyses(spec: ExperimentSpec) -> list[dict]:
    out = []
    for i, rc in enumerate(expand_runs(spec)):
        states = synthetic_states(rc.seed * 10 + rc.demos.k, rc.demos.k, rc.control != "none")
        out.append(analyze_run(rc, states, spec.metrics, {"tune": 1.0 + i, "total": 2.0}))
    return out


def test_run_analysis_is_run_similarities_of_the_typed_config_plus_timings(spec, analyses):
    rc = expand_runs(spec)[0]
    states = synthetic_states(rc.seed * 10 + rc.demos.k, rc.demos.k, rc.control != "none")
    pure = run_similarities(rc.model_dump(mode="json"), states, list(spec.metrics))
    assert {k: v for k, v in analyses[0].items() if k != "timings"} == pure
    assert analyses[0]["cell"] == rc.cell
    assert analyses[0]["timings"] == {"tune": 1.0, "total": 2.0}


def test_experiment_files_hold_results_report_and_every_figure(spec, analyses):
    from services.analysis.figures import make_figures

    out = analyze_experiment(spec, analyses)
    n = len(analyses)
    assert out.results["timings"] == {"tune": sum(1.0 + i for i in range(n)), "total": 2.0 * n}
    assert json.loads(out.files[RESULTS_FILE]) == out.results
    assert out.files[REPORT_FILE].lower().startswith(b"<!doctype html>")
    figures = make_figures(out.results)
    assert sorted(out.figures) == sorted(figure_file(k) for k in figures)
    assert set(out.files) == {RESULTS_FILE, REPORT_FILE} | {f"figures/{f}" for f in out.figures}
    assert summed_timings([]) == {} and summed_timings([{"timings": None}]) == {}
