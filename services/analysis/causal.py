"""The task-vector check summarised: what a patched shift does to the output.

The GPU worker (``gpu_worker.patching``) adds example i's ICL shift, and separately its
IT shift, to i's zero-shot pass of the base model at a few decoder blocks, and stores per
example, block, shift and partner (own = i, cross = other examples j) the label
log-probs and the KL of the patched output to ICL's and to IT's output (``causal_*``
arrays of ``hidden_states.CAUSAL_AXES``). Here:

    run_causal(states)  -> per-example values of one run (analysis.json, "causal")
    cell_causal(cell)   -> per block: accuracy, label mass and KLs of the patched passes
                           against the plain anchor / ICL / IT outputs, own vs cross
                           paired tests, and one sentence (results.json, cell "causal")

If ICL and IT converge, example i's ICL shift patched into the zero-shot pass should
bring the output close to IT's (small KL to IT), and its IT shift close to ICL's; the
demonstration-specific part is own vs cross: does i's own shift do that better than
another example's? Another example's shift differs in its input and its demonstrations;
with the cross_adapter control the check also has i's OWN input through other examples'
adapters (``cross_adapter`` side of the IT shift), and own vs cross_adapter holds the
input fixed: only the demonstration set differs. Numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from services.analysis import metrics, stats
from services.analysis.documents import (
    CellCausal,
    Curves,
    MeanCI,
    PerExample,
    RunAnalysis,
    RunCausal,
    TestResult,
)
from services.common.storage.hidden_states import (
    CAUSAL_REFERENCES,
    CAUSAL_SHIFTS,
    CAUSAL_UNPATCHED,
    Condition,
    RunStates,
)

MEASURES = ("accuracy", "label_mass") + tuple(f"kl_{r}" for r in CAUSAL_REFERENCES)
OWN, CROSS, CROSS_ADAPTER = "own", "cross", "cross_adapter"


def _measures(lp: np.ndarray, kl: np.ndarray, labels: np.ndarray) -> dict[str, Curves]:
    """lp [n, Lp, P, n_labels], kl [n, Lp, P, R] -> measure -> [n, Lp], averaged over the
    partner axis P (one own partner, or the cross partners)."""
    n, n_layers, n_part, n_labels = lp.shape
    flat = np.moveaxis(lp, 0, -2).reshape(-1, n, n_labels)  # [Lp * P, n, n_labels]
    correct = np.stack([metrics.correct(x, labels) for x in flat]).reshape(n_layers, n_part, n)
    mass = np.stack([metrics.label_mass(x) for x in flat]).reshape(n_layers, n_part, n)
    out: dict[str, Curves] = {
        "accuracy": np.moveaxis(correct, -1, 0).mean(axis=-1),
        "label_mass": np.moveaxis(mass, -1, 0).mean(axis=-1),
    }
    for r, ref in enumerate(CAUSAL_REFERENCES):
        out[f"kl_{ref}"] = kl[..., r].astype(np.float64).mean(axis=-1)
    return out


def run_causal(states: RunStates) -> RunCausal | None:
    """One run's check per example: patched[shift][own|cross][measure] = [n][Lp] (cross:
    the mean over the cross partners), unpatched[condition][kl_<reference>] = [n];
    None when the run did not patch."""
    c = states.causal
    if not c:
        return None
    lp, kl = c["causal_label_logprobs"], c["causal_kl"]
    patched: dict[str, dict[str, dict[str, Curves]]] = {}
    for s, shift in enumerate(CAUSAL_SHIFTS):
        patched[shift] = {OWN: _measures(lp[:, :, s, :1], kl[:, :, s, :1], states.labels)}
        if lp.shape[3] > 1:
            patched[shift][CROSS] = _measures(lp[:, :, s, 1:], kl[:, :, s, 1:], states.labels)
    adapter_lp, adapter_kl = c.get("causal_adapter_label_logprobs"), c.get("causal_adapter_kl")
    if adapter_lp is not None and adapter_kl is not None:  # i's input, others' adapters
        patched[Condition.IT][CROSS_ADAPTER] = _measures(adapter_lp, adapter_kl, states.labels)
    unpatched: dict[str, dict[str, PerExample]] = {
        cond: {
            f"kl_{ref}": c["causal_kl_unpatched"][:, k, r]
            for r, ref in enumerate(CAUSAL_REFERENCES)
        }
        for k, cond in enumerate(CAUSAL_UNPATCHED)
    }
    layers = [int(x) for x in c["causal_layers"]]
    run: RunCausal = {
        "layers": layers,
        "layer_names": [states.layer_names[x] for x in layers],
        "n_cross": int(c["causal_partner"].shape[1] - 1),
        "n_cross_adapter": int(adapter_kl.shape[2]) if adapter_kl is not None else 0,
        "patched": patched,
        "unpatched": unpatched,
        "head_check_max_abs": states.meta.get("causal_head_check_max_abs"),
        "layers_skipped": states.meta.get("causal_layers_skipped", []),
    }
    return run


def _seed_mean(
    runs: list[RunAnalysis], example_ids: list[str], path: tuple[str, ...]
) -> np.ndarray:
    """The per-example array at ``path`` inside each run's analysis (e.g. ("causal",
    "patched", "icl", "own", "kl_it")), aligned on ``example_ids`` and averaged over the
    runs (seeds): examples are the sample units."""
    stacked = []
    for r in runs:
        v: Any = r
        for key in path:
            v = v[key]
        x = np.array(v, dtype=np.float64)  # None (JSON null) -> NaN
        pos = {e: k for k, e in enumerate(r["example_ids"])}
        stacked.append(x[[pos[e] for e in example_ids]])
    x = np.stack(stacked)
    ok = ~np.isnan(x)
    n = ok.sum(axis=0)
    total = np.where(ok, x, 0.0).sum(axis=0)
    return np.divide(total, n, out=np.full(total.shape, np.nan), where=n > 0)


def _stats(values: np.ndarray) -> MeanCI:
    """[n, ...] -> mean, std, ci_low, ci_high, n over examples (Student t)."""
    return stats.summary_stats(values)


def headline_layer(layers: list[int], report_layer: int, n_layers: int) -> int:
    """The block a cell's sentence is about, fixed before the data are seen: the report
    layer when it was patched; else the deepest patched block before the last (after the
    last block only the final norm follows, so an own shift there reproduces its source's
    output by construction); else the last patched block."""
    if report_layer in layers:
        return report_layer
    inner = [x for x in layers if x < n_layers]
    return max(inner) if inner else max(layers)


def cell_causal(
    runs: list[RunAnalysis], example_ids: list[str], report_layer: int
) -> CellCausal | None:
    """A cell's check per patched block (see the module docstring); None when its runs did
    not patch (or patched different blocks)."""
    got = [c for c in (r.get("causal") for r in runs) if c is not None]
    if not got or len(got) < len(runs) or any(g["layers"] != got[0]["layers"] for g in got):
        return None
    first = got[0]
    layers, n_layers = list(first["layers"]), int(runs[0]["n_layers"])
    patched: dict[str, dict[str, dict[str, MeanCI]]] = {}
    own_vs_cross: dict[str, dict[str, list[TestResult]]] = {}
    values: dict[tuple[str, str, str], np.ndarray] = {}
    everywhere = set.intersection(
        *({(s, d) for s in g["patched"] for d in g["patched"][s]} for g in got)
    )
    for shift, all_sides in first["patched"].items():
        sides = [side for side in all_sides if (shift, side) in everywhere]
        for side in sides:
            for m in MEASURES:
                values[shift, side, m] = _seed_mean(
                    runs, example_ids, ("causal", "patched", shift, side, m)
                )
        patched[shift] = {
            side: {m: _stats(values[shift, side, m]) for m in MEASURES} for side in sides
        }
        if CROSS in sides:
            own_vs_cross[shift] = {
                m: [
                    stats.paired_difference_test(
                        values[shift, OWN, m][:, k], values[shift, CROSS, m][:, k]
                    )
                    for k in range(len(layers))
                ]
                for m in MEASURES
            }
    own_vs_adapter = {
        m: [
            stats.paired_difference_test(
                values[Condition.IT, OWN, m][:, k], values[Condition.IT, CROSS_ADAPTER, m][:, k]
            )
            for k in range(len(layers))
        ]
        for m in MEASURES
        if (Condition.IT, CROSS_ADAPTER, m) in values
    }
    unpatched = {
        cond: {
            m: _stats(_seed_mean(runs, example_ids, ("causal", "unpatched", cond, m))) for m in kls
        }
        | {
            m: _stats(_seed_mean(runs, example_ids, (src, cond)))
            for m, src in (("label_mass", "label_mass"), ("accuracy", "correct"))
        }
        for cond, kls in first["unpatched"].items()
    }
    out: CellCausal = {
        "layers": layers,
        "layer_names": list(first["layer_names"]),
        "n_cross": int(first["n_cross"]),
        "n_examples": len(example_ids),
        "headline_layer": headline_layer(layers, report_layer, n_layers),
        "patched": patched,
        "own_vs_cross": own_vs_cross,
        "unpatched": unpatched,
        "head_check_max_abs": max((g.get("head_check_max_abs") or 0.0) for g in got),
        "layers_skipped": list(first.get("layers_skipped", [])),
    }
    if own_vs_adapter:
        out["n_cross_adapter"] = min(int(g.get("n_cross_adapter", 0)) for g in got)
        out["own_vs_cross_adapter"] = own_vs_adapter
    out["statement"] = causal_statement(out)
    return out


def _at(block: MeanCI, k: int) -> float:
    """The mean of a stats block at patched-layer position k (NaN when unknown)."""
    v = block["mean"]
    x = v[k] if np.ndim(v) else v
    return float("nan") if x is None else float(x)


def _shift_sentence(c: CellCausal, shift: str, other: str, k: int) -> str:
    """How patching ``shift``'s shift moves the output's KL to ``other``'s output."""
    m = f"kl_{other}"
    side = c["patched"][shift]
    start = _at(c["unpatched"]["anchor"][m], k=0)
    text = (
        f"patching each example's own {shift.upper()} shift moves the output's KL to "
        f"{other.upper()}'s output from {start:.3g} (zero-shot) to {_at(side[OWN][m], k):.3g}"
    )
    tests = c["own_vs_cross"].get(shift)
    if tests:
        t = tests[m][k]
        text += (
            f"; other examples' {shift.upper()} shifts: {_at(side[CROSS][m], k):.3g} "
            f"(own - cross {t['mean_diff']:.3g}, 95% CI {_bound(t['ci_low'])} to "
            f"{_bound(t['ci_high'])}, p={t['p_value']:.2g})"
        )
    un = c["unpatched"]
    mass = _at(side[OWN]["label_mass"], k)
    return text + (
        f", and its label mass from {_at(un['anchor']['label_mass'], 0):.2f} to {mass:.2f} "
        f"({other.upper()}'s: {_at(un[other]['label_mass'], 0):.2f})"
    )


