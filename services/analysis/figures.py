"""Figures from the RESULTS document, as PNG bytes (matplotlib Agg; no pyplot state).

primary_figure(cells)                   matched vs mismatched shift cosine per layer, with
                                        the IT-shaped controls, one panel per cell
primary_factor_figure(study, results)   the matched - mismatched difference vs factor level
layerwise_figure(cells, metric)         a metric per layer, one panel per cell
factor_figure(study, results, metric)   a metric at the report layer vs factor level
make_figures(results)                   every figure the report shows, by key
tuning_figure.tuning_loss_figure        the LoRA tuning loss per step (key TUNING_FIGURE_KEY)
"""

from __future__ import annotations

import io
from typing import Any, cast

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from services.analysis.documents import (
    CellRef,
    CellSummary,
    Curve,
    LayerStats,
    Results,
    StudySummary,
)
from services.analysis.tuning_figure import TUNING_FIGURE_KEY, tuning_loss_figure
from services.analysis.vocabulary import (
    IT_CONTROL_PAIRS,
    METRIC_LABELS,
    PAIR_LABELS,
    PAPER_PAIRS,
    cell_title,
    fmt_slice,
    pair_label,
)

PAIR_STYLE: dict[str, dict[str, Any]] = {
    "icl_it": {"color": "#1f77b4", "linestyle": "-", "marker": "o"},
    "anchor_icl": {"color": "#ff7f0e", "linestyle": "-", "marker": "s"},
    "anchor_it": {"color": "#2ca02c", "linestyle": "-", "marker": "^"},
    "icl_it_cross": {"color": "#9467bd", "linestyle": "--", "marker": "v"},
    "icl_it_shuffled": {"color": "#8c564b", "linestyle": "--", "marker": "d"},
    "icl_it_random": {"color": "#7f7f7f", "linestyle": ":", "marker": "x"},
    "icl_it_untuned": {"color": "#bcbd22", "linestyle": ":", "marker": "x"},
    "anchor_it_cross": {"color": "#9467bd", "linestyle": "--", "marker": "v"},
    "anchor_it_shuffled": {"color": "#8c564b", "linestyle": "--", "marker": "d"},
    "anchor_it_random": {"color": "#7f7f7f", "linestyle": ":", "marker": "x"},
    "mismatched": {"color": "#d62728", "linestyle": "-", "marker": "s"},
}
# Metrics drawn per layer and per level beside the primary figure (the rest are in tables).
FIGURE_METRICS = ("cosine", "centered_cosine", "shift_norm")
X_LABEL = "layer (0 = embeddings, i = block i, last = final norm)"
MAX_PANELS = 8
DPI = 100
# The panel drawn when there is no cell: an empty entry, read with ``.get`` only.
_NO_CELL = cast(CellSummary, {})


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _nan(xs: Curve) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in xs], dtype=np.float64)


def _panels(n: int) -> tuple[Figure, Any]:
    """A figure with one panel per cell (at most 4 per row, shared y); extra panels hidden."""
    ncols = min(n, 4)
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(max(6.0, 4.2 * ncols), 3.4 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).reshape(-1)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def _curve(
    ax: Any, block: LayerStats, label: str, style: dict[str, Any], alpha: float = 0.15
) -> None:
    """A per-layer mean with its 95% CI band."""
    mean = _nan(block["mean"])
    x = np.arange(mean.size)
    ax.plot(x, mean, label=label, markersize=3, **style)
    ax.fill_between(
        x,
        _nan(block["ci_low"]),
        _nan(block["ci_high"]),
        color=style.get("color"),
        alpha=alpha,
        linewidth=0,
    )


