"""fp32 and bf16 side by side in one run: speed, and what bf16 does to the science (issue 18).

    python -m bench.precision             # bench/sweep.yaml (+ batch-1 baseline), examples/default.yaml
    python -m bench.precision --quick     # 4 examples, 2 epochs
    python -m bench.precision --spec examples/default.yaml --no-baseline

Paths, alternating in order point by point (load on a shared machine hits all alike):

    baseline     bench.harness.Baseline (batch 1, fp32), on the bench spec only
    engine-fp32  Engine.run with model.dtype float32
    engine-bf16  Engine.run with model.dtype bfloat16 (mixed precision, gpu_worker.precision)

Per spec: wall time and stages of each path; three ratios (fp32 engine / bf16 engine wall,
baseline / bf16 engine, baseline / fp32 engine); the matmul peak in both dtypes on the
model's shapes (before and after the paths); each engine's fraction of the peak of the
dtype it ran; the accuracy gates (``bench.precision_gates``). On a device without bf16
units it says so and runs fp32 only. JSON to bench/results/, one line to bench/NOTES.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from bench import precision_gates
from bench.baseline import Baseline
from bench.flops import ModelShape, necessary_flops
from bench.harness import STAGES, _optimizer_steps
from bench.machine import best_peaks, compute_dtypes, machine_info, peaks
from bench.report import NOTES, RESULTS_DIR, compare_analyses, finite
from bench.workload import bench_model, start
from services.analysis.documents import RunAnalysis
from services.analysis.pipeline import analyze_run
from services.analysis.summarize import summarize_experiment
from services.common.runtime.settings import Settings, get_settings
from services.common.spec import ExperimentSpec, RunConfig, expand_runs
from services.gpu_worker.engine import Engine
from services.gpu_worker.models import load_model, pick_device
from services.gpu_worker.plan import RunPlan

REPO = Path(__file__).resolve().parents[1]
SPECS = (REPO / "bench" / "sweep.yaml", REPO / "examples" / "default.yaml")
ENGINE_DTYPES = {"engine-fp32": "float32", "engine-bf16": "bfloat16"}


def spec_in(path: Path, dtype: str, args: argparse.Namespace) -> ExperimentSpec:
    """The spec at ``path`` with ``model.dtype`` set (and the model, and cut down with
    ``--quick`` / ``--examples``)."""
    body = yaml.safe_load(path.read_text())
    body.setdefault("model", {})["dtype"] = dtype
    if args.model_name:
        body["model"]["name"] = args.model_name
    quick, examples = args.quick, args.examples
    inference = body.setdefault("inference", {})
    if examples or quick:
        inference["n"] = examples or 4
    if quick:
        body.setdefault("lora", {})["epochs"] = 2
    return ExperimentSpec.model_validate(body)


@dataclass
class PathRun:
    """What one path measured over every sweep point of a spec."""

    wall: float = 0.0
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    analyses: list[RunAnalysis] = field(default_factory=list)
    steps: list[list[int]] = field(default_factory=list)

    def add(self, seconds: float, stages: dict[str, float]) -> None:
        self.wall += seconds
        for s in STAGES:
            self.stages[s] += stages.get(s, 0.0)


@dataclass
class SpecBench:
    """One spec: the engines (one per dtype), the baseline, and the runs of each path."""

    name: str
    specs: dict[str, ExperimentSpec]  # path -> the spec in that path's dtype
    engines: dict[str, Engine]
    baseline: Baseline | None
    device: torch.device

    def runs(self, path: str) -> list[RunConfig]:
        return expand_runs(self.specs["engine-fp32" if path == "baseline" else path])

    def execute(self) -> dict[str, PathRun]:
        paths = list(self.engines) + (["baseline"] if self.baseline else [])
        out = {p: PathRun() for p in paths}
        n = len(self.runs(paths[0]))
        for r in range(n):
            for path in paths[r % len(paths) :] + paths[: r % len(paths)]:
                self._point(path, self.runs(path)[r], out[path])
                print(f"  {self.name} point {r + 1}/{n}: {path} done", file=sys.stderr)
        return out

    def _point(self, path: str, run: RunConfig, into: PathRun) -> None:
        """One sweep point on one path, timed; its analysis kept."""
        metrics = list(self.specs["engine-fp32"].metrics)
        t0 = time.perf_counter()
        if path == "baseline":
            assert self.baseline is not None
            states, stages = self.baseline.run(self.plan(run), lambda _s: None)
            tuning: list[dict[str, Any]] = []
        else:
            result = self.engines[path].execute(run)
            states, stages, tuning = result.states, result.timings, result.tuning
        into.add(time.perf_counter() - t0, stages)
        into.analyses.append(analyze_run(run, states, metrics, stages))
        into.steps.append([_optimizer_steps(run, t["losses"]) for t in tuning])

    def plan(self, run: RunConfig) -> RunPlan:
        engine = self.engines["engine-fp32"]
        return engine.plan(run, engine.warm(run).loaded.tokenizer)


def figures(bench: SpecBench, paths: dict[str, PathRun], peak: dict[str, Any]) -> dict[str, Any]:
    """Times, ratios, fractions of peak and the accuracy gates of one spec."""
    fp32_spec = bench.specs["engine-fp32"]
    runs = expand_runs(fp32_spec)
    model = bench.engines["engine-fp32"].warm(runs[0]).loaded.model
    plans = [bench.plan(r) for r in runs if r.control == "none"]
    none_idx = [i for i, r in enumerate(runs) if r.control == "none"]
    best = best_peaks(peak["before"], peak["after"])
    res: dict[str, Any] = {
        "spec": bench.name,
        "n_runs": len(runs),
        "wall_s": {p: v.wall for p, v in paths.items()},
        "stages_s": {p: v.stages for p, v in paths.items()},
        "matmul_peak": {**peak, "best_gflops": best},
        "ratios": ratios({p: v.wall for p, v in paths.items()}),
    }
    res["engines"] = {}
    for p, dtype in ENGINE_DTYPES.items():
        if p not in paths:
            continue
        steps = [paths[p].steps[i] for i in none_idx]
        flops = necessary_flops(plans, steps, ModelShape.of(model))["necessary_flops"]
        seconds = sum(paths[p].stages[s] for s in STAGES)
        # the random-init control runs are not in the FLOP count: their time is left out too
        share = _share_of_none(paths[p], none_idx)
        gflops = flops / max(seconds * share, 1e-9) / 1e9
        res["engines"][p] = {
            "dtype": dtype,
            "gflops": gflops,
            "fraction_of_peak": gflops / best[dtype] if dtype in best else None,
        }
    if "engine-bf16" in paths:
        layer = fp32_spec.report_layer
        docs = {p: summarize_experiment(bench.specs[p], paths[p].analyses) for p in ENGINE_DTYPES}
        res["gates"] = precision_gates.gates(
            paths["engine-fp32"].analyses,
            paths["engine-bf16"].analyses,
            docs["engine-fp32"],
            docs["engine-bf16"],
            layer,
        )
    if "baseline" in paths:
        res["vs_baseline"] = {
            p: max(
                compare_analyses(a, b)["max_abs"]
                for a, b in zip(paths[p].analyses, paths["baseline"].analyses, strict=True)
            )
            for p in ENGINE_DTYPES
            if p in paths
        }
    return res


def _share_of_none(path: PathRun, none_idx: list[int]) -> float:
    """The fraction of a path's compute time spent on the runs without a model control."""
    per_run = [sum((a.get("timings") or {}).get(s, 0.0) for s in STAGES) for a in path.analyses]
    total = sum(per_run)
    return sum(per_run[i] for i in none_idx) / total if total > 0 else 1.0


