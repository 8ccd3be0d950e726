"""The random LoRA's scaling rule on known curves (plain numpy): it reaches the target
shift norm within the engine's rounds."""

from __future__ import annotations

import numpy as np
import pytest

from services.gpu_worker.adapter_states import RANDOM_LORA_TOLERANCE, _matched, next_scale
from services.gpu_worker.plan import RANDOM_LORA_ROUNDS


def _rounds_to_match(norm_of, target: np.ndarray) -> int:
    """Passes the engine's loop takes on the curve ``norm_of(scale)`` (as in
    scale_random_lora: measure, stop when matched, else step)."""
    scale, prev = np.ones_like(target), None
    for round_ in range(RANDOM_LORA_ROUNDS):
        norm = norm_of(scale)
        if _matched(norm, target).all():
            return round_ + 1
        new = next_scale(scale, norm, target, prev)
        prev, scale = (scale, norm), new
    return RANDOM_LORA_ROUNDS + 1  # not matched


@pytest.mark.parametrize("power", [0.5, 1.0, 1.5, 2.0])
def test_power_law_curves_are_matched_within_the_rounds(power: float) -> None:
    """norm = c * scale^power: 70x too small at the start (as the weight-matched random
    LoRA was on SmolLM2), or too large."""
    target = np.array([37.6, 10.0, 1.0])
    c = np.array([0.56, 20.0, 0.5])
    assert _rounds_to_match(lambda s: c * s**power, target) <= RANDOM_LORA_ROUNDS


def test_a_saturating_curve_is_matched() -> None:
    """The shift of a large update grows slower than linearly (the norm layers bound it)."""
    target = np.array([30.0, 5.0])
    assert _rounds_to_match(lambda s: 40 * np.tanh(0.01 * s), target) <= RANDOM_LORA_ROUNDS


def test_zero_target_gives_zero_scale_and_zero_norm_keeps_it() -> None:
    scale = np.array([1.0, 2.0])
    new = next_scale(scale, np.array([3.0, 0.0]), np.array([0.0, 5.0]), None)
    assert new.tolist() == [0.0, 2.0]
    assert _matched(np.array([0.0, 1.0]), np.array([0.0, 1.0 + RANDOM_LORA_TOLERANCE / 2])).all()
