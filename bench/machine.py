"""What machine a benchmark ran on, and its matmul peak in every precision it has.

The machine: CPU model, the flags that decide bf16 speed (``amx_bf16``, ``amx_tile``,
``avx512_bf16``, ``avx512f``), the bf16 units ``gpu_worker.precision`` finds, threads and
load (a shared machine's load is part of every figure). The peaks are ``torch.matmul`` on
the model's own layer shapes, in fp32 and, where the device has bf16 units, in bf16.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from bench.flops import ModelShape, matmul_peak
from bench.report import machine
from services.gpu_worker.precision import bf16_units, cpu_flags

FLAGS = ("amx_bf16", "amx_tile", "avx512_bf16", "avx512f", "avx2")


def machine_info(device: torch.device) -> dict[str, Any]:
    """bench.harness.machine plus the precision flags and the bf16 units found."""
    flags = cpu_flags()
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")()
    units = bf16_units(device)
    return {
        **machine(device),
        "flags": {f: f in flags for f in FLAGS},
        "torch_cpu_capability": capability,
        "bf16_units": units,
        "bf16": (
            f"bf16 matmul units: {', '.join(units)}"
            if units
            else f"no bf16 matmul units on {device.type}: fp32 only"
        ),
    }


def compute_dtypes(device: torch.device) -> list[torch.dtype]:
    """fp32, and bf16 where the device has units for it."""
    return [torch.float32] + ([torch.bfloat16] if bf16_units(device) else [])


def peaks(
    shape: ModelShape,
    dtypes: list[torch.dtype],
    device: torch.device,
    sync: Callable[[], None],
    seconds: float,
) -> dict[str, dict[str, Any]]:
    """dtype name -> matmul_peak on the model's shapes."""
    return {
        str(d).replace("torch.", ""): matmul_peak(shape, d, device, sync, seconds) for d in dtypes
    }


def best_peaks(*runs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """dtype name -> the best GFLOP/s over several measurements (before and after)."""
    out: dict[str, float] = {}
    for run in runs:
        for name, p in run.items():
            out[name] = max(out.get(name, 0.0), float(p["gflops"]))
    return out
