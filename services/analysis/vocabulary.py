"""One vocabulary for everything the analysis writes in English: names of pairs,
metrics and layers, and number formats. The report, the figures, the statements, the
terminal table and the docs generators all read from here.

The pairs' conditions are defined in ``metrics`` (PAIRS, SHIFT_PAIRS, NORM_PAIRS); the
groups of pairs shown together are named here, once."""

from __future__ import annotations

import math
from typing import Any

from services.analysis.documents import CellSummary, JsonObject

# The paper's state-similarity comparison, shown side by side in tables, figures and the
# random-init control, and the metrics it is made with.
PAPER_PAIRS = ("icl_it", "anchor_icl", "anchor_it")
PAPER_METRICS = ("cosine", "centered_cosine", "cka")
# IT-shaped controls: the ICL shift against the shift of each control's adapter.
IT_CONTROL_PAIRS = ("icl_it_cross", "icl_it_shuffled", "icl_it_random")
# Conditions whose shift from the anchor the tables show, and those whose answers they score.
SHIFT_CONDITIONS = ("icl", "it")
ANSWER_CONDITIONS = ("anchor", "icl", "it")

PAIR_LABELS = {
    "icl_it": "ICL–IT",
    "anchor_icl": "anchor–ICL",
    "anchor_it": "anchor–IT",
    "icl_it_cross": "ICL–IT(cross-adapter)",
    "icl_it_shuffled": "ICL–IT(shuffled labels)",
    "icl_it_random": "ICL–IT(random LoRA)",
    "icl_it_untuned": "ICL–IT(untuned)",
    "anchor_it_cross": "anchor–IT(cross-adapter)",
    "anchor_it_shuffled": "anchor–IT(shuffled labels)",
    "anchor_it_random": "anchor–IT(random LoRA)",
}
# Shift measures name a pair by its two shifts (s_ICL vs s_IT) or by one shift (its norm).
SHIFT_PAIR_LABELS = {
    "icl_it": "ICL shift vs IT shift",
    "icl_it_cross": "ICL shift vs cross-adapter shift",
    "icl_it_shuffled": "ICL shift vs shuffled-label shift",
    "icl_it_random": "ICL shift vs random-LoRA shift",
    "anchor_icl": "ICL shift",
    "anchor_it": "IT shift",
    "anchor_it_cross": "cross-adapter shift",
    "anchor_it_shuffled": "shuffled-label shift",
    "anchor_it_random": "random-LoRA shift",
}
METRIC_LABELS = {
    "cosine": "cosine",
    "centered_cosine": "centered cosine",
    "cka": "linear CKA",
    "shift_cosine": "shift cosine",
    "shift_cosine_mismatched": "shift cosine, mismatched",
    "shift_projection": "shift projection",
    "shift_norm": "shift norm",
    "shared_fraction": "shared fraction of the shift",
}
CONDITION_LABELS = {
    "anchor": "anchor",
    "icl": "ICL",
    "it": "IT",
    "it_cross": "cross-adapter",
    "it_shuffled": "shuffled labels",
    "it_random": "random LoRA",
    "it_untuned": "untuned adapter",
}


def pair_label(metric: str, pair: str) -> str:
    """A condition pair's name in reports; shift metrics (and the shared fraction) name it by
    its shifts, not its two states."""
    if metric.startswith("shift") or metric == "shared_fraction":
        return SHIFT_PAIR_LABELS.get(pair, pair)
    return PAIR_LABELS.get(pair, pair)


def fmt_num(x: Any, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals; 'n/a' for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}f}"


def fmt_ci(mean: Any, low: Any, high: Any, digits: int = 3, sep: str = ", ") -> str:
    """'0.123 [0.100, 0.150]': a value with its interval."""
    return f"{fmt_num(mean, digits)} [{fmt_num(low, digits)}{sep}{fmt_num(high, digits)}]"


def fmt_p(p: Any) -> str:
    """A p-value to two significant figures, in scientific notation below 0.001; 'n/a' for
    None or NaN."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def fmt_slice(values: JsonObject) -> str:
    """'demos.k=4, lora.r=8': a slice of a study (the other swept factors' values)."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


def layer_label(layer: int | None, names: list[str] | None) -> str:
    """'layer 31 (final_norm)' — the index and what the entry is."""
    if layer is None:
        return "each model's final-norm output"
    if names and 0 <= layer < len(names):
        return f"layer {layer} ({names[layer]})"
    return f"layer {layer}"


def cell_label(factors: dict[str, Any], control: str) -> str:
    """A cell named by its factors, each by the last part of its field: 'k=8,
    selection=random'; 'base' without factors; a random-init control says so first."""
    text = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in factors.items()) or "base"
    return f"random-init model: {text}" if control == "random_init" else text


def label_cells(cells: list[CellSummary]) -> list[CellSummary]:
    """Each cell summary with its ``label`` (after ``cell``): its factors, and where two
    cells share them (studies that differ by an override), its studies, then its id."""
    labels = [cell_label(c.get("factors", {}), c.get("control", "none")) for c in cells]
    if len(set(labels)) < len(labels):
        seen = {label: labels.count(label) for label in labels}
        labels = [
            f"{label} [{', '.join(c.get('studies', []))}]" if seen[label] > 1 else label
            for label, c in zip(labels, cells, strict=True)
        ]
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{c['cell'][:8]}" for label, c in zip(labels, cells, strict=True)]
    return [
        {"cell": c["cell"], "label": label, **c} for label, c in zip(labels, cells, strict=True)
    ]


def cell_title(cell: CellSummary, width: int = 48, *, terse: bool = False) -> str:
    """A cell by name: its ``label`` in the results document (``label_cells``), cut to
    width with '…'. For a cell without one: 'model.name=x, [random-init model]' (report,
    figures), or terse, for a terminal column: 'CONTROL random-init name=x', factors
    sorted and named by their last part, cut to width."""
    label = cell.get("label")
    if isinstance(label, str) and label:
        return label if len(label) <= width else label[: width - 1] + "…"
    factors = cell.get("factors", {})
    random_init = cell.get("control") == "random_init"
    if terse:
        prefix = "CONTROL random-init " if random_init else ""
        parts = [f"{k.split('.')[-1]}={v}" for k, v in sorted(factors.items())]
        return (prefix + (", ".join(parts) or "base"))[:width]
    parts = [f"{k}={v}" for k, v in factors.items()]
    if random_init:
        parts.append("[random-init model]")
    text = ", ".join(parts) or "base configuration"
    return text if len(text) <= width else text[: width - 1] + "…"