def _adapter_sentence(c: CellCausal, k: int) -> str:
    """The demonstration-specific version in words (empty without it): each input's own IT
    shift vs its IT shift through other examples' adapters, as KL to its ICL output."""
    tests = c.get("own_vs_cross_adapter")
    if not tests:
        return ""
    t, side = tests["kl_icl"][k], c["patched"][Condition.IT]
    found = "lower" if t["mean_diff"] < 0 else "higher"
    verdict = (
        f"significantly {found} through its own adapter"
        if t["significant"]
        else "no detectable difference"
    )
    mde = t.get("mde")
    power = f"; this could detect a difference of {mde:.3g} or more" if mde is not None else ""
    return (
        f" Demonstration-specific version (same input, other demonstrations): each input's "
        f"IT shift through its own adapter gives a KL to its ICL output of "
        f"{_at(side[OWN]['kl_icl'], k):.3g}, through {c.get('n_cross_adapter', 0)} other "
        f"examples' adapters {_at(side[CROSS_ADAPTER]['kl_icl'], k):.3g} (own - other "
        f"adapters {t['mean_diff']:.3g}, 95% CI {_bound(t['ci_low'])} to "
        f"{_bound(t['ci_high'])}, p={t['p_value']:.2g}): {verdict}{power}."
    )


def _bound(x: float | None) -> str:
    """An interval end; None (unbounded: the test cannot reach alpha) as 'unbounded'."""
    return "unbounded" if x is None or not np.isfinite(x) else f"{x:.3g}"


def causal_statement(c: CellCausal) -> str:
    """The check at the cell's headline block, in words."""
    k = c["layers"].index(c["headline_layer"])
    name = c["layer_names"][k]
    icl_it = _at(c["unpatched"]["icl"]["kl_it"], 0)
    return (
        f"Task-vector check at layer {c['headline_layer']} ({name}; n={c['n_examples']} "
        f"examples, {c['n_cross']} cross partners each): "
        f"{_shift_sentence(c, 'icl', 'it', k)}; {_shift_sentence(c, 'it', 'icl', k)}. "
        f"For scale, KL(ICL's output || IT's output) is {icl_it:.3g}."
        f"{_adapter_sentence(c, k)}"
    )
