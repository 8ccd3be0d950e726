"""From hidden states to the RESULTS document (schema ``icl-it/results/v1``).

Two steps, both pure functions over plain data:

    analyze_run(run, states, metrics) -> per-run result (per-example values; JSON-ready)
    summarize_experiment(spec, runs)  -> RESULTS document (aggregates, tests, statements)

Sample units: cosine metrics give one value per (inference example, layer) in each run;
CKA gives one value per layer per run (it is computed across the run's examples).
A *cell* is a configuration without its seed; cells pool their runs' values.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.analysis import metrics as M
from services.analysis import stats as S
from services.common.spec import ExperimentSpec, RunConfig
from services.common.states import RunStates, layer_names

SCHEMA_ID = "icl-it/results/v1"
CONFIG_SECTIONS = ("model", "data", "inference", "demos", "template", "lora", "extraction")
FACTOR_PAIRS = ("icl_it", "anchor_icl", "anchor_it")  # shown side by side in studies

CONVENTIONS: dict[str, Any] = {
    "layer_indexing": "Layer 0 is the embedding output; layer i (1..n_layers) is the output "
    "of decoder block i (transformers hidden_states[i]).",
    "position": "last prompt token",
    "pairs": {
        "icl_it": "ICL condition vs IT condition (LoRA tuned on the demonstrations)",
        "anchor_icl": "anchor (zero-shot, base model) vs ICL",
        "anchor_it": "anchor vs IT",
        "icl_it_untuned": "ICL vs IT with an untuned (zero-step) adapter: control",
    },
    "metrics": {
        "cosine": "Cosine similarity of the two conditions' hidden states, per example and "
        "layer (the paper's metric; inflated by anisotropy).",
        "centered_cosine": "Cosine similarity after subtracting, per layer, the mean anchor "
        "hidden state over the run's inference examples from both states.",
        "cka": "Debiased linear CKA (unbiased HSIC, Song et al. 2012; Nguyen, Raghu & "
        "Kornblith 2021) between the two conditions' hidden states across the run's "
        "inference examples, per layer; undefined (null) with fewer than 4 examples.",
    },
    "ci_method": "Means with two-sided 95% Student-t intervals. Cells pool every "
    "(seed, example) value of cosine metrics (n = examples x seeds) and the per-seed "
    "values of CKA (n = seeds); n = 1 collapses the interval to the mean. Accuracy: "
    "Wilson 95% interval over labelled (seed, example) pairs.",
    "tests": "ICL–IT vs anchor–ICL at the report layer: paired over inference examples "
    "(values first averaged over seeds) for cosine metrics, over seeds for CKA; mean "
    "difference with a percentile-bootstrap 95% CI and a two-sided sign-flip permutation "
    "p-value (exact for n <= 16). Factor trend: Spearman rho (numeric levels) or "
    "between-level sum of squares (other levels) of ICL–IT similarity, with a permutation "
    "p-value shuffling levels within each example (or seed). Significant means p < 0.05, "
    "with no correction for multiple comparisons.",
    "accuracy": "Argmax over the label logits at the last prompt token; examples without "
    "a label are ignored.",
}


# ---------------------------------------------------------------------------------------
# Per run


def _jsonable(x: Any) -> Any:
    """numpy -> python; NaN/inf -> None (JSON null)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def _cell_id(run: dict[str, Any]) -> str:
    if run.get("cell"):
        return str(run["cell"])
    return RunConfig.model_validate(run).cell


