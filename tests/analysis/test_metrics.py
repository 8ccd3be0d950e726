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
    cka_permutation_null,
    cosine,
    label_mass,
    layerwise_cka,
    linear_cka,
    shared_fraction,
    shift,
    shift_cosine_mismatched,
    shift_projection,
)
from services.common.storage.hidden_states import CONDITIONS


def test_cosine_known_angles():
    e1, e2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    assert cosine(e1, e2) == pytest.approx(0.0)
    assert cosine(e1, 3 * e1) == pytest.approx(1.0)
    assert cosine(e1, -e1) == pytest.approx(-1.0)
    assert cosine(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1 / np.sqrt(2))


def test_cosine_batched_shape_and_zero_guard():
    a = np.ones((5, 4, 7), dtype=np.float32)
    b = np.ones((5, 4, 7), dtype=np.float32)
    b[0, 0] = 0.0  # zero vector -> undefined (NaN), and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cosine(a, b)
    assert out.shape == (5, 4)
    assert np.isnan(out[0, 0])
    assert np.allclose(out.reshape(-1)[1:], 1.0)


def test_centered_cosine_known_case():
    mean = np.array([[10.0, 10.0]])  # [n_layers+1=1, d=2]
    a = np.array([[11.0, 10.0]])  # centred: (1, 0)
    b = np.array([[10.0, 12.0]])  # centred: (0, 2)
    assert cosine(a, b)[0] > 0.9  # raw cosine is inflated by the shared offset
    assert centered_cosine(a, b, mean)[0] == pytest.approx(0.0)
    c = np.array([[9.0, 10.0]])  # centred: (-1, 0)
    assert centered_cosine(a, c, mean)[0] == pytest.approx(-1.0)
    assert np.isnan(centered_cosine(mean, a, mean)[0])  # centred zero vector: undefined


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
    assert set(available_pairs(["anchor", "icl", "it", "it_untuned"])) == {
        "icl_it",
        "anchor_icl",
        "anchor_it",
        "icl_it_untuned",
    }
    assert set(available_pairs(list(CONDITIONS))) == set(PAIRS)
    assert set(available_pairs(["anchor", "icl", "it"])) == {"icl_it", "anchor_icl", "anchor_it"}


def test_shift_measures_known_cases():
    anchor = np.zeros((3, 2, 2)) + [1.0, 1.0]
    icl = anchor + np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])[:, None, :]
    it = anchor + np.array([[2.0, 0.0], [0.0, 3.0], [0.0, 1.0]])[:, None, :]
    s_icl, s_it = shift(icl, anchor), shift(it, anchor)
    # ICL shift of 0 is e1, the others' IT shifts are e2, e2 -> 0; of 1: e2 vs e1, e2 -> 0.5;
    # of 2: e1 vs e1, e2 -> 0.5
    np.testing.assert_allclose(shift_cosine_mismatched(s_icl, s_it)[:, 0], [0.0, 0.5, 0.5])
    np.testing.assert_allclose(shift_projection(s_icl, s_it)[:, 0], [2.0, 3.0, 0.0])
    # all the same direction -> 1; opposite directions cancel -> 0
    same = np.ones((4, 1, 3))
    assert shared_fraction(same)[0] == pytest.approx(1.0)
    assert shared_fraction(np.concatenate([same, -same]))[0] == pytest.approx(0.0)
    # no shift: undefined angles, zero norm, NaN shared fraction
    none = shift(anchor, anchor)
    assert np.isnan(shift_cosine_mismatched(none, s_it)).all()
    assert np.isnan(shared_fraction(none)).all()


def test_cka_null_and_label_mass():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 5))
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    cka, p, sd = cka_permutation_null(x, x @ q)
    assert cka > 0.9 and p < 0.05 and 0 < sd < 0.5
    _, p_null, _ = cka_permutation_null(x, rng.normal(size=(20, 5)))
    assert p_null > 0.01
    lp = np.log(np.array([[0.5, 0.25], [0.01, 0.01]]))
    np.testing.assert_allclose(label_mass(lp), [0.75, 0.02])


def test_correct_without_labels_is_nan_not_an_error():
    # a translation run stores [n, conditions, 0] label scores and labels of -1; found by
    # the accepted-specs property test (tests/local/test_accepted_specs_finish.py)
    from services.analysis.metrics import accuracy, correct

    out = correct(np.zeros((3, 0)), np.array([-1, -1, -1]))
    assert out.shape == (3,) and np.isnan(out).all()
    assert np.isnan(accuracy(np.zeros((3, 0)), np.array([-1, -1, -1])))
