"""Similarity and accuracy metrics over hidden states (numpy only, no torch).

Shapes follow ``services.common.storage.hidden_states``:

    hidden of one condition: [n_examples, n_layers+2, d_model]
    layer 0 = embeddings; 1..n_layers = each decoder block's output; n_layers+1 = final
    norm output; last prompt token.

Two families of measures:

- state similarity (the paper's): cosine / centered cosine / CKA of two conditions' states;
- shift measures (the question the paper asks): a condition's *shift* is its state minus
  the anchor's, s_ICL = h_ICL - h_anchor and s_IT = h_IT - h_anchor. Both conditions learn
  the answer format, so most of each shift is common to every example; matching example
  i's ICL shift against its own IT shift (shift_cosine) versus other examples' IT shifts
  (shift_cosine_mismatched) isolates what is specific to i's demonstrations.

Every metric is computed in float64. Undefined values (a zero vector, e.g. every shift at
the embedding layer, where the last token's embedding does not depend on context) are NaN,
never 0.0, and never produced by a 0/0 that would raise a RuntimeWarning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.common.storage.hidden_states import Condition, Pair

# The pairs (``hidden_states.Pair``) each kind of measure is computed for, with their
# conditions. A pair is skipped when a condition is missing. State similarity: the paper's
# three and ICL against every IT-shaped condition; shift measures: ICL's shift against an
# IT-shaped condition's; norm measures: a shift's size and shared part, "anchor_<c>"
# measuring s_c = h_c - h_anchor for ICL and every condition of SHIFT_PAIRS.
PAIRS: dict[Pair, tuple[Condition, Condition]] = {
    p: p.conditions for p in Pair if not p.startswith("anchor_it_")
}
SHIFT_PAIRS = {p: (a, b) for p, (a, b) in PAIRS.items() if a == "icl" and b != "it_untuned"}
NORM_PAIRS: dict[Pair, tuple[Condition, Condition]] = {
    Pair(f"anchor_{c}"): (Condition.ANCHOR, c)
    for c in (Condition.ICL, *(b for _, b in SHIFT_PAIRS.values()))
}

# one value per (example, layer)
PER_EXAMPLE_METRICS = (
    "cosine",
    "centered_cosine",
    "shift_cosine",
    "shift_cosine_mismatched",
    "shift_projection",
    "shift_norm",
)
ACROSS_EXAMPLE_METRICS = ("cka", "shared_fraction")  # one value per layer, across examples
SHIFT_METRICS = ("shift_cosine", "shift_cosine_mismatched", "shift_projection")
NORM_METRICS = ("shift_norm", "shared_fraction")

# A shift smaller than this fraction of the state's norm counts as zero (undefined angle).
SHIFT_REL_EPS = 1e-6

# Self-HSIC below this fraction of its scale counts as zero (a constant representation).
_REL_EPS = 1e-12


def pairs_for(metric: str, conditions: Sequence[str]) -> dict[Pair, tuple[Condition, Condition]]:
    """The pairs a metric is computed for, among those whose conditions are present."""
    table = (
        SHIFT_PAIRS if metric in SHIFT_METRICS else NORM_PAIRS if metric in NORM_METRICS else PAIRS
    )
    if metric == "shift_cosine_mismatched":
        table = {Pair.ICL_IT: PAIRS[Pair.ICL_IT]}
    return {k: (a, b) for k, (a, b) in table.items() if a in conditions and b in conditions}


def available_pairs(conditions: Sequence[str]) -> dict[Pair, tuple[Condition, Condition]]:
    """The state-similarity PAIRS whose two conditions are both present, in PAIRS order."""
    return pairs_for("cosine", conditions)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity along the last axis.

    a, b: [..., d] (broadcastable) -> [...]. Undefined (NaN) where either vector is zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = np.sum(a * b, axis=-1)
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    safe = norm > 0
    out = np.divide(dot, norm, out=np.full(np.broadcast(dot, norm).shape, np.nan), where=safe)
    return np.clip(out, -1.0, 1.0)


# ---------------------------------------------------------------------------------------
# Shift measures. s: [n, L, d] shifts from the anchor; anchor: [n, L, d].


def shift(state: np.ndarray, anchor: np.ndarray) -> np.ndarray:
    """s = h - h_anchor, [n, L, d] in float64, with shifts below SHIFT_REL_EPS of the
    anchor state's norm set to exactly zero (so their angles are NaN, not rounding noise)."""
    s = np.asarray(state, dtype=np.float64) - np.asarray(anchor, dtype=np.float64)
    tiny = np.linalg.norm(s, axis=-1) <= SHIFT_REL_EPS * np.linalg.norm(
        np.asarray(anchor, dtype=np.float64), axis=-1
    )
    s[tiny] = 0.0
    return s


