"""Batched multi-adapter tuning (multi_lora) against separate peft tunings, on the tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import LoraLayer
from transformers import AutoModelForCausalLM

from services.common.spec import LoraSpec
from services.gpu_worker.extraction import extract_last_token_states
from services.gpu_worker.multi_lora import MultiLora, random_lora_like, tune_adapters

PAD = 0
SEEDS = [11, 22, 33]
# Adam divides by sqrt(v): for gradient elements near zero it magnifies float rounding of
# a different summation order (how much depends on the CPU's BLAS). So weights are compared
# by their training update: |ours - ref| within 0.1% of |ref - init| (Frobenius), and no
# element off by more than 1e-4 (2% of one step at lr 5e-3; a wrong gradient is off by
# whole steps).


def _assert_same_weights(ours: torch.Tensor, ref: torch.Tensor, init: torch.Tensor) -> None:
    update = float(torch.linalg.norm(ref - init))
    if update == 0:  # stopped before its first step: untouched on both sides
        torch.testing.assert_close(ours, ref, rtol=0, atol=0)
        return
    assert float(torch.linalg.norm(ours - ref)) <= 1e-3 * update
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-4)


def _assert_same_as_peft(tiny_dir, spec: LoraSpec, lora: MultiLora, losses, j: int):
    """Adapter j of ``lora`` against a separate peft tuning: same losses, same weights.
    Returns the peft model."""
    ref, ref_losses = _peft_tuning(tiny_dir, spec, SEEDS[j], PAIR_SETS[j])
    np.testing.assert_allclose(losses[j], ref_losses, rtol=1e-5)
    ours = lora.adapter_weights(j)
    init = MultiLora(_base(tiny_dir), spec, SEEDS).adapter_weights(j)
    for name, (a, b) in _peft_weights(ref).items():
        _assert_same_weights(ours[name][0], a, init[name][0])
        _assert_same_weights(ours[name][1], b, init[name][1])
    return ref


def _pairs(seed: int, k: int) -> list[tuple[list[int], list[int]]]:
    """k (prompt, target) pairs of random token ids with different lengths."""
    g = np.random.default_rng(seed)
    return [
        (g.integers(5, 900, size=int(g.integers(4, 12))).tolist(), [int(g.integers(5, 900))])
        for _ in range(k)
    ]


PAIR_SETS = [_pairs(1, 2), _pairs(2, 5), _pairs(3, 3)]
QUERIES = [[7, 8, 9, 10, 11], [12, 13, 14], [15, 16, 17, 18, 19, 20, 21]]


def _base(tiny_dir):
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    model.requires_grad_(False)
    return model


def _peft_tuning(tiny_dir, spec: LoraSpec, seed: int, pairs):
    """One adapter the plain way: peft init (seeded), full batch, full logits, AdamW."""
    model = get_peft_model(
        _base(tiny_dir),
        LoraConfig(r=spec.r, lora_alpha=spec.alpha, target_modules=list(spec.target_modules)),
    )
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, LoraLayer):
            m.reset_lora_parameters("default", init_lora_weights=True)
    if not pairs:
        return model, []
    seqs = [p + t for p, t in pairs]
    width = max(map(len, seqs))
    ids = torch.tensor([s + [PAD] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    labels = torch.tensor(
        [[-100] * len(p) + t + [-100] * (width - len(p) - len(t)) for p, t in pairs]
    )
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=spec.lr, weight_decay=0.0
    )
    losses = []
    for _ in range(spec.steps):
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1)
        )
        losses.append(loss.item())
        if spec.stop_loss is not None and losses[-1] < spec.stop_loss:
            break
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    return model, losses


def _peft_weights(model) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {
        name.removeprefix("base_model.model."): (
            m.lora_A["default"].weight.detach(),
            m.lora_B["default"].weight.detach(),
        )
        for name, m in model.named_modules()
        if isinstance(m, LoraLayer)
    }


@pytest.fixture(scope="module")
def spec() -> LoraSpec:
    return LoraSpec(r=4, alpha=8, lr=5e-3, epochs=4)


@pytest.fixture(scope="module")
def batched(tiny_dir, spec):
    model = _base(tiny_dir)
    lora = MultiLora(model, spec, SEEDS)
    # a small token budget: several micro-batches, gradients accumulated across them
    losses = tune_adapters(model, lora, PAIR_SETS, pad_id=PAD, token_budget=24)
    return model, lora, losses


def test_init_reproduces_peft(tiny_dir, spec) -> None:
    lora = MultiLora(_base(tiny_dir), spec, SEEDS)
    for j, seed in enumerate(SEEDS):
        ref, _ = _peft_tuning(tiny_dir, spec.model_copy(update={"epochs": 0}), seed, [])
        ours = lora.adapter_weights(j)
        assert ours.keys() == _peft_weights(ref).keys()
        for name, (a, b) in _peft_weights(ref).items():
            torch.testing.assert_close(ours[name][0], a, rtol=0, atol=0)
            torch.testing.assert_close(ours[name][1], b, rtol=0, atol=0)
    assert lora.is_identity()


def test_batched_tuning_gives_the_separate_adapters_and_states(tiny_dir, spec, batched) -> None:
    model, lora, losses = batched
    assert not lora.is_identity()
    adapter_of = [0, 1, 2]
    got_h, got_l = extract_last_token_states(
        model,
        QUERIES,
        pad_id=PAD,
        label_token_ids=[5, 6],
        batch_context=lambda idx: lora.rows([adapter_of[i] for i in idx]),
    )
    for j in range(len(SEEDS)):
        ref = _assert_same_as_peft(tiny_dir, spec, lora, losses, j)
        ref_h, ref_l = extract_last_token_states(
            ref, [QUERIES[j]], pad_id=PAD, label_token_ids=[5, 6]
        )
        np.testing.assert_allclose(got_h[j], ref_h[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got_l[j], ref_l[0], rtol=1e-4, atol=1e-5)
    # outside rows() the hooks are gone: the base model is untouched
    base_h, _ = extract_last_token_states(model, QUERIES, pad_id=PAD)
    plain_h, _ = extract_last_token_states(_base(tiny_dir), QUERIES, pad_id=PAD)
    np.testing.assert_array_equal(base_h, plain_h)


def test_an_adapter_that_reaches_stop_loss_stops_alone(tiny_dir, spec, batched) -> None:
    _, _, free_losses = batched
    # between adapter 1's first and second loss: it stops after one step, the others run on
    threshold = (free_losses[1][1] + free_losses[1][0]) / 2
    stopping = spec.model_copy(update={"stop_loss": float(threshold)})
    model = _base(tiny_dir)
    lora = MultiLora(model, stopping, SEEDS)
    losses = tune_adapters(model, lora, PAIR_SETS, pad_id=PAD)
    for j in range(len(SEEDS)):
        _assert_same_as_peft(tiny_dir, stopping, lora, losses, j)
    assert len(losses[1]) == 2  # stopped; the reference comparison covers the others


def test_random_lora_matches_the_tuned_update_size_per_layer(tiny_dir, spec) -> None:
    """The random-LoRA control: per adapter and target layer ||B A||_F equals the tuned
    adapter's, its direction is not the tuned one, and a zero update stays zero."""
    model = _base(tiny_dir)
    tuned = MultiLora(model, spec, [3, 4, 5])
    with torch.no_grad():
        for t in tuned.targets:
            t.B.normal_()
            t.B[2].zero_()  # adapter 2 never moved
    rand = random_lora_like(model, tuned, [0, 1, 2], seed=9)
    for t, r in zip(tuned.targets, rand.targets, strict=True):
        for j in range(3):
            want = torch.linalg.matrix_norm(t.B[j] @ t.A[j])
            got = torch.linalg.matrix_norm(r.B[j] @ r.A[j])
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
        cos = F.cosine_similarity((t.B[0] @ t.A[0]).flatten(), (r.B[0] @ r.A[0]).flatten(), dim=0)
        assert abs(float(cos.detach())) < 0.2