def ratios(wall: dict[str, float]) -> dict[str, float | None]:
    """The three speed ratios (larger = the first path faster), None where a path is absent."""

    def over(slow: str, fast: str) -> float | None:
        return wall[slow] / wall[fast] if slow in wall and fast in wall and wall[fast] else None

    return {
        "bf16_engine_vs_fp32_engine": over("engine-fp32", "engine-bf16"),
        "bf16_engine_vs_baseline": over("baseline", "engine-bf16"),
        "fp32_engine_vs_baseline": over("baseline", "engine-fp32"),
    }


def bench_spec(
    path: Path, args: argparse.Namespace, device: torch.device, settings: Settings
) -> dict[str, Any]:
    """Every path on one spec, with the matmul peaks measured before and after them."""
    dtypes = compute_dtypes(device)
    engine_paths = [p for p, d in ENGINE_DTYPES.items() if getattr(torch, d) in dtypes]
    specs = {p: spec_in(path, ENGINE_DTYPES[p], args) for p in engine_paths}
    engines = {p: Engine(settings=settings, device=device) for p in engine_paths}
    first = {p: expand_runs(s)[0] for p, s in specs.items()}
    for p in engine_paths:
        engines[p].warm(first[p])
    baseline = None
    # the baseline computes anchor, ICL and IT only: it runs on specs without controls
    if args.baseline and not specs["engine-fp32"].controls:
        fp32 = load_model(first["engine-fp32"].model, device=device, settings=settings)
        baseline = Baseline(fp32, lambda: _sync(device))
    bench = SpecBench(path.name, specs, engines, baseline, device)
    shape = ModelShape.of(engines["engine-fp32"].warm(first["engine-fp32"]).loaded.model)

    def measure_peaks() -> dict[str, dict[str, Any]]:
        return peaks(shape, dtypes, device, lambda: _sync(device), args.peak_seconds)

    before = measure_peaks()
    paths = bench.execute()
    return figures(bench, paths, {"before": before, "after": measure_peaks()})


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def summary_lines(res: dict[str, Any]) -> list[str]:
    """What a reader needs, one spec after the other."""
    m = res["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['torch_threads']} threads, load {m['load_avg'][0]:.1f}; "
        f"{m['bf16']} (flags {', '.join(k for k, v in m['flags'].items() if v)})"
    ]
    for s in res["specs"]:
        r = s["ratios"]
        walls = ", ".join(f"{p} {w:.1f} s" for p, w in s["wall_s"].items())
        lines.append(f"[{s['spec']}] {s['n_runs']} runs: {walls}")
        shown = [f"{k} {v:.2f}x" for k, v in r.items() if v is not None]
        lines.append(
            "  ratios: "
            + (", ".join(shown) or "none (one path: fp32 only, no baseline with controls)")
        )
        for dtype, gf in s["matmul_peak"]["best_gflops"].items():
            lines.append(f"  matmul peak {dtype}: {gf:.0f} GFLOP/s")
        for p, e in s["engines"].items():
            frac = e["fraction_of_peak"]
            lines.append(
                f"  {p}: {e['gflops']:.0f} GFLOP/s"
                + (f" = {100 * frac:.0f}% of the {e['dtype']} peak" if frac else "")
            )
        lines += _gate_lines(s.get("gates"))
    return lines


