"""Reference hidden states from plain transformers, batch 1, no padding, for the tests.

The layer axis is the engine's: hidden_states[:-1] (embeddings and blocks 1..L-1), the
last block's own output (a forward hook on the last decoder layer), then hidden_states[-1]
(the final norm's output)."""

from __future__ import annotations

import numpy as np
import torch


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.model.layers


def independent_states(model: torch.nn.Module, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """-> (hidden [n_layers+2, d], next-token log-probs [vocab]) at the last token."""
    grabbed: list[torch.Tensor] = []
    handle = decoder_layers(model)[-1].register_forward_hook(
        lambda m, a, o: grabbed.append((o[0] if isinstance(o, tuple) else o)[0, -1])
    )
    try:
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_hidden_states=True)
    finally:
        handle.remove()
    hs = [h[0, -1] for h in out.hidden_states]
    hidden = torch.stack([*hs[:-1], grabbed[0], hs[-1]]).numpy()
    return hidden, torch.log_softmax(out.logits[0, -1].float(), -1).numpy()
