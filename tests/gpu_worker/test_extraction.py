"""Batched extraction: left padding, token budgets and shared-prefix KV reuse, against
plain batch-1 transformers forwards on the tiny random-init Llama."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

from services.gpu_worker.extraction import common_prefix_len, extract_last_token_states
from tests.gpu_worker.reference import independent_states

LABELS = [5, 17, 42]


@pytest.fixture(scope="module")
def model(tiny_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()


def _reference(model, prompts: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    got = [independent_states(model, ids) for ids in prompts]
    return np.stack([h for h, _ in got]), np.stack([lp[LABELS] for _, lp in got])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)).max())


def _shared_prompts(seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    prefix = [1, *rng.integers(3, 200, size=40).tolist()]
    # suffixes of different lengths: left padding lands between prefix and suffix
    return [prefix + rng.integers(3, 200, size=n).tolist() for n in (3, 7, 1, 12, 5, 9)]


def test_common_prefix_len() -> None:
    assert common_prefix_len([[1, 2, 3, 4], [1, 2, 3, 9], [1, 2, 3, 4, 5]]) == 3
    assert common_prefix_len([[1, 2], [1, 2]]) == 1  # each prompt keeps one token
    assert common_prefix_len([[7, 2], [1, 2]]) == 0


@pytest.mark.parametrize("budget", [None, 120])
def test_prefix_reuse_matches_full_forwards(model, budget) -> None:
    prompts = _shared_prompts()
    ref_h, ref_l = _reference(model, prompts)
    kw = dict(pad_id=0, label_token_ids=LABELS, batch_size=4, token_budget=budget)
    reused = extract_last_token_states(model, prompts, reuse_prefix=16, **kw)
    plain = extract_last_token_states(model, prompts, reuse_prefix=0, **kw)
    assert _rel(reused[0], ref_h) < 1e-5
    assert _rel(plain[0], ref_h) < 1e-5
    np.testing.assert_allclose(reused[1], ref_l, rtol=1e-4, atol=1e-5)


def test_prefix_reuse_skips_short_prefixes_and_runs_fewer_tokens(model) -> None:
    prompts = _shared_prompts(1)
    seen: list[int] = []
    hook = model.model.embed_tokens.register_forward_hook(
        lambda m, args, out: seen.append(int(args[0].numel()))
    )
    try:
        extract_last_token_states(model, prompts, pad_id=0, reuse_prefix=16, batch_size=64)
        with_reuse = sum(seen)
        seen.clear()
        extract_last_token_states(model, prompts, pad_id=0, reuse_prefix=0, batch_size=64)
        without = sum(seen)
        seen.clear()
        # a shared prefix shorter than the threshold is not worth a cache
        extract_last_token_states(model, prompts, pad_id=0, reuse_prefix=100, batch_size=64)
        too_short = sum(seen)
    finally:
        hook.remove()
    # 41 prefix tokens once + 6 suffixes padded to 12, against 6 rows padded to 53
    assert with_reuse == 41 + 6 * 12
    assert without == too_short == 6 * 53
