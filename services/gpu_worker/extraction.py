"""Last-prompt-token hidden states at every layer, batched with left padding.

hidden:         [batch, n_layers + 2, d_model]  layer 0 = embeddings,
                                                layer i = output of decoder block i,
                                                before any final norm (1..n_layers),
                                                layer n_layers + 1 = final norm output
label_logprobs: [batch, n_labels]               next-token log-softmax (whole vocabulary)
                                                of each label's first token, at the last
                                                prompt token

Why n_layers + 2: transformers' last ``hidden_states`` entry is the final norm's output,
not the last block's; the last block's own output is read at the final norm's input by a
forward hook, so both are kept and named for what they are.

Prompts that share a long prefix (a demonstration set shared by every inference example)
compute it once: the prefix runs alone with a KV cache, and each batch of suffixes runs
on a copy of that cache, with the prefix's positions and attention mask in front of its
own (left padding of the suffixes sits between the two and is masked out). The last
token's states match a full forward within float rounding (tests/gpu_worker/test_extraction).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers.cache_utils import Cache


def left_pad(
    prompts: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """input_ids, attention_mask and position_ids [batch, max_len]; positions count real
    tokens only, so a left-padded row sees the same positions as an unpadded one."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return ids.to(device), mask.to(device), positions.to(device)


@torch.no_grad()
def extract_last_token_states(
    model: nn.Module,
    prompts: Sequence[Sequence[int]],
    *,
    pad_id: int,
    label_token_ids: Sequence[int] = (),
    batch_size: int = 8,
    token_budget: int | None = None,
    batch_context: Callable[[list[int]], AbstractContextManager[object]] | None = None,
    reuse_prefix: int = 0,
    prefix: Prefix | None = None,
    prefix_of: Sequence[int] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``prompts`` (token ids); return (hidden [B, L+2, d], label_logprobs [B, n_labels]).

    Prompts are grouped by length to keep padding small; a batch holds at most
    ``batch_size`` prompts and, with ``token_budget``, at most that many padded tokens (at
    least one prompt). ``batch_context(indices)`` wraps the forward of the batch holding
    those prompts (e.g. to route each row through its own adapter). With
    ``reuse_prefix`` > 0, a prefix of at least that many tokens shared by every prompt is
    computed once and reused through the KV cache (not with ``batch_context``: rows
    through different adapters have different prefix states). With ``prefix`` (from
    ``compute_prefix``, run already), prompt i continues prefix ``prefix_of[i]`` (default:
    the first); ``batch_context`` is then the caller's to keep off the prefix (e.g. a hook
    on the last position only). Results come back in input order. ``on_batch(done,
    total)`` is called after each batch with the prompts done so far (progress at the
    granularity of the work; it may raise to stop between batches).
    """
    if not prompts:
        raise ValueError("no prompts")
    device = next(model.parameters()).device
    rest: Sequence[Sequence[int]] = prompts
    if prefix is None and reuse_prefix > 0 and batch_context is None:
        prefix, rest = _shared_prefix(model, prompts, reuse_prefix, pad_id)
    shared = prefix.width if prefix is not None else 0
    cache = prefix.cache if prefix is not None else None
    which = torch.as_tensor(
        list(prefix_of) if prefix_of is not None else [0] * len(rest), dtype=torch.long
    )
    order = sorted(range(len(rest)), key=lambda i: len(rest[i]))
    hidden_out: dict[int, np.ndarray] = {}  # by prompt index
    logits_out: dict[int, np.ndarray] = {}
    label_idx = torch.tensor(list(label_token_ids), dtype=torch.long, device=device)
    # the budget counts the prefix too: each row attends to (and its cache holds) all of it
    lengths = [shared + len(p) for p in rest]
    done = 0
    norm = final_norm(model)  # found once per call, not per batch
    for chunk in _batches(order, lengths, batch_size, token_budget):
        ids, mask, positions = left_pad([rest[i] for i in chunk], pad_id, device)
        kwargs: dict[str, object] = {"use_cache": False}
        if cache is not None:
            assert prefix is not None
            rows = which[chunk].to(device)
            past = copy.deepcopy(cache)
            past.batch_select_indices(rows)  # row r continues prefix rows[r]
            mask = torch.cat([prefix.mask.index_select(0, rows), mask], dim=1)
            positions = positions + prefix.lengths.index_select(0, rows)[:, None]
            kwargs = {"use_cache": True, "cache": past}
        ctx = batch_context(chunk) if batch_context is not None else nullcontext()
        with ctx, _final_norm_io(norm) as norm_io:
            out = model(
                input_ids=ids,
                attention_mask=mask,
                position_ids=positions,
                output_hidden_states=True,
                logits_to_keep=1,
                **kwargs,
            )
        last, picked = _last_token_outputs(out, norm_io, label_idx)
        for row, i in enumerate(chunk):
            hidden_out[i] = last[row].numpy()
            logits_out[i] = (
                picked[row].numpy() if picked is not None else np.zeros((0,), np.float32)
            )
        done += len(chunk)
        if on_batch is not None:
            on_batch(done, len(prompts))
    return _in_input_order(hidden_out), _in_input_order(logits_out)


def _shared_prefix(
    model: nn.Module, prompts: Sequence[Sequence[int]], at_least: int, pad_id: int
) -> tuple[Prefix | None, Sequence[Sequence[int]]]:
    """(the prefix every prompt shares, run once; the rest of each prompt) when that
    prefix has at least ``at_least`` tokens; else (None, the prompts)."""
    n = common_prefix_len(prompts) if len(prompts) > 1 else 0
    if n < at_least:
        return None, prompts
    return compute_prefix(model, [prompts[0][:n]], pad_id=pad_id), [p[n:] for p in prompts]


def _last_token_outputs(
    out: Any, norm_io: list[torch.Tensor], label_idx: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A forward's last-position states [b, L+2, d] (float32, CPU) and label log-probs
    [b, n_labels] (None without labels). hidden_states: (n_layers + 1) x [b, t, d], the
    last entry the final norm's output -> embeddings, blocks 1..L (pre-norm), final norm."""
    blocks = [h[:, -1, :] for h in out.hidden_states[:-1]]
    last_block, final = norm_io if norm_io else (out.hidden_states[-1][:, -1, :],) * 2
    last = torch.stack([*blocks, last_block, final], dim=1).float().cpu()
    logits = out.logits[:, -1, :].float()
    logprobs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return last, (logprobs.index_select(-1, label_idx).cpu() if len(label_idx) else None)


