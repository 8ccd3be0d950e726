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
line to bench/NOTES.md.

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
import math
import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch
import yaml
from peft import get_peft_model
from tqdm import tqdm

from services.analysis.per_run import run_similarities
from services.common.runtime.settings import Settings, get_settings
from services.common.spec import ExperimentSpec, RunConfig, expand_runs
from services.common.storage.hidden_states import Condition, RunStates
from services.gpu_worker.engine import Engine
from services.gpu_worker.extraction import common_prefix_len, final_norm
from services.gpu_worker.models import LoadedModel, load_model, pick_device, save_tiny_llama
from services.gpu_worker.plan import RunPlan
from services.gpu_worker.prompts import TrainingPair
from services.gpu_worker.tuning import lora_config, reset_adapter

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_SPEC = BENCH_DIR / "sweep.yaml"
RESULTS_DIR = BENCH_DIR / "results"
NOTES = BENCH_DIR / "NOTES.md"
TINY = "tiny"

# ---------------------------------------------------------------------------------------
# (a) The baseline


class Baseline:
    """Batch 1 everywhere; one peft adapter, re-initialised (seeded) for every unit."""

    def __init__(self, loaded: LoadedModel, sync: Callable[[], None]):
        self.loaded = loaded
        self.device = loaded.device
        self.sync = sync
        self.peft: Any = None
        self.peft_key: Any = None

    def _adapter(self, run: RunConfig, seed: int) -> Any:
        spec = run.lora
        key = (spec.r, spec.alpha, spec.dropout, tuple(spec.target_modules))
        if self.peft is None:
            config = lora_config(spec)  # the same LoraConfig the engine's peft path uses
            self.peft = get_peft_model(self.loaded.model, config, adapter_name="unit")
            self.peft_key = key
        elif key != self.peft_key:
            raise NotImplementedError("the baseline handles one LoRA configuration per process")
        reset_adapter(self.peft, "unit", seed)  # a fresh adapter, seeded like the engine's
        return self.peft

    @torch.no_grad()
    def _last_token(self, model: Any, ids: list[int], label_ids: list[int]) -> tuple[Any, Any]:
        """Batch 1, no padding: hidden_states[:-1], the last block's own output (the final
        norm's input), the final norm's output; label log-probs over the vocabulary."""
        grabbed: list[Any] = []
        norm = final_norm(model)
        handle = (
            norm.register_forward_hook(lambda m, a, o: grabbed.append(a[0][0, -1]))
            if norm is not None
            else None
        )
        try:
            out = model(
                input_ids=torch.tensor([ids], device=self.device), output_hidden_states=True
            )
        finally:
            if handle is not None:
                handle.remove()
        hs = [h[0, -1] for h in out.hidden_states]
        last_block = grabbed[0] if grabbed else hs[-1]
        hidden = torch.stack([*hs[:-1], last_block, hs[-1]]).float().cpu().numpy()
        logprobs = torch.log_softmax(out.logits[0, -1].float(), -1)
        return hidden, logprobs[label_ids].cpu().numpy()

    def _train(self, model: Any, run: RunConfig, pairs: list[TrainingPair]) -> list[float]:
        spec = run.lora
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=spec.lr, weight_decay=0.0)
        rows = []
        for prompt, target in pairs:
            seq = prompt + target
            start = len(prompt) if spec.loss_on == "label" else 1
            labels = [-100] * start + seq[start:]
            rows.append((seq, labels, len(seq) - start))
        n_total = sum(n for _, _, n in rows)
        losses: list[float] = []
        model.train()
        for _ in range(run.it_steps):
            total = 0.0
            for seq, labels, n in rows:  # batch 1, gradient accumulation
                out = model(
                    input_ids=torch.tensor([seq], device=self.device),
                    labels=torch.tensor([labels], device=self.device),
                )
                loss = out.loss * (n / n_total)  # token mean over the whole set
                loss.backward()
                total += float(loss.detach())
            losses.append(total)
            if spec.stop_loss is not None and total < spec.stop_loss:
                break
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        model.eval()
        optimizer.zero_grad(set_to_none=True)
        return losses

    def run(self, plan: RunPlan, step: Callable[[str], None]) -> tuple[RunStates, dict[str, float]]:
        run, n = plan.run, len(plan.anchor_ids)
        layers, d = self.loaded.n_layers + 2, self.loaded.d_model
        n_lab = len(plan.label_ids)
        conds = ["anchor", "icl", "it"] + (["it_untuned"] if run.untuned_adapter else [])
        hidden = np.zeros((n, len(conds), layers, d), np.float32)
        logits = np.zeros((n, len(conds), n_lab), np.float32)
        timings = dict.fromkeys(("anchor", "icl", "tune", "it"), 0.0)

        def put(model: Any, i: int, c: int, ids: list[int], stage: str, base: bool) -> None:
            """Example i's states in condition c, timed as ``stage`` (``base``: no adapter)."""
            with (
                _timed(timings, stage, self.sync),
                model.disable_adapter() if base else nullcontext(),
            ):
                hidden[i, c], logits[i, c] = self._last_token(model, ids, plan.label_ids)

        for unit in plan.adapters:
            step(f"unit {unit.members[0]}")
            model = self._adapter(run, unit.seed)
            with self.loaded.compute():  # the model's precision (autocast when mixed)
                for i in unit.members:
                    put(model, i, 0, plan.anchor_ids[i], "anchor", base=True)
                    put(model, i, 1, plan.icl_ids[i], "icl", base=True)
                    if run.untuned_adapter:
                        put(model, i, 3, plan.anchor_ids[i], "it", base=False)
                with _timed(timings, "tune", self.sync):
                    self._train(model, run, unit.pairs)
                for i in unit.members:
                    put(model, i, 2, plan.anchor_ids[i], "it", base=False)
        states = RunStates(
            hidden=hidden,
            label_logprobs=logits,
            labels=plan.labels,
            conditions=[Condition(c) for c in conds],
            example_ids=plan.example_ids,
            label_names=plan.label_names,
            meta={"run_key": run.key, "path": "baseline"},
        )
        return states, timings


