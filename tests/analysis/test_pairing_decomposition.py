"""The pairing-permutation test and the decomposition, on synthetic states with every
input through every adapter (tests/analysis/synthetic_cross.py), through the real
analysis code: shift_matrices -> pairing, and run_similarities -> summarize_experiment.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from services.analysis import metrics as M
from services.analysis import stats as S
from services.analysis.pairing import pairing_permutation_test
from services.analysis.per_run import run_similarities
from services.analysis.shift_matrices import pairing_matrices
from services.analysis.summarize import summarize_experiment
from services.common.spec import ExperimentSpec, expand_runs
from tests.analysis.synthetic_cross import N_LAYERS, cross_states

METRICS = ["cosine", "shift_cosine", "shift_cosine_mismatched", "shift_norm"]
LAYER = N_LAYERS + 1  # final_norm, the default report layer


def matrices(states) -> dict:
    shifts = {
        c: M.shift(states.condition(c), states.condition("anchor")) for c in states.conditions
    }
    return pairing_matrices(states, shifts)


def at_layer(mats: dict, name: str) -> np.ndarray:
    (block,) = mats[name]
    return block[LAYER]


def summarize(states) -> dict:
    spec = ExperimentSpec(
        name="planted", inference={"n": states.hidden.shape[0]}, metrics=METRICS, controls=[]
    )
    (run,) = expand_runs(spec)
    analysis = run_similarities(run.model_dump(mode="json"), states, METRICS)
    return summarize_experiment(spec.model_dump(mode="json"), [analysis])


def plain_pairing_p(a: np.ndarray, blocks: list[list[int]]) -> float:
    """mean over rows of (own column - mean of the block's other columns), two-sided, over
    every within-block pairing, by brute force."""

    def stat(own: dict[int, int]) -> float:
        rows = []
        for b in blocks:
            for i in b:
                others = [a[i, j] for j in b if j != own[i]]
                rows.append(a[i, own[i]] - np.mean(others))
        return float(np.mean(rows))

    obs = stat({i: i for b in blocks for i in b})
    null = [
        stat({i: j for b, p in zip(blocks, perms, strict=True) for i, j in zip(b, p, strict=True)})
        for perms in itertools.product(*[itertools.permutations(b) for b in blocks])
    ]
    return float(np.mean(np.abs(null) >= abs(obs) - 1e-12))


@pytest.mark.parametrize("blocks", [[[0, 1, 2, 3, 4, 5]], [[0, 1, 2], [3, 4, 5, 6]]])
def test_pairing_p_is_the_plain_numpy_p_over_every_permutation(blocks) -> None:
    rng = np.random.default_rng(0)
    n = sum(len(b) for b in blocks)
    a = rng.normal(size=(n, n)) + 0.6 * np.eye(n)
    t = pairing_permutation_test(a, blocks)
    assert t["exact"] and t["n_permutations"] == np.prod(
        [len(list(itertools.permutations(b))) for b in blocks]
    )
    assert t["p_value"] == pytest.approx(plain_pairing_p(a, blocks), abs=1e-12)
    own = [a[i, i] - np.mean([a[i, j] for j in b if j != i]) for b in blocks for i in b]
    assert t["mean_diff"] == pytest.approx(np.mean(own))


def test_interval_inverts_the_test_and_is_unbounded_when_alpha_is_out_of_reach() -> None:
    rng = np.random.default_rng(1)
    for shift in (0.0, 0.4, 1.0):
        t = pairing_permutation_test(rng.normal(size=(7, 7)) + shift * np.eye(7))
        assert (t["p_value"] < 0.05) == (not t["ci_low"] <= 0 <= t["ci_high"]), t
        assert t["ci_low"] <= t["mean_diff"] <= t["ci_high"]
    small = pairing_permutation_test(rng.normal(size=(3, 3)) + 5 * np.eye(3))
    assert small["min_attainable_p"] == pytest.approx(1 / 6)
    assert small["ci_low"] is None and small["ci_high"] is None and small["mde"] is None


def test_monte_carlo_records_its_draws_with_the_plus_one_correction() -> None:
    a = np.random.default_rng(2).normal(size=(9, 9))
    t = pairing_permutation_test(a, draws=2000, interval=False)
    assert not t["exact"] and t["n_permutations"] == 2000
    assert t["min_attainable_p"] == pytest.approx(1 / 2001)
    hits = t["p_value"] * 2001 - 1
    assert hits == pytest.approx(round(hits)) and t["p_value"] > 0
    assert "2000 draws" in t["method"] and "+1" in t["method"]


def test_a_shared_shift_only_is_null_at_the_nominal_rate() -> None:
    """120 independent runs (n = 6, exact over 720 pairings) whose ICL and IT shifts share
    only a common direction: each test's rejections at alpha = 0.05 stay within
    Binomial(120, 0.05) (P(X >= 14) < 0.01)."""
    hits = {"matched": 0, "own_cross": 0, "input": 0}
    for seed in range(120):
        mats = matrices(cross_states(np.random.default_rng(1000 + seed), 6, common=4.0))
        for name in hits:
            hits[name] += (
                pairing_permutation_test(at_layer(mats, name), interval=False)["p_value"] < 0.05
            )
    assert all(h <= 13 for h in hits.values()), hits


def decomposition(results: dict) -> tuple[dict, dict]:
    primary = results["cells"][0]["primary"]
    return primary["pairing_test"], primary["decomposition"]


def test_a_planted_demonstration_specific_direction_is_attributed_to_the_demonstrations() -> None:
    total, parts = decomposition(summarize(cross_states(np.random.default_rng(3), 8, demo=1.0)))
    demo, inp = parts["demonstration_specific"], parts["input_specific"]
    assert total["significant"] and demo["significant"] and demo["mean_diff"] > 0
    assert not inp["significant"]
    assert total["mean_diff"] == pytest.approx(demo["mean_diff"] + inp["mean_diff"], abs=1e-9)


def test_a_planted_input_specific_direction_is_attributed_to_the_input() -> None:
    results = summarize(cross_states(np.random.default_rng(4), 8, inp=1.0))
    total, parts = decomposition(results)
    demo, inp = parts["demonstration_specific"], parts["input_specific"]
    assert total["significant"] and inp["significant"] and inp["mean_diff"] > 0
    assert not demo["significant"]
    assert total["mean_diff"] == pytest.approx(demo["mean_diff"] + inp["mean_diff"], abs=1e-9)
    text = results["statements"][0]["text"]
    assert "comes with the input (cross adapter − mismatched)" in text
    assert "This run could detect matched − mismatched >=" in text


def test_the_pairing_test_is_more_powerful_than_the_row_mean_sign_flip() -> None:
    """The same 40 planted runs (n = 7, a small demonstration-specific direction under a
    large shared shift): the pairing test rejects more often than the sign-flip test on
    row means (measured: 34 vs 22 of 40 at demo = 0.5)."""
    pairing = sign_flip = 0
    for seed in range(40):
        a = at_layer(
            matrices(cross_states(np.random.default_rng(500 + seed), 7, demo=0.5)), "matched"
        )
        pairing += pairing_permutation_test(a, interval=False)["p_value"] < 0.05
        off = (a.sum(axis=1) - np.diag(a)) / 6
        sign_flip += S.paired_difference_test(np.diag(a), off)["p_value"] < 0.05
    assert pairing >= sign_flip + 6, (pairing, sign_flip)


def test_the_reported_mde_matches_a_simulation() -> None:
    """Plant the median reported mde on the diagonal of 200 null runs (n = 7): the pairing
    test's power there is 0.80 within +-0.10 (binomial sd 0.028 at 200 runs)."""
    nulls, mdes = [], []
    for seed in range(200):
        a = at_layer(matrices(cross_states(np.random.default_rng(900 + seed), 7)), "matched")
        nulls.append(a)
        mdes.append(pairing_permutation_test(a, interval=False)["mde"])
    effect = float(np.median(mdes))
    power = np.mean(
        [
            pairing_permutation_test(a + effect * np.eye(7), interval=False)["p_value"] < 0.05
            for a in nulls
        ]
    )
    assert 0.70 <= power <= 0.90, power


def test_adapter_groups_are_the_permutation_blocks() -> None:
    """Two adapter groups of 4: the tests permute within each (4! * 4! pairings), and the
    cross-adapter values average over the group's other adapters only."""
    states = cross_states(np.random.default_rng(6), 8, demo=1.0, group=4)
    total, parts = decomposition(summarize(states))
    assert total["n_blocks"] == 2 and total["n_permutations"] == 24 * 24 and total["exact"]
    assert parts["demonstration_specific"]["significant"]
    mats = matrices(states)
    assert mats["blocks"] == [["ex0", "ex1", "ex2", "ex3"], ["ex4", "ex5", "ex6", "ex7"]]
    own = mats["own_cross"][0][LAYER]
    it = mats["matched"][0][LAYER]
    np.testing.assert_allclose(np.diag(own), np.diag(it), atol=1e-6)  # own adapter = IT


def _test_objects(node):
    """Every paired or permutation test object of a results document."""
    if isinstance(node, dict):
        if {"p_value", "mean_diff", "min_attainable_p"} <= node.keys():
            yield node
        for value in node.values():
            yield from _test_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _test_objects(value)


def test_every_test_object_reports_its_mde() -> None:
    results = summarize(cross_states(np.random.default_rng(7), 8, demo=0.5))
    tests = list(_test_objects(results))
    assert len(tests) >= 6  # pairing, two parts, sign-flip at two layers, controls, paper's
    assert all("mde" in t for t in tests)
    assert "mde_experiment" not in results["studies"][0]["primary_tests"][0]  # one study


def similarity_study(demo_by_level: dict[str, float], seed: int) -> dict:
    """A similarity study (most -> random -> least similar, Page's ordered levels) whose
    runs carry a planted demonstration-specific strength per level and a constant
    input-specific part."""
    spec = ExperimentSpec(
        name="trend",
        inference={"n": 10},
        metrics=METRICS,
        controls=[],
        studies=[
            {
                "name": "similarity",
                "factor": "demos.selection",
                "sweep": {"demos.selection": list(demo_by_level)},
            }
        ],
    )
    rng = np.random.default_rng(seed)
    analyses = []
    for run in expand_runs(spec):
        demo = demo_by_level[run.demos.selection]
        states = cross_states(rng, 10, demo=demo, inp=0.5)
        analyses.append(run_similarities(run.model_dump(mode="json"), states, METRICS))
    return summarize_experiment(spec.model_dump(mode="json"), analyses)


def _trend(results: dict, pair: str) -> dict:
    (study,) = [s for s in results["studies"] if s["name"] == "similarity"]
    (t,) = [t for t in study["trends"] if t["pair"] == pair]
    return t


def test_a_demonstration_specific_trend_is_tested_on_its_own_part() -> None:
    """The own − cross adapter part gets its own trend across a study's levels: its level
    means are the cells' demonstration-specific differences, and a planted ordered fall
    (most similar strongest) is found by Page's test, while a flat one is not."""
    levels = ["most_similar", "random", "least_similar"]
    results = similarity_study(dict(zip(levels, [1.2, 0.6, 0.0], strict=True)), seed=11)
    t = _trend(results, "demonstration_specific")
    assert t["kind"] == "page" and t["significant"] and t["n_blocks"] == 10
    cells = {c["cell"]: c for c in results["cells"]}
    (study,) = [s for s in results["studies"] if s["name"] == "similarity"]
    for test in study["primary_tests"]:
        part = cells[test["cell"]]["primary"]["decomposition"]["demonstration_specific"]
        mean = t["level_means"][t["levels"].index(test["level"])]
        assert mean == pytest.approx(part["mean_diff"], abs=1e-9)
    flat = similarity_study(dict.fromkeys(levels, 0.0), seed=12)
    assert not _trend(flat, "demonstration_specific")["significant"]
    assert _trend(flat, "matched-mismatched")["kind"] == "page"
