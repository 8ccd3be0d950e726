"""Studies: the cells of one factor, tested level by level and across levels.

For each level (cell) of a study:

- the primary test: matched vs mismatched shift cosine of ICL-IT (``cells.primary``),
  Holm-adjusted over the study's levels (p_holm_study) and, by ``summarize``, over every
  study's primary tests (p_holm_experiment);
- the paper's comparison, kept for reference: ICL-IT vs anchor-ICL of each state
  similarity metric (cosine, centered cosine, CKA).

Across levels: a permutation trend test of the primary difference (levels shuffled within
each example), and of the paper's ICL-IT cosine.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from services.analysis import metrics as similarity
from services.analysis import stats
from services.analysis.cells import Cell, paired, primary
from services.analysis.documents import (
    CellRef,
    JsonObject,
    PaperTest,
    PrimaryTest,
    StudySummary,
    StudyTrend,
    TrendResult,
)
from services.analysis.trends import ordered_levels, page_trend, trend_test
from services.analysis.vocabulary import PAPER_METRICS
from services.common.spec import StudySpec


def unit_label(metric: str, cells: list[Cell]) -> str:
    """What a sample unit of ``metric`` is across ``cells``, in words for the report: seeds,
    examples, or examples each averaged over k seeds."""
    if metric in similarity.ACROSS_EXAMPLE_METRICS:
        return "seeds"
    seeds = {len(c.runs) for c in cells}
    if seeds == {1}:
        return "examples"
    k = seeds.pop() if len(seeds) == 1 else "several"
    return f"examples, each averaged over {k} seeds"


def _get_dotted(config: JsonObject, dotted: str) -> Any:
    section, name = dotted.split(".", 1)
    return config.get(section, {}).get(name)


def canonical(v: Any) -> str:
    """A JSON key for a value (levels, slices, configurations): equal values, equal keys."""
    return json.dumps(v, sort_keys=True)


def _trend(
    levels: list[Any],
    columns: list[np.ndarray | None],
    units: list[list[Any]],
    factor: str | None = None,
) -> TrendResult | None:
    """Trend of one per-unit value across levels (one cell per level), blocked on the
    units every level shares; Page's L test when the factor's levels are ordered."""
    if any(v is None for v in columns):
        return None
    common = [u for u in units[0] if all(u in us for us in units[1:])]
    blocked = len(common) >= 2 and all(len(us) == len(common) for us in units)
    cols = [np.asarray(v) for v in columns]
    if blocked:
        cols = [v[[us.index(u) for u in common]] for v, us in zip(cols, units, strict=True)]
    order = ordered_levels(factor, levels)
    if blocked and order is not None:
        return page_trend(cols, levels, order)
    return trend_test(cols, levels, blocked=blocked)


def _primary_at(cell: Cell) -> np.ndarray | None:
    m = cell.values("shift_cosine", "icl_it")
    mm = cell.values("shift_cosine_mismatched", "icl_it")
    if m is None or mm is None:
        return None
    return (m - mm)[:, cell.report_layer]


def _own_cross_at(cell: Cell) -> np.ndarray | None:
    """Per example at the report layer, the demonstration-specific part: the shift cosine
    with its own adapter's shift minus the mean over the other adapters of its group (the
    per-example cross-adapter values, ``per_run._every_adapter_values``); None without
    the every-adapter extraction (an older run's one-neighbour it_cross is not that)."""
    if cell.pairing is None or not cell.pairing.get("cross"):
        return None
    own = cell.values("shift_cosine", "icl_it")
    cross = cell.values("shift_cosine", "icl_it_cross")
    if own is None or cross is None:
        return None
    return (own - cross)[:, cell.report_layer]


def study_tests(study: StudySpec, cells: list[Cell], metrics: list[str]) -> StudySummary:
    """Tests and trends of one study (statements are written once every study's p-values
    are adjusted; see ``summarize``)."""
    factor = study.factor or next(iter(study.sweep), None)
    mine = [c for c in cells if study.name in c.studies and c.control == "none"]
    order = {canonical(v): i for i, v in enumerate(study.sweep.get(factor, []))} if factor else {}
    others = [k for k in study.sweep if k != factor]

    def level(c: Cell) -> Any:
        if not factor:
            return None
        if factor.split(".", 1)[0] in c.config:  # the resolved value, whichever study ran it
            return _get_dotted(c.config, factor)
        return c.first["factors"].get(factor)

    mine.sort(key=lambda c: order.get(canonical(level(c)), len(order)))
    slices: dict[str, list[Cell]] = {}
    cell_refs: list[CellRef] = []
    tests: list[PaperTest] = []
    primary_tests: list[PrimaryTest] = []
    for c in mine:
        sl = {k: _get_dotted(c.config, k) for k in others}
        slices.setdefault(canonical(sl), []).append(c)
        cell_refs.append({"cell": c.id, "level": level(c), "slice": sl})
        where: CellRef = {"cell": c.id, "level": level(c), "slice": sl}
        p = _primary_test(c, where)
        if p is not None:
            primary_tests.append(p)
        tests += _paper_tests(c, where, metrics)
    for t, adj in zip(
        primary_tests, stats.holm([t["p_value"] for t in primary_tests]), strict=True
    ):
        t["p_holm_study"] = adj
    trends: list[StudyTrend] = []
    for sl_key, group in slices.items():
        levels = [level(c) for c in group]
        if factor is None or len({canonical(v) for v in levels}) != len(levels) or len(levels) < 2:
            continue
        trends += _slice_trends(group, levels, factor, sl_key, metrics)
    layers = {c.report_layer for c in mine}
    return {
        "name": study.name,
        "description": study.description,
        "factor": factor,
        "levels": list(study.sweep.get(factor, [])) if factor else [],
        "report_layer": layers.pop() if len(layers) == 1 else None,
        "layer_names": mine[0].first.get("layer_names") if mine else None,
        "n_slices": len(slices),
        "unit": unit_label("shift_cosine", mine),
        "cells": cell_refs,
        "primary_tests": primary_tests,
        "tests": tests,
        "trends": trends,
        "primary_metric": "shift_cosine",
    }


def _primary_test(c: Cell, where: CellRef) -> PrimaryTest | None:
    """The cell's primary test: the pairing-permutation test of matched vs mismatched
    shift cosine, with its decomposition (own - cross adapter; cross adapter - mismatched,
    each tested), the row-mean sign-flip test (secondary), the last-block and family-wise
    companions and the cross-adapter control; None without the shift metrics."""
    p = primary(c)
    if p is None:
        return None
    return {
        **where,
        "metric": "shift_cosine",
        "layer": p["layer"],
        **p["pairing_test"],
        "a": "matched",
        "b": "mismatched",
        "row_mean_sign_flip": p["test"],
        "decomposition": p["decomposition"],
        "last_block": {"layer": p["last_block_layer"], **p["test_last_block"]},
        "family_wise": p["family_wise"],
        "shared_demonstrations": c.config.get("demos", {}).get("scope") == "shared",
        "shift_norms": _shift_norms(c, p["layer"]),
        # the cross-adapter condition's matched shift cosine (every adapter of the group
        # when the run extracted them; else the one-neighbour it_cross condition)
        "cross_adapter": paired(
            c, "icl_it", c, "icl_it_cross", "shift_cosine", p["layer"], p["layer"]
        ),
    }


def _shift_norms(c: Cell, layer: int) -> dict[str, float | None]:
    """Mean shift norm at the layer of IT and of the random LoRA (the control must move the
    state as far as tuning does to control anything)."""
    out: dict[str, float | None] = {}
    for name, pair in (("it", "anchor_it"), ("random_lora", "anchor_it_random")):
        v = c.values_at("shift_norm", pair, layer)
        out[name] = float(np.nanmean(v)) if v is not None and np.isfinite(v).any() else None
    return out


def _paper_tests(c: Cell, where: CellRef, metrics: list[str]) -> list[PaperTest]:
    """The paper's comparison in one cell: ICL–IT vs anchor–ICL of each state similarity."""
    tests: list[PaperTest] = []
    for metric in (m for m in metrics if m in PAPER_METRICS):
        t = paired(c, "icl_it", c, "anchor_icl", metric, c.report_layer, c.report_layer)
        if t is not None:
            tests.append(
                {
                    **where,
                    "metric": metric,
                    "layer": c.report_layer,
                    "a": "icl_it",
                    "b": "anchor_icl",
                    **t,
                }
            )
    return tests


def _slice_trends(
    group: list[Cell], levels: list[Any], factor: str, sl_key: str, metrics: list[str]
) -> list[StudyTrend]:
    """Trends across the levels of one slice: the primary difference, then the paper's
    ICL–IT similarity of each state similarity metric."""
    trends: list[StudyTrend] = []
    ids = [c.example_ids for c in group]
    for pair, at in (
        ("matched-mismatched", _primary_at),
        ("demonstration_specific", _own_cross_at),  # own - cross adapter, per example
    ):
        t = _trend(levels, [at(c) for c in group], ids, factor)
        if t is not None:
            trends.append(
                {
                    "metric": "shift_cosine",
                    "pair": pair,
                    "factor": factor,
                    "slice": json.loads(sl_key),
                    **t,
                }
            )
    for metric in (m for m in metrics if m in PAPER_METRICS):
        cols = [c.values_at(metric, "icl_it", c.report_layer) for c in group]
        t = _trend(levels, cols, [c.units(metric) for c in group], factor)
        if t is not None:
            trends.append(
                {
                    "metric": metric,
                    "pair": "icl_it",
                    "factor": factor,
                    "slice": json.loads(sl_key),
                    **t,
                }
            )
    return trends