def analyze_run(run: dict[str, Any], states: RunStates, metrics: list[str]) -> dict[str, Any]:
    """Per-run result, JSON-serializable (NaN -> null).

    run: a RunConfig dump (``model_dump(mode="json")``), optionally with "cell".
    Per-example metrics (cosine, centered_cosine): values[pair] is
    [n_examples][n_layers+1]; cka: values[pair] is [n_layers+1]. Pairs whose conditions
    are missing are skipped; centered_cosine needs the anchor condition.
    """
    pairs = M.available_pairs(states.conditions)
    n_layers = states.n_layers
    anchor_mu = M.anchor_mean(states.condition("anchor")) if "anchor" in states.conditions else None
    values: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        per_pair: dict[str, Any] = {}
        for pair, (ca, cb) in pairs.items():
            a, b = states.condition(ca), states.condition(cb)  # [n, L, d]
            if metric == "cosine":
                # one layer at a time: bounds float64 copies for large models
                per_pair[pair] = np.stack(
                    [M.cosine(a[:, i], b[:, i]) for i in range(n_layers + 1)], axis=1
                )
            elif metric == "centered_cosine":
                if anchor_mu is None:
                    continue
                per_pair[pair] = np.stack(
                    [
                        M.cosine(a[:, i] - anchor_mu[i], b[:, i] - anchor_mu[i])
                        for i in range(n_layers + 1)
                    ],
                    axis=1,
                )
            elif metric == "cka":
                per_pair[pair] = M.layerwise_cka(a, b)
            else:
                raise ValueError(f"unknown metric {metric!r}")
        values[metric] = per_pair
    correct = {
        c: M.correct(states.label_logits[:, j], states.labels)
        for j, c in enumerate(states.conditions)
    }
    return _jsonable(
        {
            "key": run["key"],
            "cell": _cell_id(run),
            "studies": list(run.get("studies", [])),
            "factors": dict(run.get("factors", {})),
            "control": run.get("control", "none"),
            "seed": run.get("seed"),
            "config": {s: run[s] for s in CONFIG_SECTIONS if s in run},
            "n_examples": int(states.hidden.shape[0]),
            "n_layers": n_layers,
            "layer_names": states.layer_names,
            "conditions": list(states.conditions),
            "example_ids": list(states.example_ids),
            "label_names": list(states.label_names),
            "values": values,
            "correct": correct,
            "accuracy": {
                c: M.accuracy(states.label_logits[:, j], states.labels)
                for j, c in enumerate(states.conditions)
            },
        }
    )


# ---------------------------------------------------------------------------------------
# Cells: runs that differ only by seed


def _arr(x: Any) -> np.ndarray:
    """JSON list (None = NaN) -> float64 array."""
    return np.array(x if x is not None else np.nan, dtype=np.float64)


@dataclass
class _Cell:
    id: str
    runs: list[dict[str, Any]]
    n_layers: int
    example_ids: list[str]  # common to every run, in the first run's order
    seeds: list[Any]
    per_example: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # [n_ex, L]
    pooled: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # [seeds*n_ex, L]
    per_seed: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # [n_seeds, L]
    report_layer: int = 0

    @property
    def first(self) -> dict[str, Any]:
        return self.runs[0]

    @property
    def control(self) -> str:
        return self.first["control"]

    @property
    def config(self) -> dict[str, Any]:
        return self.first.get("config", {})

    @property
    def studies(self) -> list[str]:
        seen: list[str] = []
        for r in self.runs:
            seen += [s for s in r["studies"] if s not in seen]
        return seen

    def values_at(self, metric: str, pair: str, layer: int) -> np.ndarray | None:
        """Paired-test samples at one layer: per example (seed-averaged) or per seed."""
        src = self.per_seed if metric in M.ACROSS_EXAMPLE_METRICS else self.per_example
        arr = src.get(metric, {}).get(pair)
        return None if arr is None else arr[:, layer]


