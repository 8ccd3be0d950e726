"""Confidence intervals, paired tests, trend tests and plain-English statements.

All randomness comes from ``numpy.random.default_rng(seed)``: the same inputs give the
same p-values and intervals on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

ALPHA = 0.05
_CHUNK = 1_000_000  # max floats per resampling chunk (bounds memory)


# ---------------------------------------------------------------------------------------
# Means and intervals


def mean_ci(values: Any, axis: int | None = 0, level: float = 0.95) -> dict[str, Any]:
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
    out = {
        "mean": mean,
        "std": std,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "n": n,
        "single_sample": n == 1,
    }
    if np.ndim(mean) == 0:
        out = {
            k: (bool(v) if k == "single_sample" else int(v) if k == "n" else float(v))
            for k, v in out.items()
        }
    return out


def wilson_ci(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when n == 0."""
    if n <= 0:
        return float("nan"), float("nan")
    z = float(sps.norm.ppf(0.5 + level / 2.0))
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# ---------------------------------------------------------------------------------------
# Paired difference (e.g. ICL–IT vs anchor–ICL over the same inference examples)


def _min_attainable_p(n: int, n_resamples: int) -> float:
    """Smallest p-value the sign-flip test can return with n pairs."""
    return 2.0 / 2**n if n <= 16 else 1.0 / (n_resamples + 1)


