from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from services.common.spec import DemoSpec, InferenceSpec
from services.common.storage.datasets import Example, load_builtin
from services.gpu_worker.selection import flip_labels, sample_inference, select_demos


@pytest.mark.parametrize("fraction, expected", [(0.0, 0), (0.5, 4), (1.0, 8), (0.25, 2)])
def test_flip_labels_flips_exactly_the_fraction(fraction: float, expected: int) -> None:
    labels = ["positive", "negative"] * 4
    out, flipped = flip_labels(labels, fraction, ["negative", "positive"], np.random.default_rng(0))
    assert sum(flipped) == expected
    for before, after, f in zip(labels, out, flipped, strict=True):
        assert (before != after) == f


def test_flip_to_another_of_many_labels() -> None:
    labels = ["a", "b", "c", "d"] * 5
    out, flipped = flip_labels(labels, 1.0, ["a", "b", "c", "d"], np.random.default_rng(1))
    assert all(flipped) and all(o != i for o, i in zip(out, labels, strict=True))
    assert len(set(out)) > 2  # not always the same replacement


def _pool() -> list[Example]:
    return [Example(i, f"t{i}", "positive" if i % 2 else "negative") for i in range(10)]


def test_similarity_selection_ranks_by_embedding() -> None:
    pool = _pool()
    # hand-made unit vectors: similarity to the query = cos(angle_i), decreasing in i
    angles = np.linspace(0, np.pi, len(pool))
    emb = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    query = np.array([1.0, 0.0])
    rng = np.random.default_rng(0)
    most = select_demos(
        pool,
        DemoSpec(k=3, selection="most_similar"),
        rng,
        label_set=["negative", "positive"],
        query_embedding=query,
        pool_embeddings=emb,
    )
    least = select_demos(
        pool,
        DemoSpec(k=3, selection="least_similar"),
        rng,
        label_set=["negative", "positive"],
        query_embedding=query,
        pool_embeddings=emb,
    )
    assert [e.index for e in most.examples] == [2, 1, 0]  # most similar last
    assert [e.index for e in least.examples] == [9, 8, 7]
    assert most.similarity is not None and most.similarity == tuple(sorted(most.similarity))


def test_random_selection_is_balanced_and_seeded() -> None:
    pool = _pool()
    spec = DemoSpec(k=4)
    a = select_demos(pool, spec, np.random.default_rng(3), label_set=["negative", "positive"])
    b = select_demos(pool, spec, np.random.default_rng(3), label_set=["negative", "positive"])
    assert a == b
    assert Counter(a.labels) == {"negative": 2, "positive": 2}


def test_inference_sample_is_balanced_and_reproducible() -> None:
    data = load_builtin("sentiment")
    a = sample_inference(data, InferenceSpec(n=10, seed=5))
    b = sample_inference(data, InferenceSpec(n=10, seed=5))
    assert a == b and len({e.index for e in a}) == 10
    assert Counter(e.label for e in a) == {"negative": 5, "positive": 5}
    explicit = sample_inference(data, InferenceSpec(indices=[3, 1]))
    assert [e.index for e in explicit] == [3, 1]
