"""The verdict of each duan2023 study for docs/REPLICATION.md (``scripts.replication``),
computed from its tests only: the level rows (the pairing test with its decomposition, n
and mde), the verdict against the paper's direction, and the likely reasons.
"""

from __future__ import annotations

import json
from typing import Any

from services.analysis.stats import ALPHA
from services.analysis.vocabulary import fmt_ci, fmt_num, fmt_p

# What the paper reports, per study, and the direction tested on the primary measure.
# expect: "positive" (convergence at every level), "increases"/"decreases" along the
# ordered levels, or (low level, high level) for a two-level contrast.
PAPER: dict[str, dict[str, Any]] = {
    "main": {
        "claim": "ICL and IT hidden states converge (ICL–IT cosine near 0.9 at the last layer, "
        "anchor–ICL low).",
        "expect": "positive",
    },
    "n_demos": {
        "claim": "More demonstrations, more convergence.",
        "expect": "increases",
    },
    "it_budget": {
        "claim": "(Not in the paper.) The n_demos ladder with an IT budget that grows with k.",
        "expect": "increases",
    },
    "similarity": {
        "claim": "Demonstrations similar to the inference input converge more than dissimilar "
        "ones.",
        "expect": ("least_similar", "most_similar"),
    },
    "label_noise": {
        "claim": "Flipped demonstration labels weaken the convergence.",
        "expect": "decreases",
    },
    "task_mismatch": {
        "claim": "Demonstrations from another task (translation) with sentiment inference "
        "converge much less.",
        "expect": ("translation_en_fr", None),
    },
    "template": {
        "claim": "Base and chat LLaMA-2 both show it; no template contrast is reported as such.",
        "expect": "positive",
    },
    "demo_specificity": {
        "claim": "(Not in the paper, which finds that convergence depends on the "
        "demonstrations.) With sets made to differ across examples (one label dominating, or "
        "the label words swapped), ICL should agree with its own adapter more than with others.",
        "expect": "positive",
    },
    "model": {
        "claim": "LLaMA-2 7B and 13B, base and chat, all show the convergence.",
        "expect": "positive",
    },
}


def _at(cell: dict[str, Any], metric: str, pair: str) -> float | None:
    block = cell["metrics"].get(metric, {}).get(pair)
    return None if block is None else block["mean"][cell["report_layer"]]


def _claim_p(t: dict[str, Any]) -> float:
    """The p a verdict follows: Holm over the experiment's primary tests when the document
    has it (a cell sits in several studies), else Holm over the study's levels."""
    for key in ("p_holm_experiment", "p_holm_study", "p_value"):
        if t.get(key) is not None:
            return float(t[key])
    return 1.0


def _part(name: str, t: dict[str, Any] | None) -> str:
    """One tested part of the decomposition: estimate, p, n and what the run could see."""
    if not t or not t.get("n"):
        return ""
    return (
        f"; {name} {fmt_ci(t['mean_diff'], t['ci_low'], t['ci_high'])} "
        f"(p={fmt_p(t['p_value'])}, n={t['n']}{_mde(t)})"
    )


def _mde(t: dict[str, Any]) -> str:
    """', mde 0.031' (what the test could detect at 80% power); older documents have none."""
    if "mde" not in t:
        return ""
    return f", mde {fmt_num(t['mde'])}" if t["mde"] is not None else ", no effect detectable"


def _level_row(t: dict[str, Any]) -> str:
    lv = "" if t["level"] is None else f"{t['level']}: "
    holm = t.get("p_holm_experiment", t.get("p_holm_study"))
    parts = t.get("decomposition") or {}
    return (
        f"{lv}{fmt_ci(t['mean_diff'], t['ci_low'], t['ci_high'])} (p={fmt_p(t['p_value'])}"
        + (f", Holm {fmt_p(holm)}" if holm is not None else "")
        + f", n={t['n']}{_mde(t)})"
        + _part("own − cross", parts.get("demonstration_specific"))
        + _part("cross − mismatched", parts.get("input_specific"))
        + ("" if parts else _part("own − cross (one neighbour)", t.get("cross_adapter")))
    )


def _demo_specific(t: dict[str, Any]) -> dict[str, Any] | None:
    """The demonstration-specific test of a level: the decomposition's own − cross part,
    or (older documents) the one-neighbour cross-adapter control."""
    return (t.get("decomposition") or {}).get("demonstration_specific") or t.get("cross_adapter")


def _unlearned_levels(study: dict[str, Any], cells: dict[str, Any]) -> list[Any]:
    """Levels where IT did not learn the answer format (IT label mass < 0.5)."""
    out = []
    for t in study["primary_tests"]:
        mass = (cells[t["cell"]].get("label_mass") or {}).get("it", {}).get("mean")
        if mass is not None and mass < 0.5:
            out.append(t["level"])
    return out