def shift_cosine(s_a: np.ndarray, s_b: np.ndarray) -> np.ndarray:
    """cos(s_a[i], s_b[i]) per example and layer: [n, L, d] x2 -> [n, L]."""
    return cosine(s_a, s_b)


def shift_cosine_mismatched(s_a: np.ndarray, s_b: np.ndarray) -> np.ndarray:
    """Mean over j != i of cos(s_a[i], s_b[j]): example i's shift against the other
    examples' shifts (their own demonstrations). [n, L, d] x2 -> [n, L]; NaN with n < 2."""
    n = s_a.shape[0]
    if n < 2:
        return np.full(s_a.shape[:2], np.nan)
    ua, ub = _unit(s_a), _unit(s_b)  # [n, L, d], NaN rows where the shift is zero
    c = np.einsum("ild,jld->lij", ua, ub)  # [L, n, n]
    off = ~np.eye(n, dtype=bool)
    vals = np.where(off[None], c, np.nan)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(vals).sum(axis=2)
        total = np.nansum(vals, axis=2)
    return np.divide(total, ok, out=np.full(total.shape, np.nan), where=ok > 0).T


def shift_projection(s_a: np.ndarray, s_b: np.ndarray) -> np.ndarray:
    """(s_b . s_a) / ||s_a||^2 per example and layer: how much of the shift s_a the shift
    s_b reproduces along s_a's direction (1 = all of it). [n, L, d] x2 -> [n, L]."""
    dot = np.sum(s_a * s_b, axis=-1)
    sq = np.sum(s_a * s_a, axis=-1)
    return np.divide(dot, sq, out=np.full(dot.shape, np.nan), where=sq > 0)


def shift_norm(s: np.ndarray) -> np.ndarray:
    """||s|| per example and layer: [n, L, d] -> [n, L] (0 where there is no shift)."""
    return np.linalg.norm(s, axis=-1)


def shared_fraction(s: np.ndarray) -> np.ndarray:
    """||mean_i s_i|| / mean_i ||s_i|| per layer: [n, L, d] -> [L]. 1 = every example
    shifts the same way (format learning); ~1/sqrt(n) = no common direction. NaN where no
    example shifts."""
    num = np.linalg.norm(s.mean(axis=0), axis=-1)
    den = np.linalg.norm(s, axis=-1).mean(axis=0)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norm, out=np.full(x.shape, np.nan), where=norm > 0)


def centered_cosine(a: np.ndarray, b: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Cosine after subtracting a reference mean state from both vectors.

    a, b: [..., n_layers+2, d]; mean: [n_layers+2, d], the per-layer mean ANCHOR state
    over the run's inference examples (removes the shared, anisotropic direction that
    inflates raw cosine of LLM hidden states). -> [..., n_layers+2]. One layer at a time:
    a, b [n, d] with mean [d] -> [n].
    """
    mean = np.asarray(mean, dtype=np.float64)
    return cosine(np.asarray(a, dtype=np.float64) - mean, np.asarray(b, dtype=np.float64) - mean)


def anchor_mean(anchor: np.ndarray) -> np.ndarray:
    """anchor: [n_examples, n_layers+2, d] -> [n_layers+2, d] mean over examples."""
    return np.asarray(anchor, dtype=np.float64).mean(axis=0)


def _gram(x: np.ndarray) -> np.ndarray:
    """x: [n, d] -> column-centred linear Gram matrix [n, n] (float64)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    return x @ x.T


def _hsic_unbiased(k: np.ndarray, m: np.ndarray) -> float:
    """Unbiased HSIC estimator (Song et al. 2012, eq. 5) of Gram matrices [n, n], n >= 4."""
    n = k.shape[0]
    k = k.copy()
    m = m.copy()
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(m, 0.0)
    term1 = np.sum(k * m)  # trace(K M) for symmetric M
    term2 = k.sum() * m.sum() / ((n - 1) * (n - 2))
    term3 = 2.0 * (k.sum(axis=0) @ m.sum(axis=0)) / (n - 2)
    return float((term1 + term2 - term3) / (n * (n - 3)))


def _hsic_biased(k: np.ndarray, m: np.ndarray) -> float:
    """Biased HSIC of already-centred Gram matrices: trace(K M) / (n-1)^2."""
    n = k.shape[0]
    return float(np.sum(k * m) / (n - 1) ** 2)