def _build_cell(cell_id: str, runs: list[dict[str, Any]], report_layer: int | None) -> _Cell:
    runs = sorted(runs, key=lambda r: (r.get("seed") is None, r.get("seed")))
    ids = [i for i in runs[0]["example_ids"] if all(i in r["example_ids"] for r in runs)]
    cell = _Cell(
        id=cell_id,
        runs=runs,
        n_layers=int(runs[0]["n_layers"]),
        example_ids=ids,
        seeds=[r.get("seed") for r in runs],
    )
    for metric, per_pair in runs[0]["values"].items():
        pairs = [p for p in per_pair if all(p in r["values"].get(metric, {}) for r in runs)]
        for pair in pairs:
            if metric in M.ACROSS_EXAMPLE_METRICS:
                cell.per_seed.setdefault(metric, {})[pair] = np.stack(
                    [_arr(r["values"][metric][pair]) for r in runs]
                )
                continue
            stacked = []  # [n_seeds, n_ex, L] aligned on the common example ids
            for r in runs:
                v = _arr(r["values"][metric][pair])
                pos = {e: k for k, e in enumerate(r["example_ids"])}
                stacked.append(v[[pos[e] for e in ids]])
            s = np.stack(stacked)
            cell.pooled.setdefault(metric, {})[pair] = np.concatenate(
                [_arr(r["values"][metric][pair]) for r in runs]
            )
            cell.per_example.setdefault(metric, {})[pair] = S.mean_ci(s, axis=0)["mean"]
    last = cell.n_layers
    cell.report_layer = last if report_layer is None else min(report_layer, last)
    return cell


def _stat_block(values: np.ndarray) -> dict[str, Any]:
    """values: [n, L] -> per-layer mean, std, ci_low, ci_high, n."""
    s = S.mean_ci(values, axis=0)
    return {k: s[k] for k in ("mean", "std", "ci_low", "ci_high", "n")}


def _at(block: dict[str, Any], layer: int) -> dict[str, Any]:
    return {k: block[k][layer] for k in ("mean", "std", "ci_low", "ci_high", "n")}


def _cell_accuracy(cell: _Cell) -> dict[str, Any]:
    out: dict[str, Any] = {}
    conds = [c for c in cell.first["correct"] if all(c in r["correct"] for r in cell.runs)]
    for c in conds:
        v = np.concatenate([_arr(r["correct"][c]).reshape(-1) for r in cell.runs])
        v = v[~np.isnan(v)]
        k, n = int(v.sum()), int(v.size)
        lo, hi = S.wilson_ci(k, n)
        out[c] = {"mean": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi, "n": n}
    return out


def _cell_summary(cell: _Cell, report_layer_requested: int | None) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for metric, per_pair in cell.pooled.items():
        metrics[metric] = {p: _stat_block(v) for p, v in per_pair.items()}
    for metric, per_pair in cell.per_seed.items():
        metrics[metric] = {p: _stat_block(v) for p, v in per_pair.items()}
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
        and report_layer_requested > cell.n_layers,
        "metrics": metrics,
        "accuracy": _cell_accuracy(cell),
    }


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for metric, per_pair in run["values"].items():
        if metric in M.ACROSS_EXAMPLE_METRICS:
            metrics[metric] = {p: {"value": _arr(v)} for p, v in per_pair.items()}
        else:
            metrics[metric] = {p: _stat_block(_arr(v)) for p, v in per_pair.items()}
    keep = ("key", "cell", "studies", "factors", "control", "seed", "n_examples", "n_layers")
    return {
        **{k: run[k] for k in keep},
        "conditions": run["conditions"],
        "metrics": metrics,
        "accuracy": run["accuracy"],
    }


# ---------------------------------------------------------------------------------------
# Tests between and within cells


def _paired(
    ca: _Cell, pa: str, cb: _Cell, pb: str, metric: str, layer_a: int, layer_b: int
) -> dict[str, Any] | None:
    """Paired test of cell a's pair pa vs cell b's pair pb, aligned by example or seed."""
    va, vb = ca.values_at(metric, pa, layer_a), cb.values_at(metric, pb, layer_b)
    if va is None or vb is None:
        return None
    ua = ca.seeds if metric in M.ACROSS_EXAMPLE_METRICS else ca.example_ids
    ub = cb.seeds if metric in M.ACROSS_EXAMPLE_METRICS else cb.example_ids
    common = [u for u in ua if u in ub]
    ia = [ua.index(u) for u in common]
    ib = [ub.index(u) for u in common]
    return S.paired_difference_test(va[ia], vb[ib])


