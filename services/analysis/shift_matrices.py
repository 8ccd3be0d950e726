"""The pairing matrices of one run, per layer and adapter group (numpy only).

For the examples b of one adapter group (m of them; the whole run when the states carry
no cross-adapter extraction), with s_X = h_X - h_anchor:

    matched  M[l, i, j] = cos(ICL shift_i, IT shift_j)                       [L, m, m]
    own_cross C[l, i, j] = cos(ICL shift_i, shift of input i through adapter j)  [L, m, m]
    input    A[l, i, k] = (P[i, k] - R[i, k]) / m                          [L, m, m]

with X[i, k, j] = cos(ICL shift_i, shift of input k through adapter j), P[i, k] = sum over
j != i of X[i, k, j] and R[j, k] = sum over i != j of X[i, k, j]. M's diagonal minus its
off-diagonal is matched - mismatched; C's is own - cross adapter (demonstration-specific,
only the adapter differs); and A's pairing statistic equals mean(C off-diagonal) -
mean(M off-diagonal) (cross adapter - mismatched: what comes with the input) while
permuting A's pairing relabels which input went through each adapter, so the three tests
share one routine (``pairing.pairing_permutation_test``) and their estimates add up:
matched - mismatched = (own - cross) + (cross - mismatched).

The states' optional arrays (written by the GPU worker; absent in older files):
    cross_hidden:  [n_examples, m_max, n_layers + 2, d_model] float32, the last-token state
                   of input i through the adapter of example cross_adapter[i, j];
    cross_adapter: [n_examples, m_max] int64, -1 = padding.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from services.analysis import metrics
from services.analysis.documents import MatrixName, RunPairing
from services.common.storage.hidden_states import Condition, RunStates

MATRICES: tuple[MatrixName, ...] = ("matched", "own_cross", "input")


def cross_arrays(states: RunStates) -> tuple[np.ndarray, np.ndarray] | None:
    """(cross_hidden, cross_adapter) when the run extracted every input through every
    adapter of its group; None for older files."""
    hidden = getattr(states, "cross_hidden", None)
    adapter = getattr(states, "cross_adapter", None)
    if hidden is None or adapter is None:
        return None
    return np.asarray(hidden), np.asarray(adapter, dtype=np.int64)


def adapter_blocks(cross_adapter: np.ndarray) -> list[list[int]]:
    """Adapter groups from cross_adapter [n, m_max]: the examples whose adapters a row
    covers. Rows that do not cover their own adapter, or whose group disagrees with a
    member's, are left out (the engine guarantees neither happens)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, row in enumerate(cross_adapter):
        members = tuple(sorted(int(j) for j in row if j >= 0))
        if i in members:
            groups.setdefault(members, []).append(i)
    return [list(g) for g, rows in groups.items() if sorted(rows) == list(g) and len(g) >= 2]


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norm, out=np.full(x.shape, np.nan), where=norm > 0)


def _cross_shifts(
    hidden: np.ndarray, adapter: np.ndarray, anchor: np.ndarray, block: list[int], layer: int
) -> np.ndarray:
    """Shifts of input k through adapter j at one layer, for k, j in the block: [m, m, d]."""
    cols = [[int(np.flatnonzero(adapter[k] == j)[0]) for j in block] for k in block]
    state = np.stack([hidden[k, cols[a], layer] for a, k in enumerate(block)])  # [m, m, d]
    return metrics.shift(state, np.broadcast_to(anchor[block, None, layer], state.shape))


