"""Cells: runs that differ only by seed, summarised per layer.

Sample units. Per-example metrics are first averaged over a cell's seeds, so a cell has
one value per inference example and layer (the same examples appear in every seed:
pooling seeds x examples would count them as independent). Across-example metrics (CKA,
shared fraction) have one value per seed. Intervals and tests use these units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.analysis import metrics as similarity
from services.analysis import stats
from services.analysis.causal import cell_causal
from services.analysis.decomposition import pairing_tests, seed_averaged_pairing
from services.analysis.documents import (
    CellIT,
    CellSummary,
    CkaNull,
    JsonObject,
    LayerStats,
    MeanCI,
    PointStats,
    PrimaryResult,
    Proportion,
    RunAnalysis,
    SeedAveragedPairing,
    TestResult,
)
from services.analysis.vocabulary import IT_CONTROL_PAIRS
from services.common.storage.hidden_states import layer_names

# The primary measure: matched minus mismatched shift cosine of the ICL-IT pair.
PRIMARY = ("shift_cosine", "shift_cosine_mismatched", "icl_it")


def arr(x: Any) -> np.ndarray:
    """JSON list (None = NaN) -> float64 array."""
    return np.array(x if x is not None else np.nan, dtype=np.float64)


@dataclass
class Cell:
    """The runs of one cell (seeds of one configuration), with their values in sample units:
    per example averaged over seeds, or per seed for across-example metrics."""

    id: str
    runs: list[RunAnalysis]
    n_layers: int
    example_ids: list[str]  # common to every run, in the first run's order
    seeds: list[int | None]
    per_example: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # [n_ex, L]
    per_seed: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # [n_seeds, L]
    report_layer: int = 0
    pairing: SeedAveragedPairing | None = None  # seed-averaged pairing matrices (decomposition)
    primary_result: PrimaryResult | None = None  # ``primary`` computed once per cell

    @property
    def first(self) -> RunAnalysis:
        """The lowest-seed run: the source of what every seed shares (control, config, factors)."""
        return self.runs[0]

    @property
    def control(self) -> str:
        """The cell's control: ``none`` or ``random_init``."""
        return str(self.first["control"])

    @property
    def config(self) -> JsonObject:
        """A copy of the first run's recorded configuration ({} when it has none)."""
        return dict(self.first.get("config", {}))

    @property
    def last_block(self) -> int:
        """Layer-axis index of the last decoder block's output (the report's secondary layer)."""
        return self.n_layers  # the last block's own output; n_layers + 1 is the final norm

    @property
    def studies(self) -> list[str]:
        """The studies any of the cell's runs belongs to, in first-seen order, each once."""
        seen: list[str] = []
        for r in self.runs:
            seen += [s for s in r["studies"] if s not in seen]
        return seen

    def values(self, metric: str, pair: str) -> np.ndarray | None:
        """[units, L]: per example (seed-averaged), or per seed for across-example metrics."""
        src = self.per_seed if metric in similarity.ACROSS_EXAMPLE_METRICS else self.per_example
        return src.get(metric, {}).get(pair)

    def values_at(self, metric: str, pair: str, layer: int) -> np.ndarray | None:
        """``values`` at one layer: [units], or None when the cell lacks the metric or pair."""
        v = self.values(metric, pair)
        return None if v is None else v[:, layer]

    def units(self, metric: str) -> list[Any]:
        """What the rows of ``metric``'s values are: the seeds for across-example metrics, else
        the example ids (used to align two cells in a paired test)."""
        return self.seeds if metric in similarity.ACROSS_EXAMPLE_METRICS else self.example_ids


