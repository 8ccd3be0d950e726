"""Does a similarity change with a factor's level? A permutation trend test (Spearman rho
for numeric levels, the between-level sum of squares for others), levels shuffled within
each block of aligned observations.

All randomness comes from ``numpy.random.default_rng(seed)``: the same inputs give the
same p-values on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from services.analysis.documents import TrendBase, TrendOutcome, TrendPower, TrendResult
from services.analysis.stats import ALPHA, POWER, RESAMPLE_CHUNK

# The fields of a trend test that could not be computed.
_NO_TREND: TrendOutcome = {
    "statistic": float("nan"),
    "slope": float("nan"),
    "direction": "none",
    "p_value": float("nan"),
    "method": "not enough varying observations",
    "significant": False,
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def trend_test(
    values: Sequence[Any],
    levels: Sequence[Any],
    blocked: bool = True,
    n_resamples: int = 10000,
    seed: int = 0,
    alpha: float = ALPHA,
) -> TrendResult:
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
    kind = "spearman" if numeric else "between_level_ss"
    n_lv = len(levels)
    y, x_idx = _trend_design(values, blocked)
    n_blocks = y.shape[0]
    n_obs = int(y.size)
    level_means = [
        float(y[:, x_idx == i].mean()) if np.any(x_idx == i) and n_blocks else float("nan")
        for i in range(n_lv)
    ]
    base: TrendBase = {
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
        return {**base, "kind": kind, **_NO_TREND}
    power: TrendPower = {"mde": None, "mde_method": "none: unordered levels"}
    if numeric:
        xval = np.asarray([float(v) for v in levels])
        stat, data, slope = _spearman(y, xval[x_idx])
        power = linear_mde(
            y, xval[x_idx], alpha, one_sided=False, blocked=blocked, efficiency=SPEARMAN_ARE
        )
    else:
        stat, data = _between_level_ss(y, x_idx, n_lv)
        finite = [v for v in level_means if not math.isnan(v)]
        slope = float(max(finite) - min(finite))  # the range of level means
    obs = float(stat(data[None])[0])
    direction = (
        ("increases" if obs > 0 else "decreases" if obs < 0 else "none") if numeric else "differs"
    )
    p = _permutation_p(stat, data, obs, n_resamples, np.random.default_rng(seed))
    return {
        **base,
        **power,
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


# Factors whose levels are ordered, listed from the level predicted to give the highest
# similarity to the lowest (the paper: more similar demonstrations, more convergence).
ORDERED_LEVELS: dict[str, tuple[Any, ...]] = {
    "demos.selection": ("most_similar", "random", "least_similar"),
}


def ordered_levels(factor: str | None, levels: Sequence[Any]) -> list[Any] | None:
    """The levels in their predicted order when the factor is ordered and has at least 3
    of them (Page's test needs 3); else None."""
    order = ORDERED_LEVELS.get(factor or "")
    if order is None or len(levels) < 3 or any(lv not in order for lv in levels):
        return None
    return [lv for lv in order if lv in levels]


def page_trend(
    values: Sequence[Any], levels: Sequence[Any], order: Sequence[Any], alpha: float = ALPHA
) -> TrendResult:
    """Page's L test (scipy.stats.page_trend_test) of the ordered alternative: similarity
    falls along ``order`` (first level highest), blocked on the aligned units. One-sided by
    construction: a trend the other way is "no detectable trend", not its opposite."""
    y, _ = _trend_design(values, blocked=True)  # [n_blocks, n_levels] in ``levels`` order
    ranks = [len(order) - order.index(lv) for lv in levels]  # highest rank = first in order
    means = [float(y[:, i].mean()) if len(y) else float("nan") for i in range(len(levels))]
    base: TrendBase = {
        "levels": list(levels),
        "level_means": means,
        "n": int(y.size),
        "n_blocks": int(y.shape[0]),
        "blocked": True,
        "alpha": alpha,
    }
    if y.shape[0] < 2 or np.all(y == y.flat[0]):
        return {**base, "kind": "page", **_NO_TREND}
    res = sps.page_trend_test(y, predicted_ranks=ranks)
    first, last = means[levels.index(order[0])], means[levels.index(order[-1])]
    p = float(res.pvalue)
    power = linear_mde(
        y,
        np.asarray(ranks, np.float64),
        alpha,
        one_sided=True,
        blocked=True,
        efficiency=page_are(len(levels)),
    )
    if power["mde"] is not None:  # per rank -> a fall from the first level to the last
        power["mde"] *= len(order) - 1
    return {
        **base,
        **power,
        "kind": "page",
        "statistic": float(res.statistic),
        "slope": float(last - first),
        "direction": ("decreases" if p < alpha else "none"),
        "p_value": p,
        "method": f"Page's L test ({res.method}), one-sided: similarity falls from "
        f"{order[0]} to {order[-1]}; slope = mean at {order[-1]} minus mean at {order[0]}",
        "significant": bool(p < alpha),
    }


# Asymptotic relative efficiency of the rank tests against the linear contrast's z-test
# under normal errors: Spearman's rho against Pearson's r, 9 / pi^2; Page's L with k
# levels, 3k / (pi (k + 1)) (Hollander, Wolfe & Chicken, Nonparametric Statistical Methods).
SPEARMAN_ARE = 9 / math.pi**2


def page_are(k: int) -> float:
    """Page's L test's efficiency against the linear contrast with k levels."""
    return 3 * k / (math.pi * (k + 1))


def linear_mde(
    y: np.ndarray,
    x: np.ndarray,
    alpha: float,
    *,
    one_sided: bool,
    blocked: bool,
    efficiency: float,
) -> TrendPower:
    """The smallest linear trend, in units of y per unit of the level score x [m] (y is
    [n_blocks, m]), that the rank test detects with power ``POWER`` at ``alpha`` (one- or
    two-sided), approximately: the linear contrast's z-test mde, with the sd estimated from
    the data, divided by sqrt(``efficiency``), the rank test's efficiency against it.
    Blocked: each block's contrast c_b = sum_j (x_j - mean x) y_bj has mean beta * sum_j
    (x_j - mean x)^2, so mde = (z_alpha + z_power) * sd(c) / sqrt(n_blocks) / sum_j
    (x_j - mean x)^2. Pooled: the least-squares slope's standard error from the residuals
    about the level means. In simulation (tests/analysis/test_trend_mde.py) the tests'
    power at this mde is about 0.7-0.8 for 8-30 blocks: an approximation, not a guarantee."""
    z = sps.norm.ppf(1 - (alpha if one_sided else alpha / 2)) + sps.norm.ppf(POWER)
    xc = x - x.mean()
    sxx = float(np.sum(xc**2))
    method = (
        f"approximate: linear contrast z-test at power {POWER}, divided by sqrt of the "
        f"rank test's efficiency {efficiency:.3f}"
    )
    if sxx == 0:
        return {"mde": None, "mde_method": "none: one level"}
    if blocked:
        c = y @ xc
        if c.size < 2:
            return {"mde": None, "mde_method": "none: fewer than 2 blocks"}
        se = float(np.std(c, ddof=1)) / math.sqrt(c.size) / sxx
    else:
        flat = y.reshape(-1)
        levels = np.unique(x)
        resid = flat - np.select([x == v for v in levels], [flat[x == v].mean() for v in levels])
        dof = flat.size - levels.size
        if dof < 1:
            return {"mde": None, "mde_method": "none: no replicate within a level"}
        se = math.sqrt(float(np.sum(resid**2)) / dof / sxx)
    return {"mde": float(z * se / math.sqrt(efficiency)), "mde_method": method}


def _trend_design(values: Sequence[Any], blocked: bool) -> tuple[np.ndarray, np.ndarray]:
    """Observations y [n_blocks, m] and the level index of each column [m]: blocked, one
    column per level and blocks with a NaN dropped; else one block of every non-NaN value."""
    cols = [np.asarray(v, dtype=np.float64).reshape(-1) for v in values]
    if blocked:
        lengths = {c.size for c in cols}
        if len(lengths) != 1:
            raise ValueError("blocked trend_test needs equal-length arrays")
        y = np.stack(cols, axis=1)  # [n_blocks, n_levels]
        return y[~np.isnan(y).any(axis=1)], np.arange(len(cols))
    kept = [c[~np.isnan(c)] for c in cols]
    x_idx = np.concatenate([np.full(c.size, i) for i, c in enumerate(kept)])
    return np.concatenate(kept)[None, :], x_idx


_Statistic = Callable[[np.ndarray], np.ndarray]  # [r, n_blocks, m] -> [r]


def _spearman(y: np.ndarray, xval: np.ndarray) -> tuple[_Statistic, np.ndarray, float]:
    """Spearman rho between the level values xval [m] and y [n_blocks, m], as a statistic
    of permuted ranks -> (statistic, ranks of y, least-squares slope of y on the level)."""
    x_flat = np.broadcast_to(xval, y.shape).reshape(-1)
    rx = sps.rankdata(x_flat).reshape(y.shape)
    ry = sps.rankdata(y.reshape(-1)).reshape(y.shape)
    rxc = rx - rx.mean()
    denom = np.sqrt(np.sum(rxc**2) * np.sum((ry - ry.mean()) ** 2))

    def stat(yperm: np.ndarray) -> np.ndarray:  # yperm: [r, n_blocks, m] of ranks
        return np.einsum("rbm,bm->r", yperm - ry.mean(), rxc) / denom

    xc = x_flat - x_flat.mean()
    slope = float(np.sum(xc * (y.reshape(-1) - y.mean())) / np.sum(xc**2))
    return stat, ry, slope


def _between_level_ss(y: np.ndarray, x_idx: np.ndarray, n_lv: int) -> tuple[_Statistic, np.ndarray]:
    """The between-level sum of squares of y [n_blocks, m] (column j at level x_idx[j]), as
    a statistic of permuted values -> (statistic, y)."""
    onehot = (x_idx[:, None] == np.arange(n_lv)[None, :]).astype(np.float64)  # [m, n_lv]
    cnt = onehot.sum(axis=0) * y.shape[0]

    def stat(yperm: np.ndarray) -> np.ndarray:
        sums = np.einsum("rbm,ml->rl", yperm, onehot)
        means = np.divide(sums, cnt, out=np.zeros_like(sums), where=cnt > 0)
        return np.sum(cnt * (means - y.mean()) ** 2, axis=1)

    return stat, y


def _permutation_p(
    stat: _Statistic, data: np.ndarray, obs: float, n_resamples: int, rng: np.random.Generator
) -> float:
    """Two-sided Monte Carlo p of |stat| with data [n_blocks, m] shuffled within each
    block: (hits + 1) / (n_resamples + 1), in chunks that bound memory."""
    n_blocks, m = data.shape
    tol = 1e-12 * max(1.0, abs(obs))
    hits = 0
    chunk = max(1, RESAMPLE_CHUNK // max(1, data.size))
    for start in range(0, n_resamples, chunk):
        r = min(chunk, n_resamples - start)
        perm = np.argsort(rng.random((r, n_blocks, m)), axis=2)
        yperm = np.take_along_axis(np.broadcast_to(data, (r, n_blocks, m)), perm, axis=2)
        hits += int(np.sum(np.abs(stat(yperm)) >= abs(obs) - tol))
    return (hits + 1) / (n_resamples + 1)
