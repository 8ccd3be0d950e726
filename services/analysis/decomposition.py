"""A cell's pairing tests: matched vs mismatched (on M) and its decomposition into a
demonstration-specific part (own vs cross adapter, on C) and a part that comes with the
input (cross adapter vs mismatched), each by permuting the pairing within adapter groups.

The matrices come from each run's analysis (``shift_matrices.pairing_matrices``) and are
averaged over the cell's seeds first (the same examples recur in every seed; they are the
sample units), then tested at one layer.
"""

from __future__ import annotations

import numpy as np

from services.analysis.documents import (
    MatrixName,
    PairingTest,
    PairingTests,
    RunAnalysis,
    RunPairing,
    SeedAveragedPairing,
)
from services.analysis.pairing import no_pairing_test, pairing_permutation_test
from services.analysis.shift_matrices import MATRICES

# name in results.json -> (matrix, what the diagonal and the off-diagonal are)
DECOMPOSITION: dict[str, tuple[MatrixName, str, str]] = {
    "demonstration_specific": ("own_cross", "own adapter", "cross adapter"),
    "input_specific": ("input", "cross adapter", "mismatched"),
}


def _blocks(pairing: RunPairing) -> list[tuple[str, ...]]:
    return [tuple(b) for b in pairing.get("blocks", [])]


def seed_averaged_pairing(
    runs: list[RunAnalysis], example_ids: list[str]
) -> SeedAveragedPairing | None:
    """The runs' pairing matrices averaged over seeds: {"blocks": [[row index into
    example_ids]], "cross": bool, "n_seeds": int, name: [per block array [L, m, m]]}.
    Only runs whose blocks equal the first run's are averaged (the same adapter groups);
    None when no run has matrices or a block leaves the cell's examples."""
    with_pairing = [
        p for p in (r.get("pairing") for r in runs) if p and p.get("matched") is not None
    ]
    if not with_pairing:
        return None
    blocks = _blocks(with_pairing[0])
    same = [p for p in with_pairing if _blocks(p) == blocks]
    if any(e not in example_ids for b in blocks for e in b):
        return None
    out: SeedAveragedPairing = {
        "blocks": [[example_ids.index(e) for e in b] for b in blocks],
        "cross": all(bool(p.get("cross")) for p in same),
        "n_seeds": len(same),
    }
    for name in MATRICES:
        if not all(p.get(name) is not None for p in same):
            continue
        out[name] = [
            np.mean([np.array(p[name][k], dtype=np.float64) for p in same], axis=0)
            for k in range(len(blocks))
        ]
    return out


def _full_matrix(pairing: SeedAveragedPairing, name: MatrixName, layer: int, n: int) -> np.ndarray:
    """[n, n] at one layer: each block's entries in place, NaN outside the blocks."""
    a = np.full((n, n), np.nan)
    for block, mat in zip(pairing["blocks"], pairing[name], strict=True):
        a[np.ix_(block, block)] = mat[layer]
    return a


def pairing_tests(pairing: SeedAveragedPairing | None, layer: int, n: int) -> PairingTests:
    """{"pairing_test": matched vs mismatched, "decomposition": {demonstration_specific,
    input_specific} or None without the cross-adapter extraction}, at one layer."""
    if pairing is None or "matched" not in pairing:
        return {
            "pairing_test": no_pairing_test("no pairing matrices (fewer than 2 examples)"),
            "decomposition": None,
        }
    blocks = pairing["blocks"]
    test = pairing_permutation_test(_full_matrix(pairing, "matched", layer, n), blocks)
    test["a"], test["b"] = "matched", "mismatched"
    if not pairing.get("cross") or any(name not in pairing for name in MATRICES):
        return {"pairing_test": test, "decomposition": None}
    parts: dict[str, PairingTest] = {}
    own = _full_matrix(pairing, "own_cross", layer, n)
    for part, (name, a_label, b_label) in DECOMPOSITION.items():
        t = pairing_permutation_test(_full_matrix(pairing, name, layer, n), blocks)
        if part == "input_specific":  # the statistic is cross minus mismatched
            cross_mean = _mean_off_diagonal(own, blocks)
            t["mean_a"], t["mean_b"] = cross_mean, cross_mean - t["mean_diff"]
        t["a"], t["b"] = a_label, b_label
        parts[part] = t
    return {"pairing_test": test, "decomposition": parts}


def _mean_off_diagonal(a: np.ndarray, blocks: list[list[int]]) -> float:
    """Mean over rows of the row's off-diagonal mean inside its block (NaN ignored)."""
    rows = []
    for block in blocks:
        sub = a[np.ix_(block, block)].copy()
        np.fill_diagonal(sub, np.nan)
        ok = np.isfinite(sub)
        rows += list(np.where(ok, sub, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1))
    return float(np.mean(rows)) if rows else float("nan")
