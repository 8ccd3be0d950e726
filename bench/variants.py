"""Engine variants with one lever off, timed beside the engine with ``--variants``: one
peft adapter at a time, full-vocabulary logits, no KV prefix reuse (bench/NOTES.md,
"Levers")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch


def _full_logits(model: Any, ids: torch.Tensor, mask: torch.Tensor, where: torch.Tensor) -> Any:
    """The head on every position, then pick the targets: how tuning worked before lever (i)."""
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    return logits[where]


@contextmanager
def _tuning_with_full_logits() -> Iterator[None]:
    from services.gpu_worker import tuning

    saved = tuning.target_logits
    tuning.target_logits = _full_logits
    try:
        yield
    finally:
        tuning.target_logits = saved


# Engine variants that switch levers off, timed side by side with the engine (--variants).
VARIANTS: dict[str, tuple[dict[str, Any], Callable[[], Any]]] = {
    # lever (ii) off: one peft adapter at a time (the engine's path for single adapters)
    "engine-peft": ({"max_adapters": 1}, nullcontext),
    # levers (i) and (ii) off: one peft adapter at a time, full-vocab logits everywhere
    "engine-peft-full": ({"max_adapters": 1}, _tuning_with_full_logits),
    # KV reuse of a shared prefix off (matters with demos.scope: shared)
    "engine-nokv": ({"reuse_prefix": 0}, nullcontext),
}
