"""What bf16 does to the science: the accuracy gates of bench.precision, on plain documents.

Inputs are the pipeline's own documents of the same runs in two precisions: per-run
analyses (``analysis.pipeline.analyze_run``) and the results documents
(``summarize_experiment``). Nothing here runs a model.

- ``metric_diffs``: max |a - b| of every similarity metric and pair (every example, layer);
- ``per_example``: per example, the primary statistic (matched minus mismatched ICL-IT shift
  cosine) and each control contrast (ICL-IT shift cosine minus ICL-IT_control) at the
  report layer, in both, and their differences;
- ``conclusions``: every test in the results document (anything with a p-value): whether
  it is significant and its direction, in both; which differ;
- ``final_losses``: the IT final losses of both.

Thresholds (``GATES``) were chosen from the figures of bench/NOTES.md ("Precision").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from bench.report import compare_analyses
from services.analysis.documents import Results, RunAnalysis

# Gates a bf16 run must pass against fp32 (see bench/NOTES.md, "Precision", for the
# figures they were chosen from).
GATES = {
    "max_abs_similarity_diff": 0.05,  # any metric, pair, example, layer
    "max_abs_primary_diff": 0.02,  # per example, at the report layer
    "max_abs_final_loss_diff": 0.05,
    "changed_conclusions": 0,
}
PRIMARY = ("shift_cosine", "shift_cosine_mismatched", "icl_it")
CONTROL_PAIRS = ("icl_it_cross", "icl_it_shuffled", "icl_it_random")
DIRECTION_KEYS = ("mean_diff", "slope", "estimate", "statistic")
UNBOUNDED = {"shift_norm"}  # a norm, not a similarity: its differences are in state units


def _layer_values(analysis: RunAnalysis, metric: str, pair: str) -> np.ndarray | None:
    """[example, layer] of one metric and pair, or None when the run lacks it."""
    v: Any = analysis["values"].get(metric, {}).get(pair)
    if v is None:
        return None
    a = np.array([[np.nan if x is None else x for x in row] for row in v], dtype=np.float64)
    return a if a.ndim == 2 else None


def statistics(analysis: RunAnalysis, layer: int | None) -> dict[str, list[float]]:
    """Per example at ``layer`` (None: the last, the final norm): the primary statistic
    and each control contrast the run has."""
    matched_metric, mismatched_metric, pair = PRIMARY
    matched = _layer_values(analysis, matched_metric, pair)
    if matched is None:
        return {}
    at = matched.shape[1] - 1 if layer is None else layer
    out: dict[str, list[float]] = {}
    mismatched = _layer_values(analysis, mismatched_metric, pair)
    if mismatched is not None:
        out["primary"] = (matched[:, at] - mismatched[:, at]).tolist()
    for control in CONTROL_PAIRS:
        other = _layer_values(analysis, matched_metric, control)
        if other is not None:
            out[f"icl_it - {control}"] = (matched[:, at] - other[:, at]).tolist()
    return out


def per_example(a: list[RunAnalysis], b: list[RunAnalysis], layer: int | None) -> dict[str, Any]:
    """Per run and statistic: the values in a and in b and the largest |difference|."""
    runs: list[dict[str, Any]] = []
    worst: dict[str, float] = {}
    for ra, rb in zip(a, b, strict=True):
        sa, sb = statistics(ra, layer), statistics(rb, layer)
        entry: dict[str, Any] = {"run": ra["key"], "cell": ra["cell"], "stats": {}}
        for name in sa:
            d = np.abs(np.array(sa[name]) - np.array(sb[name]))
            m = float(np.nanmax(d)) if d.size and not np.all(np.isnan(d)) else 0.0
            worst[name] = max(worst.get(name, 0.0), m)
            entry["stats"][name] = {"a": sa[name], "b": sb[name], "max_abs_diff": m}
        runs.append(entry)
    return {"max_abs_diff": worst, "runs": runs}


def metric_diffs(a: list[RunAnalysis], b: list[RunAnalysis]) -> dict[str, Any]:
    """max |a - b| per metric/pair over every run (bench.harness.compare_analyses), and
    per run. ``max_abs`` is over the bounded similarities (UNBOUNDED metrics, norms in
    the states' units, are reported but not gated)."""
    per: dict[str, float] = {}
    by_run: dict[str, float] = {}
    for ra, rb in zip(a, b, strict=True):
        for k, v in compare_analyses(ra, rb)["by_metric_pair"].items():
            per[k] = max(per.get(k, 0.0), v)
            if k.split("/")[0] not in UNBOUNDED:
                by_run[ra["key"]] = max(by_run.get(ra["key"], 0.0), v)
    bounded = [v for k, v in per.items() if k.split("/")[0] not in UNBOUNDED]
    return {"max_abs": max(bounded, default=0.0), "by_metric_pair": per, "by_run": by_run}


def _tests(doc: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict with a p-value in a results document, by its path."""
    if isinstance(doc, dict):
        if "p_value" in doc:
            yield path, doc
        for k, v in doc.items():
            yield from _tests(v, f"{path}/{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _tests(v, f"{path}[{i}]")


def conclusion(test: dict[str, Any]) -> tuple[bool, int]:
    """(significant, direction) of one test: significant as the test says (else p < 0.05),
    direction the sign of its effect (0 when it has none)."""
    p = test.get("p_value")
    significant = bool(test.get("significant", p is not None and p < 0.05))
    effect = next((test[k] for k in DIRECTION_KEYS if test.get(k) is not None), 0.0)
    return significant, int(np.sign(effect))


def conclusions(doc_a: Results, doc_b: Results) -> dict[str, Any]:
    """Every test's (significant, direction) in both documents; the ones that differ. A
    change of direction counts only where either side is significant."""
    ta, tb = dict(_tests(doc_a)), dict(_tests(doc_b))
    changed = []
    for path, test in ta.items():
        if path not in tb:
            changed.append({"test": path, "a": conclusion(test), "b": None})
            continue
        (sig_a, dir_a), (sig_b, dir_b) = conclusion(test), conclusion(tb[path])
        if sig_a != sig_b or ((sig_a or sig_b) and dir_a != dir_b):
            changed.append({"test": path, "a": (sig_a, dir_a), "b": (sig_b, dir_b)})
    return {
        "n_tests": len(ta),
        "n_significant": [
            sum(conclusion(t)[0] for t in ta.values()),
            sum(conclusion(t)[0] for t in tb.values()),
        ],
        "changed": changed,
        "same": not changed,
    }


def final_losses(a: list[RunAnalysis], b: list[RunAnalysis]) -> dict[str, Any]:
    """The IT final losses per example of both, their means and the largest |difference|."""
    la = [x for r in a for x in ((r.get("it") or {}).get("final_loss") or [])]
    lb = [x for r in b for x in ((r.get("it") or {}).get("final_loss") or [])]
    xa = np.array([np.nan if x is None else x for x in la], dtype=np.float64)
    xb = np.array([np.nan if x is None else x for x in lb], dtype=np.float64)
    d = np.abs(xa - xb)
    ok = d.size and not np.all(np.isnan(d))
    return {
        "a": la,
        "b": lb,
        "mean_a": float(np.nanmean(xa)) if ok else None,
        "mean_b": float(np.nanmean(xb)) if ok else None,
        "max_abs_diff": float(np.nanmax(d)) if ok else 0.0,
    }


def gates(
    analyses_a: list[RunAnalysis],
    analyses_b: list[RunAnalysis],
    doc_a: Results,
    doc_b: Results,
    layer: int | None,
) -> dict[str, Any]:
    """Every accuracy figure of b against a, and whether each gate of ``GATES`` holds."""
    sims = metric_diffs(analyses_a, analyses_b)
    examples = per_example(analyses_a, analyses_b, layer)
    concl = conclusions(doc_a, doc_b)
    losses = final_losses(analyses_a, analyses_b)
    measured = {
        "max_abs_similarity_diff": sims["max_abs"],
        "max_abs_primary_diff": max(examples["max_abs_diff"].values(), default=0.0),
        "max_abs_final_loss_diff": losses["max_abs_diff"],
        "changed_conclusions": len(concl["changed"]),
    }
    passed = {k: measured[k] <= GATES[k] for k in GATES}
    return {
        "similarity": sims,
        "per_example": examples,
        "conclusions": concl,
        "final_losses": losses,
        "measured": measured,
        "thresholds": GATES,
        "passed": passed,
        "all_passed": all(passed.values()),
    }
