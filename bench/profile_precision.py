"""Which dtype the engine's matmuls actually run in, per op (issue 18).

    python -m bench.profile_precision [--dtype bfloat16] [--examples 4]

Runs one engine pass (anchor, ICL, batched multi-LoRA tuning, IT extraction) of
examples/default.yaml, cut down, under a TorchDispatchMode that counts every aten
matmul (mm, bmm, addmm, baddbmm, linear's decompositions) by input dtype, and under
torch.profiler for the time per op. Prints both; nothing is written.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import Any

import torch
import yaml
from torch.utils._python_dispatch import TorchDispatchMode

from services.common.spec import ExperimentSpec, expand_runs
from services.gpu_worker.engine import Engine

MATMULS = {"mm", "bmm", "addmm", "baddbmm", "matmul", "_scaled_dot_product_flash_attention_for_cpu"}
DEFAULT = Path(__file__).resolve().parents[1] / "examples" / "default.yaml"


class MatmulDtypes(TorchDispatchMode):
    """Counts matmul calls by (op, dtype of the first tensor input)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[tuple[str, str]] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = func.__name__.split(".")[0]
        if name in MATMULS:
            first = next((a for a in args if isinstance(a, torch.Tensor)), None)
            self.counts[
                (name, str(first.dtype).replace("torch.", "") if first is not None else "?")
            ] += 1
        return func(*args, **(kwargs or {}))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile_precision")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--examples", type=int, default=4)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    body = yaml.safe_load(DEFAULT.read_text())
    body["model"]["dtype"] = args.dtype
    body["inference"]["n"] = args.examples
    body["lora"]["epochs"] = 1
    body["controls"] = ["cross_adapter"]
    run = expand_runs(ExperimentSpec.model_validate(body))[0]
    engine = Engine()
    engine.warm(run)
    mode = MatmulDtypes()
    with mode:
        engine.execute(run)
    print(f"model.dtype={args.dtype}: matmul calls by (op, input dtype)")
    for (op, dt), n in sorted(mode.counts.items()):
        print(f"  aten::{op:<12} {dt:<9} {n}")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        engine.execute(run)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


if __name__ == "__main__":
    main()
