"""Tables of the RESULTS document: the rows of the HTML report's tables, and the plain-text
table for terminals (``summary_table``). Every number goes through the vocabulary's
formatters; a missing value is '–'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from services.analysis.documents import (
    CellRef,
    CellSummary,
    LayerStats,
    MeanCI,
    PairPoints,
    PrimaryTest,
    Proportion,
    RandomInitControl,
    Results,
    StudySummary,
    TestResult,
)
from services.analysis.vocabulary import (
    ANSWER_CONDITIONS,
    IT_CONTROL_PAIRS,
    METRIC_LABELS,
    PAPER_PAIRS,
    SHIFT_CONDITIONS,
    cell_title,
    fmt_ci,
    fmt_num,
    fmt_p,
    fmt_slice,
    layer_label,
)

# A row of a report table: column name -> the cell's text (or a list of them).
Row = dict[str, Any]


def _ci(block: Mapping[str, Any] | None, layer: int | None = None, digits: int = 3) -> str:
    """'mean [lo, hi]' of a stats block (per-layer lists when layer is given)."""
    if not block:
        return "–"
    pick = (lambda k: block[k][layer]) if layer is not None else (lambda k: block[k])
    return fmt_ci(pick("mean"), pick("ci_low"), pick("ci_high"), digits)


def _mean(block: Mapping[str, Any] | None, layer: int | None = None, digits: int = 2) -> str:
    if not block:
        return "–"
    return fmt_num(block["mean"][layer] if layer is not None else block["mean"], digits)


def _test(t: TestResult | None) -> str:
    if not t or not t.get("n"):
        return "–"
    sig = "significant" if t["significant"] else "within noise"
    return (
        f"{fmt_ci(t['mean_diff'], t['ci_low'], t['ci_high'])} "
        f"(p={fmt_p(t['p_value'])}, n={t['n']}; {sig})"
    )


def _slash(values: list[str]) -> str:
    return " / ".join(values)


def _shifts(cell: CellSummary, metric: str, digits: int = 2) -> str:
    """'ICL / IT' of a shift measure (norm, shared fraction) at the cell's report layer."""
    per_pair = cell["metrics"].get(metric, {})
    layer = cell["report_layer"]
    return _slash([_mean(per_pair.get(f"anchor_{c}"), layer, digits) for c in SHIFT_CONDITIONS])


def _block(metrics: dict[str, dict[str, LayerStats]], metric: str, pair: str) -> LayerStats | None:
    """The statistics of one metric and pair, None when the cell lacks them."""
    return (metrics.get(metric) or {}).get(pair)


def _answers(cell: CellSummary, key: Literal["label_mass", "accuracy"]) -> str:
    """'anchor / ICL / IT' of label mass or accuracy."""
    answers: Mapping[str, MeanCI | Proportion] = cell.get(key) or {}
    return _slash([_mean(answers.get(c)) for c in ANSWER_CONDITIONS])


def _level(ref: CellRef, cell: CellSummary, factor: Any) -> str:
    """A study's row name: the factor's level (or the cell) and its slice."""
    level = ref["level"] if factor else cell_title(cell)
    slice_txt = fmt_slice(ref["slice"])
    return f"{level}" + (f" ({slice_txt})" if slice_txt else "")


def primary_rows(study: StudySummary, cells: dict[str, CellSummary]) -> list[Row]:
    """The primary table of a study: one row per level, matched vs mismatched shift cosine
    at the report layer with its tests, shift sizes, IT and answers."""
    by_cell = {t["cell"]: t for t in study.get("primary_tests", [])}
    return [
        _primary_row(ref, cells[ref["cell"]], by_cell.get(ref["cell"]), study["factor"])
        for ref in study["cells"]
    ]


def _primary_row(ref: CellRef, cell: CellSummary, t: PrimaryTest | None, factor: Any) -> Row:
    layer = cell["report_layer"]
    m = cell["metrics"]
    fw = t.get("family_wise") if t else None
    it: Mapping[str, Any] = cell.get("it") or {}
    layers = fw.get("significant_layers") if fw else None
    return {
        "level": _level(ref, cell, factor),
        "layer": layer_label(layer, cell.get("layer_names")),
        "n": t["n"] if t else "–",
        "matched": _ci(_block(m, "shift_cosine", "icl_it"), layer),
        "mismatched": _ci(_block(m, "shift_cosine_mismatched", "icl_it"), layer),
        "diff": fmt_ci(t["mean_diff"], t["ci_low"], t["ci_high"]) if t else "–",
        "p": fmt_p(t["p_value"]) + f" (min {fmt_p(t['min_attainable_p'])})" if t else "–",
        "p_study": fmt_p(t.get("p_holm_study") if t else None),
        "p_exp": fmt_p(t.get("p_holm_experiment") if t else None),
        "significant": bool(t and (t.get("p_holm_study") or 1.0) < 0.05),
        "layers": ("none" if not layers else ", ".join(str(x) for x in layers)) if fw else "–",
        "norms": _shifts(cell, "shift_norm", 1),
        "shared": _shifts(cell, "shared_fraction"),
        "it": f"{it.get('steps', '–')}, {fmt_num(it.get('final_loss'), 3)}",
        "mass": _answers(cell, "label_mass"),
        "acc": _answers(cell, "accuracy"),
    }


