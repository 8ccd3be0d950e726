"""The task-vector check with and without its KV reuse, side by side in one process.

    python -m bench.patching [--spec examples/default.yaml] [--examples N] [--repeats 3]

The check patches a shift into the last position of an example's zero-shot pass. Nothing
before that position sees the patch, so the engine runs each example's prompt but its
last token once (a KV cache) and every patched row (block x source x partner, and the
cross-adapter rows) as a one-token continuation (``gpu_worker/patching.py``). Before, each
row was a full forward of the prompt (``bench.variants`` ``engine-patch-full``).

One run of the spec with ``causal.enabled`` and the ``cross_adapter`` control (other
controls dropped: they do not feed the check) gives the states. Then the check runs on
those states as the engine does it and as it did before, alternating, ``--repeats`` times
each, and the table gives both wall times (median), their ratio, and the largest
|difference| of every causal array between the two. Nothing is written unless ``--json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.machine import machine_info
from bench.variants import VARIANTS
from bench.workload import bench_model, start
from services.common.runtime.settings import Settings, get_settings
from services.common.spec import ExperimentSpec, expand_runs
from services.gpu_worker.engine import Engine
from services.gpu_worker.patching import task_vector_check

DEFAULT_SPEC = Path("examples/default.yaml")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.patching", description=__doc__.split("\n\n")[2]
    )
    p.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="experiment spec (YAML)")
    p.add_argument(
        "--model", default=None, help="model (default: the spec's); 'tiny' = tiny random-init Llama"
    )
    p.add_argument(
        "--examples", type=int, default=None, help="inference examples (default: the spec's)"
    )
    p.add_argument("--epochs", type=int, default=None, help="LoRA epochs (default: the spec's)")
    p.add_argument("--repeats", type=int, default=3, help="timed checks per way (alternating)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return p.parse_args(argv)


def check_run(spec_path: Path, model: str | None, examples: int | None, epochs: int | None) -> Any:
    """The spec's first run with the check on and only the cross_adapter control."""
    body = yaml.safe_load(spec_path.read_text())
    if model:
        body.setdefault("model", {})["name"] = model
    body["controls"] = ["cross_adapter"]
    body["causal"] = {**body.get("causal", {}), "enabled": True}
    body.pop("sweep", None)
    body.pop("studies", None)
    if examples:
        body.setdefault("inference", {})["n"] = examples
    if epochs:
        body.setdefault("lora", {})["epochs"] = epochs
    return expand_runs(ExperimentSpec.model_validate(body))[0]


def max_abs_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Array name -> largest |a - b| (NaNs where both have them count as equal)."""
    if set(a) != set(b):
        raise AssertionError(f"arrays differ: {sorted(set(a) ^ set(b))}")
    out = {}
    for name in sorted(a):
        x, y = np.asarray(a[name], np.float64), np.asarray(b[name], np.float64)
        if x.shape != y.shape or not np.array_equal(np.isnan(x), np.isnan(y)):
            raise AssertionError(f"{name}: shapes {x.shape} vs {y.shape} or NaNs differ")
        both = ~np.isnan(x)
        out[name] = float(np.abs(x[both] - y[both]).max()) if both.any() else 0.0
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = start("bench.patching", argv).strip()
    settings = get_settings()
    model, model_dirs = bench_model(args.model, settings)
    if model_dirs:
        settings = Settings(ICL_IT_MODEL_DIRS=model_dirs, ICL_IT_HOME=str(settings.home))
    engine = Engine(settings=settings)
    run = check_run(args.spec, model, args.examples, args.epochs)
    t = time.perf_counter()
    out = engine.execute(run)
    print(
        f"run: {run.inference.n} examples, {time.perf_counter() - t:.1f} s "
        f"(check inside it: {out.timings['causal']:.2f} s)",
        flush=True,
    )
    warm = engine.warm(run)
    plan = engine.plan(run, warm.loaded.tokenizer)
    states = out.states
    full_patch = VARIANTS["engine-patch-full"][1]
    ways: dict[str, Callable[[], AbstractContextManager[Any]]] = {
        "kv_reuse": nullcontext,
        "full_passes": full_patch,
    }
    seconds: dict[str, list[float]] = {w: [] for w in ways}
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for rep in range(args.repeats):
        for way, ctx in ways.items():
            with warm.loaded.compute(), warm.slots.disabled() as base, ctx():
                t = time.perf_counter()
                got, _ = task_vector_check(
                    base,
                    states,
                    plan.anchor_ids,
                    run.causal,
                    pad_id=plan.pad,
                    label_ids=plan.label_ids,
                    batch_size=engine.batch_size,
                    token_budget=engine.token_budget,
                )
                seconds[way].append(time.perf_counter() - t)
            arrays[way] = got
            print(f"  repeat {rep + 1}/{args.repeats} {way}: {seconds[way][-1]:.2f} s", flush=True)
    med = {w: statistics.median(s) for w, s in seconds.items()}
    n_rows = sum(
        int(np.prod(a.shape[:-1]))
        for k, a in arrays["kv_reuse"].items()
        if k in ("causal_kl", "causal_adapter_kl")
    )
    res = {
        "command": command,
        "machine": machine_info(engine.device),
        "precision": warm.loaded.info().get("precision"),
        "examples": run.inference.n,
        "patched_rows": n_rows,
        "anchor_tokens_mean": float(np.mean([len(p) for p in plan.anchor_ids])),
        "seconds": seconds,
        "median_s": med,
        "speedup": med["full_passes"] / med["kv_reuse"],
        "max_abs_diff": max_abs_diff(arrays["kv_reuse"], arrays["full_passes"]),
    }
    m = res["machine"]
    print(
        f"\n{m['cpu']}, {m['torch_threads']} threads, load {m['load_avg'][0]:.1f}; "
        f"{res['examples']} examples, {n_rows} patched rows, anchor prompts "
        f"{res['anchor_tokens_mean']:.1f} tokens on average"
    )
    print(f"| way | median s ({args.repeats} repeats) |\n|---|---|")
    for w in ways:
        print(f"| {w} | {med[w]:.2f} |")
    print(f"speedup (full passes / KV reuse): {res['speedup']:.2f}x")
    worst = max(res["max_abs_diff"].items(), key=lambda kv: kv[1])
    print(
        f"max |diff| per array: {json.dumps({k: float(f'{v:.3g}') for k, v in res['max_abs_diff'].items()})}"
    )
    print(f"largest: {worst[0]} {worst[1]:.3g}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))
    return res


if __name__ == "__main__":
    main()
