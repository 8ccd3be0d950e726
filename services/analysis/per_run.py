"""Per-run analysis: one run's stored states -> per-example, per-layer values (JSON-ready).

    run_similarities(run, states, metrics) -> {"values": {metric: {pair: ...}}, ...}

The pure computation; ``analysis.pipeline.analyze_run`` is the pipeline step over it.

Per-example metrics give values[metric][pair] as [n_examples][n_layers+2]; metrics
computed across examples (cka, shared_fraction) give [n_layers+2]. NaN -> null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from services.analysis import metrics as similarity
from services.analysis.causal import run_causal
from services.analysis.documents import CkaNull, JsonObject, MetricValues, RunAnalysis
from services.analysis.shift_matrices import cross_row_values, pairing_matrices
from services.common.spec import RUN_SECTIONS, RunConfig
from services.common.storage.hidden_states import Condition, RunStates


def jsonable(x: Any) -> Any:
    """numpy -> python; NaN/inf -> None (JSON null)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    return x


def _per_layer(fn: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """fn over [n, d] slices, one layer at a time (bounds float64 copies for big models)."""
    return np.stack([fn(a[:, i], b[:, i]) for i in range(a.shape[1])], axis=1)


def measure(
    metric: str,
    a: Condition,
    b: Condition,
    states: RunStates,
    shifts: Mapping[Condition, np.ndarray],
    anchor_mu: np.ndarray | None = None,
) -> tuple[np.ndarray, CkaNull | None]:
    """One metric of one pair of conditions -> (values, extra). extra: CKA's permutation
    null per layer ({"p": [L], "null_sd": [L]}), else None."""
    if metric == "cosine":
        return _per_layer(similarity.cosine, states.condition(a), states.condition(b)), None
    if metric == "centered_cosine":
        mu = (
            anchor_mu
            if anchor_mu is not None
            else similarity.anchor_mean(states.condition("anchor"))
        )
        x, y = states.condition(a), states.condition(b)
        return np.stack(
            [similarity.centered_cosine(x[:, i], y[:, i], mu[i]) for i in range(mu.shape[0])],
            axis=1,
        ), None
    if metric == "cka":
        x, y = states.condition(a), states.condition(b)
        got = [similarity.cka_permutation_null(x[:, i], y[:, i]) for i in range(x.shape[1])]
        return np.array([g[0] for g in got]), {
            "p": [g[1] for g in got],
            "null_sd": [g[2] for g in got],
        }
    if metric == "shift_cosine":
        return similarity.shift_cosine(shifts[a], shifts[b]), None
    if metric == "shift_cosine_mismatched":
        return similarity.shift_cosine_mismatched(shifts[a], shifts[b]), None
    if metric == "shift_projection":
        return similarity.shift_projection(shifts[a], shifts[b]), None
    if metric == "shift_norm":  # pair anchor_<c>: the shift of c
        return similarity.shift_norm(shifts[b]), None
    if metric == "shared_fraction":
        return similarity.shared_fraction(shifts[b]), None
    raise ValueError(f"unknown metric {metric!r}")


# metric -> the pair the cross-adapter condition's per-example values go under
_CROSS_PAIRS = {
    "shift_cosine": "icl_it_cross",
    "shift_projection": "icl_it_cross",
    "shift_norm": "anchor_it_cross",
}


def _every_adapter_values(
    values: dict[str, dict[str, MetricValues]],
    states: RunStates,
    shifts: Mapping[Condition, np.ndarray],
) -> None:
    """With every input through every adapter of its group, the cross-adapter values
    average over all the group's other adapters (not one neighbour). Also the random
    LoRA's shift norm under the pair icl_it_random, beside the IT shift's (anchor_it)."""
    for metric, got in cross_row_values(states, shifts).items():
        if metric in values:
            values[metric][_CROSS_PAIRS[metric]] = got
    norms = values.get("shift_norm", {})
    if "anchor_it_random" in norms:
        norms["icl_it_random"] = norms["anchor_it_random"]


def _as_json(analysis: RunAnalysis) -> RunAnalysis:
    """The analysis as JSON (``jsonable``): the same fields, arrays as lists, NaN as None."""
    return jsonable(analysis)


def run_similarities(run: JsonObject, states: RunStates, metrics: list[str]) -> RunAnalysis:
    """Per-run result, JSON-serializable (NaN -> null).

    run: a RunConfig dump (``model_dump(mode="json")``), optionally with "cell" (else
    the dump is parsed once more to compute it).
    Pairs whose conditions are missing are skipped; every metric but cosine and CKA
    needs the anchor condition.
    """
    conds = list(states.conditions)
    has_anchor = "anchor" in conds
    shifts = (
        {c: similarity.shift(states.condition(c), states.condition("anchor")) for c in conds}
        if has_anchor
        else {}
    )
    anchor_mu = similarity.anchor_mean(states.condition("anchor")) if has_anchor else None  # [L, d]
    values: dict[str, dict[str, MetricValues]] = {}
    cka_null: dict[str, CkaNull] = {}
    for metric in metrics:
        if metric not in ("cosine", "cka") and not has_anchor:
            continue
        per_pair: dict[str, MetricValues] = {}
        for pair, (a, b) in similarity.pairs_for(metric, conds).items():
            per_pair[pair], extra = measure(metric, a, b, states, shifts, anchor_mu)
            if extra is not None:
                cka_null[pair] = extra
        values[metric] = per_pair
    _every_adapter_values(values, states, shifts)
    lp = states.label_logprobs
    meta = states.meta
    return _as_json(
        {
            "key": run["key"],
            "cell": run.get("cell") or RunConfig.model_validate(run).cell,
            "studies": list(run.get("studies", [])),
            "factors": dict(run.get("factors", {})),
            "control": run.get("control", "none"),
            "seed": run.get("seed"),
            "config": {s: run[s] for s in RUN_SECTIONS if s in run},
            "n_examples": int(states.hidden.shape[0]),
            "n_layers": states.n_layers,
            "layer_names": states.layer_names,
            "conditions": [str(c) for c in conds],
            "example_ids": list(states.example_ids),
            "label_names": list(states.label_names),
            "values": values,
            "pairing": pairing_matrices(states, shifts) if has_anchor else None,
            "cka_null": cka_null,
            "correct": {
                c: similarity.correct(lp[:, j], states.labels) for j, c in enumerate(conds)
            },
            "accuracy": {
                c: similarity.accuracy(lp[:, j], states.labels) for j, c in enumerate(conds)
            },
            "label_mass": {c: similarity.label_mass(lp[:, j]) for j, c in enumerate(conds)},
            "it": {
                "budget": meta.get("it_budget"),
                "steps": meta.get("it_steps"),
                "final_loss": meta.get("it_final_loss"),
                "loss_curve": meta.get("it_loss_curve"),
                "controls_skipped": meta.get("it_controls_skipped", []),
                "it_state_norm": meta.get("it_state_norm"),
                "random_lora_state_norm": meta.get("random_lora_state_norm"),
            },
            "causal": run_causal(states),
            # the compute precision the states were made in (None: states from before it)
            "precision": (meta.get("model") or {}).get("precision"),
        }
    )
