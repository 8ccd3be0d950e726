"""Summaries, the results schema, figures and the HTML report on a synthetic experiment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.analysis.figures import factor_figure, layerwise_figure, make_figures
from services.analysis.metrics import PAIRS
from services.analysis.per_run import run_similarities
from services.analysis.report import render_report_html
from services.analysis.summarize import SCHEMA_ID, summarize_experiment
from services.analysis.tables import (
    it_control_rows,
    metric_rows,
    primary_rows,
    random_init_rows,
    summary_table,
)
from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.hidden_states import CONDITIONS, RunStates

SCHEMA_PATH = Path(__file__).parents[2] / "services/common/schemas/results.schema.json"
N_EX, N_LAYERS, D = 8, 3, 12


def synthetic_states(seed: int, k: int, random_init: bool = False, n_ex: int = N_EX) -> RunStates:
    """ICL and IT move the anchor state the same way, more so with more demos (k)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_ex, N_LAYERS + 2, D)) + 3.0  # shared offset: anisotropy
    shift = rng.normal(size=base.shape) * (0.5 * k)
    if random_init:
        shift = rng.normal(size=base.shape) * 0.1
    icl = base + shift
    it = base + shift + 0.3 * rng.normal(size=base.shape)
    cross = base + np.roll(shift, 1, axis=0)  # another example's shift
    shuffled = base + shift + rng.normal(size=base.shape)
    rand = base + 0.1 * rng.normal(size=base.shape)
    hidden = np.stack([base, icl, it, cross, shuffled, rand, base], axis=1).astype(np.float32)
    labels = np.arange(n_ex) % 2
    logits = rng.normal(size=(n_ex, len(CONDITIONS), 2)).astype(np.float32)
    logits[:, 1, :] = 0.0
    logits[np.arange(n_ex), 1, labels] = 1.0  # ICL always right
    logprobs = logits - np.log(np.exp(logits).sum(-1, keepdims=True) + 1.0)  # mass < 1
    labels[0] = -1
    return RunStates(
        hidden=hidden,
        label_logprobs=logprobs.astype(np.float32),
        labels=labels.astype(np.int64),
        conditions=list(CONDITIONS),
        example_ids=[f"ex{i}" for i in range(n_ex)],
        label_names=["negative", "positive"],
    )


@pytest.fixture(scope="module")
def experiment() -> tuple[dict, list[dict]]:
    spec = ExperimentSpec(
        name="synthetic",
        description="<script>alert('x')</script> & friends",
        inference={"n": N_EX},
        sweep={"demos.k": [1, 4]},
        seeds=[0, 1],
    )
    metrics = list(spec.metrics)
    runs = []
    for rc in expand_runs(spec):
        run = rc.model_dump(mode="json")
        states = synthetic_states(
            rc.seed * 10 + rc.demos.k, rc.demos.k, rc.control == "random_init"
        )
        runs.append(run_similarities(run, states, metrics))
    return spec.model_dump(mode="json"), runs


@pytest.fixture(scope="module")
def results(experiment) -> dict:
    spec, runs = experiment
    return summarize_experiment(spec, runs)


def test_analyze_run_shapes(experiment):
    _, runs = experiment
    r = runs[0]
    assert r["n_examples"] == N_EX and r["n_layers"] == N_LAYERS
    assert r["layer_names"][0] == "embeddings"
    cos = r["values"]["cosine"]["icl_it"]
    assert len(cos) == N_EX and len(cos[0]) == N_LAYERS + 2
    assert len(r["values"]["cka"]["icl_it"]) == N_LAYERS + 2
    assert r["layer_names"][-1] == "final_norm"
    assert set(r["values"]["cosine"]) == set(PAIRS)
    assert set(r["values"]["shift_cosine"]) == {
        "icl_it",
        "icl_it_cross",
        "icl_it_shuffled",
        "icl_it_random",
    }
    assert set(r["values"]["shift_cosine_mismatched"]) == {"icl_it"}
    assert len(r["values"]["shared_fraction"]["anchor_it"]) == N_LAYERS + 2
    assert r["accuracy"]["icl"] == 1.0
    json.dumps(r, allow_nan=False)


