"""The task-vector check (gpu_worker/patching.py) on the tiny random-init Llama: the hook
against a hand-written one in plain transformers, a zero shift, and the whole shift at the
last block, which must reproduce ICL's and IT's outputs through the engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

from services.common.spec import CausalSpec, ExperimentSpec, expand_runs
from services.common.storage.hidden_states import ALL_CAUSAL_AXES, RunStates
from services.gpu_worker.extraction import extract_last_token_states
from services.gpu_worker.patching import (
    _example_groups,
    adapter_partners,
    decoder_blocks,
    default_layers,
    kl_divergence,
    output_logprobs,
    partners,
    patched_pass,
    resolve_layers,
    task_vector_check,
)

PROMPTS = [[1, 17, 4021, 318, 262, 905], [1, 905, 11, 12, 13, 14, 15, 16, 17, 18, 19]]
LABEL_IDS = [33, 4021, 905]


@pytest.fixture(scope="module")
def model(tiny_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()


def _by_hand(model, ids: list[int], block: int, shift: np.ndarray) -> torch.Tensor:
    """Full-vocabulary log-probs at the last token, batch 1, no padding, with ``shift``
    added to decoder block ``block``'s output at the last position by a plain hook."""
    layer = model.model.layers[block - 1]

    def hook(module, args, out):
        h = out[0] if isinstance(out, tuple) else out
        h = h.clone()
        h[0, -1] += torch.tensor(shift, dtype=h.dtype)
        return (h, *out[1:]) if isinstance(out, tuple) else h

    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
    finally:
        handle.remove()
    return torch.log_softmax(logits.float(), -1)


@pytest.mark.parametrize("block", [1, 2, 4])
def test_patched_pass_matches_a_hook_by_hand_in_plain_transformers(model, block) -> None:
    rng = np.random.default_rng(block)
    shifts = (3.0 * rng.standard_normal((len(PROMPTS), model.config.hidden_size))).astype(
        np.float32
    )
    blocks = decoder_blocks(model, model.config.num_hidden_layers)
    hidden, label_lp = patched_pass(
        model,
        PROMPTS,
        shifts,
        blocks[block - 1],
        pad_id=0,
        label_ids=LABEL_IDS,
        batch_size=8,
        token_budget=None,
    )  # both prompts in one left-padded batch
    head = model.get_output_embeddings()
    got = output_logprobs(head, hidden[:, -1])
    plain, _ = extract_last_token_states(model, PROMPTS, pad_id=0, batch_size=8)
    for i, ids in enumerate(PROMPTS):
        ref = _by_hand(model, ids, block, shifts[i])
        assert torch.allclose(got[i], ref, atol=2e-4), (block, i)
        np.testing.assert_allclose(label_lp[i], ref[LABEL_IDS].numpy(), atol=2e-4)
        # the patched state is the plain state plus the shift at that block, none before
        np.testing.assert_allclose(hidden[i, block], plain[i, block] + shifts[i], atol=1e-4)
        np.testing.assert_allclose(hidden[i, :block], plain[i, :block], atol=1e-5)
        assert np.abs(hidden[i, block + 1 :] - plain[i, block + 1 :]).max() > 1e-2


def test_rows_of_one_prompt_share_its_prefix_and_each_matches_a_full_pass(model) -> None:
    """Repeated prompts (one KV cache each), a one-token prompt (no prefix) and rows in a
    shuffled order, with batches of 2 rows: every row is its own full forward by hand."""
    prompts = [PROMPTS[1], PROMPTS[0], [905], PROMPTS[1], PROMPTS[0], PROMPTS[1]]
    rng = np.random.default_rng(7)
    shifts = (2.0 * rng.standard_normal((len(prompts), model.config.hidden_size))).astype(
        np.float32
    )
    blocks = decoder_blocks(model, model.config.num_hidden_layers)
    hidden, label_lp = patched_pass(
        model,
        prompts,
        shifts,
        blocks[2],
        pad_id=0,
        label_ids=LABEL_IDS,
        batch_size=2,
        token_budget=None,
    )
    got = output_logprobs(model.get_output_embeddings(), hidden[:, -1])
    for r, ids in enumerate(prompts):
        ref = _by_hand(model, ids, 3, shifts[r])
        assert torch.allclose(got[r], ref, atol=2e-4), r
        np.testing.assert_allclose(label_lp[r], ref[LABEL_IDS].numpy(), atol=2e-4)
    assert np.abs(hidden[0] - hidden[3]).max() > 1e-2  # same prompt, its own shift


