"""LoRA instruction tuning on a demonstration set, with peft, on a warm base model.

The base model is wrapped by peft once. Each LoRA configuration gets one named adapter
slot; a new demonstration set re-initialises that slot's weights (peft's own
``reset_lora_parameters``, seeded) instead of reloading anything. Anchor and ICL passes run
with the adapter disabled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import cast

import torch
import torch.nn.functional as F
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from torch import nn
from transformers import PreTrainedModel

from services.common.spec import LoraSpec
from services.gpu_worker.multi_lora import target_logits
from services.gpu_worker.prompts import TrainingPair


def lora_config(spec: LoraSpec) -> LoraConfig:
    """The peft LoraConfig of ``spec`` (no bias, causal LM)."""
    return LoraConfig(
        r=spec.r,
        # peft annotates int, but only divides by r: the spec's float alpha is kept as is
        lora_alpha=cast(int, spec.alpha),
        lora_dropout=spec.dropout,
        target_modules=list(spec.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )


def adapter_name(spec: LoraSpec) -> str:
    """A peft adapter name per LoRA shape (r, alpha, dropout, modules): runs that share a
    shape reuse one slot."""
    key = json.dumps(
        [spec.r, spec.alpha, spec.dropout, sorted(spec.target_modules)], separators=(",", ":")
    )
    return "lora_" + hashlib.sha256(key.encode()).hexdigest()[:10]


def reset_adapter(model: PeftModel, name: str, seed: int) -> None:
    """Fresh weights for adapter ``name``: peft's own ``reset_lora_parameters``, seeded."""
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, LoraLayer) and name in module.lora_A:
            module.reset_lora_parameters(name, init_lora_weights=True)


class AdapterSlots:
    """A peft-wrapped base model with one adapter slot per LoRA configuration."""

    def __init__(self, model: PreTrainedModel):
        self.base = model
        self.peft: PeftModel | None = None

    def activate(self, spec: LoraSpec, seed: int) -> PeftModel:
        """Make ``spec``'s adapter active with freshly initialised (seeded) weights."""
        name = adapter_name(spec)
        torch.manual_seed(seed)
        if self.peft is None:
            try:
                self.peft = get_peft_model(self.base, lora_config(spec), adapter_name=name)
            except ValueError as exc:  # e.g. target modules not found
                raise ValueError(f"lora.target_modules: {exc}") from None
        elif name not in self.peft.peft_config:
            self.peft.add_adapter(name, lora_config(spec))
        self.peft.set_adapter(name)
        reset_adapter(self.peft, name, seed)
        for pname, param in self.peft.named_parameters():
            param.requires_grad_(f".{name}." in pname)
        return self.peft

    @contextmanager
    def disabled(self) -> Iterator[nn.Module]:
        """The base model with every adapter switched off (anchor and ICL)."""
        if self.peft is None:
            yield self.base
        else:
            with self.peft.disable_adapter():
                yield self.peft

    def trainable(self) -> list[torch.nn.Parameter]:
        """The active adapter's parameters (``activate`` freezes the rest), for the optimizer."""
        assert self.peft is not None
        return [p for p in self.peft.parameters() if p.requires_grad]


def right_pad_training_batch(
    pairs: Sequence[TrainingPair], pad_id: int, loss_on: str, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """input_ids, attention_mask, and targets [batch, max_len] (-100 = no loss)."""
    seqs = [p + t for p, t in pairs]
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    targets = torch.full((len(seqs), width), -100, dtype=torch.long)
    for row, (prompt, target) in enumerate(pairs):
        seq = prompt + target
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        start = len(prompt) if loss_on == "label" else 1
        targets[row, start : len(seq)] = torch.tensor(seq[start:])
    return ids.to(device), mask.to(device), targets.to(device)


def causal_lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy over target tokens. logits [b, t, V], targets [b, t]."""
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
        targets[:, 1:].reshape(-1),
        ignore_index=-100,
    )


def tune_adapter(
    slots: AdapterSlots,
    spec: LoraSpec,
    pairs: Sequence[TrainingPair],
    *,
    pad_id: int,
    on_loss: Callable[[int, list[float]], None] | None = None,
) -> list[float]:
    """Full-batch AdamW on the active adapter for ``spec.steps`` steps (or until the loss
    drops below ``spec.stop_loss``). Returns the loss before each step, each also told to
    ``on_loss(step, [loss])`` before the update."""
    model = slots.peft
    assert model is not None, "activate() an adapter first"
    if spec.steps == 0 or not pairs:
        return []
    device = next(model.parameters()).device
    ids, mask, targets = right_pad_training_batch(pairs, pad_id, spec.loss_on, device)
    where = targets[:, 1:] != -100  # positions whose next token is a target
    wanted = targets[:, 1:][where]
    ids, mask = ids[:, :-1], mask[:, :-1]  # the last column predicts nothing
    optimizer = torch.optim.AdamW(slots.trainable(), lr=spec.lr, weight_decay=0.0)
    losses: list[float] = []
    model.train(spec.dropout > 0)
    try:
        for step in range(spec.steps):
            # the LM head only where the loss is taken (same mean as causal_lm_loss)
            logits = target_logits(model.get_base_model(), ids, mask, where)
            loss = F.cross_entropy(logits.float(), wanted)
            losses.append(float(loss.detach()))
            if on_loss is not None:
                on_loss(step, losses[-1:])
            if spec.stop_loss is not None and losses[-1] < spec.stop_loss:
                break
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    finally:
        model.eval()
    return losses
