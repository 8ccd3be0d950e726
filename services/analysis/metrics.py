"""Similarity and accuracy metrics over hidden states (numpy only, no torch).

Shapes follow ``services.common.states``:

    hidden of one condition: [n_examples, n_layers+1, d_model]
    layer 0 = embedding output; layer i = output of decoder block i; last prompt token.

Every metric is computed in float64. Undefined values are returned as NaN explicitly
(never produced by a 0/0 that would raise a RuntimeWarning).
"""

from __future__ import annotations

import numpy as np

# Pair name -> (condition a, condition b). A pair is skipped when a condition is missing.
PAIRS: dict[str, tuple[str, str]] = {
    "icl_it": ("icl", "it"),
    "anchor_icl": ("anchor", "icl"),
    "anchor_it": ("anchor", "it"),
    "icl_it_untuned": ("icl", "it_untuned"),
}

PER_EXAMPLE_METRICS = ("cosine", "centered_cosine")  # one value per (example, layer)
ACROSS_EXAMPLE_METRICS = ("cka",)  # one value per layer, computed across examples

# Self-HSIC below this fraction of its scale counts as zero (a constant representation).
_REL_EPS = 1e-12


def available_pairs(conditions: list[str] | tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """The PAIRS whose two conditions are both present, in PAIRS order."""
    return {k: (a, b) for k, (a, b) in PAIRS.items() if a in conditions and b in conditions}


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity along the last axis.

    a, b: [..., d] (broadcastable) -> [...]. A zero vector has similarity 0.0 with
    anything (guarded, no NaN).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    dot = np.sum(a * b, axis=-1)
    norm = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    safe = norm > 0
    out = np.divide(dot, norm, out=np.zeros(np.broadcast(dot, norm).shape), where=safe)
    return np.clip(out, -1.0, 1.0)


def centered_cosine(a: np.ndarray, b: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Cosine after subtracting a reference mean state from both vectors.

    a, b: [..., n_layers+1, d]; mean: [n_layers+1, d], the per-layer mean ANCHOR state
    over the run's inference examples (removes the shared, anisotropic direction that
    inflates raw cosine of LLM hidden states). -> [..., n_layers+1].
    """
    mean = np.asarray(mean, dtype=np.float64)
    return cosine(np.asarray(a, dtype=np.float64) - mean, np.asarray(b, dtype=np.float64) - mean)


def anchor_mean(anchor: np.ndarray) -> np.ndarray:
    """anchor: [n_examples, n_layers+1, d] -> [n_layers+1, d] mean over examples."""
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


def correct(label_logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """label_logits: [n, n_labels], labels: [n] -> [n] float: 1.0 correct, 0.0 wrong,
    NaN where the label is -1 (no label) or the logits are not finite."""
    logits = np.asarray(label_logits, dtype=np.float64)
    labels = np.asarray(labels)
    out = np.full(labels.shape[0], np.nan)
    ok = (labels >= 0) & np.all(np.isfinite(logits), axis=-1)
    out[ok] = (np.argmax(logits[ok], axis=-1) == labels[ok]).astype(np.float64)
    return out


def accuracy(label_logits: np.ndarray, labels: np.ndarray) -> float:
    """label_logits: [n, n_labels], labels: [n] -> fraction of labelled examples whose
    argmax logit is the label. Labels -1 are ignored; NaN if no example is labelled."""
    c = correct(label_logits, labels)
    c = c[~np.isnan(c)]
    return float(c.mean()) if c.size else float("nan")