def test_a_zero_shift_gives_the_anchor_distribution(model) -> None:
    """Only float rounding apart: the patched rows reuse the prompt's KV cache, the plain
    extraction runs the whole prompt."""
    blocks = decoder_blocks(model, model.config.num_hidden_layers)
    zero = np.zeros((len(PROMPTS), model.config.hidden_size), np.float32)
    hidden, label_lp = patched_pass(
        model,
        PROMPTS,
        zero,
        blocks[1],
        pad_id=0,
        label_ids=LABEL_IDS,
        batch_size=8,
        token_budget=None,
    )
    plain, plain_lp = extract_last_token_states(
        model, PROMPTS, pad_id=0, label_token_ids=LABEL_IDS, batch_size=8
    )
    np.testing.assert_allclose(hidden, plain, atol=1e-5, rtol=0)
    np.testing.assert_allclose(label_lp, plain_lp, atol=1e-5, rtol=0)
    head = model.get_output_embeddings()
    kl = kl_divergence(output_logprobs(head, hidden[:, -1]), output_logprobs(head, plain[:, -1]))
    assert torch.all(kl < 1e-9)
    self_kl = kl_divergence(
        output_logprobs(head, plain[:, -1]), output_logprobs(head, plain[:, -1])
    )
    assert torch.all(self_kl == 0)


def test_layers_and_partners() -> None:
    assert default_layers(30) == [8, 15, 22, 30] and default_layers(4) == [1, 2, 3, 4]
    assert default_layers(1) == [1]
    assert resolve_layers(CausalSpec(layers=[9, 2, 4, 2]), 4) == ([2, 4], [9])
    p = partners(5, 3)
    assert p.shape == (5, 4) and (p[:, 0] == np.arange(5)).all()
    assert all(len(set(row)) == 4 for row in p.tolist())  # cross partners are others
    assert partners(3, 8).shape == (3, 3) and partners(1, 4).shape == (1, 1)


def _patched(engine, tiny_dir, dtype: str = "float32"):
    """The tiny model's run with the check on at blocks 2, 4 (and 7, beyond its depth)."""
    body = {
        "model": {"name": str(tiny_dir), "dtype": dtype},
        "inference": {"n": 4, "seed": 1},
        "demos": {"k": 3},
        "lora": {"epochs": 3, "lr": 5e-2},
        "controls": ["cross_adapter"],
        "causal": {"enabled": True, "layers": [2, 4, 7], "cross": 2},
    }
    return engine.execute(expand_runs(ExperimentSpec.model_validate(body))[0])


@pytest.fixture(scope="module")
def patched_run(engine, tiny_dir):
    return _patched(engine, tiny_dir)


def test_engine_stores_the_arrays_with_named_axes(patched_run) -> None:
    st = patched_run.states
    assert set(st.causal) == set(ALL_CAUSAL_AXES)  # cross_adapter: the adapter version too
    assert st.causal["causal_layers"].tolist() == [2, 4]
    assert st.meta["causal_layers_skipped"] == [7]
    assert st.causal["causal_kl"].shape == (4, 2, 2, 3, 2)
    assert st.causal["causal_label_logprobs"].shape == (4, 2, 2, 3, 2)
    assert st.causal["causal_adapter_kl"].shape == (4, 2, 2, 2)  # cross=2 other adapters
    assert st.causal["causal_adapter_label_logprobs"].shape == (4, 2, 2, 2)
    partner = st.causal["causal_adapter_partner"]
    assert (partner != np.arange(4)[:, None]).all() and (partner >= 0).all()
    assert st.meta["causal_head_check_max_abs"] < 1e-4  # head(final norm) = the outputs
    assert "causal" in patched_run.timings
    back = RunStates.from_bytes(st.to_bytes())
    for name in ALL_CAUSAL_AXES:
        np.testing.assert_array_equal(back.causal[name], st.causal[name])


def test_the_whole_shift_at_the_last_block_reproduces_icl_and_it(patched_run) -> None:
    """After the last block only the final norm and the head act, so the own ICL shift
    there must give ICL's output (KL 0, ICL's label log-probs) and the own IT shift IT's,
    through the base model; a wrong block, position, sign or adapter state fails this."""
    st = patched_run.states
    kl, lp = st.causal["causal_kl"], st.causal["causal_label_logprobs"]
    last = st.causal["causal_layers"].tolist().index(st.n_layers)
    for s, cond in enumerate(("icl", "it")):
        own = kl[:, last, s, 0, s]  # shift s, own partner, reference = the same condition
        assert own.max() < 1e-4, (cond, own)
        stored = st.label_logprobs[:, st.conditions.index(cond)]
        np.testing.assert_allclose(lp[:, last, s, 0], stored, atol=1e-4)
        # another example's shift does not (the check can tell own from cross)
        assert kl[:, last, s, 1:, s].min() > 1e-3, cond
    # and before the last block the own shift is not its source's output by construction
    assert kl[:, 0, 0, 0, 0].max() > 1e-4
    un = st.causal["causal_kl_unpatched"]  # [n, (anchor, icl, it), (icl, it)]
    assert np.abs(un[:, 1, 0]).max() < 1e-6 and np.abs(un[:, 2, 1]).max() < 1e-6
    assert un[:, 0, 0].min() > 1e-3  # the anchor's output is not ICL's


