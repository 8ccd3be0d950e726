"""Power design before a run: how many inference examples a cell needs to detect a
target effect, and the compute that implies on the benchmarked machine.

    design(DesignRequest) -> DesignResult      (``icl-it design`` and POST /v1/design)

The test it sizes is the analysis' pairing-permutation test of own − cross adapter
(demonstration_specific): its statistic's sd falls as sd_unit / sqrt(n), so a two-sided
test at alpha' with power 1 - beta needs n = ((z_{1-alpha'/2} + z_{1-beta}) sd_unit /
effect)^2, alpha' = alpha / n_tests (Holm's strictest step over the experiment's primary
tests). sd_unit comes from a pilot results.json (its pairing tests' null sd times sqrt(n);
for an older document, the cross-adapter control test's interval) or is given.

Standard library only (the API imports this; no numpy or scipy there).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

BENCH_RESULTS = Path(__file__).resolve().parents[3] / "bench" / "results"
# The audit's figure on the default run (per-example sd of own − cross at final_norm).
DEFAULT_SD_UNIT = 0.031


class DesignRequest(BaseModel):
    """What to detect, at which level and power; optionally a pilot's results."""

    model_config = ConfigDict(extra="forbid")

    effect: float = Field(0.02, ge=0.001, le=2, description="Target own − cross difference.")
    alpha: float = Field(0.05, ge=1e-6, le=0.5, description="Family-wise level.")
    power: float = Field(0.8, ge=0.5, le=0.999)
    n_tests: int = Field(
        1, ge=1, le=1000, description="Primary tests in the Holm family (a preset's count)."
    )
    group_size: int = Field(16, ge=2, le=256, description="Adapters per group (m).")
    n_cells: int = Field(1, ge=1, le=1000, description="Cells the experiment runs.")
    n_seeds: int = Field(1, ge=1, le=100)
    sd_unit: float | None = Field(
        None, gt=0, le=10, description="Per-example sd of own − cross; else from the pilot."
    )
    pilot: dict[str, Any] | None = Field(None, description="A pilot results.json document.")


class DesignResult(BaseModel):
    """The design: n per cell, the alpha per test, the sd used and its source, the
    minimum detectable effect at that n, and the compute it takes (None without a benchmark)."""

    n_per_cell: int
    alpha_per_test: float
    sd_unit: float
    sd_source: str
    mde_at_n: float
    compute: dict[str, Any] | None
    compute_pilot: dict[str, Any] | None = Field(
        None,
        description="The compute from the pilot's own stage timings (its controls, cross "
        "passes and patching included; on the machine that ran the pilot); None without "
        "a pilot that has timings.",
    )
    notes: str


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def _t(p: float, df: int) -> float:
    """Student t quantile by the Cornish-Fisher expansion (2.357 for p = 0.975, df = 7;
    exact 2.365): no scipy in the API's process."""
    z = _z(p)
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def sd_from_pilot(results: dict[str, Any]) -> tuple[float, str] | None:
    """``_sd_from_pilot``, None for a document of another shape or an unusable sd."""
    try:
        got = _sd_from_pilot(results)
    except (TypeError, AttributeError, KeyError, ValueError, ZeroDivisionError):
        return None
    if got is None or not (math.isfinite(got[0]) and 0 < got[0] <= 10):
        return None
    return got


