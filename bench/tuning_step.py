"""One multi-LoRA tuning step, timed by precision, micro-batch shape and compilation.

    python -m bench.tuning_step [--rows 8] [--tokens 128] [--steps 5] [--compile]

Tuning is about 90% of a run, and the issue-18 question is what bf16 buys there. This
times exactly the engine's step (``multi_lora.target_logits`` through the frozen model
with one adapter per row, the cross-entropy on the label positions, backward into the
LoRA parameters) on a fixed ``rows x tokens`` batch, in fp32 and in bf16 mixed precision
(``model.dtype`` as the engine loads it), eager and, with ``--compile``, under
``torch.compile`` of the decoder (the first step, which compiles, is reported apart).
Both dtypes run in one process, one after the other, so the ratios are side by side.
Nothing is written; the printed table is the result.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from services.common.runtime.settings import Settings
from services.common.spec import LoraSpec, ModelSpec
from services.gpu_worker.models import load_model
from services.gpu_worker.multi_lora import MultiLora, target_logits

LABEL_POSITIONS = 4  # positions per row that carry a loss, like a short label


def make_step(
    model_name: str, dtype: str, rows: int, tokens: int, settings: Settings | None = None
) -> tuple[Callable[[], None], torch.nn.Module]:
    """(one tuning step on a fixed random batch, the decoder to compile) for one dtype."""
    loaded = load_model(ModelSpec(name=model_name, dtype=dtype), settings=settings)
    model, precision = loaded.model, loaded.precision
    assert precision is not None
    lora = MultiLora(model, LoraSpec(r=8, target_modules=["q_proj", "v_proj"]), range(rows))
    with torch.no_grad():  # a tuned-looking adapter: B != 0, so its path is not skipped
        for t in lora.targets:
            t.B.normal_(0, 0.01)
    gen = torch.Generator().manual_seed(0)
    vocab = int(model.config.vocab_size)
    ids = torch.randint(0, vocab, (rows, tokens), generator=gen)
    mask = torch.ones_like(ids)
    where = torch.zeros(rows, tokens, dtype=torch.bool)
    where[:, -LABEL_POSITIONS:] = True
    targets = torch.randint(0, vocab, (int(where.sum()),), generator=gen)

    def step() -> None:
        with precision.context(), lora.rows(list(range(rows))):
            logits = target_logits(model, ids, mask, where)
        F.cross_entropy(logits.float(), targets).backward()
        for p in lora.parameters():
            p.grad = None

    return step, model.get_decoder()


def time_step(step: Callable[[], None], steps: int) -> tuple[float, float]:
    """(seconds of the first call, mean seconds per call over ``steps`` after a warm-up)."""
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return first, (time.perf_counter() - t0) / steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tuning_step", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--model", default="smollm2-135m", help="a model name, or a local model directory"
    )
    parser.add_argument("--rows", type=int, default=8, help="rows (adapters) per micro-batch")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per row")
    parser.add_argument("--steps", type=int, default=5, help="timed steps after a warm-up")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument(
        "--dtypes", default="float32,bfloat16", help="comma-separated model.dtype values"
    )
    args = parser.parse_args(argv)
    modes = ["eager", "compile"] if args.compile else ["eager"]
    per: dict[tuple[str, str], float] = {}
    print(f"{args.rows} rows x {args.tokens} tokens, {torch.get_num_threads()} threads")
    local = Path(args.model)
    # a local directory is this user's own model: allow its parent for this process
    settings = Settings(ICL_IT_MODEL_DIRS=str(local.parent)) if local.is_dir() else None
    for dtype in args.dtypes.split(","):
        step, decoder = make_step(args.model, dtype, args.rows, args.tokens, settings)
        for mode in modes:
            if mode == "compile":
                decoder.compile(dynamic=False)
            first, mean = time_step(step, args.steps)
            per[dtype, mode] = mean
            print(f"{dtype:9s} {mode:8s} first call {first:7.2f} s   step {mean * 1e3:9.1f} ms")
    base = per[next(iter(per))]
    for (dtype, mode), mean in per.items():
        print(f"{dtype} {mode}: {base / mean:.2f}x the first row")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
