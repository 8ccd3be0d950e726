"""Confidence intervals, paired tests over examples and over layers, Holm.

The trend of a similarity across a factor's levels is in ``trends``.

All randomness comes from ``numpy.random.default_rng(seed)``: the same inputs give the
same p-values and intervals on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from services.analysis.documents import FamilyWise, MeanCI, TestResult

ALPHA = 0.05
POWER = 0.8  # the power at which every test reports its minimum detectable effect (mde)
RESAMPLE_CHUNK = 1_000_000  # max floats per resampling chunk (bounds memory)


# ---------------------------------------------------------------------------------------
# Means and intervals


def mean_ci(values: Any, axis: int | None = 0, level: float = 0.95) -> MeanCI:
    """Mean with a t-based confidence interval along ``axis`` (NaNs are ignored).

    values: array; axis None pools everything. Returns a dict of arrays (or floats when
    the result is scalar): mean, std (sample, ddof=1), ci_low, ci_high, n (non-NaN count),
    and single_sample (True where n == 1: std is 0 and the CI collapses to the mean, i.e.
    no spread was observed, not that there is none). n == 0 gives NaN everywhere.
    """
    x = np.asarray(values, dtype=np.float64)
    if axis is None:
        x, axis = x.reshape(-1), 0
    ok = ~np.isnan(x)
    n = ok.sum(axis=axis)
    filled = np.where(ok, x, 0.0)
    total = filled.sum(axis=axis)
    mean = np.divide(total, n, out=np.full(np.shape(n), np.nan), where=n > 0)
    dev = np.where(ok, x - np.expand_dims(mean, axis), 0.0)
    ss = (dev**2).sum(axis=axis)
    var = np.divide(ss, n - 1, out=np.zeros(np.shape(n)), where=n > 1)
    std = np.where(n > 0, np.sqrt(var), np.nan)
    df = np.maximum(n - 1, 1)
    tcrit = sps.t.ppf(0.5 + level / 2.0, df)
    half = np.where(n > 1, tcrit * std / np.sqrt(np.maximum(n, 1)), 0.0)
    out: MeanCI = {
        "mean": mean,
        "std": std,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "n": n,
        "single_sample": n == 1,
    }
    if np.ndim(mean) == 0:
        out = {
            "mean": float(mean),
            "std": float(std),
            "ci_low": float(out["ci_low"]),
            "ci_high": float(out["ci_high"]),
            "n": int(n),
            "single_sample": bool(n == 1),
        }
    return out


def summary_stats(values: Any) -> MeanCI:
    """Mean, std, ci_low, ci_high and n over axis 0 (``mean_ci`` without single_sample):
    the statistics a document shows of a set of sample units."""
    s = mean_ci(values, axis=0)
    return {
        "mean": s["mean"],
        "std": s["std"],
        "ci_low": s["ci_low"],
        "ci_high": s["ci_high"],
        "n": s["n"],
    }


def wilson_ci(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (scipy's binomtest);
    (nan, nan) when n == 0."""
    if n <= 0:
        return float("nan"), float("nan")
    ci = sps.binomtest(int(successes), int(n)).proportion_ci(level, method="wilson")
    return float(ci.low), float(ci.high)


# ---------------------------------------------------------------------------------------
# Paired difference (e.g. matched vs mismatched shift cosine over the same examples)

_EXACT_MAX_N = 16  # all 2^n sign patterns up to here; Monte Carlo above