def _gate_lines(g: dict[str, Any] | None) -> list[str]:
    if g is None:
        return ["  accuracy gates: not run (fp32 only)"]
    c, fl = g["conclusions"], g["final_losses"]
    lines = [
        f"  bf16 vs fp32: max |sim diff| {g['similarity']['max_abs']:.2e}; per-example "
        + ", ".join(f"{k} {v:.2e}" for k, v in g["per_example"]["max_abs_diff"].items()),
        f"  conclusions: {c['n_tests']} tests, significant fp32/bf16 {c['n_significant']}, "
        f"changed {len(c['changed'])}; IT final loss mean fp32 {fl['mean_a']}, "
        f"bf16 {fl['mean_b']}, max |diff| {fl['max_abs_diff']:.2e}",
        f"  gates {'PASSED' if g['all_passed'] else 'FAILED'}: "
        + ", ".join(f"{k} {'ok' if ok else 'FAIL'}" for k, ok in g["passed"].items()),
    ]
    return lines


def notes_line(res: dict[str, Any]) -> str:
    m = res["machine"]
    parts = [
        f"- {res['date'][:10]} `{res['command']}` on {m['cpu']} ({m['bf16']}), "
        f"{m['torch_threads']} threads, load {m['load_avg'][0]:.1f}:"
    ]
    for s in res["specs"]:
        r = {k: f"{v:.2f}x" for k, v in s["ratios"].items() if v is not None}
        g = s.get("gates")
        parts.append(
            f"[{s['spec']}] ratios {r}; "
            + (
                f"max |sim diff| {g['similarity']['max_abs']:.1e}, changed conclusions "
                f"{len(g['conclusions']['changed'])};"
                if g
                else "fp32 only;"
            )
        )
    return " ".join(parts)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="python -m bench.precision", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--spec", type=Path, action="append", help="default: bench spec and default.yaml"
    )
    p.add_argument("--quick", action="store_true", help="4 examples, 2 epochs")
    p.add_argument("--examples", type=int, default=None)
    p.add_argument("--no-baseline", dest="baseline", action="store_false")
    p.add_argument("--model", default=None, help="model name; 'tiny' = tiny random-init Llama")
    p.add_argument("--device", default=None)
    p.add_argument("--peak-seconds", type=float, default=0.5)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    p.add_argument("--no-notes", action="store_true")
    args = p.parse_args(argv)
    command = start("bench.precision", argv).strip()
    settings = get_settings()
    args.model_name, model_dirs = bench_model(args.model, settings)
    if model_dirs:
        settings = Settings(ICL_IT_MODEL_DIRS=model_dirs, ICL_IT_HOME=str(settings.home))
    device = torch.device(args.device) if args.device else pick_device(settings)
    res: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(device),
        "specs": [bench_spec(path, args, device, settings) for path in (args.spec or SPECS)],
    }
    res["machine"]["load_avg_after"] = list(os.getloadavg())
    for line in summary_lines(res):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"precision-{res['date'].replace(':', '').replace('-', '')}.json"
    out.write_text(json.dumps(finite(res), indent=1))
    print(f"wrote {out}")
    if not args.no_notes:
        with NOTES.open("a") as f:
            f.write(notes_line(res) + "\n")
    return res


if __name__ == "__main__":
    main()
