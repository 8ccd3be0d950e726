"""The task-vector check: a condition's shift patched into the zero-shot pass.

Activation patching as in Hendel et al. 2023 ("In-context learning creates task vectors")
and Todd et al. 2024 ("Function vectors"). If ICL and IT converge, example i's ICL shift
added to its zero-shot pass should carry IT's behaviour, and its IT shift ICL's. For
example i, a patched decoder block l, a shift source s in (icl, it) and a partner j
(j = i: own; j != i: cross, another example's shift):

    shift      = h_s[j, l] - h_anchor[j, l]                      [d_model]
    patched    = the BASE model on i's anchor prompt, ``shift`` added to block l's
                 output at the last prompt token (a forward hook)
    logprobs   = log-softmax over the whole vocabulary at the last token   [vocab]
    stored     = label log-probs, KL(patched || ICL_i), KL(patched || IT_i)

The shift is added at the last position only, and under causal attention no earlier
position sees it: each example's prompt but its last token runs once, unpatched, into a
KV cache, and every patched row (each block, source and partner) is a one-token
continuation of it. Full-vocabulary distributions are too large to store, so the KLs are
taken here. ICL's
and IT's output distributions are recomputed from their stored final-norm states through
the base model's output head: no extra forward, since LoRA on the attention or MLP
projections never touches the head. ``head_check`` measures that against the stored label
log-probs; a model whose logits are not head(final norm) (logit soft-capping, a tuned
head) shows up there, recorded as ``causal_head_check_max_abs`` in the run's meta.
Patching the whole shift at the last block reproduces the source's output exactly (only
the final norm and the head follow it): the hook's own test.

Own vs cross changes the input and the demonstrations together. With the cross_adapter
control the run also holds input i through every adapter of its group (``cross_hidden``),
so the check adds the demonstration-specific version: i's OWN input through another
example's adapter,

    shift      = h_cross[i, adapter of j, l] - h_anchor[i, l]   (j != i)

patched into i's zero-shot pass (``CAUSAL_ADAPTER_AXES``). Against i's own IT shift it
asks whether i's own demonstration set carries ICL_i's behaviour better than another set
does, with the input held fixed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from services.common.spec import CausalSpec
from services.common.storage.hidden_states import (
    CAUSAL_REFERENCES,
    CAUSAL_SHIFTS,
    CAUSAL_UNPATCHED,
    Condition,
    RunStates,
)
from services.gpu_worker.extraction import Prefix, compute_prefix, extract_last_token_states
from services.gpu_worker.plan import RunPlan
from services.gpu_worker.tuning import AdapterSlots

BLOCK_LIST_NAMES = {"layers", "h", "blocks"}  # LLaMA/Mistral/Qwen, GPT-2/Falcon, others
ROWS_PER_CALL = 256  # rows per output-head call: bounds the [rows, vocab] log-probs


def decoder_blocks(model: nn.Module, n_layers: int) -> nn.ModuleList:
    """The decoder's blocks in order (found through peft wrappers too): the ModuleList
    named like ``model.layers`` with ``n_layers`` entries."""
    for name, module in model.named_modules():
        last = name.split(".")[-1]
        named_like_blocks = isinstance(module, nn.ModuleList) and last in BLOCK_LIST_NAMES
        if named_like_blocks and len(module) == n_layers:
            return module
    raise ValueError(f"{type(model).__name__}: no list of {n_layers} decoder blocks found")


def default_layers(n_layers: int) -> list[int]:
    """Blocks at 1/4, 1/2 and 3/4 depth and the last block (1-based, each once)."""
    picked = {max(1, round(n_layers * q)) for q in (0.25, 0.5, 0.75)} | {n_layers}
    return sorted(picked)


def resolve_layers(spec: CausalSpec, n_layers: int) -> tuple[list[int], list[int]]:
    """(blocks to patch, requested blocks beyond the model's depth, skipped)."""
    asked = spec.layers if spec.layers is not None else default_layers(n_layers)
    asked = sorted(set(asked))
    return [b for b in asked if b <= n_layers], [b for b in asked if b > n_layers]


def partners(n: int, cross: int) -> np.ndarray:
    """[n, 1 + c] int64: column 0 is the example itself, column s its s-th neighbour
    (i + s) mod n, c = min(cross, n - 1): every cross partner is another example."""
    c = min(cross, n - 1)
    return (np.arange(n)[:, None] + np.arange(c + 1)[None, :]) % n


@contextmanager
def shift_added(block: nn.Module, shifts: torch.Tensor) -> Iterator[None]:
    """Adds ``shifts`` [batch, d_model] to ``block``'s output at the last position (the
    last prompt token under left padding) for the forwards inside the block."""

    def add(module: nn.Module, args: Any, out: Any) -> Any:
        hidden = out[0] if isinstance(out, tuple) else out
        patched = hidden.clone()
        patched[:, -1, :] += shifts.to(patched.dtype)
        return (patched, *out[1:]) if isinstance(out, tuple) else patched

    # first among the block's hooks: transformers records hidden_states with its own
    # forward hooks, which then see the patched output
    handle = block.register_forward_hook(add, prepend=True)
    try:
        yield
    finally:
        handle.remove()


def output_head(model: nn.Module) -> nn.Module:
    """The model's output head (hidden state -> logits; found through peft wrappers)."""
    head = model.get_output_embeddings()  # type: ignore[operator]
    if not isinstance(head, nn.Module):
        raise ValueError(f"{type(model).__name__} has no output head")
    return head


@torch.no_grad()
def output_logprobs(head: nn.Module, final_states: np.ndarray) -> torch.Tensor:
    """final_states [b, d_model] (final-norm outputs) -> log-softmax of the head's logits
    over the whole vocabulary [b, vocab], float32."""
    weight = next(head.parameters())
    x = torch.as_tensor(final_states, device=weight.device).to(weight.dtype)
    return torch.log_softmax(head(x).float(), dim=-1)


def kl_divergence(p_log: torch.Tensor, q_log: torch.Tensor) -> torch.Tensor:
    """KL(p || q) per row from log-probabilities [b, vocab] -> [b] (float64 sum)."""
    terms = torch.exp(p_log) * (p_log - q_log)
    return terms.double().sum(-1).clamp(min=0.0)


def patched_pass(
    model: nn.Module,
    prompts: Sequence[Sequence[int]],
    shifts: np.ndarray,
    block: nn.Module,
    *,
    pad_id: int,
    label_ids: Sequence[int],
    batch_size: int,
    token_budget: int | None,
    prefix: Prefix | None = None,
    prefix_of: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each prompt through ``model`` with its row of ``shifts`` [b, d] added to the
    output of ``block`` (one of ``decoder_blocks``) at the last token -> (hidden
    [b, L+2, d], label_logprobs [b, n_labels]), by the extraction path of every condition.
    Every token but the last runs once per distinct prompt into a KV cache (or the caller
    ran it: ``prefix``, row r continuing ``prefix_of[r]``); each row is a one-token
    continuation (no earlier position sees the last one)."""
    if any(not ids for ids in prompts):
        raise ValueError("patched_pass: an empty prompt")
    if prefix is None:
        distinct: dict[tuple[int, ...], int] = {}
        prefix_of = [distinct.setdefault(tuple(ids), len(distinct)) for ids in prompts]
        prefix = compute_prefix(model, [list(ids[:-1]) for ids in distinct], pad_id=pad_id)
    device = next(model.parameters()).device
    added = torch.as_tensor(shifts, dtype=torch.float32, device=device)
    return extract_last_token_states(
        model,
        [ids[-1:] for ids in prompts],
        pad_id=pad_id,
        label_token_ids=label_ids,
        batch_size=batch_size,
        token_budget=token_budget,
        batch_context=lambda chunk: shift_added(block, added[chunk]),
        prefix=prefix,
        prefix_of=prefix_of,
    )


def unpatched_kl(head: nn.Module, states: RunStates) -> np.ndarray:
    """[n, condition, reference]: KL of the plain conditions' outputs (anchor, icl, it)
    to ICL's and IT's: where the patched values start from and aim at."""
    final = {c: states.condition(c)[:, -1] for c in CAUSAL_UNPATCHED}
    out = np.zeros((states.hidden.shape[0], len(CAUSAL_UNPATCHED), len(CAUSAL_REFERENCES)))
    for lo in range(0, out.shape[0], ROWS_PER_CALL):
        rows = slice(lo, lo + ROWS_PER_CALL)
        refs = [output_logprobs(head, final[r][rows]) for r in CAUSAL_REFERENCES]
        for c, cond in enumerate(CAUSAL_UNPATCHED):
            logp = output_logprobs(head, final[cond][rows])
            for r, ref in enumerate(refs):
                out[rows, c, r] = kl_divergence(logp, ref).cpu().numpy()
    return out


def head_check(head: nn.Module, states: RunStates, label_ids: Sequence[int]) -> float:
    """Largest |head-recomputed - stored| label log-prob over anchor, icl and it: how far
    the reference distributions can be from the model's own outputs."""
    if not label_ids:
        return 0.0
    worst = 0.0
    for cond in CAUSAL_UNPATCHED:
        stored = states.label_logprobs[:, states.conditions.index(cond)]
        for lo in range(0, stored.shape[0], ROWS_PER_CALL):
            final = states.condition(cond)[lo : lo + ROWS_PER_CALL, -1]
            got = output_logprobs(head, final)[:, list(label_ids)].cpu().numpy()
            worst = max(worst, float(np.abs(got - stored[lo : lo + ROWS_PER_CALL]).max()))
    return worst


def _example_groups(
    ex: np.ndarray, at: np.ndarray, width: Sequence[int], batch_size: int, budget: int | None
) -> list[list[int]]:
    """The examples of ``ex`` in consecutive groups whose rows at any one block fit one
    extraction batch (``batch_size`` rows; with ``budget``, rows x (longest prompt) padded
    tokens: each row attends to its whole prefix), at least one example each."""
    groups: list[list[int]] = []
    rows = longest = 0
    for i in np.unique(ex).tolist():
        mine = at[ex == i]
        n = int(np.unique(mine, return_counts=True)[1].max())  # its rows at one block
        wide = max(longest, width[i])
        fits = rows + n <= batch_size and (budget is None or (rows + n) * wide <= budget)
        if groups and fits:
            groups[-1].append(i)
            rows, longest = rows + n, wide
        else:
            groups.append([i])
            rows, longest = n, width[i]
    return groups


def _patched_rows(
    model: nn.Module,
    states: RunStates,
    anchor_ids: Sequence[Sequence[int]],
    ex: np.ndarray,
    at: np.ndarray,
    shifts: np.ndarray,
    **extract: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Row r: example ex[r]'s anchor prompt with shifts[r] added at block at[r] -> (label
    log-probs [rows, n_labels], KL [rows, reference] of the patched output to ex[r]'s).
    Examples go in groups (``_example_groups``): a group's prompts but their last tokens
    run once, in one batch, for all its rows and blocks, then each block's rows of the
    group are one batch of one-token continuations; the references are taken once per
    example."""
    head = output_head(model)
    blocks = decoder_blocks(model, states.n_layers)
    label_lp = np.full((ex.size, states.label_logprobs.shape[-1]), np.nan, np.float32)
    kl = np.full((ex.size, len(CAUSAL_REFERENCES)), np.nan)
    width = [len(p) for p in anchor_ids]
    batch_size, budget = extract["batch_size"], extract.get("token_budget")
    for group in _example_groups(ex, at, width, batch_size, budget):
        prompts = [list(anchor_ids[i]) for i in group]
        prefix = compute_prefix(model, [p[:-1] for p in prompts], pad_id=extract["pad_id"])
        slot = np.full(len(anchor_ids), -1)
        slot[group] = np.arange(len(group))
        refs = [output_logprobs(head, states.condition(c)[group, -1]) for c in CAUSAL_REFERENCES]
        ours = np.isin(ex, group)
        for b in np.unique(at[ours]):
            rows = np.flatnonzero(ours & (at == b))
            of = slot[ex[rows]]
            hidden, label_lp[rows] = patched_pass(
                model,
                [prompts[s] for s in of],
                shifts[rows],
                blocks[b - 1],
                prefix=prefix,
                prefix_of=of.tolist(),
                **extract,
            )
            logp = output_logprobs(head, hidden[:, -1])
            pick = torch.as_tensor(of, device=logp.device)
            for r, ref in enumerate(refs):
                kl[rows, r] = kl_divergence(logp, ref.index_select(0, pick)).cpu().numpy()
    return label_lp, kl


def _own_cross_rows(
    states: RunStates, layers: list[int], pair: np.ndarray
) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Every (example, patched block, shift source, partner) as a row -> (shape, example,
    block, shift): a row carries its partner j's shift h_source[j] - h_anchor[j]."""
    n, n_part = pair.shape
    shape = (n, len(layers), len(CAUSAL_SHIFTS), n_part)
    ex, lay, src, part = np.unravel_index(np.arange(int(np.prod(shape))), shape)
    at = np.asarray(layers, dtype=np.int64)[lay]
    j = pair[ex, part]  # whose shift each row carries
    anchor = states.condition(Condition.ANCHOR)[:, layers]  # [n, block, d]
    source = np.stack([states.condition(c)[:, layers] for c in CAUSAL_SHIFTS])  # [S, n, block, d]
    return shape, ex, at, source[src, j, lay] - anchor[j, lay]


def adapter_partners(cross_adapter: np.ndarray, cross: int) -> tuple[np.ndarray, np.ndarray]:
    """cross_adapter [n, m] (``RunStates.cross_adapter``) -> (slots, examples), each
    [n, c] int64: for input i, the ``cross_hidden`` slots of c other examples' adapters and
    those examples, the nearest after i first ((j - i) mod n). c = min(cross, the fewest
    other adapters any input has), so no row is padded; c = 0 when some input has none."""
    n = cross_adapter.shape[0]
    own = np.arange(n)[:, None]
    usable = (cross_adapter >= 0) & (cross_adapter != own)
    c = min(cross, int(usable.sum(axis=1).min()) if n else 0)
    order = np.where(usable, (cross_adapter - own) % max(n, 1), np.iinfo(np.int64).max)
    slots = np.argsort(order, axis=1, kind="stable")[:, :c].astype(np.int64)
    return slots, np.take_along_axis(cross_adapter, slots, axis=1).astype(np.int64)


def _adapter_rows(
    states: RunStates, layers: list[int], slots: np.ndarray
) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Input i's IT shift through each of its ``slots``' adapters (another example's
    demonstration set; ``cross_hidden``) at each patched block, as rows -> (shape
    [n, block, adapter_partner], example, block, shift)."""
    assert states.cross_hidden is not None
    n, c = slots.shape
    shape = (n, len(layers), c)
    ex, lay, part = np.unravel_index(np.arange(int(np.prod(shape))), shape)
    at = np.asarray(layers, dtype=np.int64)[lay]
    through = states.cross_hidden[ex, slots[ex, part], at]
    return shape, ex, at, through - states.condition(Condition.ANCHOR)[ex, at]


def task_vector_check(
    model: nn.Module,
    states: RunStates,
    anchor_ids: Sequence[Sequence[int]],
    spec: CausalSpec,
    **extract: Any,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The check on a run's assembled states, with ``model`` the base model -> (the
    ``causal_*`` arrays of ``hidden_states.CAUSAL_AXES``, meta entries). ``extract``:
    pad_id, label_ids, batch_size, token_budget of the extraction passes."""
    layers, skipped = resolve_layers(spec, states.n_layers)
    if not layers:  # every requested block beyond the model's depth: nothing to patch
        return {}, {"causal_layers_skipped": skipped, "causal_head_check_max_abs": None}
    pair = partners(states.hidden.shape[0], spec.cross)
    parts = {"own_cross": _own_cross_rows(states, layers, pair)}
    adapter_partner = np.zeros((0, 0), np.int64)
    if states.cross_adapter is not None:
        slots, adapter_partner = adapter_partners(states.cross_adapter, spec.cross)
        if slots.shape[1] > 0:
            parts["adapter"] = _adapter_rows(states, layers, slots)
    # both kinds of rows in one pass over the examples: each prompt's prefix runs once
    ex, at, shifts = (np.concatenate([p[k] for p in parts.values()]) for k in (1, 2, 3))
    label_lp, kl = _patched_rows(model, states, anchor_ids, ex, at, shifts, **extract)
    got: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    lo = 0
    for name, (shape, *_) in parts.items():
        hi = lo + int(np.prod(shape))
        got[name] = (label_lp[lo:hi].reshape(*shape, -1), kl[lo:hi].reshape(*shape, -1))
        lo = hi
    head = output_head(model)
    arrays = {
        "causal_layers": np.array(layers, dtype=np.int64),
        "causal_partner": pair.astype(np.int64),
        "causal_label_logprobs": got["own_cross"][0],
        "causal_kl": got["own_cross"][1].astype(np.float32),
        "causal_kl_unpatched": unpatched_kl(head, states).astype(np.float32),
    }
    if "adapter" in got:
        arrays |= {
            "causal_adapter_partner": adapter_partner,
            "causal_adapter_label_logprobs": got["adapter"][0],
            "causal_adapter_kl": got["adapter"][1].astype(np.float32),
        }
    meta = {
        "causal_layers_skipped": skipped,
        "causal_head_check_max_abs": head_check(head, states, extract.get("label_ids", ())),
    }
    return arrays, meta


def patch_shifts(
    states: RunStates,
    slots: AdapterSlots,
    plan: RunPlan,
    timings: dict[str, float],
    batch_size: int,
    token_budget: int | None,
) -> None:
    """The engine's call: the check through the base model (every adapter off), its
    arrays and meta added to ``states``, its wall time to ``timings["causal"]``; the
    patched passes are batched like the engine's extraction passes."""
    t = time.perf_counter()
    with slots.disabled() as base:
        arrays, meta = task_vector_check(
            base,
            states,
            plan.anchor_ids,
            plan.run.causal,
            pad_id=plan.pad,
            label_ids=plan.label_ids,
            batch_size=batch_size,
            token_budget=token_budget,
        )
    states.causal.update(arrays)
    states.meta.update(meta)
    timings["causal"] = time.perf_counter() - t