def _trend_of(study: dict[str, Any], pair: str = "matched-mismatched") -> dict[str, Any] | None:
    """The study's shift-cosine trend of ``pair``: matched-mismatched (the primary
    difference) or demonstration_specific (its own − cross adapter part); documents older
    than the pair field have only the first."""
    return next(
        (
            t
            for t in study["trends"]
            if t["metric"] == "shift_cosine" and t.get("pair", "matched-mismatched") == pair
        ),
        None,
    )


def _direction(
    study: dict[str, Any], expect: Any, pair: str = "matched-mismatched"
) -> tuple[str | None, bool]:
    """(observed direction of ``pair``'s trend vs the expectation: 'same'/'opposite'/None,
    significant)."""
    tests = study["primary_tests"]
    trend = _trend_of(study, pair)
    if isinstance(expect, str) and expect in ("increases", "decreases"):
        if trend is None or not trend["significant"] or trend["direction"] == "none":
            return None, False
        return ("same" if trend["direction"] == expect else "opposite"), True
    lo, hi = expect
    by = {json.dumps(t["level"]): t for t in tests}
    a, b = by.get(json.dumps(lo)), by.get(json.dumps(hi))
    if pair == "demonstration_specific":
        a, b = (_demo_specific(x) if x else None for x in (a, b))
    if a is None or b is None or a["mean_diff"] is None or b["mean_diff"] is None:
        return None, False
    if not (trend and trend["significant"]):  # a null trend has no direction
        return None, False
    return ("same" if b["mean_diff"] > a["mean_diff"] else "opposite"), True


def _reasons(
    study: dict[str, Any], cells: dict[str, Any], main: dict[str, Any] | None
) -> list[str]:
    """Reasons computed from this study's numbers."""
    out: list[str] = []
    ref_it = _at(main, "shift_norm", "anchor_it") if main else None
    ref_icl = _at(main, "shift_norm", "anchor_icl") if main else None
    for t in study["primary_tests"]:
        cell = cells[t["cell"]]
        lv = "" if t["level"] is None else f" at {t['level']}"
        it_n, icl_n = _at(cell, "shift_norm", "anchor_it"), _at(cell, "shift_norm", "anchor_icl")
        if it_n is not None and ref_it and it_n < 0.5 * ref_it:
            out.append(
                f"IT barely moved the state{lv}: IT shift norm {fmt_num(it_n, 1)} vs "
                f"{fmt_num(ref_it, 1)} in the main cell (ICL {fmt_num(icl_n, 1)} vs {fmt_num(ref_icl, 1)})"
            )
        elif icl_n is not None and ref_icl and icl_n < 0.5 * ref_icl:
            out.append(
                f"ICL barely moved the state{lv}: ICL shift norm {fmt_num(icl_n, 1)} vs {fmt_num(ref_icl, 1)}"
            )
        mass = (cell.get("label_mass") or {}).get("it", {}).get("mean")
        if mass is not None and mass < 0.5:
            out.append(f"IT did not learn the answer format{lv}: label mass {fmt_num(mass, 2)}")
    n_family = len(study["primary_tests"])
    for t in study["primary_tests"]:
        c = _demo_specific(t)
        if c and c.get("n") and c["significant"] and c["mean_diff"] > 0:
            lv = "" if t["level"] is None else f" at {t['level']}"
            holm = min(1.0, c["p_value"] * n_family)
            out.append(
                f"a demonstration-specific part{lv}: own − cross adapter "
                f"{fmt_num(c['mean_diff'])} (p={fmt_p(c['p_value'])}, n={c['n']}; x{n_family} "
                f"levels = {fmt_p(holm)}, Bonferroni over the study's levels)"
            )
    cross = [c for t in study["primary_tests"] if (c := _demo_specific(t)) and c.get("n")]
    if cross and not any(c["significant"] and c["mean_diff"] > 0 for c in cross):
        diffs = [c["mean_diff"] for c in cross]
        ps = [c["p_value"] for c in cross]
        mdes = [c["mde"] for c in cross if c.get("mde") is not None]
        span = (
            f"{fmt_num(diffs[0])}, p={fmt_p(ps[0])}"
            if len(cross) == 1
            else f"{fmt_num(min(diffs))} to {fmt_num(max(diffs))} over {len(cross)} levels, "
            f"p {fmt_p(min(ps))} to {fmt_p(max(ps))}"
        )
        could = f"; it could detect >= {fmt_num(min(mdes))}" if mdes else ""
        out.append(
            "the same input through other examples' adapters agrees about as much "
            f"(own − cross adapter {span}{could})"
        )
    shared = [
        s
        for t in study["primary_tests"]
        if (s := _at(cells[t["cell"]], "shared_fraction", "anchor_it")) is not None
    ]
    if shared and min(shared) > 0.8:
        lo, hi = f"{min(shared):.0%}", f"{max(shared):.0%}"
        span = lo if lo == hi else f"{lo}–{hi}"
        out.append(f"{span} of the IT shift is common to every example")
    ns = sorted({t["n"] for t in study["primary_tests"]})
    floors = [t["min_attainable_p"] for t in study["primary_tests"] if t.get("min_attainable_p")]
    if any(_claim_p(t) >= ALPHA for t in study["primary_tests"]):
        out.append(
            f"n={ns[0]} examples per level (smallest attainable p {fmt_p(min(floors))})"
            if floors
            else f"n={ns[0]} examples per level"
        )
    return out[:4]


