"""The LoRA tuning loss per step, from the RESULTS document: did tuning converge?

Each run's ``it.loss_curve`` (mean, min and max over its adapters at each step; written by
the GPU step, ``gpu_worker.conditions.loss_curve``) is drawn as a line with a band, one
colour per cell. ``tuning.json`` of each run holds every adapter's own curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from services.analysis.documents import Results
from services.analysis.vocabulary import cell_title

TUNING_FIGURE_KEY = "tuning/all/loss"  # figures.figure_key("tuning", "all", "loss")
MAX_CELLS = 10  # cells beyond this share the last colour's legend entry


def _curve(values: list[Any] | None) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in (values or [])], dtype=np.float64)


def loss_curves(results: Results) -> list[tuple[str, dict[str, np.ndarray]]]:
    """(cell id, {"step", "mean", "min", "max"}) of every run that tuned at least one step."""
    out = []
    for run in results.get("runs", []):
        it = run.get("it")
        curve = (it.get("loss_curve") if it else None) or {}
        if curve.get("step"):
            out.append((run["cell"], {k: _curve(curve.get(k)) for k in curve}))
    return out


def tuning_loss_figure(results: Results) -> Figure | None:
    """Loss vs optimizer step: each run's mean over its adapters, the band their min and
    max; None when no run tuned."""
    curves = loss_curves(results)
    if not curves:
        return None
    cells = {c["cell"]: c for c in results.get("cells", [])}
    order = list(dict.fromkeys(cell for cell, _ in curves))
    fig = Figure(figsize=(7.5, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    labelled: set[str] = set()
    for cell, curve in curves:
        colour = f"C{min(order.index(cell), MAX_CELLS - 1) % 10}"
        title = cell_title(cells[cell]) if cell in cells else cell
        label = title if cell not in labelled and order.index(cell) < MAX_CELLS else None
        labelled.add(cell)
        ax.plot(curve["step"], curve["mean"], color=colour, linewidth=1.2, label=label)
        if "min" in curve and "max" in curve:
            ax.fill_between(curve["step"], curve["min"], curve["max"], color=colour, alpha=0.12)
    ax.set_xlabel("optimizer step (loss of that step's forward pass, before its update)")
    ax.set_ylabel("LoRA training loss (mean over adapters; band: min-max)")
    ax.set_title(f"IT tuning loss, {len(curves)} runs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if labelled:
        ax.legend(fontsize=7, loc="best")
    return fig