@contextmanager
def _timed(into: dict[str, float], stage: str, sync: Callable[[], None]) -> Iterator[None]:
    """Adds the block's wall time, between device syncs, to ``into[stage]``."""
    sync()
    t = time.perf_counter()
    try:
        yield
    finally:
        sync()
        into[stage] = into.get(stage, 0.0) + time.perf_counter() - t


# ---------------------------------------------------------------------------------------
# Measuring: FLOPs, matmul peak, memory


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


def _as_array(x: Any) -> np.ndarray:
    return np.array(
        [[np.nan if v is None else v for v in row] if isinstance(row, list) else row for row in x]
        if isinstance(x, list)
        else x,
        dtype=np.float64,
    )


def compare_analyses(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Largest |a - b| per metric and pair, and per layer over all of them."""
    per: dict[str, float] = {}
    per_layer: np.ndarray | None = None
    for metric, pairs in a["values"].items():
        for pair, va in pairs.items():
            x, y = _as_array(va), _as_array(b["values"][metric][pair])
            diff = np.abs(x - y)
            diff = np.where(np.isnan(x) & np.isnan(y), 0.0, diff)
            per[f"{metric}/{pair}"] = float(np.nanmax(diff)) if diff.size else 0.0
            layer = diff if diff.ndim == 1 else diff.max(axis=0)
            per_layer = layer if per_layer is None else np.maximum(per_layer, layer)
    return {
        "max_abs": max(per.values()) if per else 0.0,
        "by_metric_pair": per,
        "by_layer": [] if per_layer is None else per_layer.tolist(),
    }


# ---------------------------------------------------------------------------------------
# The benchmark


def _full_logits(model: Any, ids: torch.Tensor, mask: torch.Tensor, where: torch.Tensor) -> Any:
    """The head on every position, then pick the targets: how tuning worked before lever (i)."""
    logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
    return logits[where]


@contextmanager
def _tuning_with_full_logits() -> Iterator[None]:
    from services.gpu_worker import tuning

    saved = tuning.target_logits
    tuning.target_logits = _full_logits
    try:
        yield
    finally:
        tuning.target_logits = saved


# Engine variants that switch levers off, timed side by side with the engine (--variants).
VARIANTS: dict[str, tuple[dict[str, Any], Callable[[], Any]]] = {
    # lever (ii) off: one peft adapter at a time (the engine's path for single adapters)
    "engine-peft": ({"max_adapters": 1}, nullcontext),
    # levers (i) and (ii) off: one peft adapter at a time, full-vocab logits everywhere
    "engine-peft-full": ({"max_adapters": 1}, _tuning_with_full_logits),
    # KV reuse of a shared prefix off (matters with demos.scope: shared)
    "engine-nokv": ({"reuse_prefix": 0}, nullcontext),
}


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

    def analyse(self, path: str, run: RunConfig, states: RunStates) -> dict[str, Any]:
        t = time.perf_counter()
        with self.sampler.in_phase("analysis"):
            out = run_similarities(run.model_dump(mode="json"), states, self.bench.metrics)
        self.times[path]["analysis"] += time.perf_counter() - t
        return out

    def run_point(self, r: int, bar: Any) -> None:
        """Sweep point ``r`` on every path (the order rotates point by point)."""
        run, plan = self.bench.runs[r], self.plans[r]
        point = ", ".join(f"{k}={v}" for k, v in run.factors.items()) or run.key
        analyses: dict[str, dict[str, Any]] = {}
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


def machine(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_avg": os.getloadavg(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---------------------------------------------------------------------------------------
# Reporting


def summary_lines(res: dict[str, Any]) -> list[str]:
    lines = [
        f"model {res['model']['name']} ({res['model']['n_params'] / 1e6:.1f}M params, "
        f"{res['model']['dtype']}, {res['machine']['device']}), "
        f"{len(res['runs'])} runs x {res['n_examples']} examples, {res['n_adapters']} adapters",
    ]
    wall, stages = res["wall_s"], res["stages_s"]
    if "speedup_wall" in res:
        lines.append(
            f"speedup (baseline / engine): wall {res['speedup_wall']:.2f}x, "
            f"cpu time {res['speedup_cpu']:.2f}x "
            f"(engine {wall['engine']:.1f} s, baseline {wall['baseline']:.1f} s)"
        )
    else:
        lines.append(f"engine {wall['engine']:.1f} s (baseline skipped)")
    paths = res["paths"]
    lines.append(f"{'stage':<10}" + "".join(f"{p + ' s':>20}" for p in paths))
    for stage in ("tune", "anchor", "icl", "it", "analysis"):
        lines.append(f"{stage:<10}" + "".join(f"{stages[p][stage]:>20.2f}" for p in paths))
    for name, v in res.get("variants", {}).items():
        if name != "engine":
            lines.append(
                f"variant {name}: speedup {v['speedup_wall']:.2f}x wall "
                f"({v['speedup_cpu']:.2f}x cpu), max |sim diff| {v['similarity_max_abs_diff']:.1e}, "
                f"{res['gflops'][name]:.1f} GFLOP/s"
            )
    if "similarity_diff" in res:
        lines.append(
            f"largest |similarity difference| (every metric, pair, example, layer): "
            f"{res['similarity_diff']['max_abs']:.2e}"
        )
    fl = res["flops"]
    lines.append(
        f"necessary work: {fl['necessary_flops'] / 1e12:.2f} TFLOP "
        f"({fl['tuned_tokens']:.0f} tuned + {fl['forward_tokens']:.0f} forward tokens; "
        f"attention products not counted: {fl['attention_flops_not_counted'] / 1e12:.2f} TFLOP)"
    )
    peak = res["matmul_peak"]
    lines.append(
        f"engine {res['engine_gflops']:.1f} GFLOP/s = {100 * res['engine_fraction_of_peak']:.0f}% "
        f"of the matmul peak {peak['gflops']:.1f} GFLOP/s ({peak['dtype']}; "
        f"before {peak['before']['gflops']:.1f}, after {peak['after']['gflops']:.1f})"
        + (f"; baseline {res['baseline_gflops']:.1f} GFLOP/s" if "baseline_gflops" in res else "")
    )
    rss = ", ".join(f"{k} {v:.0f} MB" for k, v in res["peak_rss_mb"].items())
    lines.append(f"peak RSS: {rss}; process max {res['ru_maxrss_mb']:.0f} MB")
    if "gpu_peak_mb" in res:
        lines.append(
            "peak GPU memory: "
            + ", ".join(f"{k} {v:.0f} MB" for k, v in res["gpu_peak_mb"].items())
        )
    return lines


def notes_line(res: dict[str, Any], command: str) -> str:
    m = res["machine"]
    where = m.get("gpu") or f"{m['cpu']}, {m['torch_threads']} threads, load {m['load_avg'][0]:.1f}"
    parts = [
        f"- {res['date'][:10]} `{command}` on {where}: "
        f"{res['model']['name']}, {len(res['runs'])} runs x {res['n_examples']} examples."
    ]
    if "speedup_wall" in res:
        parts.append(
            f"speedup {res['speedup_wall']:.2f}x wall ({res['speedup_cpu']:.2f}x cpu); "
            f"max |sim diff| {res['similarity_diff']['max_abs']:.1e};"
        )
    st = res["stages_s"]["engine"]
    parts.append(
        f"engine {res['wall_s']['engine']:.1f} s (tune {st['tune']:.1f}, anchor {st['anchor']:.1f}, "
        f"icl {st['icl']:.1f}, it {st['it']:.1f});"
    )
    parts.append(
        f"{res['engine_gflops']:.0f} GFLOP/s = {100 * res['engine_fraction_of_peak']:.0f}% of "
        f"matmul peak {res['matmul_peak']['gflops']:.0f};"
    )
    parts.append(f"engine peak RSS {res['peak_rss_mb'].get('engine', 0):.0f} MB.")
    for name, v in res.get("variants", {}).items():
        if name != "engine":
            parts.append(
                f"Variant {name}: {v['speedup_wall']:.2f}x wall, {res['gflops'][name]:.0f} GFLOP/s."
            )
    if res["label"]:
        parts.append(f"What changed: {res['label']}.")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------
# Entry point


def load_runs(
    spec_path: Path, model: str | None, examples: int | None, quick: bool
) -> tuple[ExperimentSpec, list[RunConfig]]:
    body = yaml.safe_load(spec_path.read_text())
    if model:
        body.setdefault("model", {})["name"] = model
    if examples:
        body.setdefault("inference", {})["n"] = examples
    if quick:
        body.setdefault("inference", {})["n"] = examples or 4
        body.setdefault("lora", {})["epochs"] = 2
    spec = ExperimentSpec.model_validate(body)
    return spec, expand_runs(spec)


def tiny_model_dir(settings: Settings) -> Path:
    root = settings.model_cache_dir / "bench"
    root.mkdir(parents=True, exist_ok=True)
    return save_tiny_llama(root / "tiny-llama", seed=0)


def bench_model(name: str | None, settings: Settings) -> tuple[str | None, str | None]:
    """(model name for the spec, ICL_IT_MODEL_DIRS it needs): ``tiny`` becomes the
    directory of the tiny random-init Llama; other names pass through."""
    if name != TINY:
        return name, None
    path = tiny_model_dir(settings)
    return str(path), str(path.parent)


def start(prog: str, argv: list[str] | None) -> str:
    """Offline defaults for a benchmark process; returns its command line (for the notes)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return f"python -m {prog} " + " ".join(argv if argv is not None else sys.argv[1:])


def add_common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    p.add_argument("--examples", type=int, default=None, help="inference examples per run")
    p.add_argument("--quick", action="store_true", help="4 examples, 2 epochs")
    p.add_argument("--skip-baseline", action="store_true", help="engine only (growth studies)")
    p.add_argument("--device", default=None)
    p.add_argument("--label", default="", help="what changed (goes into NOTES.md)")
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--no-notes", action="store_true", help="do not append to NOTES.md")
    p.add_argument("--peak-seconds", type=float, default=0.5, help="time per matmul-peak shape")
    p.add_argument(
        "--variants",
        default="",
        help=f"comma-separated engine variants with levers off, timed alongside: {sorted(VARIANTS)}",
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.harness", description=__doc__.split("\n")[0])
    p.add_argument(
        "--model",
        default=None,
        help="model name (default: the spec's); 'tiny' = tiny random-init Llama",
    )
    add_common_args(p)
    return p.parse_args(argv)


def report(res: dict[str, Any], args: argparse.Namespace, command: str) -> Path:
    for line in summary_lines(res):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = res["date"].replace(":", "").replace("-", "")
    name = f"{stamp}-{Path(res['model']['name']).name}-n{res['n_examples']}.json"
    path = args.out / name
    res["command"] = command
    path.write_text(json.dumps(_finite(res), indent=1))
    print(f"wrote {path}")
    if not args.no_notes:
        with NOTES.open("a") as f:
            f.write(notes_line(res, command) + "\n")
    return path


def _finite(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


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
        partial_path.write_text(json.dumps(_finite({**res, "command": command}), indent=1))

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