def _positive_verdict(tests: list[dict[str, Any]]) -> str:
    """A convergence claim: positive at every level on the claim's Holm level, and
    demonstration-specific (own − cross adapter) there too, or which part is missing."""
    sig_pos = [t for t in tests if _claim_p(t) < ALPHA and t["mean_diff"] > 0]
    sig_neg = [t for t in tests if _claim_p(t) < ALPHA and t["mean_diff"] < 0]
    specific = [
        t for t in tests if (d := _demo_specific(t)) and d.get("significant") and d["mean_diff"] > 0
    ]
    if sig_neg:
        return "disagrees"
    if sig_pos and len(specific) == len(sig_pos) == len(tests):
        return "agrees"
    if len(sig_pos) == len(tests):
        return "not shown: the agreement comes with the input (own − cross adapter null)"
    if sig_pos:
        return (
            f"partly agrees ({len(sig_pos)} of {len(tests)} levels; demonstration-specific at "
            f"{len(specific)})"
        )
    if all(t["mean_diff"] > 0 for t in tests):
        return "same direction, within the noise"
    return "not shown (within the noise)"


def _verdict(
    study: dict[str, Any], cells: dict[str, Any], main: dict[str, Any] | None
) -> tuple[str, str, str]:
    """(measured, verdict, likely reason) for one study, from its primary tests."""
    tests = study["primary_tests"]
    expect = PAPER.get(study["name"], {}).get("expect")
    if not tests:
        return "no primary test", "not measured", "no cell with two or more examples and IT"
    measured = "; ".join(_level_row(t) for t in tests)
    for pair, name in (
        ("matched-mismatched", "trend"),
        ("demonstration_specific", "own − cross trend"),
    ):
        trend = _trend_of(study, pair)
        if trend is not None:
            word = trend["direction"] if trend["significant"] else "no detectable trend"
            kind = "Page's L, " if trend["kind"] == "page" else ""
            mde = trend.get("mde")
            able = f", mde {fmt_num(mde)}" if mde is not None and not trend["significant"] else ""
            measured += f"; {name} {word} ({kind}p={fmt_p(trend['p_value'])}, n={trend['n']}{able})"
    raw = [t for t in study["tests"] if t["metric"] == "cosine" and t["a"] == "icl_it"]
    if raw:
        measured += "; paper's raw cosine ICL–IT vs anchor–ICL: " + ", ".join(
            f"{fmt_num(t['mean_a'], 2)} vs {fmt_num(t['mean_b'], 2)}" for t in raw
        )
    if expect == "positive" or expect is None:
        verdict = _positive_verdict(tests)
    else:
        direction, sig = _direction(study, expect)
        verdict = (
            {
                ("same", True): "agrees",
                ("opposite", True): "disagrees",
            }.get((direction, sig), "no detectable trend")
            if direction
            else "no detectable trend"
        )
        own_dir, own_sig = _direction(study, expect, "demonstration_specific")
        own_trend = _trend_of(study, "demonstration_specific")
        if own_sig and own_trend and verdict != "agrees":
            verdict = (
                f"{'agrees' if own_dir == 'same' else 'disagrees'} in the demonstration-specific "
                f"part only (own − cross adapter trend p={fmt_p(own_trend['p_value'])}, not "
                f"corrected across studies; matched − mismatched: {verdict})"
            )
        unlearned = _unlearned_levels(study, cells)
        if unlearned:
            verdict = (
                "not measurable: IT did not learn the answer format at "
                + ", ".join(str(lv) for lv in unlearned)
                + (f" (the trend alone would read: {verdict})" if direction else "")
            )
    if study["name"] == "it_budget":
        verdict += " (no paper value)"
    agrees = verdict.startswith("agrees") and "part only" not in verdict
    reasons = _reasons(study, cells, main) if not agrees else []
    return measured, verdict, "; ".join(reasons) or "–"