def build_cell(cell_id: str, runs: list[RunAnalysis], report_layer: int | None) -> Cell:
    """A cell from its runs: sorted by seed (None last), cut to the examples every run has,
    per-example metrics averaged over seeds; ``report_layer`` None or too deep: the final norm."""
    runs = sorted(runs, key=lambda r: (r.get("seed") is None, r.get("seed")))
    ids = [i for i in runs[0]["example_ids"] if all(i in r["example_ids"] for r in runs)]
    cell = Cell(
        id=cell_id,
        runs=runs,
        n_layers=int(runs[0]["n_layers"]),
        example_ids=ids,
        seeds=[r.get("seed") for r in runs],
    )
    for metric, per_pair in runs[0]["values"].items():
        pairs = [p for p in per_pair if all(p in r["values"].get(metric, {}) for r in runs)]
        for pair in pairs:
            if metric in similarity.ACROSS_EXAMPLE_METRICS:
                cell.per_seed.setdefault(metric, {})[pair] = np.stack(
                    [arr(r["values"][metric][pair]) for r in runs]
                )
                continue
            stacked = []  # [n_seeds, n_ex, L] aligned on the common example ids
            for r in runs:
                v = arr(r["values"][metric][pair])
                pos = {e: k for k, e in enumerate(r["example_ids"])}
                stacked.append(v[[pos[e] for e in ids]])
            cell.per_example.setdefault(metric, {})[pair] = _nanmean0(np.stack(stacked))
    cell.pairing = seed_averaged_pairing(runs, ids)
    last = cell.n_layers + 1  # the final norm's output
    cell.report_layer = last if report_layer is None else min(report_layer, last)
    return cell