def block_matrices(
    s_icl: np.ndarray,
    s_it: np.ndarray,
    cross: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    block: list[int],
) -> dict[str, np.ndarray]:
    """The matrices of one block at every layer (see the module docstring).

    s_icl, s_it: [n, L, d] shifts; cross: (cross_hidden, cross_adapter, anchor) or None.
    -> {"matched": [L, m, m], and with cross "own_cross" and "input"}."""
    u_icl, u_it = _unit(s_icl[block]), _unit(s_it[block])  # [m, L, d]
    out = {"matched": np.einsum("ild,jld->lij", u_icl, u_it)}
    if cross is None:
        return out
    hidden, adapter, anchor = cross
    m, n_layers = len(block), s_icl.shape[1]
    own, inp = np.empty((n_layers, m, m)), np.empty((n_layers, m, m))
    for layer in range(n_layers):
        u_cross = _unit(_cross_shifts(hidden, adapter, anchor, block, layer))  # [k, j, d]
        x = np.einsum("id,kjd->ikj", u_icl[:, layer], u_cross)  # [i, k, j]
        own[layer] = np.einsum("iij->ij", x)
        p = x.sum(axis=2) - np.einsum("iki->ik", x)  # sum over adapters j != i
        r = x.sum(axis=0).T - np.einsum("jkj->jk", x)  # [j, k]: sum over rows i != j
        inp[layer] = (p - r) / m
    out["own_cross"], out["input"] = own, inp
    return out


def pairing_matrices(
    states: RunStates, shifts: Mapping[Condition, np.ndarray]
) -> RunPairing | None:
    """Every block's matrices, JSON-ready: {"blocks": [[example_id, ...]], "cross": bool,
    "matched" | "own_cross" | "input": [per block [L][m][m]]}. None without ICL and IT."""
    if Condition.ICL not in shifts or Condition.IT not in shifts or len(states.example_ids) < 2:
        return None
    arrays = cross_arrays(states)
    n = len(states.example_ids)
    if arrays is None:
        blocks, cross = [list(range(n))], None
    else:
        blocks = adapter_blocks(arrays[1])
        cross = (arrays[0], arrays[1], states.condition("anchor"))
    per_block = [
        block_matrices(shifts[Condition.ICL], shifts[Condition.IT], cross, b) for b in blocks
    ]
    out: RunPairing = {
        "blocks": [[states.example_ids[i] for i in b] for b in blocks],
        "cross": cross is not None,
    }
    for name in MATRICES:
        if all(name in mats for mats in per_block) and per_block:
            out[name] = [mats[name] for mats in per_block]
    return out


def cross_row_values(
    states: RunStates, shifts: Mapping[Condition, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per-example values of the cross-adapter condition over every other adapter of the
    group (replacing the one-neighbour it_cross): shift_cosine (the mean off-diagonal of
    C's row), shift_projection and shift_norm (means over the same adapters), each
    [n, L]; NaN for an example outside every group. {} for older files."""
    arrays = cross_arrays(states)
    if arrays is None or Condition.ICL not in shifts:
        return {}
    hidden, adapter = arrays
    anchor = states.condition("anchor")
    n, n_layers = shifts[Condition.ICL].shape[:2]
    vals = {k: np.full((n, n_layers), np.nan) for k in ("cos", "proj", "norm")}
    for block in adapter_blocks(adapter):
        off = ~np.eye(len(block), dtype=bool)
        for layer in range(n_layers):
            s = _cross_shifts(hidden, adapter, anchor, block, layer)  # [k, j, d]
            s_icl = shifts[Condition.ICL][block, None, layer]  # [k, 1, d]
            per = {
                "cos": metrics.cosine(s_icl, s),
                "proj": metrics.shift_projection(np.broadcast_to(s_icl, s.shape), s),
                "norm": metrics.shift_norm(s),
            }
            for key, v in per.items():
                ok = off & np.isfinite(v)
                total = np.where(ok, v, 0.0).sum(axis=1)
                count = ok.sum(axis=1)
                vals[key][block, layer] = np.divide(
                    total, count, out=np.full(total.shape, np.nan), where=count > 0
                )
    return {
        "shift_cosine": vals["cos"],
        "shift_projection": vals["proj"],
        "shift_norm": vals["norm"],
    }