def _label_panel(ax: Any, cell: CellSummary) -> None:
    """A per-layer panel's integer layer axis, title (the cell and its sample) and grid."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    n_txt = f"{cell.get('n_examples', '?')} ex × {cell.get('n_seeds', '?')} seeds"
    ax.set_title(f"{cell_title(cell)}\n({n_txt})", fontsize=9)
    ax.set_xlabel(X_LABEL)
    ax.grid(alpha=0.3)


def layerwise_figure(cell_or_cells: CellSummary | list[CellSummary], metric: str) -> bytes:
    """Mean similarity per layer with 95% CI bands, one curve per pair, one panel per cell.

    cell_or_cells: entries of results["cells"] (at most MAX_PANELS are drawn).
    x axis: layer index, 0 = embeddings, i = output of block i, last = final norm.
    """
    cells = [cell_or_cells] if isinstance(cell_or_cells, dict) else list(cell_or_cells)
    cells = cells[:MAX_PANELS] or [_NO_CELL]
    fig, axes = _panels(len(cells))
    for ax, cell in zip(axes, cells, strict=False):
        per_pair = cell.get("metrics", {}).get(metric, {})
        for pair, block in per_pair.items():
            _curve(ax, block, pair_label(metric, pair), PAIR_STYLE.get(pair, {}), alpha=0.18)
        if "report_layer" in cell:
            ax.axvline(
                cell["report_layer"], color="k", linewidth=0.6, linestyle=":", label="report layer"
            )
        _label_panel(ax, cell)
    axes[0].set_ylabel(METRIC_LABELS.get(metric, metric))
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=8, loc="best")
    fig.suptitle(f"{METRIC_LABELS.get(metric, metric)} per layer (mean, 95% CI)")
    return _png(fig)


def factor_figure(study: StudySummary, results: Results, metric: str) -> bytes:
    """Similarity at each cell's report layer vs the study's factor level, with 95% CI
    error bars: ICL–IT vs anchor–ICL vs anchor–IT (one line per pair and slice)."""
    by_id = {c["cell"]: c for c in results["cells"]}
    refs = [r for r in study["cells"] if r["cell"] in by_id]
    labels: list[str] = []
    for r in refs:
        if str(r["level"]) not in labels:
            labels.append(str(r["level"]))
    slices: dict[str, list[CellRef]] = {}
    for r in refs:
        slices.setdefault(fmt_slice(r["slice"]), []).append(r)
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.subplots()
    width = 0.04
    for s_i, (s_key, group) in enumerate(slices.items()):
        for p_i, pair in enumerate(PAPER_PAIRS):
            xs, ys, lo, hi = [], [], [], []
            for r in group:
                cell = by_id[r["cell"]]
                block = cell.get("metrics", {}).get(metric, {}).get(pair)
                if block is None:
                    continue
                layer = cell["report_layer"]
                m = block["mean"][layer]
                if m is None:
                    continue
                xs.append(labels.index(str(r["level"])) + (p_i - 1) * width + s_i * width / 3)
                ys.append(m)
                low, high = block["ci_low"][layer], block["ci_high"][layer]
                lo.append(m - (low if low is not None else m))
                hi.append((high if high is not None else m) - m)
            if not xs:
                continue
            label = PAIR_LABELS[pair] + (f" ({s_key})" if s_key else "")
            style = dict(PAIR_STYLE[pair])
            if s_i:
                style["linestyle"] = [":", "-.", "--"][s_i % 3]
            ax.errorbar(xs, ys, yerr=[lo, hi], capsize=3, label=label, markersize=5, **style)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_xlabel(study.get("factor") or "configuration")
    study_layer = study.get("report_layer")
    layer_txt = f"layer {study_layer}" if study_layer is not None else "last layer"
    ax.set_ylabel(f"{METRIC_LABELS.get(metric, metric)} at {layer_txt}")
    ax.set_title(f"Study '{study['name']}': similarity vs {study.get('factor') or 'level'}")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="best")
    return _png(fig)


def figure_key(kind: str, name: str, metric: str) -> str:
    """Key of a figure in make_figures' dict, e.g. 'factor/k_sweep/cosine'."""
    return f"{kind}/{name}/{metric}"


