"""The trend tests' minimum detectable trend (``trends.linear_mde``): a trend as large as
the reported mde is found about as often as the power it was computed for (simulated,
seeded), the mde shrinks as 1/sqrt(n), and the words of a null trend carry it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.analysis.statements import trend_text
from services.analysis.trends import page_trend, trend_test

SIMILARITY = ["most_similar", "random", "least_similar"]


def _page_power(n: int, sd: float, fall: float, reps: int, rng: np.random.Generator) -> float:
    steps = np.array([0.0, 0.5, 1.0])  # linear in the predicted order, first highest
    hits = 0
    for _ in range(reps):
        y = rng.standard_normal((n, 3)) * sd - fall * steps
        hits += page_trend(list(y.T), SIMILARITY, SIMILARITY)["significant"]
    return hits / reps


@pytest.mark.parametrize("n", [12, 30])
def test_a_fall_as_large_as_pages_mde_is_found_with_about_the_stated_power(n: int) -> None:
    rng = np.random.default_rng(n)
    null = [page_trend(list((rng.standard_normal((n, 3)) * 0.02).T), SIMILARITY, SIMILARITY)
            for _ in range(100)]  # fmt: skip
    mde = float(np.median([t["mde"] for t in null]))
    assert all(t["mde_method"].startswith("approximate") for t in null)
    power = _page_power(n, 0.02, mde, 400, rng)
    assert 0.65 <= power <= 0.92, power
    assert _page_power(n, 0.02, mde / 3, 400, rng) < 0.4  # a third of it: mostly missed


def test_a_slope_as_large_as_spearmans_mde_is_found_with_about_the_stated_power() -> None:
    rng = np.random.default_rng(3)
    levels, n = [1, 2, 4, 8], 12
    x = np.asarray(levels, float)
    null = [trend_test(list((rng.standard_normal((n, 4)) * 0.02).T), levels, n_resamples=199)
            for _ in range(40)]  # fmt: skip
    mde = float(np.median([t["mde"] for t in null]))
    hits = sum(
        trend_test(list((rng.standard_normal((n, 4)) * 0.02 + mde * x).T), levels, n_resamples=499)[
            "significant"
        ]
        for _ in range(200)
    )
    assert 0.6 <= hits / 200 <= 0.92, hits


def test_the_mde_shrinks_as_one_over_root_n_and_null_words_carry_it() -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((64, 3)) * 0.02
    small = page_trend(list(base[:16].T), SIMILARITY, SIMILARITY)
    large = page_trend(list(np.tile(base[:16], (4, 1)).T), SIMILARITY, SIMILARITY)
    assert large["mde"] == pytest.approx(small["mde"] * math.sqrt(15 / 63), rel=1e-9)  # ~1/2
    words = trend_text(small, "demos.selection")
    if not small["significant"]:
        assert "could detect a fall of" in words
    unordered = trend_test([base[:8, 0], base[:8, 1] + 0.001], ["random", "x"], n_resamples=99)
    assert unordered["mde"] is None  # no linear contrast across unordered levels
    assert "could detect" not in trend_text(unordered, "demos.selection")
    old = {k: v for k, v in small.items() if k not in ("mde", "mde_method")}
    assert "could detect" not in trend_text(old, "demos.selection")  # results written before
