"""Intervals, paired tests, trend tests and the statements built from them."""

from __future__ import annotations

import numpy as np
import pytest

from services.analysis.stats import (
    mean_ci,
    paired_difference_test,
    statement_for_study,
    trend_test,
    wilson_ci,
)


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
    assert "significant" not in s and "within the noise (p=" in s
