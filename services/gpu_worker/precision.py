"""Compute precision: which dtype the matmuls run in, and how the frozen model is stored.

``model.dtype`` (spec) -> a ``Precision``:

    float32   everything in fp32.
    bfloat16  mixed precision, as mixed-precision training does it: the decoder's frozen
              Linear weights are stored in bf16 and every matmul runs under
              ``torch.autocast(bf16)`` (the LM head too: a tied head gets a bf16 copy);
              embeddings, norms, the residual stream (an fp32 residual plus a bf16
              Linear output is fp32), LoRA parameters, optimiser state, softmax and the
              loss stay fp32.
    float16   the same with fp16, CUDA only (no loss scaling: prefer bfloat16).
    auto      bf16 where the device has bf16 matmul units and the accuracy gates allow
              it (see ``AUTO_BF16``), else fp32.

Hidden states are stored in fp32 whatever the compute precision (extraction casts them).
The bf16 units are detected at run time: CUDA's ``is_bf16_supported``; on x86 the CPU
flags ``amx_bf16`` (Intel AMX tiles) and ``avx512_bf16`` (AVX-512 dot products in bf16),
read from /proc/cpuinfo.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

# CPU flags of bf16 matmul units, best first.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")

# Where ``auto`` picks bf16 when the units are there. CPU: measured on examples/default.yaml
# and the bench spec (bench/NOTES.md, "Precision"): see the note there for why.
AUTO_BF16 = {"cuda": True, "cpu": False}

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class PrecisionError(ValueError):
    """A precision the device cannot run (float16 on a CPU)."""


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is not there)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def bf16_units(device: torch.device) -> list[str]:
    """The bf16 matmul units of ``device``: ["cuda"] on a CUDA device with bf16, the CPU
    flags of ``CPU_BF16_FLAGS`` it has on a CPU; empty when there are none."""
    if device.type == "cuda":
        return ["cuda"] if torch.cuda.is_bf16_supported() else []
    if device.type != "cpu":
        return []
    flags = cpu_flags()
    return [f for f in CPU_BF16_FLAGS if f in flags]


@dataclass(frozen=True)
class Precision:
    """How a model computes: ``compute`` is the matmul dtype (fp32 means no autocast)."""

    requested: str
    compute: torch.dtype
    device_type: str
    units: tuple[str, ...]
    reason: str

    @property
    def autocast(self) -> bool:
        """Whether the model runs under autocast: any compute dtype but fp32."""
        return self.compute != torch.float32

    @property
    def name(self) -> str:
        """The compute dtype's name, e.g. 'bfloat16'."""
        return str(self.compute).replace("torch.", "")

    @contextmanager
    def context(self) -> Iterator[None]:
        """The block runs its matmuls in ``compute`` (a no-op in fp32)."""
        if not self.autocast:
            yield
            return
        with torch.autocast(self.device_type, dtype=self.compute):
            yield

    def info(self) -> dict[str, Any]:
        """What a run's metadata and results.json record."""
        return {
            "requested": self.requested,
            "compute": self.name,
            "autocast": self.autocast,
            "weights": (
                f"{self.name} (Linear layers, LM head); float32 (embeddings, norms)"
                if self.autocast
                else "float32"
            ),
            "trainable": "float32",
            "states": "float32",
            "bf16_units": list(self.units),
            "reason": self.reason,
        }


def resolve_precision(requested: str, device: torch.device) -> Precision:
    """The spec's ``model.dtype`` on ``device``; raises PrecisionError for fp16 on a CPU."""
    units = tuple(bf16_units(device))
    if requested == "auto":
        if units and AUTO_BF16.get(device.type, False):
            return Precision(requested, torch.bfloat16, device.type, units, "auto: bf16 units")
        why = (
            f"auto: no bf16 matmul units on {device.type}"
            if not units
            else f"auto: fp32 on {device.type} (bench/NOTES.md, Precision)"
        )
        return Precision(requested, torch.float32, device.type, units, why)
    if requested not in DTYPES:
        raise PrecisionError(f"model.dtype {requested!r}: one of auto, {', '.join(DTYPES)}")
    if requested == "float16" and device.type != "cuda":
        raise PrecisionError("model.dtype float16 runs on CUDA only; use bfloat16 or float32")
    return Precision(requested, DTYPES[requested], device.type, units, "requested")


def store_weights(model: nn.Module, precision: Precision) -> None:
    """Frozen Linear weights in the compute dtype, so that autocast does not re-cast them on
    every forward; every other parameter and buffer (embeddings, norms, rotary tables) in
    fp32. In fp32 everything is fp32.

    An LM head tied to the input embeddings gets a frozen copy of its own in the compute
    dtype (the embeddings stay fp32): autocast would otherwise cast vocab x d_model weights
    on every forward, and the logits come out of a bf16 matmul either way."""
    get_head = getattr(model, "get_output_embeddings", None)
    head = get_head() if callable(get_head) else None
    get_emb = getattr(model, "get_input_embeddings", None)
    emb = get_emb() if callable(get_emb) else None
    tied = isinstance(head, nn.Linear) and emb is not None and head.weight is emb.weight
    if precision.autocast and tied:
        assert isinstance(head, nn.Linear)
        copy = head.weight.detach().to(precision.compute, copy=True)
        head.weight = nn.Parameter(copy, requires_grad=False)
    for module in model.modules():
        low = precision.autocast and isinstance(module, nn.Linear)
        dtype = precision.compute if low else torch.float32
        for p in module.parameters(recurse=False):
            if p.is_floating_point() and p.dtype != dtype:
                p.data = p.data.to(dtype)
        for name, b in module.named_buffers(recurse=False):
            if b.is_floating_point() and b.dtype != torch.float32:
                setattr(module, name, b.to(torch.float32))
