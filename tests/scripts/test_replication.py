"""docs/REPLICATION.md's generator on a synthetic duan2023 smoke design: every study gets
a verdict from the primary measure, and reasons are computed from the numbers."""

from __future__ import annotations

import numpy as np

from scripts.replication import PAPER, _verdict, render
from services.analysis.per_run import run_similarities
from services.analysis.summarize import summarize_experiment
from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.hidden_states import RunStates

D, N_LAYERS = 16, 2


def states(seed: int, n: int, it_scale: float, specific: float) -> RunStates:
    rng = np.random.default_rng(seed)
    L = N_LAYERS + 2
    anchor = rng.normal(size=(n, L, D)) + 2.0
    common = rng.normal(size=(1, L, D)) * 4.0
    own = rng.normal(size=(n, L, D)) * specific
    icl = anchor + common + own + rng.normal(size=anchor.shape)
    it = anchor + it_scale * (common + own + rng.normal(size=anchor.shape))
    cross = anchor + it_scale * (common + np.roll(own, 1, 0) + rng.normal(size=anchor.shape))
    hidden = np.stack([anchor, icl, it, cross, it, anchor, anchor], axis=1)
    hidden[:, :, 0] = anchor[:, None, 0]
    lp = np.log(np.full((n, 7, 2), 0.45))
    return RunStates(
        hidden=hidden.astype(np.float32),
        label_logprobs=lp.astype(np.float32),
        labels=np.arange(n) % 2,
        conditions=["anchor", "icl", "it", "it_cross", "it_shuffled", "it_random", "it_untuned"],
        example_ids=[f"ex{i}" for i in range(n)],
        label_names=["negative", "positive"],
    )


def test_every_study_gets_a_verdict_and_computed_reasons() -> None:
    spec = ExperimentSpec(preset="duan2023", scale="smoke", inference={"n": 10})
    runs = []
    for i, rc in enumerate(expand_runs(spec)):
        # translation demonstrations: IT barely moves the state (as seen on SmolLM2)
        it_scale = 0.1 if rc.demos.source_task else 1.0
        st = states(i, 10, it_scale, specific=2.0 if rc.control == "none" else 0.0)
        runs.append(run_similarities(rc.model_dump(mode="json"), st, list(spec.metrics)))
    results = summarize_experiment(spec.model_dump(mode="json"), runs)
    cells = {c["cell"]: c for c in results["cells"]}
    main = cells[results["studies"][0]["primary_tests"][0]["cell"]]
    verdicts = {s["name"]: _verdict(s, cells, main) for s in results["studies"]}
    assert set(verdicts) == set(PAPER)
    assert verdicts["main"][1] == "agrees"  # a planted per-example direction
    measured, verdict, reason = verdicts["task_mismatch"]
    assert "IT barely moved the state at translation_en_fr" in reason, reason
    assert "IT shift norm" in reason and "vs" in reason
    text = render(results, "icl-it run --preset duan2023 --scale smoke")
    assert text.count("\n| ") >= len(PAPER) + 1
    assert "python -m scripts.replication" in text and "## Controls" in text


def _level_test(level, cell, diff, p, cross_diff, cross_p) -> dict:
    part = {
        "n": 8,
        "mean_diff": cross_diff,
        "ci_low": -0.1,
        "ci_high": 0.1,
        "p_value": cross_p,
        "significant": cross_p < 0.05,
        "mde": 0.03,
    }
    return {
        "level": level,
        "cell": cell,
        "n": 8,
        "mean_diff": diff,
        "ci_low": 0.0,
        "ci_high": 0.1,
        "p_value": p,
        "p_holm_experiment": p,
        "mde": 0.04,
        "min_attainable_p": 1 / 40320,
        "decomposition": {"demonstration_specific": part, "input_specific": part},
    }


def _cell(it_mass: float) -> dict:
    return {"metrics": {}, "report_layer": 3, "label_mass": {"it": {"mean": it_mass}}}


def test_null_trends_get_no_direction_and_unlearned_levels_are_not_measurable() -> None:
    trend = {
        "metric": "shift_cosine",
        "direction": "decreases",
        "significant": False,
        "p_value": 0.82,
        "n": 24,
        "kind": "spearman",
    }
    study = {
        "name": "n_demos",
        "primary_tests": [
            _level_test(1, "a", 0.05, 0.1, -0.01, 0.8),
            _level_test(8, "b", 0.04, 0.2, 0.02, 0.3),
        ],
        "trends": [trend],
        "tests": [],
    }
    cells = {"a": _cell(0.9), "b": _cell(0.9)}
    measured, verdict, reason = _verdict(study, cells, None)
    assert verdict == "no detectable trend" and "opposite" not in verdict
    assert "trend no detectable trend" in measured and "own − cross" in measured
    assert "own − cross adapter -0.010 to 0.020 over 2 levels" in reason  # the range
    cells["a"] = _cell(0.12)
    assert _verdict(study, cells, None)[1].startswith("not measurable: IT did not learn")


def test_a_positive_verdict_needs_the_demonstration_specific_part() -> None:
    study = {
        "name": "main",
        "primary_tests": [_level_test(None, "a", 0.05, 0.001, 0.001, 0.7)],
        "trends": [],
        "tests": [],
    }
    verdict = _verdict(study, {"a": _cell(0.9)}, None)[1]
    assert verdict.startswith("not shown: the agreement comes with the input")
    study["primary_tests"][0]["decomposition"]["demonstration_specific"]["significant"] = True
    assert _verdict(study, {"a": _cell(0.9)}, None)[1] == "agrees"


def test_a_demonstration_specific_trend_alone_gives_a_part_only_verdict() -> None:
    """n_demos expects an increase. The primary difference has no detectable trend, but
    its own − cross adapter part rises significantly: the verdict says so, names the
    uncorrected p, and keeps the primary's own reading; a significant positive level of the
    part is named among the reasons with its Bonferroni product over the levels."""
    flat = {"metric": "shift_cosine", "pair": "matched-mismatched", "direction": "none"}
    flat |= {"significant": False, "p_value": 0.6, "n": 16, "kind": "spearman"}
    rising = flat | {"pair": "demonstration_specific", "direction": "increases"}
    rising |= {"significant": True, "p_value": 0.012}
    study = {
        "name": "n_demos",
        "primary_tests": [
            _level_test(1, "a", 0.05, 0.001, -0.01, 0.6),
            _level_test(8, "b", 0.05, 0.001, 0.03, 0.004),
        ],
        "trends": [flat, rising],
        "tests": [],
    }
    cells = {"a": _cell(0.9), "b": _cell(0.9)}
    measured, verdict, reason = _verdict(study, cells, None)
    assert verdict == (
        "agrees in the demonstration-specific part only (own − cross adapter trend p=0.012, "
        "not corrected across studies; matched − mismatched: no detectable trend)"
    )
    assert "; trend no detectable trend" in measured and "own − cross trend increases" in measured
    assert "a demonstration-specific part at 8: own − cross adapter 0.030 (p=0.004" in reason
    assert "x2 levels = 0.008" in reason
    study["trends"] = [flat, rising | {"direction": "decreases"}]
    assert _verdict(study, cells, None)[1].startswith("disagrees in the demonstration-specific")
    study["trends"] = [flat, rising | {"significant": False}]
    assert _verdict(study, cells, None)[1] == "no detectable trend"