def _sd_from_pilot(results: dict[str, Any]) -> tuple[float, str] | None:
    """Per-example sd of own − cross from a results document: the median over cells of
    the demonstration_specific test's null sd x sqrt(n); for documents without the
    decomposition, the cross-adapter control test's interval half-width / t x sqrt(n) (a
    sign-flip interval, about a t interval; over one neighbour's adapter, so noisier)."""
    direct, fallback = [], []
    for cell in results.get("cells", []):
        demo = ((cell.get("primary") or {}).get("decomposition") or {}).get(
            "demonstration_specific"
        )
        if demo and demo.get("null_sd") and demo.get("n"):
            direct.append(demo["null_sd"] * math.sqrt(demo["n"]))
        cross = (cell.get("control_tests") or {}).get("icl_it_cross")
        if cross and cross.get("ci_low") is not None and cross.get("ci_high") is not None:
            n = int(cross["n"])
            half = (cross["ci_high"] - cross["ci_low"]) / 2
            fallback.append(half / _t(0.975, max(1, n - 1)) * math.sqrt(n))
    if direct:
        return sorted(direct)[len(direct) // 2], "pilot: demonstration_specific null sd x sqrt(n)"
    if fallback:
        return (
            sorted(fallback)[len(fallback) // 2],
            "pilot (no decomposition): the cross-adapter control test's 95% interval",
        )
    return None


def n_for_effect(effect: float, sd_unit: float, alpha: float, power: float) -> int:
    """Smallest n with (z_{1-alpha/2} + z_power) sd_unit / sqrt(n) <= effect, and at least
    enough pairings (n! > 1/alpha) for the exact test to reach alpha at all."""
    n = max(2, math.ceil(((_z(1 - alpha / 2) + _z(power)) * sd_unit / effect) ** 2))
    while n < 20 and math.factorial(n) * alpha <= 1:  # 20! * 1e-9 > 1: never past 20
        n += 1
    return n


def this_cpu() -> str:
    """This machine's CPU model, as the benchmark harness records it (``machine.cpu``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def bench_per_example(directory: Path = BENCH_RESULTS) -> dict[str, Any] | None:
    """Per-example figures of the newest engine benchmark, preferring one run on this
    machine's CPU (a GPU or another CPU says little about this one): seconds per adapter
    (tuning and its forwards, the engine's wall time / adapters) and per extraction
    forward (the IT stage / adapters)."""
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    found: list[dict[str, Any]] = []
    for path in reversed(files):
        doc = json.loads(path.read_text())
        wall = (doc.get("wall_s") or {}).get("engine")
        stages = (doc.get("stages_s") or {}).get("engine") or {}
        adapters = doc.get("n_adapters")
        if wall and adapters and "it" in stages:
            machine = doc.get("machine", {})
            found.append(
                {
                    "bench_file": f"bench/results/{path.name}",
                    "machine": machine,
                    "same_machine": machine.get("device", "cpu") == "cpu"
                    and machine.get("cpu") == this_cpu(),
                    "model": (doc.get("model") or {}).get("name"),
                    "seconds_per_adapter": wall / adapters,
                    "seconds_per_forward": stages["it"] / adapters,
                }
            )
    same = [f for f in found if f["same_machine"]]
    return (same or found)[0] if found else None


def compute_for(n: int, req: DesignRequest, bench: dict[str, Any] | None) -> dict[str, Any] | None:
    """Seconds for the design on the benchmarked machine: per run, n adapters (each with
    its conditions) plus every input through the other m - 1 adapters of its group."""
    if bench is None:
        return None
    m = min(req.group_size, n)
    per_run = n * bench["seconds_per_adapter"] + n * (m - 1) * bench["seconds_per_forward"]
    return _totals(bench, per_run, req)


def _totals(source: dict[str, Any], per_run: float, req: DesignRequest) -> dict[str, Any]:
    """``source``'s figures with the design's seconds per run and totals over its runs."""
    runs = req.n_cells * req.n_seeds
    return {
        **source,
        "seconds_per_run": per_run,
        "runs": runs,
        "seconds_total": per_run * runs,
        "hours_total": per_run * runs / 3600,
    }


def pilot_rates(results: dict[str, Any], group_size: int = 16) -> dict[str, Any] | None:
    """Seconds per inference example and per (input, adapter) pass, from a pilot results
    document's summed stage timings: the "it" stage (IT, cross and control extraction)
    over the sum of n x m over its runs, everything else over the sum of n. None when the
    document has no timings or no run sizes."""
    try:
        timings = results.get("timings") or {}
        total, it = float(timings.get("total") or 0.0), float(timings.get("it") or 0.0)
        ns = [int(r["n_examples"]) for r in results.get("runs") or [] if r.get("n_examples")]
    except (TypeError, ValueError, KeyError, AttributeError):
        return None
    if total <= 0 or not ns:
        return None
    passes = sum(n * min(group_size, n) for n in ns)
    return {
        "pilot_runs": len(ns),
        "pilot_seconds": total,
        "seconds_per_example": (total - it) / sum(ns),
        "seconds_per_input_adapter": it / passes,
    }


def compute_from_pilot(n: int, req: DesignRequest) -> dict[str, Any] | None:
    """Seconds for the design at the pilot's own rates (``pilot_rates``): per run, n
    examples and n x m (input, adapter) passes."""
    rates = pilot_rates(req.pilot, req.group_size) if req.pilot else None
    if rates is None:
        return None
    m = min(req.group_size, n)
    per_run = n * rates["seconds_per_example"] + n * m * rates["seconds_per_input_adapter"]
    return _totals(rates, per_run, req)


def design(req: DesignRequest) -> DesignResult:
    """n per cell for the request, the mde that n gives, and its compute."""
    alpha_test = req.alpha / req.n_tests
    if req.sd_unit is not None:
        sd, source = req.sd_unit, "given"
    else:
        got = sd_from_pilot(req.pilot) if req.pilot else None
        sd, source = got or (DEFAULT_SD_UNIT, "default: the audit's per-example sd (0.031)")
    n = n_for_effect(req.effect, sd, alpha_test, req.power)
    mde = (_z(1 - alpha_test / 2) + _z(req.power)) * sd / math.sqrt(n)
    return DesignResult(
        n_per_cell=n,
        alpha_per_test=alpha_test,
        sd_unit=sd,
        sd_source=source,
        mde_at_n=mde,
        compute=compute_for(n, req, bench_per_example()),
        compute_pilot=compute_from_pilot(n, req),
        notes="Normal approximation to the pairing-permutation test of own − cross "
        "adapter at alpha / n_tests (Holm's strictest step); the reported mde of a run "
        "also widens the null for the effect (pairing.mde_normal), a few percent at n >= 16. "
        "Compute: the newest engine benchmark's wall time per adapter plus one forward per "
        "extra adapter of the group for every input (cross extraction); the benchmark spec "
        "has no controls, so with a pilot also compute_pilot, at the pilot's own rates.",
    )
