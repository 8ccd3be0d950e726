"""Metrics of one GPU run, read from what the engine returns (``RunOutput``): stage
durations, tokens per second, adapters per second, and the process's CUDA memory.
Called by the task layer after ``Engine.execute``; the engine itself records nothing."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.common.runtime import prometheus

if TYPE_CHECKING:
    from services.gpu_worker.engine import RunOutput

EXTRACT_STAGES = ("anchor", "icl", "it")
log = logging.getLogger(__name__)


def extract_tokens(out: RunOutput) -> int:
    """Prompt tokens fed to the extraction passes: each example's anchor, ICL and IT
    prompts (and the untuned adapter's, which reuses the IT prompt)."""
    per_condition = 1 + ("it_untuned" in out.states.conditions)
    total = 0
    for prompt in out.prompts:
        cond = prompt["conditions"]
        total += len(cond["anchor"]["token_ids"]) + len(cond["icl"]["token_ids"])
        total += per_condition * len(cond["it"]["token_ids"])
    return total


def observe_run(out: RunOutput) -> None:
    """Record one finished run; a metrics problem is logged, never fails the run."""
    try:
        _observe(out)
    except Exception:
        log.exception("could not record the run's metrics")


def _observe(out: RunOutput) -> None:
    for stage, seconds in out.timings.items():
        prometheus.RUN_STAGE.labels(stage).observe(seconds)
    model = str(out.states.meta.get("model", {}).get("name", "?"))
    tokens = {
        "extract": (extract_tokens(out), sum(out.timings.get(s, 0.0) for s in EXTRACT_STAGES)),
        "tune": (
            sum(int(t.get("tuned_tokens", 0)) for t in out.tuning),
            out.timings.get("tune", 0.0),
        ),
    }
    for phase, (count, seconds) in tokens.items():
        prometheus.TOKENS.labels(phase).inc(count)
        if count and seconds:
            prometheus.TOKENS_PER_S.labels(phase).observe(count / seconds)
    adapters, tune_s = len(out.tuning), out.timings.get("tune", 0.0)
    prometheus.ADAPTERS.labels(model).inc(adapters)
    if adapters and tune_s:
        prometheus.ADAPTERS_PER_S.labels(model).observe(adapters / tune_s)
    observe_gpu_memory()


def observe_gpu_memory() -> None:
    """Set the GPU memory gauges (allocated, reserved, peak); a no-op until CUDA is used."""
    import torch

    if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
        return
    device = torch.cuda.current_device()
    name = f"cuda:{device}"
    prometheus.GPU_MEMORY.labels(name, "allocated").set(torch.cuda.memory_allocated(device))
    prometheus.GPU_MEMORY.labels(name, "reserved").set(torch.cuda.memory_reserved(device))
    prometheus.GPU_MEMORY.labels(name, "peak").set(torch.cuda.max_memory_allocated(device))