def _in_input_order(by_index: dict[int, np.ndarray]) -> np.ndarray:
    """Rows stacked by prompt index 0, 1, ... (every index must be there)."""
    return np.stack([by_index[i] for i in range(len(by_index))])


# Names of the decoder's final norm: LLaMA/Mistral/Qwen "norm", GPT-2/Falcon "ln_f",
# Phi "final_layernorm", Mamba-style "norm_f".
FINAL_NORM_NAMES = {"norm", "ln_f", "final_layernorm", "norm_f"}


def final_norm(model: torch.nn.Module) -> torch.nn.Module | None:
    """The decoder's final norm (e.g. ``model.norm`` in LLaMA-family decoders; found
    through peft wrappers too), or None when the model has no such module: then the last
    two layer entries are both transformers' last hidden state."""
    found = None
    for name, module in model.named_modules():
        parts = name.split(".")
        if parts[-1] in FINAL_NORM_NAMES and not {"layers", "h", "blocks"} & set(parts):
            found = module
    return found


@contextmanager
def _final_norm_io(norm: torch.nn.Module | None) -> Iterator[list[torch.Tensor]]:
    """Collects [input, output] of the final norm at the last position during a forward.
    Empty when the model has no final norm (then both come from hidden_states[-1])."""
    io: list[torch.Tensor] = []
    if norm is None:
        yield io
        return

    def grab(module: torch.nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        io[:] = [args[0][:, -1, :], out[:, -1, :]]

    handle = norm.register_forward_hook(grab)
    try:
        yield io
    finally:
        handle.remove()


def common_prefix_len(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens every prompt starts with, leaving each prompt at least one token of its own
    (the last token's states are what is extracted)."""
    first = prompts[0]
    n = min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        i = 0
        while i < n and p[i] == first[i]:
            i += 1
        n = i
        if n == 0:
            break
    return max(n, 0)


@dataclass(frozen=True)
class Prefix:
    """Prompt prefixes run once, left-padded into one batch: their KV cache (batch =
    prefixes; None when every prefix is empty) and attention mask [prefixes, width]."""

    cache: Cache | None
    mask: torch.Tensor

    @property
    def width(self) -> int:
        """Padded length: the positions every continuation's mask starts with."""
        return int(self.mask.shape[1])

    @property
    def lengths(self) -> torch.Tensor:
        """[prefixes] real tokens of each: where its continuation's positions start."""
        return self.mask.sum(-1)


@torch.no_grad()
def compute_prefix(model: nn.Module, prefixes: Sequence[Sequence[int]], *, pad_id: int) -> Prefix:
    """``prefixes`` through ``model`` in one left-padded batch, keeping the KV cache for
    continuations (``extract_last_token_states(prefix=..., prefix_of=...)``)."""
    device = next(model.parameters()).device
    if not any(prefixes):
        return Prefix(None, torch.zeros((len(prefixes), 0), dtype=torch.long, device=device))
    ids, mask, positions = left_pad(prefixes, pad_id, device)
    out = model(
        input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1
    )
    cache = out.cache
    if not isinstance(cache, Cache):
        raise TypeError(f"{type(model).__name__} returned no KV cache")
    return Prefix(cache, mask)


def _batches(
    order: list[int], lengths: list[int], batch_size: int, token_budget: int | None
) -> list[list[int]]:
    """Consecutive runs of ``order`` (sorted by length) within both limits."""
    out: list[list[int]] = []
    chunk: list[int] = []
    for i in order:
        fits = len(chunk) < batch_size and (
            token_budget is None or (len(chunk) + 1) * lengths[i] <= token_budget
        )
        if chunk and not fits:
            out.append(chunk)
            chunk = []
        chunk.append(i)
    if chunk:
        out.append(chunk)
    return out


class StatesCache:
    """Extracted states kept by key (e.g. model, prompt ids, label ids), so that each is
    computed once; beyond ``size`` entries the least recently used go first."""

    def __init__(self, size: int):
        self.size = size
        self._held: OrderedDict[Hashable, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def get(
        self,
        keys: Sequence[Hashable],
        compute: Callable[[list[int]], tuple[np.ndarray, np.ndarray]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """(hidden, label_logprobs) stacked in the order of ``keys``; ``compute(missing)``
        extracts the states of the keys at positions ``missing`` that are not held."""
        missing = [i for i, k in enumerate(keys) if k not in self._held]
        if missing:
            h, lg = compute(missing)
            for j, i in enumerate(missing):
                self._held[keys[i]] = (h[j], lg[j])
                while len(self._held) > self.size:
                    self._held.popitem(last=False)
        for k in keys:
            self._held.move_to_end(k)
        return (
            np.stack([self._held[k][0] for k in keys]),
            np.stack([self._held[k][1] for k in keys]),
        )
