"""Intervals, paired tests, trend tests and the statements built from them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from services.analysis.statements import statement_for_study
from services.analysis.stats import (
    holm,
    max_t_across_layers,
    mean_ci,
    paired_difference_test,
    wilson_ci,
)
from services.analysis.trends import trend_test


def test_mean_ci_matches_hand_computation():
    x = [1.0, 2.0, 3.0, 4.0]
    s = mean_ci(x, axis=0)
    # mean 2.5, sample sd sqrt(5/3), t_{0.975, 3} = 3.182446305
    half = 3.182446305284263 * np.sqrt(5 / 3) / 2
    assert s["mean"] == pytest.approx(2.5)
    assert s["std"] == pytest.approx(np.sqrt(5 / 3))
    assert s["ci_low"] == pytest.approx(2.5 - half)
    assert s["ci_high"] == pytest.approx(2.5 + half)
    assert s["n"] == 4 and s["single_sample"] is False


def test_mean_ci_axis_nan_and_single_sample():
    x = np.array([[1.0, 5.0], [3.0, np.nan]])
    s = mean_ci(x, axis=0)
    assert s["mean"].tolist() == [2.0, 5.0]
    assert s["n"].tolist() == [2, 1]
    assert s["single_sample"].tolist() == [False, True]
    assert s["std"][1] == 0.0 and s["ci_low"][1] == s["ci_high"][1] == 5.0
    assert np.isnan(mean_ci([np.nan])["mean"])


def test_wilson_interval():
    lo, hi = wilson_ci(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


def test_paired_exact_p_value():
    # n=4, all diffs positive: only the all-+ and all-- patterns reach |mean| -> p = 2/16
    t = paired_difference_test([2.0, 3.0, 4.0, 5.0], [1.0, 1.0, 1.0, 1.0])
    assert t["p_value"] == pytest.approx(2 / 16)
    assert t["mean_diff"] == pytest.approx(2.5) and t["n"] == 4
    assert t["significant"] is False
    zero = paired_difference_test([1.0, 2.0], [1.0, 2.0])
    assert zero["p_value"] == 1.0 and zero["significant"] is False


def planted_and_null(n=30, seed=0):
    rng = np.random.default_rng(seed)
    b = rng.normal(0.3, 0.05, size=n)  # anchor–ICL
    planted = b + 0.5 + rng.normal(0, 0.05, size=n)  # ICL–IT much higher
    noise = rng.normal(0, 0.05, size=n // 2)
    null = b + np.concatenate([noise, -noise])  # differences exactly zero-mean
    return planted, null, b


def test_planted_effect_is_significant_and_null_is_not():
    planted, null, b = planted_and_null()
    tp = paired_difference_test(planted, b, n_resamples=4000)
    tn = paired_difference_test(null, b, n_resamples=4000)
    assert tp["significant"] and tp["p_value"] < 0.001 and tp["ci_low"] > 0.4
    assert not tn["significant"] and tn["p_value"] > 0.5
    assert tn["ci_low"] < 0 < tn["ci_high"]

    sp = statement_for_study("cosine", 30, [(None, tp)])
    sn = statement_for_study("cosine", 30, [(None, tn)])
    assert "significant" in sp and "n=30" in sp and "higher" in sp
    assert "significant" not in sn and "within the noise (p=" in sn and "n=30" in sn


def test_trend_planted_and_null():
    rng = np.random.default_rng(4)
    levels = [1, 4, 16]
    base = rng.normal(0.5, 0.05, size=20)
    planted = [base + 0.1 * i + rng.normal(0, 0.01, 20) for i in range(3)]
    tp = trend_test(planted, levels, n_resamples=2000)
    assert tp["significant"] and tp["direction"] == "increases" and tp["statistic"] > 0.5
    assert tp["n"] == 60 and tp["n_blocks"] == 20 and tp["slope"] > 0
    null = [base, base[::-1].copy(), base.copy()]  # same values at every level
    null[1] = base.copy()
    tn = trend_test(null, levels, n_resamples=2000)
    assert not tn["significant"]

    cat = trend_test([base, base + 0.2], ["random", "most_similar"], n_resamples=2000)
    assert cat["kind"] == "between_level_ss" and cat["significant"]
    unblocked = trend_test([base[:5], base[:7] + 0.3], [0.0, 0.5], blocked=False, n_resamples=2000)
    assert unblocked["n"] == 12 and unblocked["significant"]

    pair = paired_difference_test(planted[2], base, n_resamples=2000)
    s = statement_for_study(
        "centered_cosine", 3, [(1, pair), (16, pair)], trend=tp, factor="demos.k"
    )
    assert "significantly increases with demos.k" in s and "n=60" in s
    s = statement_for_study("cosine", 3, [], trend=tn, factor="demos.k")
    assert "significant" not in s and "no detectable trend across demos.k (p=" in s


def test_sign_flip_p_equals_scipy_permutation_test_and_ci_inverts_it():
    rng = np.random.default_rng(7)
    for n in (6, 9, 12):
        for shift in (0.0, 0.4, 1.0):
            d = rng.normal(shift, 1.0, size=n)
            t = paired_difference_test(d, np.zeros(n))
            ref = sps.permutation_test(
                (d,), np.mean, permutation_type="samples", n_resamples=np.inf
            )
            assert t["p_value"] == pytest.approx(ref.pvalue, abs=1e-12), (n, shift)
            # consistent with the test: 0 outside the interval exactly when p < 0.05
            assert (t["ci_low"] > 0 or t["ci_high"] < 0) == (t["p_value"] < 0.05)
            # each edge is where the test of H0: mean = edge stops rejecting
            eps = 1e-6 * (d.max() - d.min())
            for edge, inward in ((t["ci_low"], eps), (t["ci_high"], -eps)):
                if edge in (d.min(), d.max()):
                    continue  # the interval reaches the data's range: nothing is rejected
                assert paired_difference_test(d - edge - inward, np.zeros(n))["p_value"] >= 0.05
                assert paired_difference_test(d - edge + inward, np.zeros(n))["p_value"] < 0.05


def test_holm_known_values():
    assert holm([0.01, 0.04, 0.03, None]) == pytest.approx([0.03, 0.06, 0.06, None])
    assert holm([0.5]) == [0.5]
    assert holm([]) == []


def test_max_t_controls_layers_and_finds_a_planted_layer():
    rng = np.random.default_rng(8)
    null = rng.normal(size=(12, 20))
    null[:, 0] = np.nan  # an undefined layer is left out
    out = max_t_across_layers(null)
    assert out["p_adjusted"][0] is None
    assert all(p is None or 0 < p <= 1 for p in out["p_adjusted"])
    planted = null.copy()
    planted[:, 7] += 2.0
    found = max_t_across_layers(planted)
    assert 7 in found["significant_layers"]
    # adjusted p is never below the single-layer p of the same layer
    single = paired_difference_test(planted[:, 7], np.zeros(12))["p_value"]
    assert found["p_adjusted"][7] >= single - 1e-12


def test_a_sign_flip_interval_is_unbounded_when_the_test_cannot_reach_alpha() -> None:
    """n = 5: 2 / 2^5 = 0.0625 >= 0.05, so no shift is ever rejected; the interval is the
    whole line (it used to be reported as [min d, max d])."""
    from services.analysis.stats import paired_difference_test

    t = paired_difference_test([0.3, 0.31, 0.29, 0.33, 0.32], [0.0] * 5)
    assert t["ci_low"] == float("-inf") and t["ci_high"] == float("inf")
    assert t["mde"] is None
    t6 = paired_difference_test([0.3, 0.31, 0.29, 0.33, 0.32, 0.3], [0.0] * 6)
    assert 0 < t6["ci_low"] < t6["ci_high"] < 1 and t6["mde"] > 0


def test_step_down_max_t_is_never_less_powerful_than_single_step() -> None:
    import numpy as np

    from services.analysis.stats import step_down_max_t

    rng = np.random.default_rng(0)
    t_null = np.abs(rng.normal(size=(5000, 6)))
    t_obs = np.array([3.5, 2.4, 2.3, 0.5, 0.2, 2.2])
    single = np.mean(t_null.max(axis=1)[:, None] >= t_obs[None, :], axis=0)
    down = step_down_max_t(t_obs, t_null)
    assert np.all(down <= single + 1e-12)
    assert down[0] == single[0]  # the largest statistic meets the same maximum
    order = np.argsort(-t_obs)
    assert np.all(np.diff(down[order]) >= 0)  # monotone in the order of the statistics
    # the layer ranked second is compared with the maximum over the layers below it only
    rest = [1, 2, 3, 4, 5]
    expect = max(single[0], np.mean(t_null[:, rest].max(axis=1) >= 2.4))
    assert down[1] == expect


def test_page_trend_is_one_sided_along_the_ordered_levels() -> None:
    import numpy as np
    from scipy import stats as sps

    from services.analysis.trends import ordered_levels, page_trend

    levels = ["most_similar", "random", "least_similar"]
    order = ordered_levels("demos.selection", levels)
    assert order == levels and ordered_levels("demos.k", [1, 2, 4]) is None
    rng = np.random.default_rng(0)
    falling = [rng.normal(size=12) + shift for shift in (2.0, 1.0, 0.0)]
    t = page_trend(falling, levels, order)
    want = sps.page_trend_test(np.stack(falling, axis=1), predicted_ranks=[3, 2, 1])
    assert t["p_value"] == want.pvalue and t["significant"] and t["direction"] == "decreases"
    rising = page_trend(falling[::-1], levels, order)
    assert not rising["significant"] and rising["direction"] == "none"