def test_summary_document(results):
    assert results["schema"] == SCHEMA_ID
    json.dumps(results, allow_nan=False)
    real = [c for c in results["cells"] if c["control"] == "none"]
    assert len(real) == 2 and all(c["n_seeds"] == 2 for c in real)
    block = real[0]["metrics"]["cosine"]["icl_it"]
    assert block["n"][0] == N_EX  # examples, each averaged over the 2 seeds
    assert real[0]["metrics"]["cka"]["icl_it"]["n"][0] == 2  # seeds
    assert real[0]["accuracy"]["icl"]["n"] == (N_EX - 1) * 2  # label -1 ignored
    (study,) = results["studies"]
    assert study["factor"] == "demos.k" and [c["level"] for c in study["cells"]] == [1, 4]
    assert study["tests"] and study["trends"]
    assert "significant" in study["statement"]
    assert results["controls"]["random_init"] and results["controls"]["identity_checks"]
    assert results["statements"][0]["kind"] == "primary"
    assert set(real[0]["control_tests"]) == {"icl_it_cross", "icl_it_shuffled", "icl_it_random"}
    assert real[0]["label_mass"]["icl"]["mean"] < 1.0


def test_results_validate_against_schema(results):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(results)


def test_figures_are_png(results):
    png = layerwise_figure(results["cells"][0], "cosine")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    png = factor_figure(results["studies"][0], results, "centered_cosine")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_escapes_user_text(results):
    html = render_report_html(results, figures=make_figures(results))
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    assert "data:image/png;base64," in html
    assert "Conventions" in html and "Controls" in html and "Study: main" in html


def test_preset_design_summarizes():
    """Every study of the duan2023 smoke design (shared runs, None levels, one-level
    studies, 4 examples) gets its cells, tests and a statement; the document validates."""
    spec = ExperimentSpec(preset="duan2023", scale="smoke")
    runs = []
    for i, rc in enumerate(expand_runs(spec)):
        states = synthetic_states(i, rc.demos.k, rc.control == "random_init", spec.inference.n)
        runs.append(run_similarities(rc.model_dump(mode="json"), states, list(spec.metrics)))
    res = summarize_experiment(spec.model_dump(mode="json"), runs)
    json.dumps(res, allow_nan=False)
    by_name = {s["name"]: s for s in res["studies"]}
    assert len(by_name["main"]["cells"]) == 1 and by_name["main"]["factor"] is None
    assert [c["level"] for c in by_name["task_mismatch"]["cells"]] == [None, "translation_en_fr"]
    assert by_name["similarity"]["trends"][0]["kind"] == "page"  # ordered levels
    for t in by_name["n_demos"]["primary_tests"]:  # the mde at Holm's strictest step is larger
        assert t["mde_experiment"] is None or t["mde_experiment"] > t["mde"]
    assert all(s["statement"] for s in res["studies"])
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).validate(res)
    html = render_report_html(res, figures={})
    assert "Study: task_mismatch" in html


def test_partial_and_corrupted_documents(experiment, results):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    spec, runs = experiment
    validator.validate(summarize_experiment(spec, []))  # nothing finished yet
    validator.validate(summarize_experiment(spec, runs[:1]))  # one run of one cell
    bad = json.loads(json.dumps(results))
    bad["cells"][0]["metrics"]["cosine"]["icl_it"]["mean"][0] = "nan"
    assert not validator.is_valid(bad)


def test_report_tables(results):
    """The rows behind the report's tables: one per level, numbers from the document."""
    cells = {c["cell"]: c for c in results["cells"]}
    (study,) = results["studies"]
    rows = primary_rows(study, cells)
    assert [r["level"] for r in rows] == ["1", "4"]
    test = study["primary_tests"][0]
    assert rows[0]["n"] == test["n"] and rows[0]["diff"].startswith(f"{test['mean_diff']:.3f} [")
    assert rows[0]["layer"].startswith("layer ") and rows[0]["acc"].count(" / ") == 2
    cos = metric_rows(study, cells, "cosine", ["icl_it", "anchor_icl"])
    assert [len(r["pairs"]) for r in cos] == [2, 2] and all("p=" in r["test"] for r in cos)
    controls = it_control_rows(results)
    assert len(controls) == 2 and all(len(r["cols"]) == 3 for r in controls)
    (entry,) = results["controls"]["random_init"]
    rnd = random_init_rows(entry)
    assert len(rnd) == len(entry["metrics"]) and rnd[0]["metric"] == "cosine"
    assert all(len(r["cells"]) == 6 for r in rnd)


def test_summary_table_has_a_row_per_cell_and_the_statements(results):
    lines = summary_table(results).splitlines()
    assert lines[0].startswith("cell ")
    n_cells = len(results["cells"])
    # each cell by its label (its factors), as in results.json
    labels = [c["label"] for c in results["cells"]]
    assert labels[0] == "k=1" and labels[-1].startswith("random-init model: name=")
    assert lines[1].startswith("k=1 ") and lines[n_cells].startswith(labels[-1][:29])
    assert lines[n_cells + 1].startswith("(matched / mismatched")
    assert lines[n_cells + 2].startswith("- main: ")