def metric_rows(
    study: StudySummary, cells: dict[str, CellSummary], metric: str, pairs: list[str]
) -> list[Row]:
    """One metric of a study at each level's report layer: every pair with its interval,
    and the paper's test (ICL–IT vs anchor–ICL) where the study has one."""
    rows = []
    for ref in study["cells"]:
        cell = cells[ref["cell"]]
        layer = cell["report_layer"]
        per_pair = cell["metrics"].get(metric, {})
        test = next(
            (t for t in study["tests"] if t["metric"] == metric and t["cell"] == ref["cell"]),
            None,
        )
        n = next((b["n"][layer] for b in per_pair.values()), None)
        rows.append(
            {
                "level": _level(ref, cell, study["factor"]),
                "layer": layer,
                "n": n if n is not None else "–",
                "pairs": [_ci(per_pair.get(p), layer) for p in pairs],
                "test": _test(test),
                "significant": bool(test and test["significant"]),
            }
        )
    return rows


def it_control_rows(results: Results) -> list[Row]:
    """Each real cell's matched shift cosine against the same with each IT-shaped control's
    adapter (IT_CONTROL_PAIRS order), at the report layer."""
    rows = []
    for cell in results["cells"]:
        tests = cell.get("control_tests") or {}
        if cell["control"] != "none" or not tests:
            continue
        layer = cell["report_layer"]
        sc = cell["metrics"].get("shift_cosine", {})
        values = []
        for pair in IT_CONTROL_PAIRS:
            t = tests.get(pair)
            values.append(
                f"{_mean(sc.get(pair), layer, 3)}, "
                f"{fmt_num(t['mean_diff'])} (p={fmt_p(t['p_value'])})"
                if t
                else "–"
            )
        rows.append(
            {
                "title": cell_title(cell),
                "layer": layer,
                "own": _mean(sc.get("icl_it"), layer, 3),
                "cols": values,
            }
        )
    return rows


def random_init_rows(entry: RandomInitControl) -> list[Row]:
    """One random-init control (controls.random_init[i]): a row per metric, the paper's
    pairs real vs random-init, and the test of ICL–IT real vs random."""
    rows = []
    for metric, per_pair in entry["metrics"].items():
        values = []
        for p in PAPER_PAIRS:
            v = cast(PairPoints, per_pair.get(p) or {})  # a paper pair's points
            values += [_ci(v.get("real")), _ci(v.get("random_init"))]
        rows.append(
            {
                "model": entry.get("model"),
                "metric": METRIC_LABELS.get(metric, metric),
                "layer": entry["layer"],
                "loss": fmt_num(entry.get("it_final_loss"), 2),
                "cells": values,
                "test": _test(cast(TestResult | None, per_pair.get("test_icl_it_real_vs_random"))),
            }
        )
    return rows


# ---------------------------------------------------------------------------------------
# The terminal table


def summary_table(results: Results) -> str:
    """A plain-text table for terminals: every cell's primary measure at its report layer,
    the paper's raw cosines beside it, then the statements."""
    head = (
        f"{'cell':30s} {'n':>3s} {'layer':>14s}  {'matched':>7s} {'mismatch':>8s} "
        f"{'difference [95% CI]':>22s} {'p':>7s}  {'shift norm':>11s} {'shared':>9s} "
        f"{'label mass':>14s}  paper's cosine ICL-IT / anchor-ICL"
    )
    lines = [head] + [_summary_row(cell) for cell in results["cells"]]
    lines.append(
        "(matched / mismatched: shift cosine of example i's ICL shift with its own IT shift / "
        "with other examples' IT shifts; mean over examples at each cell's report layer; "
        "p: the pairing-permutation test, the primary test)"
    )
    for st in results.get("statements", []):
        if st["kind"] == "primary":
            lines.append(f"- {st['study']}: {st['text']}")
    return "\n".join(lines)


def _summary_row(cell: CellSummary) -> str:
    layer = cell["report_layer"]
    m = cell["metrics"]
    primary = cell.get("primary")
    t: Mapping[str, Any] = (primary.get("pairing_test") if primary else None) or {}
    cos: Mapping[str, LayerStats] = m.get("cosine") or {}
    names = cell.get("layer_names") or []
    lname = names[layer] if layer < len(names) else str(layer)
    diff = fmt_ci(t.get("mean_diff"), t.get("ci_low"), t.get("ci_high"), sep=",") if t else "–"
    return (
        f"{cell_title(cell, 30, terse=True):30s} {t.get('n', cell['n_examples'])!s:>3s} "
        f"{f'{layer} {lname}':>14s}  "
        f"{_mean(m.get('shift_cosine', {}).get('icl_it'), layer, 3):>7s} "
        f"{_mean(m.get('shift_cosine_mismatched', {}).get('icl_it'), layer, 3):>8s} "
        f"{diff:>22s} {fmt_p(t.get('p_value')) if t else '–':>7s}  "
        f"{_shifts(cell, 'shift_norm', 1):>11s} "
        f"{_shifts(cell, 'shared_fraction'):>9s} "
        f"{_answers(cell, 'label_mass'):>14s}  "
        f"{_mean(cos.get('icl_it'), layer)} / {_mean(cos.get('anchor_icl'), layer)}"
    )
