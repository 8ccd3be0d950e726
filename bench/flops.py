"""The work a run needs (necessary FLOPs on the model's shapes) and the matmul peak it is
measured against, in the same run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from services.gpu_worker.extraction import common_prefix_len
from services.gpu_worker.plan import RunPlan


@dataclass
class ModelShape:
    body: int  # matmul weights in the decoder blocks
    head: int  # vocab x d_model
    n_layers: int
    d_model: int
    d_ff: int
    attn_width: int  # n_heads x head_dim (query side)

    @classmethod
    def of(cls, model: Any) -> ModelShape:
        cfg = model.config
        emb = model.get_input_embeddings().weight
        head = model.get_output_embeddings().weight
        skip = {id(emb), id(head)}
        body = sum(p.numel() for p in model.parameters() if p.dim() == 2 and id(p) not in skip)
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        return cls(
            body=int(body),
            head=int(head.shape[0] * head.shape[1]),
            n_layers=int(cfg.num_hidden_layers),
            d_model=int(cfg.hidden_size),
            d_ff=int(cfg.intermediate_size),
            attn_width=int(cfg.num_attention_heads * head_dim),
        )


def _attn_flops(shape: ModelShape, length: int) -> float:
    """Causal QK^T and AV for one sequence, forward."""
    return 2.0 * 2.0 * shape.n_layers * shape.attn_width * length * (length + 1) / 2


def necessary_flops(
    plans: list[RunPlan], steps: list[list[int]], shape: ModelShape
) -> dict[str, float]:
    """Necessary FLOPs of the whole workload (see the module docstring)."""
    fwd = tuned = head_rows_fwd = head_rows_tuned = attn = 0.0
    anchors: set[tuple[int, ...]] = set()
    for plan, unit_steps in zip(plans, steps, strict=True):
        for ids in plan.anchor_ids:
            if tuple(ids) not in anchors:
                anchors.add(tuple(ids))
                fwd += len(ids)
                head_rows_fwd += 1
                attn += _attn_flops(shape, len(ids))
            fwd += len(ids)  # IT on the anchor prompt
            head_rows_fwd += 1
            attn += _attn_flops(shape, len(ids))
        # a prefix every ICL prompt shares (the demonstrations, with scope: shared) is
        # needed once; the rest of each prompt, every time
        shared = common_prefix_len(plan.icl_ids) if len(plan.icl_ids) > 1 else 0
        fwd += shared
        for ids in plan.icl_ids:
            fwd += len(ids) - shared
            head_rows_fwd += 1
            attn += _attn_flops(shape, len(ids))
        for unit, n_steps in zip(plan.adapters, unit_steps, strict=True):
            for prompt, target in unit.pairs:
                length = len(prompt) + len(target)
                n_targets = len(target) if plan.run.lora.loss_on == "label" else length - 1
                tuned += n_steps * (length - 1)
                head_rows_tuned += n_steps * n_targets
                attn += n_steps * 2 * _attn_flops(shape, length - 1)
    total = (
        2.0 * shape.body * fwd
        + 2.0 * shape.head * head_rows_fwd
        + 4.0 * shape.body * tuned
        + 4.0 * shape.head * head_rows_tuned
    )
    return {
        "forward_tokens": fwd,
        "tuned_tokens": tuned,
        "logit_rows": head_rows_fwd,
        "target_rows": head_rows_tuned,
        "necessary_flops": total,
        "attention_flops_not_counted": attn,
    }


def matmul_peak(
    shape: ModelShape,
    dtype: torch.dtype,
    device: torch.device,
    sync: Callable[[], None],
    seconds: float = 0.5,
) -> dict[str, Any]:
    """Best GFLOP/s of torch.matmul on the model's own layer shapes."""
    rows = 4096 if device.type == "cuda" else 1024
    shapes = [
        (rows, shape.d_model, shape.d_model),
        (rows, shape.d_model, shape.d_ff),
        (rows, shape.d_ff, shape.d_model),
    ]
    best: dict[str, float] = {}
    for m, k, n in shapes:
        a = torch.randn(m, k, device=device).to(dtype)
        b = torch.randn(k, n, device=device).to(dtype)
        for _ in range(3):
            a @ b
        sync()
        reps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds or reps < 5:
            a @ b
            reps += 1
            if device.type == "cuda" and reps % 10 == 0:
                sync()
        sync()
        seconds = (time.perf_counter() - t0) / reps
        best[f"{m}x{k}x{n}"] = 2.0 * m * k * n / seconds / 1e9
    return {"gflops": max(best.values()), "by_shape": best, "dtype": str(dtype)}