def _unit_label(metric: str, cells: list[_Cell]) -> str:
    if metric in M.ACROSS_EXAMPLE_METRICS:
        return "seeds"
    seeds = {len(c.runs) for c in cells}
    if seeds == {1}:
        return "examples"
    k = seeds.pop() if len(seeds) == 1 else "several"
    return f"examples, each averaged over {k} seeds"


def _get_dotted(config: dict[str, Any], dotted: str) -> Any:
    section, name = dotted.split(".", 1)
    return config.get(section, {}).get(name)


def _key(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


def _trend(cells: list[_Cell], levels: list[Any], metric: str) -> dict[str, Any] | None:
    """ICL–IT at each cell's report layer across levels (one cell per level)."""
    cols = [c.values_at(metric, "icl_it", c.report_layer) for c in cells]
    if any(v is None for v in cols):
        return None
    across = metric in M.ACROSS_EXAMPLE_METRICS
    units = [c.seeds if across else c.example_ids for c in cells]
    common = [u for u in units[0] if all(u in us for us in units[1:])]
    blocked = len(common) >= 2 and all(len(us) == len(common) for us in units)
    if blocked:
        cols = [v[[us.index(u) for u in common]] for v, us in zip(cols, units, strict=True)]
    return S.trend_test(cols, levels, blocked=blocked)


def _study(
    study: Any, cells: list[_Cell], metrics: list[str], report_layer: int | None
) -> dict[str, Any]:
    factor = study.factor or next(iter(study.sweep), None)
    mine = [c for c in cells if study.name in c.studies and c.control == "none"]
    order = {_key(v): i for i, v in enumerate(study.sweep.get(factor, []))} if factor else {}
    others = [k for k in study.sweep if k != factor]

    def level(c: _Cell) -> Any:
        if not factor:
            return None
        if factor.split(".", 1)[0] in c.config:  # the resolved value, whichever study ran it
            return _get_dotted(c.config, factor)
        return c.first["factors"].get(factor)

    mine.sort(key=lambda c: order.get(_key(level(c)), len(order)))
    slices: dict[str, list[_Cell]] = {}
    for c in mine:
        sl = {k: _get_dotted(c.config, k) for k in others}
        slices.setdefault(_key(sl), []).append(c)

    cell_refs, tests, trends = [], [], []
    for c in mine:
        sl = {k: _get_dotted(c.config, k) for k in others}
        cell_refs.append({"cell": c.id, "level": level(c), "slice": sl})
        for metric in metrics:
            t = _paired(c, "icl_it", c, "anchor_icl", metric, c.report_layer, c.report_layer)
            if t is not None:
                tests.append(
                    {
                        "metric": metric,
                        "cell": c.id,
                        "level": level(c),
                        "slice": sl,
                        "layer": c.report_layer,
                        "a": "icl_it",
                        "b": "anchor_icl",
                        **t,
                    }
                )
    for sl_key, group in slices.items():
        levels = [level(c) for c in group]
        if factor is None or len({_key(v) for v in levels}) != len(levels) or len(levels) < 2:
            continue
        for metric in metrics:
            t = _trend(group, levels, metric)
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
    layers = {c.report_layer for c in mine}
    layer = layers.pop() if len(layers) == 1 else None
    statements = {}
    for metric in metrics:
        pts = [(t["level"], t) for t in tests if t["metric"] == metric]
        tr = [t for t in trends if t["metric"] == metric]
        statements[metric] = S.statement_for_study(
            metric,
            layer,
            pts,
            trend=tr[0] if len(tr) == 1 and len(slices) == 1 else None,
            factor=factor,
            n_unit=_unit_label(metric, mine),
        )
    primary = next((m for m in metrics if m in M.PER_EXAMPLE_METRICS), None)
    primary = primary or (metrics[0] if metrics else None)
    return {
        "name": study.name,
        "description": study.description,
        "factor": factor,
        "levels": list(study.sweep.get(factor, [])) if factor else [],
        "report_layer": report_layer,
        "cells": cell_refs,
        "tests": tests,
        "trends": trends,
        "primary_metric": primary,
        "statements": statements,
        "statement": statements.get(primary, "") if primary else "No results yet.",
    }


def _controls(cells: list[_Cell], metrics: list[str]) -> dict[str, Any]:
    real = [c for c in cells if c.control == "none"]
    by_config = {_key(c.config): c for c in real}
    random_init = []
    for rc in (c for c in cells if c.control == "random_init"):
        match = by_config.get(_key(rc.config))
        entry: dict[str, Any] = {
            "cell": rc.id,
            "matched_cell": match.id if match else None,
            "model": rc.config.get("model", {}).get("name"),
            "layer": rc.report_layer,
            "metrics": {},
        }
        for metric in metrics:
            per_pair = {}
            for pair in FACTOR_PAIRS:
                rnd = _cell_pair_at(rc, metric, pair)
                if rnd is None:
                    continue
                per_pair[pair] = {
                    "random_init": rnd,
                    "real": _cell_pair_at(match, metric, pair) if match else None,
                }
            if match is not None:
                t = _paired(
                    match, "icl_it", rc, "icl_it", metric, match.report_layer, rc.report_layer
                )
                if t is not None:
                    per_pair["test_icl_it_real_vs_random"] = t
            entry["metrics"][metric] = per_pair
        random_init.append(entry)
    untuned = []
    for c in real:
        entry = {
            "cell": c.id,
            "factors": c.first["factors"],
            "layer": c.report_layer,
            "metrics": {},
        }
        for metric in metrics:
            a, b = _cell_pair_at(c, metric, "icl_it"), _cell_pair_at(c, metric, "icl_it_untuned")
            if a is None or b is None:
                continue
            t = _paired(c, "icl_it", c, "icl_it_untuned", metric, c.report_layer, c.report_layer)
            entry["metrics"][metric] = {"icl_it": a, "icl_it_untuned": b, "test": t}
        if entry["metrics"]:
            untuned.append(entry)
    return {
        "random_init": random_init,
        "untuned_adapter": untuned,
        "notes": "random_init: the same procedure on a random-init copy of the model; "
        "similarity there shows what the metric gives without learned structure. "
        "untuned_adapter: IT with a zero-step adapter, i.e. the base model without "
        "demonstrations; ICL–IT must exceed ICL–IT(untuned) for tuning to matter.",
    }


def _cell_pair_at(cell: _Cell, metric: str, pair: str) -> dict[str, Any] | None:
    src = cell.per_seed if metric in M.ACROSS_EXAMPLE_METRICS else cell.pooled
    v = src.get(metric, {}).get(pair)
    return None if v is None else _at(_stat_block(v), cell.report_layer)


# ---------------------------------------------------------------------------------------


def summarize_experiment(spec: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The RESULTS document (schema icl-it/results/v1; JSON-serializable, NaN -> null).

    spec: an ExperimentSpec as a dict; runs: analyze_run outputs (any order).
    report_layer = spec["report_layer"], or each cell's last layer when None (clamped to
    the cell's last layer when the model has fewer layers).
    """
    model = ExperimentSpec.model_validate(spec)
    metrics = list(model.metrics)
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(r["cell"], []).append(r)
    cells = [_build_cell(cid, rs, model.report_layer) for cid, rs in groups.items()]
    present = [m for m in metrics if any(m in r["values"] for r in runs)]
    doc = {
        "schema": SCHEMA_ID,
        "conventions": CONVENTIONS,
        "spec": model.model_dump(mode="json"),
        "metrics": present,
        "runs": [_run_summary(r) for r in runs],
        "cells": [_cell_summary(c, model.report_layer) for c in cells],
        "studies": [
            _study(s, cells, present, model.report_layer) for s in model.effective_studies()
        ],
        "controls": _controls(cells, present),
    }
    return _jsonable(doc)
