"""Engine variants with one lever off, timed beside the engine with ``--variants``: one
peft adapter at a time, full-vocabulary logits, no KV prefix reuse, a full forward per
patched row of the task-vector check (bench/NOTES.md, "Levers")."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any

import numpy as np
import torch


def _full_logits(model: Any, ids: torch.Tensor, mask: torch.Tensor, where: torch.Tensor) -> Any:
    """The head on every position, then pick the targets: how tuning worked before lever (i)."""
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    return logits[where]


@contextmanager
def _swapped(module: str, name: str, value: Any) -> Iterator[None]:
    """``module.name`` is ``value`` within the block (a lever's code swapped for how it
    ran before)."""
    mod = importlib.import_module(module)
    saved = getattr(mod, name)
    setattr(mod, name, value)
    try:
        yield
    finally:
        setattr(mod, name, saved)


def _patched_rows_full(
    model: Any,
    states: Any,
    anchor_ids: Any,
    ex: np.ndarray,
    at: np.ndarray,
    shifts: np.ndarray,
    **extract: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The task-vector check's rows as it ran before its KV reuse: every patched row a
    full forward of its example's anchor prompt, batched by length, the references'
    distributions taken again for every row."""
    from services.gpu_worker import patching
    from services.gpu_worker.extraction import extract_last_token_states

    head = patching.output_head(model)
    blocks = patching.decoder_blocks(model, states.n_layers)
    label_lp = np.full((ex.size, states.label_logprobs.shape[-1]), np.nan, np.float32)
    kl = np.full((ex.size, len(patching.CAUSAL_REFERENCES)), np.nan)
    device = next(model.parameters()).device
    added = torch.as_tensor(shifts, dtype=torch.float32, device=device)
    for b in np.unique(at):
        rows = np.flatnonzero(at == b)

        def context(chunk: list[int], rows: np.ndarray = rows, b: int = int(b)) -> Any:
            return patching.shift_added(blocks[b - 1], added[rows][chunk])

        hidden, label_lp[rows] = extract_last_token_states(
            model,
            [anchor_ids[i] for i in ex[rows]],
            pad_id=extract["pad_id"],
            label_token_ids=extract["label_ids"],
            batch_size=extract["batch_size"],
            token_budget=extract["token_budget"],
            batch_context=context,
        )
        logp = patching.output_logprobs(head, hidden[:, -1])
        for r, ref in enumerate(patching.CAUSAL_REFERENCES):
            ref_logp = patching.output_logprobs(head, states.condition(ref)[ex[rows], -1])
            kl[rows, r] = patching.kl_divergence(logp, ref_logp).cpu().numpy()
    return label_lp, kl


# Engine variants that switch levers off, timed side by side with the engine (--variants).
VARIANTS: dict[str, tuple[dict[str, Any], Callable[[], Any]]] = {
    # lever (ii) off: one peft adapter at a time (the engine's path for single adapters)
    "engine-peft": ({"max_adapters": 1}, nullcontext),
    # levers (i) and (ii) off: one peft adapter at a time, full-vocab logits everywhere
    "engine-peft-full": (
        {"max_adapters": 1},
        partial(_swapped, "services.gpu_worker.tuning", "target_logits", _full_logits),
    ),
    # KV reuse of a shared prefix off (matters with demos.scope: shared)
    "engine-nokv": ({"reuse_prefix": 0}, nullcontext),
    # the task-vector check's KV reuse off: a full forward per patched row (causal.enabled)
    "engine-patch-full": (
        {},
        partial(_swapped, "services.gpu_worker.patching", "_patched_rows", _patched_rows_full),
    ),
}
