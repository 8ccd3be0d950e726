"""From per-run analyses to the RESULTS document (schema ``icl-it/results/v1``).

    run_similarities(run, states, metrics) -> per-run result  (services.analysis.per_run)
    summarize_experiment(spec, runs)       -> RESULTS document (cells, studies, controls,
                                                                statements; pure function)

The pipeline steps over both (with timings, figures and the report) are in
``services.analysis.pipeline``.

The first statement is the primary one: does example i's ICL shift agree with its own IT
shift more than with the IT shifts of examples tuned on other demonstrations?
"""

from __future__ import annotations

import numpy as np

from services.analysis import metrics as similarity
from services.analysis import stats
from services.analysis.cells import (
    Cell,
    arr,
    build_cell,
    cell_summary,
    it_final_losses,
    paired,
    point,
    primary,
    stat_block,
)
from services.analysis.documents import (
    Controls,
    JsonObject,
    LayerStats,
    LayerValues,
    PairingTest,
    PairPoints,
    PointStats,
    PrimaryTest,
    RandomInitControl,
    Results,
    RunAnalysis,
    RunSummary,
    Statement,
    StudySummary,
    TestResult,
)
from services.analysis.pairing import mde_normal
from services.analysis.per_run import jsonable
from services.analysis.statements import PRIMARY_MEASURE, primary_statement, statement_for_study
from services.analysis.stats import ALPHA
from services.analysis.studies import canonical, study_tests
from services.analysis.vocabulary import PAPER_METRICS, PAPER_PAIRS, fmt_p, label_cells
from services.common.spec import ExperimentSpec

__all__ = ["summarize_experiment", "SCHEMA_ID", "CONVENTIONS"]

SCHEMA_ID = "icl-it/results/v1"