def sign_patterns(n: int, n_resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Sign matrix [P, n] for a sign-flip test: all 2^n patterns when n <= 16 (exact),
    else the identity pattern plus n_resamples random ones. -> (signs, exact)."""
    if n <= _EXACT_MAX_N:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        return 1.0 - 2.0 * bits, True
    signs = rng.choice((-1.0, 1.0), size=(n_resamples, n))
    return np.vstack([np.ones((1, n)), signs]), False


def min_attainable_p(n: int, n_resamples: int = 10000) -> float:
    """Smallest two-sided p the sign-flip test can return with n pairs."""
    return 2.0 / 2**n if n <= _EXACT_MAX_N else 1.0 / (n_resamples + 1)


def _sign_flip_p_of_shift(d: np.ndarray, signs: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Two-sided sign-flip p-value of H0: mean(d) = delta, for every delta at once.

    Under H0, d - delta is symmetric about 0; statistic |sum(s * (d - delta))| for each
    sign pattern s, which is |s.d - delta * s.1|: [P] x [G] -> p [G] without a loop."""
    sd, s1 = signs @ d, signs.sum(axis=1)  # [P], [P]
    obs = np.abs(d.sum() - delta * d.size)  # [G]
    stat = np.abs(sd[:, None] - delta[None, :] * s1[:, None])  # [P, G]
    tol = 1e-12 * max(1.0, float(np.abs(d).max()) * d.size)
    return np.mean(stat >= obs[None, :] - tol, axis=0)


def _inverted_ci(
    d: np.ndarray, signs: np.ndarray, alpha: float, grid: int = 801
) -> tuple[float, float]:
    """The set of delta the sign-flip test does not reject at alpha (a confidence interval
    consistent with the test by construction: it excludes 0 exactly when p < alpha).
    Searched on a grid over [min d, max d], then refined by bisection at each edge."""
    lo_b, hi_b = float(d.min()), float(d.max())
    if lo_b == hi_b:
        return lo_b, hi_b
    if 2.0 / len(signs) >= alpha:  # no shift can be rejected: the interval is the line
        return float("-inf"), float("inf")
    xs = np.linspace(lo_b, hi_b, grid)
    keep = _sign_flip_p_of_shift(d, signs, xs) >= alpha
    if not keep.any():
        return lo_b, hi_b
    idx = np.flatnonzero(keep)

    def edge(inside: float, outside: float) -> float:
        for _ in range(40):
            mid = 0.5 * (inside + outside)
            if _sign_flip_p_of_shift(d, signs, np.array([mid]))[0] >= alpha:
                inside = mid
            else:
                outside = mid
        return inside

    lo = xs[idx[0]] if idx[0] == 0 else edge(xs[idx[0]], xs[idx[0] - 1])
    hi = xs[idx[-1]] if idx[-1] == grid - 1 else edge(xs[idx[-1]], xs[idx[-1] + 1])
    return float(lo), float(hi)


def paired_difference_test(
    a: Any, b: Any, n_resamples: int = 10000, seed: int = 0, alpha: float = ALPHA
) -> TestResult:
    """Test mean(a - b) == 0 for paired samples (e.g. across inference examples).

    a, b: [n]. Pairs with a NaN are dropped. Returns n, mean_a, mean_b, mean_diff,
    p_value (two-sided sign-flip permutation: exact over all 2^n patterns when n <= 16,
    the same p as ``scipy.stats.permutation_test(..., permutation_type='samples')``; Monte
    Carlo above), ci_low/ci_high (the 95% interval obtained by inverting that same test,
    so it excludes 0 exactly when p < alpha; unbounded, -inf to inf (null in JSON), when
    the test cannot reach alpha at all), min_attainable_p (2 / 2^n when exact: with
    n <= 5 no result can reach p < 0.05), method, alpha, significant (p < alpha) and mde
    (``paired_mde``).
    With n == 0 everything is NaN and significant is False.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal shapes; got {a.shape} and {b.shape}")
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    d = a - b
    n = int(d.size)
    if n == 0:
        return unattainable_test("no paired samples", alpha)
    signs, exact = sign_patterns(n, n_resamples, np.random.default_rng(seed))
    if np.all(d == 0):
        p, lo, hi = 1.0, 0.0, 0.0
        method = "degenerate (all differences 0)"
    else:
        p = float(_sign_flip_p_of_shift(d, signs, np.zeros(1))[0])
        lo, hi = _inverted_ci(d, signs, alpha)
        method = (
            "exact sign-flip permutation"
            if exact
            else f"Monte Carlo sign-flip permutation ({n_resamples} resamples)"
        ) + "; CI by inverting the same test"
    return {
        "n": n,
        "mean_a": float(a.mean()),
        "mean_b": float(b.mean()),
        "mean_diff": float(d.mean()),
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p,
        "min_attainable_p": min_attainable_p(n, n_resamples),
        "method": method,
        "alpha": alpha,
        "significant": bool(p < alpha),
        "mde": paired_mde(d, alpha, n_resamples),
    }


def paired_mde(
    d: np.ndarray, alpha: float, n_resamples: int = 10000, power: float = POWER
) -> float | None:
    """Minimum detectable mean difference at ``power`` for a two-sided paired test at alpha
    with these n differences: (t_{1-alpha/2} + t_power) * sd / sqrt(n), df = n - 1 (the
    sign-flip test's large-sample equivalent). None when the test cannot reach alpha at
    any effect (too few pairs) or the spread is unknown (n < 2)."""
    n = int(d.size)
    if n < 2 or min_attainable_p(n, n_resamples) >= alpha:
        return None
    sd = float(np.std(d, ddof=1)) / math.sqrt(n)
    return float((sps.t.ppf(1 - alpha / 2, n - 1) + sps.t.ppf(power, n - 1)) * sd)


def unattainable_test(reason: str, alpha: float = ALPHA) -> TestResult:
    """The shape of every test object when no test was possible: NaN values, the reason
    as its method, never significant."""
    nan = float("nan")
    return {
        "n": 0,
        "mean_a": nan,
        "mean_b": nan,
        "mean_diff": nan,
        "ci_low": nan,
        "ci_high": nan,
        "p_value": nan,
        "min_attainable_p": nan,
        "method": reason,
        "alpha": alpha,
        "significant": False,
        "mde": None,
    }


def max_t_across_layers(
    d: Any, n_resamples: int = 10000, seed: int = 0, alpha: float = ALPHA
) -> FamilyWise:
    """Family-wise test over layers of paired differences d: [n_units, L].

    Westfall–Young step-down max-T: each sign pattern flips whole units (the same sign at
    every layer, so the layers' dependence is kept); see ``step_down_max_t``. Controls the
    family-wise error over all L layers. Layers with NaN (e.g. the embedding layer, where
    shifts are zero) or no spread are left out (p null). Units with any NaN on the kept
    layers are dropped.
    """
    x = np.asarray(d, dtype=np.float64)
    n_layers = x.shape[1]
    usable = np.isfinite(x).mean(axis=0) > 0.5
    x_use = x[:, usable]
    x_use = x_use[np.all(np.isfinite(x_use), axis=1)]
    n = x_use.shape[0]
    p_adj: list[float | None] = [None] * n_layers
    out: FamilyWise = {
        "n": int(n),
        "alpha": alpha,
        "method": "",
        "p_adjusted": p_adj,
        "significant_layers": [],
    }
    if n < 2 or x_use.shape[1] == 0:
        out["method"] = "not enough units"
        return out
    signs, exact = sign_patterns(n, n_resamples, np.random.default_rng(seed))
    sq = (x_use**2).sum(axis=0)  # invariant under sign flips

    def t_stats(means: np.ndarray) -> np.ndarray:  # means [P, L'] -> |t| [P, L']
        var = (sq - n * means**2) / (n - 1)
        se = np.sqrt(np.maximum(var, 0.0) / n)
        return np.divide(np.abs(means), se, out=np.zeros_like(means), where=se > 0)

    t_obs = t_stats(x_use.mean(axis=0)[None, :])[0]
    chunk = max(1, RESAMPLE_CHUNK // max(1, x_use.shape[1]))
    t_null = np.concatenate(
        [t_stats(signs[i : i + chunk] @ x_use / n) for i in range(0, len(signs), chunk)]
    )
    adj = step_down_max_t(t_obs, t_null)
    for j, layer in enumerate(np.flatnonzero(usable)):
        p_adj[layer] = float(adj[j])
    out["method"] = (
        "exact" if exact else f"Monte Carlo ({n_resamples})"
    ) + " step-down max-T sign-flip permutation across layers (Westfall–Young)"
    out["significant_layers"] = [i for i, p in enumerate(p_adj) if p is not None and p < alpha]
    return out


def step_down_max_t(t_obs: np.ndarray, t_null: np.ndarray) -> np.ndarray:
    """Westfall–Young step-down adjusted p-values: t_obs [L] observed |t|, t_null [P, L]
    the same under each permutation (the identity among them). The layer with the r-th
    largest |t| is compared with the null maximum over itself and the layers below it in
    that order (not over every layer, as single-step max-T does), and the adjusted p's
    are made monotone. Uniformly at least as powerful as single-step, same FWER control."""
    order = np.argsort(-t_obs, kind="stable")
    tail_max = np.maximum.accumulate(t_null[:, order][:, ::-1], axis=1)[:, ::-1]  # [P, L]
    tol = 1e-9 * max(1.0, float(t_obs.max()))
    p_sorted = np.maximum.accumulate(np.mean(tail_max >= t_obs[order][None, :] - tol, axis=0))
    out = np.empty_like(p_sorted)
    out[order] = p_sorted
    return out


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone); None/NaN stay None and do
    not count towards the family size."""
    finite = sorted(
        (float(p), i) for i, p in enumerate(p_values) if p is not None and not math.isnan(p)
    )
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (len(finite) - rank) * p))
        out[i] = running
    return out