def test_input_through_another_adapter_at_the_last_block_reproduces_that_state(
    patched_run,
) -> None:
    """The demonstration-specific version: input i's shift through example j's adapter,
    patched at the last block into i's own zero-shot pass, must give exactly the output
    of i through j's adapter (``cross_label_logprobs``): a wrong slot, a wrong anchor
    (j's instead of i's) or a wrong sign fails this. And it differs from i's own IT
    shift's output, so the check can tell its own adapter from the others."""
    st = patched_run.states
    last = st.causal["causal_layers"].tolist().index(st.n_layers)
    partner = st.causal["causal_adapter_partner"]
    slot = np.argmax(st.cross_adapter[:, None, :] == partner[:, :, None], axis=-1)
    expected = np.take_along_axis(st.cross_label_logprobs, slot[..., None], axis=1)
    lp = st.causal["causal_adapter_label_logprobs"][:, last]
    np.testing.assert_allclose(lp, expected, atol=1e-4)
    own_it = st.causal["causal_kl"][:, last, 1, 0, 0]  # own IT shift, KL to ICL
    through = st.causal["causal_adapter_kl"][:, last, :, 0]  # other adapters, KL to ICL
    assert np.abs(through - own_it[:, None]).max() > 1e-3


def test_adapter_partners_skip_the_own_adapter_and_padding() -> None:
    cross = np.array([[0, 1, 2, 3], [0, 1, 2, 3], [2, 3, -1, -1], [2, 3, -1, -1]])
    slots, examples = adapter_partners(cross, 4)
    assert slots.shape == examples.shape == (4, 1)  # inputs 2, 3 have one other adapter
    assert examples[:, 0].tolist() == [1, 2, 3, 2]  # the nearest after i: (j - i) mod n
    full = np.tile(np.arange(5), (5, 1))
    slots, examples = adapter_partners(full, 2)
    assert examples.tolist() == [[1, 2], [2, 3], [3, 4], [4, 0], [0, 1]]
    assert (np.take_along_axis(full, slots, 1) == examples).all()
    assert adapter_partners(np.array([[0]]), 4)[0].shape == (1, 0)  # one adapter: none


def test_blocks_beyond_the_model_skip_the_check_and_say_so(model) -> None:
    n, layers, d = 2, model.config.num_hidden_layers, model.config.hidden_size
    states = RunStates(
        hidden=np.zeros((n, 3, layers + 2, d), np.float32),
        label_logprobs=np.zeros((n, 3, 0), np.float32),
        labels=np.full(n, -1, np.int64),
        conditions=["anchor", "icl", "it"],
        example_ids=["a", "b"],
        label_names=[],
    )
    arrays, meta = task_vector_check(
        model, states, PROMPTS, CausalSpec(layers=[layers + 1, 40]), pad_id=0, label_ids=[]
    )
    assert arrays == {} and meta["causal_layers_skipped"] == [layers + 1, 40]


def test_example_groups_fill_one_batch_per_block_within_both_limits() -> None:
    # 5 examples x 2 blocks x 3 rows; prompt widths 10, 10, 30, 10, 10
    ex = np.repeat(np.arange(5), 6)
    at = np.tile(np.repeat([2, 4], 3), 5)
    width = [10, 10, 30, 10, 10]
    assert _example_groups(ex, at, width, batch_size=6, budget=None) == [[0, 1], [2, 3], [4]]
    # 6 rows x width 30 = 180 > 150: example 2 goes alone; 3 rows x 10 fit with 3 more
    assert _example_groups(ex, at, width, batch_size=64, budget=150) == [[0, 1], [2], [3, 4]]
    assert _example_groups(ex, at, width, batch_size=1, budget=1) == [[0], [1], [2], [3], [4]]


def test_the_check_in_bf16_mixed_precision_stays_close_to_fp32(engine, tiny_dir, patched_run):
    """The patched rows' KV cache and one-token continuations under bf16 autocast (the
    engine's model.dtype=bfloat16): every array finite, the patched label log-probs near
    the fp32 run's, and the last block still reproducing the stored ICL output."""
    st = _patched(engine, tiny_dir, "bfloat16").states
    assert st.meta["model"]["precision"]["compute"] == "bfloat16"
    for name in ("causal_kl", "causal_label_logprobs", "causal_adapter_kl"):
        assert np.isfinite(st.causal[name]).all(), name
    # ICL shifts need no tuning: they differ from fp32 by bf16 rounding only (IT shifts
    # also by the bf16 tuning's own trajectory)
    fp32 = patched_run.states.causal["causal_label_logprobs"]
    icl_rows = st.causal["causal_label_logprobs"][:, :, 0]
    assert np.abs(icl_rows - fp32[:, :, 0]).max() < 0.1
    last = st.causal["causal_layers"].tolist().index(st.n_layers)
    for s, cond in enumerate(("icl", "it")):  # each own shift at the last block: its source
        stored = st.label_logprobs[:, st.conditions.index(cond)]
        np.testing.assert_allclose(
            st.causal["causal_label_logprobs"][:, last, s, 0], stored, atol=0.05
        )