CONVENTIONS: JsonObject = {
    "layer_indexing": "Layer 0 is the embedding output; layer i (1..n_layers) is the output "
    "of decoder block i before any final norm (block_i); layer n_layers + 1 is the final "
    "norm's output (final_norm), which is what transformers returns as the last "
    "hidden_states entry. The default report layer is final_norm, fixed before the data "
    "are seen; statements also cover the last block's own output and every layer with a "
    "family-wise correction.",
    "position": "last prompt token",
    "pairs": {
        "icl_it": "ICL vs IT (LoRA tuned on the example's own demonstrations)",
        "anchor_icl": "anchor (zero-shot, base model) vs ICL; for shift metrics, the ICL shift",
        "anchor_it": "anchor vs IT; for shift metrics, the IT shift",
        "icl_it_cross": "ICL vs this input through the adapters tuned on the OTHER examples' "
        "demonstrations (cross-adapter control: every other adapter of the example's "
        "group when the run extracted every input through every adapter, else one "
        "neighbour's)",
        "icl_it_shuffled": "ICL vs an adapter tuned on the same demonstration inputs with "
        "shuffled labels (control)",
        "icl_it_random": "ICL vs a random LoRA (control: no learned direction; scaled until "
        "its state shift at the report layer matches the tuned adapter's where the run "
        "records it_state_norm / random_lora_state_norm, else matched on ||BA||, which moves "
        "the state far less); shift_norm under this pair is the random LoRA's shift norm",
        "icl_it_untuned": "ICL vs the zero-step adapter, which equals the anchor by "
        "construction (an identity check, not a control)",
    },
    "metrics": {
        "cosine": "Cosine similarity of the two conditions' hidden states, per example and "
        "layer (the paper's metric; inflated by anisotropy and by the shift every example "
        "shares).",
        "centered_cosine": "Cosine similarity after subtracting, per layer, the mean anchor "
        "hidden state over the run's inference examples from both states.",
        "cka": "Debiased linear CKA (unbiased HSIC) between the two conditions' states across "
        "the run's examples, per layer, with a permutation null (rows shuffled); left out of "
        "headline tables with fewer than 16 examples (the null's sd is ~0.2 at n = 8).",
        "shift_cosine": "cos(h_ICL - h_anchor, h_X - h_anchor) per example and layer: do ICL "
        "and an IT-shaped condition X move the state the same way?",
        "shift_cosine_mismatched": "Example i's ICL shift against the IT shifts of the other "
        "examples j != i (adapters tuned on other demonstrations), averaged over j: what any "
        "demonstration set of the task gives.",
        "shift_projection": "(s_X . s_ICL) / ||s_ICL||^2: how much of the ICL shift the other "
        "shift reproduces along its direction (1 = all of it).",
        "shift_norm": "||h_X - h_anchor|| per example and layer: how far a condition moved the "
        "state (a flat IT shows here).",
        "shared_fraction": "||mean_i s_i|| / mean_i ||s_i|| across examples, per layer: the "
        "part of a shift common to every example (format learning) vs specific to it.",
    },
    "primary": PRIMARY_MEASURE + "; paired over inference examples (each averaged over seeds).",
    "ci_method": "Per-layer curves: mean over inference examples (each first averaged over "
    "seeds; no pseudo-replication) with a two-sided 95% Student-t interval; CKA and shared "
    "fraction: over seeds. Tests: the 95% interval obtained by inverting the test itself, "
    "so an interval excludes 0 exactly when p < 0.05.",
    "tests": "Primary: the pairing-permutation test on M[i, j] = cos(ICL shift_i, IT "
    "shift_j): mean(diagonal) - mean(off-diagonal), null from permuting the pairing within "
    "adapter groups (exact over every pairing up to 8!, else 100000 Monte Carlo draws with "
    "+1; n_permutations recorded), its interval by inverting it; the same test on "
    "C[i, j] = cos(ICL shift_i, shift of input i through adapter j) (demonstration_"
    "specific) and on the input-relabelling matrix (input_specific). Secondary: two-sided "
    "sign-flip tests over inference examples on row means (exact over all 2^n patterns "
    "for n <= 16). Every test reports min_attainable_p and mde, the minimum detectable "
    "effect at 80% power at its alpha (normal approximation from the null's sd; "
    "mde_experiment at Holm's strictest step over the experiment's primary tests). Every "
    "layer: Westfall-Young step-down max-T sign-flip permutation (family-wise). Holm over "
    "the levels of a study and over every primary test of the experiment; verdicts follow "
    "the experiment-wide Holm when there are several studies. Factor trend: Spearman rho "
    "(numeric levels), Page's L for ordered levels (demos.selection most -> random -> "
    "least similar), else between-level sum of squares, levels permuted within each "
    "example.",
    "accuracy": "Argmax over the label tokens' log-probabilities at the last prompt token "
    "(Wilson 95% interval over labelled seed x example pairs); label_mass: the probability "
    "on the label tokens, which shows whether a condition learned the answer format.",
}


def _controls(cells: list[Cell], metrics: list[str]) -> Controls:
    real = [c for c in cells if c.control == "none"]
    by_config = {canonical(c.config): c for c in real}
    random_init = []
    for rc in (c for c in cells if c.control == "random_init"):
        match = by_config.get(canonical(rc.config))
        entry: RandomInitControl = {
            "cell": rc.id,
            "matched_cell": match.id if match else None,
            "model": rc.config.get("model", {}).get("name"),
            "layer": rc.report_layer,
            "it_final_loss": _final_loss(rc),
            "metrics": {},
        }
        for metric in metrics:
            per_pair: dict[str, PairPoints | TestResult] = {}
            for pair in PAPER_PAIRS:
                rnd = _cell_pair_at(rc, metric, pair)
                if rnd is not None:
                    real_v = _cell_pair_at(match, metric, pair) if match else None
                    per_pair[pair] = {"random_init": rnd, "real": real_v}
            if match is not None:
                t = paired(
                    match, "icl_it", rc, "icl_it", metric, match.report_layer, rc.report_layer
                )
                if t is not None:
                    per_pair["test_icl_it_real_vs_random"] = t
            if per_pair:
                entry["metrics"][metric] = per_pair
        random_init.append(entry)
    identity = []
    for c in real:
        v = c.values("cosine", "icl_it_untuned")
        if v is not None:
            identity.append({"cell": c.id, "note": "zero-step adapter vs anchor", **_identity(c)})
    return {
        "random_init": random_init,
        "identity_checks": identity,
        "notes": "IT-shaped controls (cross-adapter, shuffled labels, random LoRA) are in each "
        "cell's control_tests: the matched ICL/IT shift cosine against the same measure with "
        "the control's adapter. random_init: the whole procedure on a random-init copy of the "
        "model; it shows what the architecture alone gives for the paper's state similarity "
        "(Deutch et al. 2023), and its IT loss shows whether tuning there learned anything. "
        "The zero-step adapter equals the anchor by construction (LoRA B = 0) and is only an "
        "identity check.",
    }


