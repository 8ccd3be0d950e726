"""The engine on a tiny random-init Llama, checked against plain transformers + peft."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import LoraLayer
from transformers import AutoModelForCausalLM, AutoTokenizer

from services.common.spec import ExperimentSpec, expand_runs
from services.common.storage.hidden_states import RunStates
from services.gpu_worker.engine import Cancelled
from tests.gpu_worker.reference import independent_states

ALL_IT_CONTROLS = ["untuned_adapter", "cross_adapter", "shuffled_labels", "random_lora"]
CONDITIONS = ["anchor", "icl", "it", "it_cross", "it_shuffled", "it_random", "it_untuned"]


def _run(tiny_dir, **overrides):
    body = {
        "model": {"name": str(tiny_dir)},
        "inference": {"n": 4, "seed": 1},
        "demos": {"k": 3},
        "lora": {"epochs": 3, "lr": 5e-3},
        "controls": ALL_IT_CONTROLS,
        **overrides,
    }
    spec = ExperimentSpec.model_validate(body)
    return expand_runs(spec)[0]


def _independent_states(model, ids: list[int]) -> np.ndarray:
    """[n_layers+2, d] at the last token, batch 1, no padding, plain transformers."""
    return independent_states(model, ids)[0]


def _rel_err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-layer relative error ||a-b|| / ||b||: [n_layers+1]."""
    return np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)


@pytest.fixture(scope="module")
def output(engine, tiny_dir):
    return _run(tiny_dir), engine.execute(_run(tiny_dir))


def test_shapes_and_names(output) -> None:
    run, out = output
    st = out.states
    assert st.conditions == CONDITIONS
    assert st.hidden.shape == (4, 7, 6, 64)  # examples, conditions, layers+2, d_model
    assert st.layer_names == [
        "embeddings",
        "block_1",
        "block_2",
        "block_3",
        "block_4",
        "final_norm",
    ]
    assert np.isfinite(st.hidden).all() and np.isfinite(st.label_logprobs).all()
    # log-probabilities over the whole vocabulary: the label mass is at most 1
    assert (np.exp(st.label_logprobs).sum(-1) <= 1 + 1e-5).all()
    back = RunStates.from_bytes(st.to_bytes())
    np.testing.assert_array_equal(back.hidden, st.hidden)
    assert back.example_ids == st.example_ids and back.conditions == st.conditions


def test_stored_states_match_an_independent_forward_pass(output, tiny_dir) -> None:
    _, out = output
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    for i, prompt in enumerate(out.prompts):
        for cond in ("anchor", "icl"):
            ids = prompt["conditions"][cond]["token_ids"]
            ref = _independent_states(model, ids)
            got = out.states.hidden[i, out.states.conditions.index(cond)]
            assert _rel_err(got, ref).max() < 1e-4, (i, cond)


def _peft_tuned(tiny_dir, run, demos: list[tuple[str, str]], init_seed: int):
    """A peft adapter tuned by hand on (text, label) demonstrations, as the paper does:
    "Review: …\nSentiment:" + " label", full-batch AdamW. -> (model, losses)."""
    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32)
    model = get_peft_model(
        model,
        LoraConfig(r=run.lora.r, lora_alpha=run.lora.alpha, target_modules=["q_proj", "v_proj"]),
    )
    torch.manual_seed(init_seed)
    for m in model.modules():
        if isinstance(m, LoraLayer):
            m.reset_lora_parameters("default", init_lora_weights=True)
    seqs, labels = [], []
    for text, label in demos:
        p = tok(f"Review: {text}\nSentiment:", add_special_tokens=False).input_ids
        t = tok(f" {label}", add_special_tokens=False).input_ids
        seqs.append(p + t)
        labels.append([-100] * len(p) + t)
    width = max(map(len, seqs))
    ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    lab = torch.tensor([lb + [-100] * (width - len(lb)) for lb in labels])
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=run.lora.lr, weight_decay=0.0
    )
    losses = []
    for _ in range(run.lora.epochs):
        loss = model(input_ids=ids, attention_mask=mask, labels=lab).loss
        losses.append(loss.item())
        loss.backward()
        opt.step()
        opt.zero_grad()
    return model.eval(), losses


def test_it_matches_an_independently_tuned_peft_adapter(output, tiny_dir) -> None:
    run, out = output
    i = 0
    prompt, tuning = out.prompts[i], out.tuning[i]
    demos = [(d["text"], d["label"]) for d in prompt["demos"]]
    model, losses = _peft_tuned(tiny_dir, run, demos, tuning["init_seed"])
    np.testing.assert_allclose(losses, tuning["losses"], rtol=1e-5)
    ref = _independent_states(model, prompt["conditions"]["it"]["token_ids"])
    got = out.states.hidden[i, out.states.conditions.index("it")]
    assert _rel_err(got, ref).max() < 1e-4


