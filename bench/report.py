"""What the harness prints and writes: the machine, agreement of the two paths' analyses,
the summary table, the NOTES.md log line and the results JSON."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from services.common.spec.design import this_cpu

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
NOTES = BENCH_DIR / "NOTES.md"


def _as_array(x: Any) -> np.ndarray:
    return np.array(
        [[np.nan if v is None else v for v in row] if isinstance(row, list) else row for row in x]
        if isinstance(x, list)
        else x,
        dtype=np.float64,
    )


def compare_analyses(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
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
    """The CPU model, the same string ``icl-it design`` matches benchmarks by."""
    return this_cpu() or platform.processor()


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


def report(res: dict[str, Any], args: argparse.Namespace, command: str) -> Path:
    for line in summary_lines(res):
        print(line)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = res["date"].replace(":", "").replace("-", "")
    name = f"{stamp}-{Path(res['model']['name']).name}-n{res['n_examples']}.json"
    path = args.out / name
    res["command"] = command
    path.write_text(json.dumps(finite(res), indent=1))
    print(f"wrote {path}")
    if not args.no_notes:
        with NOTES.open("a") as f:
            f.write(notes_line(res, command) + "\n")
    return path


def finite(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