def _sign_flip_p(d: np.ndarray, n_resamples: int, rng: np.random.Generator) -> tuple[float, str]:
    """Two-sided sign-flip permutation p-value of mean(d) == 0. d: [n]."""
    n = d.size
    obs = abs(d.mean())
    tol = 1e-12 * max(1.0, float(np.abs(d).max()))
    if n <= 16:  # exact: all 2^n sign patterns (includes the observed one)
        bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
        signs = 1.0 - 2.0 * bits  # [2^n, n]
        stat = np.abs(signs @ d) / n
        return float(np.mean(stat >= obs - tol)), "exact sign-flip permutation"
    hits = 0
    chunk = max(1, _CHUNK // n)
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        signs = rng.choice((-1.0, 1.0), size=(r, n))
        hits += int(np.sum(np.abs(signs @ d) / n >= obs - tol))
    method = f"Monte Carlo sign-flip permutation ({n_resamples} resamples)"
    return (hits + 1) / (n_resamples + 1), method


def paired_difference_test(
    a: Any, b: Any, n_resamples: int = 10000, seed: int = 0, alpha: float = ALPHA
) -> dict[str, Any]:
    """Test mean(a - b) == 0 for paired samples (e.g. across inference examples).

    a, b: [n]. Pairs with a NaN are dropped. Returns n, mean_a, mean_b, mean_diff,
    ci_low/ci_high (percentile bootstrap 95% CI of the mean difference, n_resamples
    resamples), p_value (two-sided sign-flip permutation: exact over all 2^n patterns when
    n <= 16, else Monte Carlo), min_attainable_p (2 / 2^n when exact: with n <= 5 no
    result can reach p < 0.05), method, alpha and significant (p < alpha). With n == 0
    everything is NaN and significant is False.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal shapes; got {a.shape} and {b.shape}")
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    d = a - b
    n = int(d.size)
    nan = float("nan")
    if n == 0:
        return {
            "n": 0,
            "mean_a": nan,
            "mean_b": nan,
            "mean_diff": nan,
            "ci_low": nan,
            "ci_high": nan,
            "p_value": nan,
            "min_attainable_p": nan,
            "method": "no paired samples",
            "alpha": alpha,
            "significant": False,
        }
    rng = np.random.default_rng(seed)
    if np.all(d == d[0]):  # no spread: every bootstrap mean equals the observed one
        lo = hi = float(d[0])
        if d[0] == 0:
            p, method = 1.0, "degenerate (all differences 0)"
        else:
            p, method = _sign_flip_p(d, n_resamples, rng)
    else:
        means = np.empty(n_resamples)
        chunk = max(1, _CHUNK // n)
        for start in range(0, n_resamples, chunk):
            r = min(chunk, n_resamples - start)
            idx = rng.integers(0, n, size=(r, n))
            means[start : start + r] = d[idx].mean(axis=1)
        lo, hi = (float(v) for v in np.percentile(means, [2.5, 97.5]))
        p, method = _sign_flip_p(d, n_resamples, rng)
    return {
        "n": n,
        "mean_a": float(a.mean()),
        "mean_b": float(b.mean()),
        "mean_diff": float(d.mean()),
        "ci_low": lo,
        "ci_high": hi,
        "p_value": float(p),
        "min_attainable_p": _min_attainable_p(n, n_resamples),
        "method": method + "; percentile bootstrap CI",
        "alpha": alpha,
        "significant": bool(p < alpha),
    }


# ---------------------------------------------------------------------------------------
# Trend of a similarity across the levels of a factor


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def trend_test(
    values: Sequence[Any],
    levels: Sequence[Any],
    blocked: bool = True,
    n_resamples: int = 10000,
    seed: int = 0,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Does a similarity change with a factor's level?

    values: one 1-D array per level. blocked=True: arrays are aligned (same inference
    examples, or same seeds, in the same order) and form a [n_blocks, n_levels] design;
    blocks with a NaN are dropped and the permutation shuffles levels within each block.
    blocked=False: observations are pooled and shuffled freely (NaNs dropped).

    Numeric levels: statistic = Spearman rho between level value and similarity over the
    (observation, level) pairs; also reports the least-squares slope per unit of the level.
    Other levels (e.g. model names): statistic = between-level sum of squares (a
    permutation one-way ANOVA); reports the range of level means.
    p_value: two-sided Monte Carlo permutation, (hits + 1) / (n_resamples + 1).
    """
    if len(values) != len(levels) or len(levels) < 2:
        raise ValueError("trend_test needs one array per level and at least 2 levels")
    numeric = all(_is_number(v) for v in levels)
    cols = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]
    n_lv = len(levels)
    if blocked:
        lengths = {c.size for c in cols}
        if len(lengths) != 1:
            raise ValueError("blocked trend_test needs equal-length arrays")
        y = np.stack(cols, axis=1)  # [n_blocks, n_levels]
        y = y[~np.isnan(y).any(axis=1)]
        x_idx = np.arange(n_lv)  # column -> level index
    else:
        kept = [c[~np.isnan(c)] for c in cols]
        y = np.concatenate(kept)[None, :]  # one block
        x_idx = np.concatenate([np.full(c.size, i) for i, c in enumerate(kept)])
    n_blocks, m = y.shape
    n_obs = int(y.size)
    level_means = [
        float(y[:, x_idx == i].mean()) if np.any(x_idx == i) and n_blocks else float("nan")
        for i in range(n_lv)
    ]
    base = {
        "levels": list(levels),
        "level_means": level_means,
        "n": n_obs,
        "n_blocks": int(n_blocks) if blocked else None,
        "blocked": blocked,
        "alpha": alpha,
    }
    counts = np.array([np.sum(x_idx == i) for i in range(n_lv)]) * (n_blocks if blocked else 1)
    present = [levels[i] for i in range(n_lv) if counts[i] > 0]
    distinct_x = len({float(v) for v in present}) if numeric else len(present)
    if n_obs < 3 or distinct_x < 2 or np.all(y == y.flat[0]):
        return {
            **base,
            "kind": "spearman" if numeric else "between_level_ss",
            "statistic": float("nan"),
            "slope": float("nan"),
            "direction": "none",
            "p_value": float("nan"),
            "method": "not enough varying observations",
            "significant": False,
        }

    rng = np.random.default_rng(seed)
    onehot = (x_idx[:, None] == np.arange(n_lv)[None, :]).astype(np.float64)  # [m, n_lv]
    if numeric:
        xval = np.asarray([float(v) for v in levels])[x_idx]  # [m]
        x_flat = np.broadcast_to(xval, y.shape).reshape(-1)
        rx = sps.rankdata(x_flat).reshape(y.shape)
        ry = sps.rankdata(y.reshape(-1)).reshape(y.shape)
        rxc = rx - rx.mean()
        denom = np.sqrt(np.sum(rxc**2) * np.sum((ry - ry.mean()) ** 2))

        def stat(yperm: np.ndarray) -> np.ndarray:  # yperm: [r, n_blocks, m] of ranks
            return np.einsum("rbm,bm->r", yperm - ry.mean(), rxc) / denom

        data = ry
        obs = float(stat(ry[None])[0])
        xc = x_flat - x_flat.mean()
        slope = float(np.sum(xc * (y.reshape(-1) - y.mean())) / np.sum(xc**2))
        kind = "spearman"
        direction = "increases" if obs > 0 else "decreases" if obs < 0 else "none"
    else:
        cnt = onehot.sum(axis=0) * n_blocks

        def stat(yperm: np.ndarray) -> np.ndarray:  # between-level sum of squares
            sums = np.einsum("rbm,ml->rl", yperm, onehot)
            means = np.divide(sums, cnt, out=np.zeros_like(sums), where=cnt > 0)
            return np.sum(cnt * (means - y.mean()) ** 2, axis=1)

        data = y
        obs = float(stat(y[None])[0])
        finite = [v for v in level_means if not math.isnan(v)]
        slope = float(max(finite) - min(finite))
        kind = "between_level_ss"
        direction = "differs"
    tol = 1e-12 * max(1.0, abs(obs))
    hits = 0
    chunk = max(1, _CHUNK // max(1, n_obs))
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        perm = np.argsort(rng.random((r, n_blocks, m)), axis=2)
        yperm = np.take_along_axis(np.broadcast_to(data, (r, n_blocks, m)), perm, axis=2)
        s = stat(yperm)
        hits += int(np.sum(np.abs(s) >= abs(obs) - tol))
    p = (hits + 1) / (n_resamples + 1)
    return {
        **base,
        "kind": kind,
        "statistic": obs,
        "slope": slope,
        "direction": direction,
        "p_value": float(p),
        "method": (
            f"Monte Carlo permutation ({n_resamples} resamples, "
            + ("levels shuffled within blocks)" if blocked else "observations pooled)")
        ),
        "significant": bool(p < alpha),
    }


# ---------------------------------------------------------------------------------------
# Plain-English statements that follow from the numbers

PAIR_LABELS = {
    "icl_it": "ICL–IT",
    "anchor_icl": "anchor–ICL",
    "anchor_it": "anchor–IT",
    "icl_it_untuned": "ICL–IT(untuned)",
}
METRIC_LABELS = {"cosine": "cosine", "centered_cosine": "centered cosine", "cka": "linear CKA"}


def _p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _f(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.3f}"


def _level(factor: str | None, level: Any) -> str:
    return f"{factor}={level}" if factor else "this configuration"


def statement_for_study(
    metric: str,
    layer: int | None,
    pair_tests: Sequence[tuple[Any, dict[str, Any]]],
    trend: dict[str, Any] | None = None,
    factor: str | None = None,
    n_unit: str = "examples",
    alpha: float = ALPHA,
) -> str:
    """One or two sentences on a study, following only from the tests given.

    pair_tests: (factor level, paired_difference_test(ICL–IT, anchor–ICL)) per cell.
    trend: trend_test of ICL–IT across the factor's levels, if there are >= 2 levels.
    The word "significant" appears only for a test with significant=True; otherwise the
    sentence says "within the noise (p=…)". Every sentence gives its n.
    """
    at = f"At layer {layer}" if layer is not None else "At each model's last layer"
    where = f"{at} ({METRIC_LABELS.get(metric, metric)})"
    tests = [(lv, t) for lv, t in pair_tests if t.get("n", 0) > 0]
    sentences: list[str] = []
    if not tests:
        sentences.append(
            f"{where}, no paired samples were available to compare ICL–IT with anchor–ICL."
        )
    elif len(tests) == 1:
        lv, t = tests[0]
        head = (
            f"{where}, ICL–IT minus anchor–ICL similarity is {_f(t['mean_diff'])} "
            f"(95% CI {_f(t['ci_low'])} to {_f(t['ci_high'])}, n={t['n']} {n_unit}"
            + (f", {_level(factor, lv)}" if factor else "")
            + ")"
        )
        if t["significant"]:
            word = "higher" if t["mean_diff"] > 0 else "lower"
            sentences.append(
                f"{head}: ICL–IT is significantly {word} than anchor–ICL (p={_p(t['p_value'])})."
            )
        else:
            sentences.append(
                f"{head}, which is within the noise (p={_p(t['p_value'])}){_power(t, alpha)}."
            )
    else:
        sig = [(lv, t) for lv, t in tests if t["significant"]]
        ns = sorted({t["n"] for _, t in tests})
        n_txt = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}–{ns[-1]}"
        if sig:
            up = [lv for lv, t in sig if t["mean_diff"] > 0]
            down = [lv for lv, t in sig if t["mean_diff"] <= 0]
            parts = []
            if up:
                parts.append(f"significantly higher than anchor–ICL at {factor}={_levels(up)}")
            if down:
                parts.append(f"significantly lower at {factor}={_levels(down)}")
            rest = len(tests) - len(sig)
            tail = f"; the other {rest} level(s) are within the noise" if rest else ""
            pmax = max(t["p_value"] for _, t in sig)
            sentences.append(
                f"{where}, ICL–IT similarity is {' and '.join(parts)} "
                f"(p<={_p(pmax)}, {n_txt} {n_unit} per level){tail}."
            )
        else:
            pmin = min(t["p_value"] for _, t in tests)
            sentences.append(
                f"{where}, ICL–IT minus anchor–ICL is within the noise at every level of "
                f"{factor} (p>={_p(pmin)}, {n_txt} {n_unit} per level)"
                f"{_power(min(tests, key=lambda lt: lt[1]['n'])[1], alpha)}."
            )
    if trend is not None and factor:
        if trend.get("significant"):
            if trend["kind"] == "spearman":
                sentences.append(
                    f"ICL–IT similarity significantly {trend['direction']} with {factor} "
                    f"(Spearman rho={trend['statistic']:.2f}, p={_p(trend['p_value'])}, "
                    f"n={trend['n']})."
                )
            else:
                sentences.append(
                    f"ICL–IT similarity differs significantly across {factor} "
                    f"(range of level means {_f(trend['slope'])}, p={_p(trend['p_value'])}, "
                    f"n={trend['n']})."
                )
        else:
            sentences.append(
                f"Across {factor}, the change in ICL–IT similarity is within the noise "
                f"(p={_p(trend.get('p_value'))}, n={trend.get('n', 0)})."
            )
    return " ".join(sentences)


def _power(test: dict[str, Any], alpha: float) -> str:
    """A note when the sample is too small for any result to reach p < alpha."""
    floor = test.get("min_attainable_p")
    if floor is not None and not math.isnan(floor) and floor >= alpha:
        return f"; with n={test['n']} no result could reach p<{alpha:g}"
    return ""


def _levels(levels: list[Any]) -> str:
    return ", ".join(str(v) for v in levels)