def test_cross_adapter_is_this_input_through_another_examples_adapter(output, tiny_dir) -> None:
    """it_cross of example 0 = example 0's prompt through the adapter tuned on example 1's
    demonstrations (the next adapter of its group), reproduced with plain peft."""
    run, out = output
    other = out.prompts[1]
    demos = [(d["text"], d["label"]) for d in other["demos"]]
    model, _ = _peft_tuned(tiny_dir, run, demos, out.tuning[1]["init_seed"])
    ref = _independent_states(model, out.prompts[0]["conditions"]["it"]["token_ids"])
    got = out.states.hidden[0, out.states.conditions.index("it_cross")]
    assert _rel_err(got, ref).max() < 1e-4


def test_shuffled_label_adapter_is_tuned_on_the_same_inputs(output, tiny_dir) -> None:
    """it_shuffled: same init and demonstration inputs, labels permuted (recorded), tuned
    and read exactly like IT; reproduced with plain peft."""
    run, out = output
    prompt, tuning = out.prompts[0], out.tuning[0]
    shuffled = tuning["shuffled_labels"]
    assert sorted(shuffled) == sorted(d["label"] for d in prompt["demos"])
    assert shuffled != [d["label"] for d in prompt["demos"]]
    demos = [(d["text"], lab) for d, lab in zip(prompt["demos"], shuffled, strict=True)]
    model, losses = _peft_tuned(tiny_dir, run, demos, tuning["init_seed"])
    np.testing.assert_allclose(losses, tuning["shuffled_losses"], rtol=1e-5)
    ref = _independent_states(model, prompt["conditions"]["it"]["token_ids"])
    got = out.states.hidden[0, out.states.conditions.index("it_shuffled")]
    assert _rel_err(got, ref).max() < 1e-4


def test_random_lora_moves_the_state_but_not_where_tuning_does(output) -> None:
    _, out = output
    h, c = out.states.hidden, out.states.conditions
    anchor, rnd, it = h[:, c.index("anchor"), -1], h[:, c.index("it_random"), -1], h[:, 2, -1]
    assert np.abs(rnd - anchor).max() > 1e-4  # a real perturbation
    assert not np.allclose(rnd, it)


def test_untuned_adapter_equals_anchor_and_tuning_moves_states(output) -> None:
    _, out = output
    h = out.states.hidden
    np.testing.assert_allclose(h[:, CONDITIONS.index("it_untuned")], h[:, 0], rtol=1e-5, atol=1e-6)
    assert np.abs(h[:, 2, -1] - h[:, 0, -1]).max() > 1e-4
    # the embedding layer of the last prompt token does not depend on context or LoRA
    np.testing.assert_allclose(h[:, 1, 0], h[:, 0, 0], rtol=1e-6)


def test_two_runs_with_the_same_seed_give_the_same_numbers(engine, tiny_dir, output) -> None:
    _, first = output
    again = engine.execute(_run(tiny_dir))
    np.testing.assert_array_equal(again.states.hidden, first.states.hidden)
    np.testing.assert_array_equal(again.states.label_logprobs, first.states.label_logprobs)


def test_shared_scope_uses_one_adapter(engine, tiny_dir) -> None:
    out = engine.execute(_run(tiny_dir, demos={"k": 2, "scope": "shared"}))
    assert len(out.tuning) == 1 and len(out.tuning[0]["examples"]) == 4
    demos = {tuple(d["example_id"] for d in p["demos"]) for p in out.prompts}
    assert len(demos) == 1


def test_shared_demonstrations_are_computed_once_and_match(engine, tiny_dir) -> None:
    """scope: shared puts the same demonstrations in front of every ICL prompt; the engine
    runs that prefix once (KV cache) and the states still match full batch-1 forwards."""
    out = engine.execute(_run(tiny_dir, demos={"k": 4, "scope": "shared"}))
    ids = [p["conditions"]["icl"]["token_ids"] for p in out.prompts]
    shared = min(
        next((j for j, (a, b) in enumerate(zip(ids[0], other, strict=False)) if a != b), 0)
        for other in ids[1:]
    )
    assert shared >= engine.reuse_prefix  # the lever applies to this run
    model = AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    icl = out.states.conditions.index("icl")
    for i, prompt_ids in enumerate(ids):
        ref = _independent_states(model, prompt_ids)
        assert _rel_err(out.states.hidden[i, icl], ref).max() < 1e-5, i


def test_cancellation_is_checked_between_steps(engine, tiny_dir) -> None:
    calls = []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        engine.execute(_run(tiny_dir), should_cancel=should_cancel)


def test_random_init_control_uses_fresh_weights(engine, tiny_dir, output) -> None:
    spec = ExperimentSpec(
        model={"name": str(tiny_dir)},
        inference={"n": 4, "seed": 1},
        demos={"k": 3},
        lora={"epochs": 1},
        controls=["random_init"],
    )
    control = [r for r in expand_runs(spec) if r.control == "random_init"][0]
    out = engine.execute(control)
    assert out.states.meta["model"]["random_init"] is True
    assert not np.allclose(out.states.hidden[:, 0, -1], output[1].states.hidden[:, 0, -1])


def test_states_bytes_are_deterministic(output) -> None:
    """Equal states give equal bytes, so a redelivered run writes the same checksum."""
    _, out = output
    assert out.states.to_bytes() == out.states.to_bytes()
    from safetensors.numpy import load

    np.testing.assert_array_equal(load(out.states.to_bytes())["hidden"], out.states.hidden)