def linear_cka(x: np.ndarray, y: np.ndarray, debiased: bool = True) -> float:
    """Linear CKA between two representations of the same n examples.

    x: [n, d1], y: [n, d2] -> scalar in [0, 1] (the debiased estimate can dip slightly
    below 0). Debiased uses the unbiased HSIC estimator (Song et al. 2012), as in Nguyen,
    Raghu & Kornblith 2021; biased is Kornblith et al. 2019's centred-Gram form.

    Undefined -> float('nan'): fewer than 4 examples (debiased) or 2 (biased), or a
    self-HSIC <= a tiny relative epsilon (e.g. a constant representation).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"expected x [n, d1] and y [n, d2]; got {x.shape} and {y.shape}")
    n = x.shape[0]
    if n < (4 if debiased else 2):
        return float("nan")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("nan")
    k, m = _gram(x), _gram(y)
    hsic = _hsic_unbiased if debiased else _hsic_biased
    kk, mm = hsic(k, k), hsic(m, m)
    # Scale of a self-HSIC: (mean squared norm of the centred rows)^2.
    eps_k = _REL_EPS * (np.trace(k) / n) ** 2
    eps_m = _REL_EPS * (np.trace(m) / n) ** 2
    if kk <= eps_k or mm <= eps_m:
        return float("nan")
    return float(hsic(k, m) / np.sqrt(kk * mm))


def cka_permutation_null(
    x: np.ndarray, y: np.ndarray, n_perm: int = 200, seed: int = 0
) -> tuple[float, float, float]:
    """Debiased CKA of x [n, d1] and y [n, d2] against its permutation null (rows of y
    shuffled, which breaks the example pairing): -> (cka, p two-sided, null sd). With few
    examples the null is wide (sd ~0.2 at n = 8), so a single CKA value says little."""
    obs = linear_cka(x, y)
    if not np.isfinite(obs):
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    k, m = _gram(x), _gram(y)
    kk = _hsic_unbiased(k, k)
    mm = _hsic_unbiased(m, m)
    null = np.empty(n_perm)
    for r in range(n_perm):
        p = rng.permutation(x.shape[0])
        null[r] = _hsic_unbiased(k, m[np.ix_(p, p)]) / np.sqrt(kk * mm)
    p_value = (np.sum(np.abs(null) >= abs(obs) - 1e-12) + 1) / (n_perm + 1)
    return obs, float(p_value), float(null.std(ddof=1))


def layerwise_cka(x: np.ndarray, y: np.ndarray, debiased: bool = True) -> np.ndarray:
    """x, y: [n, n_layers+1, d] -> [n_layers+1], linear CKA at each layer."""
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 3 or y.ndim != 3 or x.shape[:2] != y.shape[:2]:
        raise ValueError(f"expected [n, L, d] arrays with equal n, L; got {x.shape}, {y.shape}")
    return np.array(
        [linear_cka(x[:, i], y[:, i], debiased=debiased) for i in range(x.shape[1])],
        dtype=np.float64,
    )


def label_mass(label_logprobs: np.ndarray) -> np.ndarray:
    """[n, n_labels] log-probabilities -> [n] probability on the label tokens (a model that
    has not learned the answer format puts little mass there, whatever its argmax)."""
    lp = np.asarray(label_logprobs, dtype=np.float64)
    if lp.shape[-1] == 0:
        return np.full(lp.shape[0], np.nan)
    return np.exp(lp).sum(axis=-1)


def correct(label_scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """label_scores (logits or log-probs): [n, n_labels], labels: [n] -> [n] float: 1.0 correct, 0.0 wrong,
    NaN where the label is -1 (no label) or the logits are not finite."""
    logits = np.asarray(label_scores, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full(labels.shape[0], np.nan)
    ok = (labels >= 0) & np.all(np.isfinite(logits), axis=-1)
    if ok.any():  # argmax of no rows raises when there are no labels (translation: [n, 0])
        out[ok] = (np.argmax(logits[ok], axis=-1) == labels[ok]).astype(np.float64)
    return out


def accuracy(label_scores: np.ndarray, labels: np.ndarray) -> float:
    """label_scores: [n, n_labels], labels: [n] -> fraction of labelled examples whose
    argmax logit is the label. Labels -1 are ignored; NaN if no example is labelled."""
    c = correct(label_scores, labels)
    c = c[~np.isnan(c)]
    return float(c.mean()) if c.size else float("nan")