def _nanmean0(x: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN; NaN where every value is NaN (no warning)."""
    ok = ~np.isnan(x)
    n = ok.sum(axis=0)
    total = np.where(ok, x, 0.0).sum(axis=0)
    return np.divide(total, n, out=np.full(total.shape, np.nan), where=n > 0)


def stat_block(values: np.ndarray) -> LayerStats:
    """values: [n, L] -> per-layer mean, std, ci_low, ci_high (Student t), n."""
    return stats.summary_stats(values)


def point(block: LayerStats, layer: int) -> PointStats:
    """One layer of a ``stat_block``: its mean, std, ci_low, ci_high and n at ``layer``."""
    return {
        "mean": block["mean"][layer],
        "std": block["std"][layer],
        "ci_low": block["ci_low"][layer],
        "ci_high": block["ci_high"][layer],
        "n": block["n"][layer],
    }


def paired(
    ca: Cell, pa: str, cb: Cell, pb: str, metric: str, layer_a: int, layer_b: int
) -> TestResult | None:
    """Paired test of cell a's pair pa vs cell b's pair pb, aligned by example or seed."""
    va, vb = ca.values_at(metric, pa, layer_a), cb.values_at(metric, pb, layer_b)
    if va is None or vb is None:
        return None
    ua, ub = ca.units(metric), cb.units(metric)
    common = [u for u in ua if u in ub]
    return stats.paired_difference_test(
        va[[ua.index(u) for u in common]], vb[[ub.index(u) for u in common]]
    )


def primary_values(cell: Cell) -> tuple[np.ndarray, np.ndarray] | None:
    """Matched and mismatched ICL-IT shift cosines [example, layer] of the cell, or None
    when it lacks the shift metrics (e.g. one example)."""
    m_metric, mm_metric, pair = PRIMARY
    matched, mismatched = cell.values(m_metric, pair), cell.values(mm_metric, pair)
    if matched is None or mismatched is None:
        return None
    return matched, mismatched


def primary(cell: Cell) -> PrimaryResult | None:
    """Matched vs mismatched shift cosine of ICL-IT: the pairing-permutation test (the
    primary test) and its decomposition at the report layer; per-layer difference curve;
    the row-mean sign-flip test at the report layer and at the last block (secondary:
    conservative when the rows share IT shifts), and the family-wise test over every layer
    (on the same row means). None when the cell lacks the shift metrics."""
    if cell.primary_result is None:
        cell.primary_result = _primary(cell)
    return cell.primary_result


def _primary(cell: Cell) -> PrimaryResult | None:
    both = primary_values(cell)
    if both is None:
        return None
    matched, mismatched = both
    d = matched - mismatched  # [n_ex, L]

    def at(layer: int) -> TestResult:
        return stats.paired_difference_test(matched[:, layer], mismatched[:, layer])

    return {
        "measure": "shift_cosine - shift_cosine_mismatched (icl_it)",
        "layer": cell.report_layer,
        **pairing_tests(cell.pairing, cell.report_layer, len(cell.example_ids)),
        "secondary": "test, test_last_block and family_wise are sign-flip tests on the row "
        "means (secondary figures: the rows share the same IT shifts, so they are "
        "conservative); pairing_test is the primary test",
        "test": at(cell.report_layer),
        "last_block_layer": cell.last_block,
        "test_last_block": at(cell.last_block),
        "difference": stat_block(d),
        "family_wise": stats.max_t_across_layers(d),
    }


def _label_mass(cell: Cell) -> dict[str, MeanCI]:
    out: dict[str, MeanCI] = {}
    for c in cell.first.get("label_mass", {}):
        if not all(c in r.get("label_mass", {}) for r in cell.runs):
            continue
        per_seed = []
        for r in cell.runs:
            pos = {e: k for k, e in enumerate(r["example_ids"])}
            per_seed.append(arr(r["label_mass"][c])[[pos[e] for e in cell.example_ids]])
        out[c] = stats.mean_ci(_nanmean0(np.stack(per_seed)), axis=0)
        out[c].pop("single_sample", None)
    return out


def _accuracy(cell: Cell) -> dict[str, Proportion]:
    """Wilson 95% interval over labelled (seed, example) pairs."""
    out: dict[str, Proportion] = {}
    conds = [c for c in cell.first["correct"] if all(c in r["correct"] for r in cell.runs)]
    for c in conds:
        v = np.concatenate([arr(r["correct"][c]).reshape(-1) for r in cell.runs])
        v = v[~np.isnan(v)]
        k, n = int(v.sum()), int(v.size)
        lo, hi = stats.wilson_ci(k, n)
        out[c] = {"mean": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi, "n": n}
    return out


def it_final_losses(cell: Cell) -> list[float]:
    """The final tuning loss of every adapter in the cell's runs (None entries left out)."""
    return [
        x for r in cell.runs for x in (r.get("it") or {}).get("final_loss") or [] if x is not None
    ]


def _it_summary(cell: Cell) -> CellIT:
    losses = it_final_losses(cell)
    it = cell.first.get("it") or {}
    return {
        "budget": it.get("budget"),
        "steps": it.get("steps"),
        "final_loss": float(np.mean(losses)) if losses else None,
        "controls_skipped": it.get("controls_skipped", []),
    }


def _cka_null(cell: Cell, pair: str) -> CkaNull:
    """CKA's permutation null of one pair, per seed (None for a run without it)."""
    nulls = [(r.get("cka_null") or {}).get(pair) for r in cell.runs]
    return {
        "p": [n["p"] if n else None for n in nulls],
        "null_sd": [n["null_sd"] if n else None for n in nulls],
    }


def cell_summary(cell: Cell, report_layer_requested: int | None) -> CellSummary:
    """The cell's entry in results.json: identity, per-layer statistics of every metric, the
    primary and control tests, accuracy, label mass, tuning and causal figures."""
    metrics: dict[str, dict[str, LayerStats]] = {}
    for src in (cell.per_example, cell.per_seed):
        for metric, per_pair in src.items():
            metrics[metric] = {p: stat_block(v) for p, v in per_pair.items()}
    controls: dict[str, TestResult] = {}
    for pair in IT_CONTROL_PAIRS:  # matched shift cosine vs the same with each control
        t = paired(cell, "icl_it", cell, pair, "shift_cosine", cell.report_layer, cell.report_layer)
        if t is not None:
            controls[pair] = t
    f = cell.first
    return {
        "cell": cell.id,
        "control": cell.control,
        "studies": cell.studies,
        "factors": f["factors"],
        "config": cell.config,
        "run_keys": [r["key"] for r in cell.runs],
        "seeds": cell.seeds,
        "n_seeds": len(cell.runs),
        "n_examples": len(cell.example_ids),
        "n_layers": cell.n_layers,
        "layer_names": layer_names(cell.n_layers),
        "conditions": f["conditions"],
        "report_layer": cell.report_layer,
        "report_layer_clamped": report_layer_requested is not None
        and report_layer_requested > cell.n_layers + 1,
        "metrics": metrics,
        "primary": primary(cell),
        "control_tests": controls,
        "cka_null": {pair: _cka_null(cell, pair) for pair in f.get("cka_null") or {}},
        "accuracy": _accuracy(cell),
        "label_mass": _label_mass(cell),
        "it": _it_summary(cell),
        "causal": cell_causal(cell.runs, cell.example_ids, cell.report_layer),
    }
