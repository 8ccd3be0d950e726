"""Plain-English statements that follow only from the tests they are given.

The word "significant" appears only for a test with significant=True; otherwise a
sentence says "within the noise (p=…)". Every sentence gives its n, and when n is too
small for any result to reach p < alpha it says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from services.analysis.documents import (
    FamilyWise,
    PairingTest,
    PrimaryTest,
    TestResult,
    TrendResult,
)
from services.analysis.stats import ALPHA
from services.analysis.vocabulary import METRIC_LABELS, fmt_num, fmt_p, layer_label


def _level(factor: str | None, level: Any) -> str:
    return f"{factor}={level}" if factor else "this configuration"


def statement_for_study(
    metric: str,
    layer: int | None,
    pair_tests: Sequence[tuple[Any, TestResult]],
    trend: TrendResult | None = None,
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
    if not tests:
        sentence = f"{where}, no paired samples were available to compare ICL–IT with anchor–ICL."
    elif len(tests) == 1:
        sentence = _one_level(where, tests[0][0], tests[0][1], factor, n_unit, alpha)
    else:
        sentence = _many_levels(where, tests, factor, n_unit, alpha)
    sentences = [sentence]
    if trend is not None and factor:
        sentences.append(_paper_trend(trend, factor))
    return " ".join(sentences)


def _one_level(
    where: str, lv: Any, t: TestResult, factor: str | None, n_unit: str, alpha: float
) -> str:
    head = (
        f"{where}, ICL–IT minus anchor–ICL similarity is {fmt_num(t['mean_diff'])} "
        f"(95% CI {fmt_num(t['ci_low'])} to {fmt_num(t['ci_high'])}, n={t['n']} {n_unit}"
        + (f", {_level(factor, lv)}" if factor else "")
        + ")"
    )
    if t["significant"]:
        word = "higher" if t["mean_diff"] > 0 else "lower"
        return f"{head}: ICL–IT is significantly {word} than anchor–ICL (p={fmt_p(t['p_value'])})."
    return f"{head}, which is within the noise (p={fmt_p(t['p_value'])}){_power(t, alpha)}."


def _many_levels(
    where: str,
    tests: list[tuple[Any, TestResult]],
    factor: str | None,
    n_unit: str,
    alpha: float,
) -> str:
    sig = [(lv, t) for lv, t in tests if t["significant"]]
    ns = sorted({t["n"] for _, t in tests})
    n_txt = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}–{ns[-1]}"
    if not sig:
        pmin = min(t["p_value"] for _, t in tests)
        return (
            f"{where}, ICL–IT minus anchor–ICL is within the noise at every level of "
            f"{factor} (p>={fmt_p(pmin)}, {n_txt} {n_unit} per level)"
            f"{_power(min(tests, key=lambda lt: lt[1]['n'])[1], alpha)}."
        )
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
    return (
        f"{where}, ICL–IT similarity is {' and '.join(parts)} "
        f"(p<={fmt_p(pmax)}, {n_txt} {n_unit} per level){tail}."
    )


def _paper_trend(trend: TrendResult, factor: str) -> str:
    return "ICL–IT similarity: " + trend_text(trend, factor)


def trend_text(trend: TrendResult, factor: str) -> str:
    """A trend test in words: a null trend gets no direction ("no detectable trend")."""
    p_txt = f"p={fmt_p(trend.get('p_value'))}, n={trend.get('n', 0)}"
    if not trend.get("significant"):
        return f"no detectable trend across {factor} ({p_txt}{_trend_mde(trend, factor)})."
    if trend["kind"] == "page":
        return (
            f"significantly falls along the ordered levels of {factor} (Page's "
            f"L={trend['statistic']:.0f}, {p_txt})."
        )
    if trend["kind"] == "spearman":
        return (
            f"significantly {trend['direction']} with {factor} (Spearman "
            f"rho={trend['statistic']:.2f}, {p_txt})."
        )
    return (
        f"differs significantly across {factor} (range of level means "
        f"{fmt_num(trend['slope'])}, {p_txt})."
    )


def _trend_mde(trend: TrendResult, factor: str) -> str:
    """'; could detect ...' for a trend with an mde (``trends.linear_mde``), else ''."""
    mde = trend.get("mde")
    if mde is None or not math.isfinite(mde):
        return ""
    if trend["kind"] == "page":
        return f"; could detect a fall of {fmt_num(mde)} or more along its ordered levels"
    return f"; could detect a slope of {fmt_num(mde)} or more per unit of {factor}"


def _power(test: TestResult, alpha: float) -> str:
    """A note when the sample is too small for any result to reach p < alpha."""
    floor = test.get("min_attainable_p")
    if floor is not None and not math.isnan(floor) and floor >= alpha:
        return f"; with n={test['n']} no result could reach p<{alpha:g}"
    return ""


def _levels(levels: list[Any]) -> str:
    return ", ".join(str(v) for v in levels)


# ---------------------------------------------------------------------------------------
# The primary statement: demonstration-specific convergence

PRIMARY_MEASURE = (
    "matched minus mismatched shift cosine: cos(ICL shift of example i, IT shift of i) "
    "minus the mean of cos(ICL shift of i, IT shift of j) over the other examples j of its "
    "adapter group, whose adapters were tuned on other demonstrations; tested by permuting "
    "the pairing (which IT shift goes with which ICL shift) within adapter groups, and "
    "split into own − cross adapter (demonstration-specific) plus cross adapter − "
    "mismatched (comes with the input)"
)


HolmKey = Literal["p_holm_study", "p_holm_experiment"]


def _holm_txt(t: PrimaryTest, key: HolmKey, family: str) -> str:
    p = t.get(key)
    return "" if p is None else f"; Holm over {family} p={fmt_p(p)}"


def primary_statement(
    study: str,
    factor: str | None,
    level_tests: Sequence[tuple[Any, PrimaryTest]],
    *,
    layer: int | None,
    layer_names: list[str] | None,
    last_block_tests: Sequence[tuple[Any, TestResult]] = (),
    fwer: Sequence[tuple[Any, FamilyWise]] = (),
    trend: TrendResult | None = None,
    n_unit: str = "examples",
    n_family: int | None = None,
    alpha: float = ALPHA,
) -> str:
    """Whether ICL and IT move the states in the same demonstration-specific direction.

    level_tests: (level, paired test of matched vs mismatched shift cosine at ``layer``)
    per cell, each with p_holm_study (Holm over the study's levels) and, in a preset,
    p_holm_experiment (Holm over every study's primary tests). The claim follows
    p_holm_study; the experiment-wide correction is reported beside it.
    """
    at = layer_label(layer, layer_names)
    tests = [(lv, t) for lv, t in level_tests if t.get("n", 0) > 0]
    if not tests:
        return (
            f"Study {study}: no demonstration-specific test was possible (it needs at least "
            "two inference examples with their own demonstrations and the IT condition)."
        )
    sentences = [
        _primary_level(lv, t, at, factor, len(tests), n_unit, n_family, alpha) for lv, t in tests
    ]
    for lv, t in last_block_tests:
        if t.get("n", 0) > 0:
            where = f" ({factor}={lv})" if factor else ""
            sentences.append(
                f"At the last block's own output (before the final norm){where}: difference "
                f"{fmt_num(t['mean_diff'])}, p={fmt_p(t['p_value'])} (sign-flip on row means)."
            )
    for lv, f in fwer:
        where = f" ({factor}={lv})" if factor else ""
        layers = f.get("significant_layers", [])
        n_tested = sum(p is not None for p in f.get("p_adjusted", []))
        at_layers = (
            f"significant at layers {_ranges(layers)}." if layers else "significant at no layer."
        )
        sentences.append(
            f"Over all {n_tested} layers with a defined shift{where}, family-wise "
            f"(step-down max-T sign-flip on row means): {at_layers}"
        )
    if trend is not None and factor:
        sentences.append(_primary_trend(trend, factor))
    return " ".join(sentences)


def _primary_level(
    lv: Any,
    t: PrimaryTest,
    at: str,
    factor: str | None,
    n_levels: int,
    n_unit: str,
    n_family: int | None,
    alpha: float,
) -> str:
    """The primary (pairing) test at one level: the verdict, its numbers, what it could
    have detected, its decomposition, and what limits it."""
    where = f"{factor}={lv}, " if factor else ""
    p_claim, basis = _claim_p(t, n_levels, n_family)
    significant = p_claim is not None and p_claim < alpha
    nums = (
        f"matched {fmt_num(t['mean_a'])} vs mismatched {fmt_num(t['mean_b'])}, "
        f"difference {fmt_num(t['mean_diff'])} ({ci_text(t)}; pairing-permutation "
        f"p={fmt_p(t['p_value'])}"
        + (_holm_txt(t, "p_holm_study", "the study's levels") if n_levels > 1 else "")
        + _holm_txt(t, "p_holm_experiment", f"the experiment's {n_family} primary tests")
        + f"; n={t['n']} {n_unit})"
    )
    if significant and t["mean_diff"] > 0:
        verdict = (
            "example i's ICL shift agrees with its own IT shift more than with the IT "
            "shifts of examples tuned on other demonstrations"
        )
    elif significant:
        verdict = "the ICL shift agrees significantly LESS with its own IT shift than with others'"
    else:
        verdict = (
            "no evidence that example i's ICL shift agrees with its own IT shift more "
            "than with the IT shifts of examples tuned on other demonstrations (within "
            "the noise)"
        )
    return (
        f"At {at}, {where}{verdict} ({basis}): {nums}."
        + detectable_text("matched − mismatched", t, t.get("mde_experiment"))
        + decomposition_text(t.get("decomposition"))
        + _secondary_text(t.get("row_mean_sign_flip"))
        + _caveats(t, n_family, alpha)
    )


def _claim_p(t: PrimaryTest, n_levels: int, n_family: int | None) -> tuple[Any, str]:
    """The p a verdict follows, and its basis in words: the experiment-wide Holm when the
    experiment has several studies, else Holm over the study's levels, else the test."""
    if n_family and t.get("p_holm_experiment") is not None:
        return t["p_holm_experiment"], f"verdict on Holm over the experiment's {n_family} tests"
    if n_levels > 1 and t.get("p_holm_study") is not None:
        return t["p_holm_study"], "verdict on Holm within this study only"
    return t["p_value"], "verdict on this test alone"


def ci_text(t: TestResult) -> str:
    """'95% CI a to b', or why there is no bounded interval."""
    lo, hi = t.get("ci_low"), t.get("ci_high")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "95% CI unbounded: with this n no result can reach p<0.05"
    return f"95% CI {fmt_num(lo)} to {fmt_num(hi)}"


def detectable_text(what: str, t: TestResult, mde_family: float | None = None) -> str:
    """'This run could detect matched − mismatched >= 0.031 (80% power); it found 0.054.'"""
    mde = mde_family if mde_family is not None else t.get("mde")
    level = "the experiment-wide Holm level" if mde_family is not None else f"alpha={t['alpha']:g}"
    if t.get("n", 0) == 0:
        return ""
    if mde is None:
        return f" With n={t['n']} this run could not detect {what} of any size."
    return (
        f" This run could detect {what} >= {fmt_num(mde)} (80% power at {level}); it found "
        f"{fmt_num(t['mean_diff'])}."
    )


def decomposition_text(parts: dict[str, PairingTest] | None) -> str:
    """The two tested parts of matched − mismatched, each with its CI, p and mde."""
    if not parts:
        return (
            " No decomposition: the run did not pass every input through every adapter of "
            "its group (cross_hidden), so own vs cross adapter is not separated."
        )
    out = " Decomposition (pairing-permutation tests within adapter groups):"
    names = {
        "demonstration_specific": "demonstration-specific (own − cross adapter)",
        "input_specific": "comes with the input (cross adapter − mismatched)",
    }
    for key, label in names.items():
        t = parts.get(key)
        if not t or t.get("n", 0) == 0:
            continue
        word = "significant" if t["significant"] else "within the noise"
        could = (
            f"could detect >= {fmt_num(t['mde'])}"
            if t.get("mde") is not None
            else ("could detect no effect of any size")
        )
        out += (
            f" {label} {fmt_num(t['mean_diff'])} ({ci_text(t)}; p={fmt_p(t['p_value'])}, "
            f"{word}; n={t['n']}; this run {could});"
        )
    return out.rstrip(";") + "."


def _secondary_text(t: TestResult | None) -> str:
    if not t or t.get("n", 0) == 0:
        return ""
    return (
        f" Secondary figure (sign-flip test on row means, conservative when the rows share "
        f"IT shifts): p={fmt_p(t['p_value'])}."
    )


def _caveats(t: PrimaryTest, n_family: int | None, alpha: float) -> str:
    """Sentences that qualify a primary test: its smallest attainable p, the
    experiment-wide correction, and a shared demonstration set."""
    floor = t.get("min_attainable_p")
    out = ""
    if floor is not None and not math.isnan(floor):
        if floor >= alpha / 4:
            out = f" With n={t['n']} the smallest attainable p is {fmt_p(floor)}."
        if n_family and floor * n_family >= alpha:
            out += (
                f" No test of this size can survive the experiment-wide correction "
                f"({n_family} tests x {fmt_p(floor)} >= {alpha:g})."
            )
    norms = t.get("shift_norms") or {}
    if norms.get("it") is not None and norms.get("random_lora") is not None:
        out += (
            f" Shift norm at this layer: IT {fmt_num(norms['it'], 2)}, random LoRA "
            f"{fmt_num(norms['random_lora'], 2)}."
        )
    if t.get("shared_demonstrations"):
        out += (
            " Every example here shares one demonstration set (demos.scope: shared), so "
            "this contrast measures input-specific agreement, not demonstration-specific."
        )
    return out


def _primary_trend(trend: TrendResult, factor: str) -> str:
    return "The demonstration-specific difference (matched − mismatched): " + trend_text(
        trend, factor
    )


def _ranges(xs: list[int]) -> str:
    """[1, 2, 3, 7] -> '1–3, 7'."""
    runs: list[list[int]] = []
    for x in xs:
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)