def _identity(cell: Cell) -> JsonObject:
    v = cell.values("cosine", "icl_it_untuned")
    a = cell.values("cosine", "anchor_icl")
    if v is None or a is None:
        return {}
    diff = np.abs(v - a)
    finite = diff[np.isfinite(diff)]
    return {"max_abs_cosine_difference": float(finite.max()) if finite.size else None}


def _final_loss(cell: Cell) -> float | None:
    losses = it_final_losses(cell)
    return sum(losses) / len(losses) if losses else None


def _cell_pair_at(cell: Cell, metric: str, pair: str) -> PointStats | None:
    v = cell.values(metric, pair)
    return None if v is None else point(stat_block(v), cell.report_layer)


def _adjust_across_studies(studies: list[StudySummary]) -> int:
    """Holm over every distinct cell's primary test (a cell shared by several studies
    counts once). Sets p_holm_experiment on each test; returns the family size."""
    by_cell: dict[str, float] = {}
    for s in studies:
        for t in s["primary_tests"]:
            by_cell.setdefault(t["cell"], t["p_value"])
    ids = list(by_cell)
    adjusted = dict(zip(ids, stats.holm([by_cell[i] for i in ids]), strict=True))
    for s in studies:
        for t in s["primary_tests"]:
            t["p_holm_experiment"] = adjusted.get(t["cell"])
            t["mde_experiment"] = _mde_at(t, ALPHA / max(1, len(ids)))
    return len(ids)


def _mde_at(test: PrimaryTest, alpha: float) -> float | None:
    """A pairing test's mde at another alpha (Holm's strictest step over the family);
    None when it cannot reach that alpha."""
    sd, floor = test.get("null_sd"), test.get("min_attainable_p")
    if sd is None or floor is None or not np.isfinite(sd) or floor >= alpha:
        return None
    return mde_normal(sd, alpha, shift_sd=test.get("null_shift_sd") or 0.0)


def _statements(study: StudySummary, metrics: list[str], n_family: int | None) -> dict[str, str]:
    factor = study["factor"]
    pts = [(t["level"], t) for t in study["primary_tests"]]
    one_slice = study["n_slices"] == 1
    trend = next((t for t in study["trends"] if t["metric"] == "shift_cosine"), None)
    out = {
        "primary": primary_statement(
            study["name"],
            factor,
            pts,
            layer=study["report_layer"],
            layer_names=study["layer_names"],
            last_block_tests=[(lv, t["last_block"]) for lv, t in pts],
            fwer=[(lv, t["family_wise"]) for lv, t in pts],
            trend=trend if one_slice else None,
            n_unit=study["unit"],
            n_family=n_family,
        )
    }
    for metric in (m for m in metrics if m in PAPER_METRICS):
        tr = [t for t in study["trends"] if t["metric"] == metric]
        out[metric] = (
            "The paper's comparison (ICL–IT vs anchor–ICL state similarity; "
            "it cannot tell demonstration-specific convergence from the shift every "
            "example shares): "
            + statement_for_study(
                metric,
                study["report_layer"],
                [(t["level"], t) for t in study["tests"] if t["metric"] == metric],
                trend=tr[0] if len(tr) == 1 and one_slice else None,
                factor=factor,
                n_unit="seeds" if metric == "cka" else study["unit"],
            )
        )
    return out


