"""Metrics on hand-made vectors with known answers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from services.analysis.metrics import (
    PAIRS,
    accuracy,
    available_pairs,
    centered_cosine,
    cosine,
    layerwise_cka,
    linear_cka,
)


def test_cosine_known_angles():
    e1, e2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    assert cosine(e1, e2) == pytest.approx(0.0)
    assert cosine(e1, 3 * e1) == pytest.approx(1.0)
    assert cosine(e1, -e1) == pytest.approx(-1.0)
    assert cosine(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1 / np.sqrt(2))


def test_cosine_batched_shape_and_zero_guard():
    a = np.ones((5, 4, 7), dtype=np.float32)
    b = np.ones((5, 4, 7), dtype=np.float32)
    b[0, 0] = 0.0  # zero vector -> 0.0, no NaN and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cosine(a, b)
    assert out.shape == (5, 4)
    assert out[0, 0] == 0.0
    assert np.allclose(out.reshape(-1)[1:], 1.0)


def test_centered_cosine_known_case():
    mean = np.array([[10.0, 10.0]])  # [n_layers+1=1, d=2]
    a = np.array([[11.0, 10.0]])  # centred: (1, 0)
    b = np.array([[10.0, 12.0]])  # centred: (0, 2)
    assert cosine(a, b)[0] > 0.9  # raw cosine is inflated by the shared offset
    assert centered_cosine(a, b, mean)[0] == pytest.approx(0.0)
    c = np.array([[9.0, 10.0]])  # centred: (-1, 0)
    assert centered_cosine(a, c, mean)[0] == pytest.approx(-1.0)
    assert centered_cosine(mean, a, mean)[0] == 0.0  # centred zero vector guarded


@pytest.mark.parametrize("debiased", [True, False])
def test_cka_self_rotation_and_scale_is_one(debiased):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 10))
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    assert linear_cka(x, x, debiased=debiased) == pytest.approx(1.0)
    assert linear_cka(x, 3.5 * x @ q, debiased=debiased) == pytest.approx(1.0)
    assert linear_cka(x, x + 5.0, debiased=debiased) == pytest.approx(1.0)  # mean shift


def test_cka_independent_data_near_zero_when_debiased():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 50)), rng.normal(size=(200, 50))
    assert abs(linear_cka(x, y)) < 0.05
    assert linear_cka(x, y, debiased=False) > abs(linear_cka(x, y))  # biased is inflated


def test_cka_nan_guards_without_warnings():
    rng = np.random.default_rng(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(linear_cka(rng.normal(size=(3, 4)), rng.normal(size=(3, 4))))
        const = np.ones((10, 4))
        assert np.isnan(linear_cka(const, rng.normal(size=(10, 4))))
        assert np.isnan(linear_cka(const, const, debiased=False))
        assert not np.isnan(linear_cka(rng.normal(size=(4, 4)), rng.normal(size=(4, 4))))


def test_layerwise_cka():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 3, 8))
    y = x.copy()
    y[:, 1] = rng.normal(size=(20, 8))
    out = layerwise_cka(x, y)
    assert out.shape == (3,)
    assert out[0] == pytest.approx(1.0) and out[2] == pytest.approx(1.0)
    assert abs(out[1]) < 0.5


def test_accuracy_ignores_unlabelled():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [5.0, 0.0], [0.0, 3.0]])
    assert accuracy(logits, np.array([0, 1, 1, -1])) == pytest.approx(2 / 3)
    assert np.isnan(accuracy(logits, np.array([-1, -1, -1, -1])))


def test_pairs_skip_missing_conditions():
    assert set(available_pairs(["anchor", "icl", "it", "it_untuned"])) == set(PAIRS)
    assert set(available_pairs(["anchor", "icl", "it"])) == {"icl_it", "anchor_icl", "anchor_it"}
