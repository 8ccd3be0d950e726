from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from services.common.spec import DemoSpec, InferenceSpec
from services.common.storage.datasets import Example, load_builtin
from services.gpu_worker.selection import (
    contrast_levels,
    flip_labels,
    sample_inference,
    select_demos,
    skewed_quota,
    verbalize,
)


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


# -- demos.contrast ------------------------------------------------------------------


def test_contrast_levels_vary_and_are_balanced_within_each_gold_label() -> None:
    gold = ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"]
    levels = contrast_levels(gold, 2)
    assert levels == [0, 0, 1, 1, 0, 0, 1, 1]
    for g in ("pos", "neg"):  # each gold label sees every level equally often
        assert Counter(lv for lv, x in zip(levels, gold, strict=True) if x == g) == {0: 2, 1: 2}


@pytest.mark.parametrize(
    ("k", "want"),
    [(1, {"b": 1}), (2, {"b": 2}), (4, {"b": 3, "a": 1}), (8, {"b": 6, "a": 1, "c": 1})],
)
def test_skewed_quota_is_dominated_by_one_label(k: int, want: dict[str, int]) -> None:
    assert skewed_quota(k, "b", ["a", "b", "c"]) == want


def test_label_skewed_selection_fills_the_quota() -> None:
    pool = _pool()
    labels = ["negative", "positive"]
    for dominant in labels:
        got = select_demos(
            pool, DemoSpec(k=4), np.random.default_rng(0), label_set=labels, dominant=dominant
        )
        assert Counter(got.labels)[dominant] == 3 and len(got.labels) == 4
        assert got.dominant_label == dominant
        assert all(ex.label == lab for ex, lab in zip(got.examples, got.labels, strict=True))
    angles = np.linspace(0, np.pi, len(pool))
    emb = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    most = select_demos(
        pool,
        DemoSpec(k=4, selection="most_similar"),
        np.random.default_rng(0),
        label_set=labels,
        query_embedding=np.array([1.0, 0.0]),
        pool_embeddings=emb,
        dominant="positive",
    )
    # the 3 most similar positives (odd indices) and the most similar negative, most last
    assert [e.index for e in most.examples] == [5, 3, 1, 0]
    assert most.similarity == tuple(sorted(most.similarity))


def test_verbalize_relabels_with_a_shifted_word_mapping() -> None:
    pool = _pool()
    labels = ["negative", "positive"]
    demos = select_demos(pool, DemoSpec(k=4), np.random.default_rng(3), label_set=labels)
    same = verbalize(demos, labels, 0)
    assert same.labels == demos.labels and same.verbalizer == ("negative", "positive")
    swapped = verbalize(demos, labels, 1)
    assert swapped.verbalizer == ("positive", "negative")
    assert all(a != b for a, b in zip(swapped.labels, demos.labels, strict=True))
    abc = [Example(i, f"t{i}", "abc"[i % 3]) for i in range(9)]
    three = select_demos(abc, DemoSpec(k=3), np.random.default_rng(0), label_set=["a", "b", "c"])
    shifted = verbalize(three, ["a", "b", "c"], 2)
    assert shifted.verbalizer == ("c", "a", "b")  # a -> c, b -> a, c -> b
    word = {"a": "c", "b": "a", "c": "b"}
    assert shifted.labels == tuple(word[x] for x in three.labels)
