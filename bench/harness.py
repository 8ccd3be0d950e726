"""Baseline vs engine on one workload, side by side in one process (issue 5).

    python -m bench.harness                      # bench/sweep.yaml on the embedded SmolLM2
    python -m bench.harness --quick --model tiny # seconds: tiny random-init Llama
    python -m bench.harness --examples 128 --skip-baseline   # how the engine grows

Two paths compute the same science on the same examples, demonstrations, prompts and
adapter seeds:

    baseline  what a researcher would write: the model loaded once; per unit (inference
              example + its demonstration set) a batch-1 forward per condition, and a
              freshly initialised peft adapter trained with batch 1 per demonstration
              (gradient accumulation, one AdamW step per epoch: numerically the same
              optimisation as the engine's full-batch step);
    engine    ``Engine.execute`` exactly as the service runs it.

The paths alternate run by run (engine first on even runs, baseline first on odd runs) so
that load from other processes on a shared machine hits both alike. Figures: wall-time
ratio (and CPU-time ratio), time per stage, the largest difference between the two
paths' similarities (``run_similarities`` on both), achieved GFLOP/s on necessary FLOPs next to
a matmul peak measured in the same run, peak RSS. JSON goes to bench/results/, one dated
line to bench/NOTES.md. The pieces: ``bench.baseline`` (the batch-1 path), ``bench.flops``
(necessary FLOPs and the matmul peak), ``bench.report`` (machine, agreement, tables, the
NOTES line and the JSON); ``bench.precision`` runs fp32 and bf16 side by side.

Necessary FLOPs (see NOTES.md): P_body = matmul weights of the decoder blocks, P_head =
vocab x d_model. Forward token: 2 P_body; each logit row actually needed: 2 P_head. Tuned
token (every sequence position that feeds a later one, i.e. len - 1 per sequence, per
step): 4 P_body (forward + activation gradients; frozen weights need no weight
gradients); each target row: 4 P_head. Anchors count once per distinct prompt; the
untuned-adapter control counts zero (B = 0 makes it the anchor exactly). Attention
score/value products are not counted (reported separately).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psutil
import torch
from tqdm import tqdm

from bench.baseline import Baseline
from bench.flops import ModelShape, matmul_peak, necessary_flops
from bench.report import (
    compare_analyses,
    finite,
    machine,
    report,
)
from bench.variants import VARIANTS
from bench.workload import (
    add_common_args,
    bench_model,
    load_runs,
    start,
)
from services.analysis.documents import RunAnalysis
from services.analysis.per_run import run_similarities
from services.common.runtime.settings import Settings, get_settings
from services.common.spec import ExperimentSpec, RunConfig
from services.common.storage.hidden_states import RunStates
from services.gpu_worker.engine import Engine
from services.gpu_worker.models import LoadedModel, load_model, pick_device
from services.gpu_worker.plan import RunPlan

# ---------------------------------------------------------------------------------------
# (a) The baseline


class RssSampler:
    """Peak resident memory per phase, sampled every few milliseconds."""

    def __init__(self, every_s: float = 0.005):
        self.proc = psutil.Process()
        self.every_s = every_s
        self.phase = "other"  # outside the timed phases (loading, between runs)
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.every_s)

    def sample(self) -> None:
        rss = self.proc.memory_info().rss
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0), rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    @contextmanager
    def in_phase(self, phase: str) -> Iterator[None]:
        before, self.phase = self.phase, phase
        self.sample()
        try:
            yield
        finally:
            self.sample()
            self.phase = before


# ---------------------------------------------------------------------------------------
# Comparing the two paths


@dataclass
class Bench:
    runs: list[RunConfig]
    engine: Engine
    baseline_model: LoadedModel | None
    metrics: list[str]
    device: torch.device
    label: str = ""
    variants: dict[str, tuple[Engine, Callable[[], Any]]] = field(default_factory=dict)
    peak_seconds: float = 0.5
    on_point: Callable[[dict[str, Any]], None] | None = None  # figures so far, per point

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def execute(self, sampler: RssSampler) -> dict[str, Any]:
        engine_model = self.engine.warm(self.runs[0]).loaded
        shape = ModelShape.of(engine_model.model)
        peak_before = matmul_peak(
            shape, engine_model.dtype, self.device, self.sync, self.peak_seconds
        )
        session = _Session(
            self,
            sampler,
            engine_model,
            shape,
            peak_before,
            Baseline(self.baseline_model, self.sync) if self.baseline_model else None,
            [self.engine.plan(run, engine_model.tokenizer) for run in self.runs],
            {"engine": (self.engine, nullcontext), **self.variants},
        )
        total = len(self.runs) * len(session.paths)
        bar = tqdm(total=total, desc="bench", unit="run", file=sys.stderr)
        for r in range(len(self.runs)):
            session.run_point(r, bar)
            if self.on_point is not None and r + 1 < len(self.runs):
                self.on_point(session.figures(r + 1, None))
        bar.close()
        peak_after = matmul_peak(
            shape, engine_model.dtype, self.device, self.sync, self.peak_seconds
        )
        return session.figures(len(self.runs), peak_after)


STAGES = ("tune", "anchor", "icl", "it")  # the compute stages both paths time


@dataclass
class _Session:
    """One execution of a Bench: the plans, the paths, and what they measured so far."""

    bench: Bench
    sampler: RssSampler
    model: LoadedModel
    shape: ModelShape
    peak_before: dict[str, Any]
    baseline: Baseline | None
    plans: list[RunPlan]
    engines: dict[str, tuple[Engine, Callable[[], Any]]]  # the engine and its variants
    steps: list[list[int]] = field(default_factory=list)  # optimizer steps per adapter

    def __post_init__(self) -> None:
        self.paths = list(self.engines) + (["baseline"] if self.baseline else [])
        self.times = {p: dict.fromkeys((*STAGES, "analysis"), 0.0) for p in self.paths}
        self.wall = dict.fromkeys(self.paths, 0.0)
        self.cpu = dict.fromkeys(self.paths, 0.0)
        self.gpu_peak = dict.fromkeys(self.paths, 0)
        self.diffs: dict[str, list[dict[str, Any]]] = {p: [] for p in self.engines}

    def measure(self, path: str, fn: Callable[[], Any]) -> Any:
        device = self.bench.device
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        self.bench.sync()
        t0, c0 = time.perf_counter(), time.process_time()
        with self.sampler.in_phase(path):
            out = fn()
        self.bench.sync()
        self.wall[path] += time.perf_counter() - t0
        self.cpu[path] += time.process_time() - c0
        if device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(device)
            self.gpu_peak[path] = max(self.gpu_peak[path], peak)
        return out

    def analyse(self, path: str, run: RunConfig, states: RunStates) -> RunAnalysis:
        t = time.perf_counter()
        with self.sampler.in_phase("analysis"):
            out = run_similarities(run.model_dump(mode="json"), states, self.bench.metrics)
        self.times[path]["analysis"] += time.perf_counter() - t
        return out

    def run_point(self, r: int, bar: Any) -> None:
        """Sweep point ``r`` on every path (the order rotates point by point)."""
        run, plan = self.bench.runs[r], self.plans[r]
        point = ", ".join(f"{k}={v}" for k, v in run.factors.items()) or run.key
        analyses: dict[str, RunAnalysis] = {}
        for path in self.paths[r % len(self.paths) :] + self.paths[: r % len(self.paths)]:

            def show(stage: str, path: str = path) -> None:
                bar.set_postfix_str(f"{path} {point}: {stage}", refresh=True)

            if path == "baseline":
                assert self.baseline is not None
                states, stage_t = self.measure(path, partial(self.baseline.run, plan, show))
            else:
                engine, patch = self.engines[path]

                def go(engine: Engine = engine, patch: Any = patch) -> Any:
                    with patch():
                        return engine.execute(run, progress=lambda _d, _t, what: show(what))

                out = self.measure(path, go)
                states, stage_t = out.states, out.timings
                if path == "engine":
                    self.steps.append([_optimizer_steps(run, t["losses"]) for t in out.tuning])
            for stage in STAGES:
                self.times[path][stage] += stage_t.get(stage, 0.0)
            analyses[path] = self.analyse(path, run, states)
            bar.update(1)
        if self.baseline is not None:
            for path in self.engines:
                diff = compare_analyses(analyses[path], analyses["baseline"])
                self.diffs[path].append({"run": point, **diff})

    def figures(self, done: int, peak_after: dict[str, Any] | None) -> dict[str, Any]:
        """Every figure over the first ``done`` sweep points."""
        bench, wall, cpu = self.bench, self.wall, self.cpu
        flops = necessary_flops(self.plans[:done], self.steps, self.shape)
        peak = max(self.peak_before["gflops"], (peak_after or self.peak_before)["gflops"])
        gflops = {
            p: flops["necessary_flops"] / sum(self.times[p][s] for s in STAGES) / 1e9
            for p in self.paths
        }
        res: dict[str, Any] = {
            "label": bench.label,
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "machine": machine(bench.device),
            "model": self.model.info(),
            "shape": self.shape.__dict__,
            "runs": [run.factors for run in bench.runs[:done]],
            "complete": done == len(bench.runs),
            "n_examples": len(self.plans[0].anchor_ids),
            "n_adapters": sum(len(p.adapters) for p in self.plans[:done]),
            "paths": self.paths,
            "wall_s": wall,
            "cpu_s": cpu,
            "stages_s": self.times,
            "matmul_peak": {
                "before": self.peak_before,
                "after": peak_after or self.peak_before,
                "gflops": peak,
                "dtype": self.peak_before["dtype"],
            },
            "flops": flops,
            "gflops": gflops,
            "engine_gflops": gflops["engine"],
            "engine_fraction_of_peak": gflops["engine"] / peak,
            "peak_rss_mb": {k: v / 2**20 for k, v in self.sampler.peaks.items()},
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        if bench.device.type == "cuda":
            res["gpu_peak_mb"] = {k: v / 2**20 for k, v in self.gpu_peak.items()}
        if self.baseline is not None:
            res["speedup_wall"] = wall["baseline"] / wall["engine"]
            res["speedup_cpu"] = cpu["baseline"] / max(cpu["engine"], 1e-9)
            res["baseline_gflops"] = gflops["baseline"]
            res["similarity_diff"] = {
                "max_abs": max(d["max_abs"] for d in self.diffs["engine"]),
                "by_run": self.diffs["engine"],
            }
            res["variants"] = {
                p: {
                    "speedup_wall": wall["baseline"] / wall[p],
                    "speedup_cpu": cpu["baseline"] / max(cpu[p], 1e-9),
                    "similarity_max_abs_diff": max(d["max_abs"] for d in self.diffs[p]),
                }
                for p in self.engines
            }
        return res


def _optimizer_steps(run: RunConfig, losses: list[float]) -> int:
    """Steps taken: one per recorded loss, less a final one that met stop_loss."""
    stop = run.lora.stop_loss
    return len(losses) - (1 if stop is not None and losses and losses[-1] < stop else 0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.split("\n")[0])
    p.add_argument(
        "--model",
        default=None,
        help="model name (default: the spec's); 'tiny' = tiny random-init Llama",
    )
    add_common_args(p)
    return p.parse_args(argv)


def run_and_report(
    args: argparse.Namespace,
    command: str,
    spec: ExperimentSpec,
    runs: list[RunConfig],
    engine: Engine,
    load_baseline: Callable[[], LoadedModel],
    sampler: RssSampler,
) -> dict[str, Any]:
    """Warm the engine, load the baseline's own copy, run both, print and write figures."""
    device = engine.device
    engine.warm(runs[0])
    baseline_model = None if args.skip_baseline else load_baseline()
    variants: dict[str, tuple[Engine, Callable[[], Any]]] = {}
    for name in filter(None, args.variants.split(",")):
        if name not in VARIANTS:
            raise SystemExit(f"unknown variant {name!r}; known: {sorted(VARIANTS)}")
        kwargs, patch = VARIANTS[name]
        variant = Engine(settings=engine.settings, device=device, **kwargs)
        variant.keep_warm(runs[0], load_baseline())  # its own copy: peft wraps a model in place
        variants[name] = (variant, patch)
    bench = Bench(
        runs,
        engine,
        baseline_model,
        list(spec.metrics),
        device,
        args.label,
        variants,
        args.peak_seconds,
    )
    # figures so far after every sweep point: a run killed midway still leaves numbers
    partial_path = args.out / f"partial-{dt.datetime.now():%Y%m%dT%H%M%S}-{os.getpid()}.json"

    def save_partial(res: dict[str, Any]) -> None:
        args.out.mkdir(parents=True, exist_ok=True)
        partial_path.write_text(json.dumps(finite({**res, "command": command}), indent=1))

    bench.on_point = save_partial
    res = bench.execute(sampler)
    report(res, args, command)
    partial_path.unlink(missing_ok=True)
    return res


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    command = start("bench.harness", argv)
    settings = get_settings()
    model, model_dirs = bench_model(args.model, settings)
    if model_dirs:
        settings = Settings(ICL_IT_MODEL_DIRS=model_dirs, ICL_IT_HOME=str(settings.home))
    spec, runs = load_runs(args.spec, model, args.examples, args.quick)
    device = torch.device(args.device) if args.device else pick_device(settings)
    with RssSampler() as sampler:
        engine = Engine(settings=settings, device=device)
        return run_and_report(
            args,
            command.strip(),
            spec,
            runs,
            engine,
            lambda: load_model(runs[0].model, device=device, settings=settings),
            sampler,
        )


if __name__ == "__main__":
    main()
