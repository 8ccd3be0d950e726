"""Tuned adapters as peft writes them: ``adapter_config.json`` and
``adapter_model.safetensors`` per adapter, so ``PeftModel.from_pretrained`` loads one.

A batched adapter (``multi_lora.MultiLora``) is slice j of stacked tensors; peft's layout
wants, per target layer, ``base_model.model.<layer>.lora_A.weight`` [r, d_in] and
``...lora_B.weight`` [d_out, r], with ``scaling = lora_alpha / r``, which is MultiLora's.
The peft path's adapter is read with peft's own ``get_peft_model_state_dict``.

Whether a run saves its adapters is ``lora.save_adapters``: ``all``, ``none`` or ``auto``
(saved while the run's adapters take at most ``AUTO_SAVE_MAX_BYTES``: on for small models,
off for e.g. Llama-2 7B with per-example adapters: at r=8 on q, v each takes 32 layers x
2 modules x 2 matrices x 8 x 4096 fp32 = 16 MiB).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from safetensors.torch import save as safetensors_bytes

from services.common.spec import LoraSpec
from services.common.storage.layout import (
    ADAPTER_CONFIG_FILE,
    ADAPTER_WEIGHTS_FILE,
    adapter_file,
)
from services.gpu_worker.multi_lora import MultiLora
from services.gpu_worker.tuning import AdapterSlots, adapter_name, lora_config

AUTO_SAVE_MAX_BYTES = 64 * 2**20  # a run's adapters, summed

PeftState = dict[str, torch.Tensor]  # peft's saved keys -> tensors on the CPU


def _copy(t: torch.Tensor) -> torch.Tensor:
    """A CPU copy that owns its memory (``.cpu()`` of a CPU tensor is the tensor itself,
    which the next adapter's tuning would overwrite)."""
    return t.detach().to("cpu", copy=True).contiguous()


def multi_lora_state(lora: MultiLora, j: int) -> PeftState:
    """Adapter ``j`` of a batched set under the keys peft saves (the adapter name left out)."""
    state: PeftState = {}
    for layer, (a, b) in lora.adapter_weights(j).items():
        state[f"base_model.model.{layer}.lora_A.weight"] = _copy(a)
        state[f"base_model.model.{layer}.lora_B.weight"] = _copy(b)
    return state


def peft_state(slots: AdapterSlots, spec: LoraSpec) -> PeftState:
    """The active peft adapter as ``save_pretrained`` would write its weights."""
    from peft import get_peft_model_state_dict

    assert slots.peft is not None
    state = get_peft_model_state_dict(slots.peft, adapter_name=adapter_name(spec))
    return {k: _copy(v) for k, v in state.items()}


def adapter_config_json(spec: LoraSpec, base_model: str) -> bytes:
    """``adapter_config.json`` as peft writes it, with the target modules sorted (peft
    writes its set in hash order, which differs from process to process)."""
    config = lora_config(spec)
    config.base_model_name_or_path = base_model
    config.inference_mode = True  # as PeftModel.save_pretrained sets it
    payload = config.to_dict()
    for key, value in payload.items():
        if isinstance(value, set):
            payload[key] = sorted(value)
    return json.dumps(payload, indent=2, sort_keys=True).encode()


@dataclass
class AdapterSaver:
    """Collects the adapters a run saves, deciding ``auto`` from the first one's size."""

    mode: str  # LoraSpec.save_adapters
    n_adapters: int
    states: dict[int, PeftState] = field(default_factory=dict)
    skipped: str | None = None  # why a run saved none, in words

    def add(self, adapter: int, read: Callable[[], PeftState]) -> None:
        """Keep adapter ``adapter`` (``read`` copies it to the CPU) if the run saves adapters."""
        if self.mode == "none" or self.skipped is not None:
            return
        state = read()
        if self.mode == "auto" and not self.states:
            size = sum(t.numel() * t.element_size() for t in state.values()) * self.n_adapters
            if size > AUTO_SAVE_MAX_BYTES:
                self.skipped = (
                    f"{self.n_adapters} adapters of {size / self.n_adapters / 2**20:.1f} MiB "
                    f"exceed {AUTO_SAVE_MAX_BYTES // 2**20} MiB (lora.save_adapters: auto)"
                )
                return
        self.states[adapter] = state

    def files(self, spec: LoraSpec, base_model: str) -> dict[str, bytes]:
        """Run-relative path -> bytes of every kept adapter."""
        if not self.states:
            return {}
        config = adapter_config_json(spec, base_model)
        out: dict[str, bytes] = {}
        for u, state in sorted(self.states.items()):
            out[adapter_file(u, ADAPTER_CONFIG_FILE)] = config
            out[adapter_file(u, ADAPTER_WEIGHTS_FILE)] = safetensors_bytes(
                state, metadata={"format": "pt"}
            )
        return out