def _random_init_contrasts(cells: list[Cell]) -> dict[str, PairingTest]:
    """Real cell id -> the pairing test of its random-init copy (same configuration)."""
    real = {canonical(c.config): c.id for c in cells if c.control == "none"}
    out = {}
    for c in cells:
        if c.control != "random_init" or canonical(c.config) not in real:
            continue
        got = primary(c)
        if got is not None:
            out[real[canonical(c.config)]] = got["pairing_test"]
    return out


def _random_init_sentence(study: StudySummary, contrasts: dict[str, PairingTest]) -> str:
    """The primary contrast on the random-init copy: an untrained model has no
    demonstration-specific learning, so whatever it shows is input-specific agreement."""
    for t in study["primary_tests"]:
        rnd = contrasts.get(t["cell"])
        if rnd and rnd.get("n"):
            verdict = (
                "so the matched-mismatched contrast also measures input-specific agreement; "
                "own − cross adapter is the demonstration-specific test"
                if rnd["significant"] and rnd["mean_diff"] > 0
                else "within the noise"
            )
            return (
                f" On a random-init copy of the model the same contrast is "
                f"{rnd['mean_diff']:.3f} (pairing p={fmt_p(rnd['p_value'])}, n={rnd['n']}), "
                f"{verdict}."
            )
    return ""


def summarize_experiment(spec: ExperimentSpec | JsonObject, runs: list[RunAnalysis]) -> Results:
    """The RESULTS document (schema icl-it/results/v1; JSON-serializable, NaN -> null).

    spec: an ExperimentSpec (or its dump, parsed here); runs: run_similarities outputs
    (any order).
    report_layer = spec["report_layer"], or each cell's final-norm layer when None
    (clamped to it when the model has fewer layers).
    """
    model = spec if isinstance(spec, ExperimentSpec) else ExperimentSpec.model_validate(spec)
    metrics = list(model.metrics)
    groups: dict[str, list[RunAnalysis]] = {}
    for r in runs:
        groups.setdefault(r["cell"], []).append(r)
    cells = [build_cell(cid, rs, model.report_layer) for cid, rs in groups.items()]
    present: list[str] = [str(m) for m in metrics if any(m in r["values"] for r in runs)]
    studies = [study_tests(s, cells, present) for s in model.effective_studies()]
    n_family = _adjust_across_studies(studies) if len(studies) > 1 else None
    statements: list[Statement] = []
    random_init = _random_init_contrasts(cells)
    for s in studies:
        s["statements"] = _statements(s, present, n_family)
        s["statements"]["primary"] += _random_init_sentence(s, random_init)
        s["statement"] = s["statements"]["primary"]
        statements.append({"study": s["name"], "kind": "primary", "text": s["statement"]})
    for s in studies:
        for metric, text in s["statements"].items():
            if metric != "primary":
                statements.append({"study": s["name"], "kind": f"paper:{metric}", "text": text})
    doc: Results = {
        "schema": SCHEMA_ID,
        "conventions": CONVENTIONS,
        "spec": model.model_dump(mode="json"),
        "metrics": present,
        "statements": statements,
        "runs": [_run_summary(r) for r in runs],
        "cells": label_cells([cell_summary(c, model.report_layer) for c in cells]),
        "studies": studies,
        "controls": _controls(cells, present),
    }
    return jsonable(doc)  # the same fields, as JSON (see ``documents``)


def _run_summary(run: RunAnalysis) -> RunSummary:
    metrics: dict[str, dict[str, LayerStats | LayerValues]] = {}
    for metric, per_pair in run["values"].items():
        if metric in similarity.ACROSS_EXAMPLE_METRICS:
            metrics[metric] = {p: {"value": arr(v)} for p, v in per_pair.items()}
        else:
            metrics[metric] = {p: stat_block(arr(v)) for p, v in per_pair.items()}
    return {
        "key": run["key"],
        "cell": run["cell"],
        "studies": run["studies"],
        "factors": run["factors"],
        "control": run["control"],
        "seed": run["seed"],
        "n_examples": run["n_examples"],
        "n_layers": run["n_layers"],
        "conditions": run["conditions"],
        "metrics": metrics,
        "accuracy": run["accuracy"],
        "it": run.get("it"),
        "precision": run.get("precision"),
    }
