"""Synthetic run states with every input through every adapter (cross_hidden), in plain
numpy, for the pairing and decomposition tests.

    anchor_i                random
    ICL_i      = anchor_i + common*c + demo*u_i + inp*v_i + noise*e
    input k through adapter j = anchor_k + common*c + demo*u_j + inp*v_k + noise*e'
    IT_i       = input i through adapter i

c is the shift every example shares (format learning), u_j the direction adapter j
carries (its demonstrations), v_k the direction that comes with input k. Layer 0 equals
the anchor in every condition (the last token's embedding does not see context).
"""

from __future__ import annotations

import numpy as np

from services.common.storage.hidden_states import RunStates

N_LAYERS, D = 2, 32


def cross_states(
    rng: np.random.Generator,
    n: int,
    *,
    common: float = 4.0,
    demo: float = 0.0,
    inp: float = 0.0,
    noise: float = 1.0,
    group: int | None = None,
) -> RunStates:
    """RunStates with cross_hidden / cross_adapter for adapter groups of size ``group``
    (default: one group of all n)."""
    n_l = N_LAYERS + 2
    anchor = rng.normal(size=(n, n_l, D)) + 2.0
    c = rng.normal(size=(1, n_l, D))
    u = rng.normal(size=(n, n_l, D))
    v = rng.normal(size=(n, n_l, D))

    def moved(k: int, j: int) -> np.ndarray:
        x = anchor[k] + common * c[0] + demo * u[j] + inp * v[k]
        x = x + noise * rng.normal(size=x.shape)
        x[0] = anchor[k, 0]
        return x

    icl = np.stack([moved(i, i) for i in range(n)])
    size = group or n
    groups = [list(range(s, min(n, s + size))) for s in range(0, n, size)]
    m_max = max(len(g) for g in groups)
    cross = np.zeros((n, m_max, n_l, D))
    adapter = np.full((n, m_max), -1, dtype=np.int64)
    for g in groups:
        for k in g:
            for pos, j in enumerate(g):
                cross[k, pos] = moved(k, j)
                adapter[k, pos] = j
    it = np.stack([cross[i, list(adapter[i]).index(i)] for i in range(n)])
    states = RunStates(
        hidden=np.stack([anchor, icl, it], axis=1).astype(np.float32),
        label_logprobs=np.log(np.full((n, 3, 2), 0.25, np.float32)),
        labels=np.arange(n) % 2,
        conditions=["anchor", "icl", "it"],
        example_ids=[f"ex{i}" for i in range(n)],
        label_names=["negative", "positive"],
    )
    states.cross_hidden = cross.astype(np.float32)  # type: ignore[attr-defined]
    states.cross_adapter = adapter  # type: ignore[attr-defined]
    return states