def primary_figure(cells: list[CellSummary]) -> bytes:
    """Shift cosine per layer: the ICL shift against its own IT shift (matched), against
    other examples' IT shifts (mismatched), and against each IT-shaped control's shift."""
    cells = cells[:MAX_PANELS] or [_NO_CELL]
    fig, axes = _panels(len(cells))
    for ax, cell in zip(axes, cells, strict=False):
        sc = cell.get("metrics", {}).get("shift_cosine", {})
        mm = cell.get("metrics", {}).get("shift_cosine_mismatched", {}).get("icl_it")
        if "icl_it" in sc:
            _curve(ax, sc["icl_it"], "matched (own demonstrations)", PAIR_STYLE["icl_it"])
        if mm is not None:
            _curve(ax, mm, "mismatched (other examples' IT)", PAIR_STYLE["mismatched"])
        for pair in IT_CONTROL_PAIRS:
            if pair in sc:
                _curve(ax, sc[pair], pair_label("shift_cosine", pair), PAIR_STYLE[pair])
        if "report_layer" in cell:
            ax.axvline(cell["report_layer"], color="k", linewidth=0.6, linestyle=":")
        ax.axhline(0, color="k", linewidth=0.4)
        _label_panel(ax, cell)
    axes[0].set_ylabel("cosine of the ICL shift with …")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=7, loc="best")
    fig.suptitle("Do ICL and IT move the state the same demonstration-specific way? (mean, 95% CI)")
    return _png(fig)


def primary_factor_figure(study: StudySummary, results: Results) -> bytes:
    """Matched − mismatched shift cosine at the report layer vs the study's factor level,
    with the test-inverted 95% intervals."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    tests = study.get("primary_tests", [])
    labels = [
        str(t["level"]) + (f" ({fmt_slice(t['slice'])})" if t["slice"] else "") for t in tests
    ]
    ys = [t["mean_diff"] if t["mean_diff"] is not None else np.nan for t in tests]
    lo = [y - t["ci_low"] if t["ci_low"] is not None else 0 for y, t in zip(ys, tests, strict=True)]
    hi = [
        t["ci_high"] - y if t["ci_high"] is not None else 0 for y, t in zip(ys, tests, strict=True)
    ]
    ax.errorbar(range(len(ys)), ys, yerr=[lo, hi], capsize=4, marker="o", color="#1f77b4")
    ax.axhline(0, color="k", linewidth=0.6)
    ax.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 3 else 0)
    ax.set_xlabel(study.get("factor") or "configuration")
    ax.set_ylabel("matched − mismatched shift cosine")
    ax.set_title(f"Study '{study['name']}': demonstration-specific convergence")
    ax.grid(alpha=0.3)
    return _png(fig)


def make_figures(results: Results) -> dict[str, bytes]:
    """Every figure the HTML report shows, keyed by figure_key(kind, name, metric)."""
    by_id = {c["cell"]: c for c in results["cells"]}
    out: dict[str, bytes] = {}
    metrics = [m for m in results.get("metrics", []) if m in FIGURE_METRICS]
    for study in results["studies"]:
        cells = [by_id[r["cell"]] for r in study["cells"] if r["cell"] in by_id]
        if cells and any("shift_cosine" in c.get("metrics", {}) for c in cells):
            out[figure_key("primary", study["name"], "shift_cosine")] = primary_figure(cells)
            if len(cells) >= 2 and study.get("factor") and study.get("primary_tests"):
                out[figure_key("primary_factor", study["name"], "shift_cosine")] = (
                    primary_factor_figure(study, results)
                )
        for metric in metrics:
            if cells:
                out[figure_key("layers", study["name"], metric)] = layerwise_figure(cells, metric)
            if len(cells) >= 2 and study.get("factor"):
                out[figure_key("factor", study["name"], metric)] = factor_figure(
                    study, results, metric
                )
    for metric in metrics:
        for entry in results.get("controls", {}).get("random_init", []):
            pair = [by_id[c] for c in (entry.get("matched_cell"), entry["cell"]) if c in by_id]
            out[figure_key("random_init", entry["cell"], metric)] = layerwise_figure(pair, metric)
    tuning = tuning_loss_figure(results)
    if tuning is not None:
        out[TUNING_FIGURE_KEY] = _png(tuning)
    return out
