"""Two ``icl-it run --out`` directories of one spec, compared as bench.precision compares
its two engines: per example, the primary statistic and each control contrast at the
report layer; max |diff| of every similarity; every test's conclusion; the IT final
losses; and the stage seconds the runs recorded.

    python -m bench.compare_outputs out/default-float32 out/default-bfloat16 [--json FILE]

Made for issue 18's check of ``icl-it run examples/default.yaml --set
model.dtype=bfloat16`` against fp32 on the same machine; any two runs of the same spec
(two machines, two versions) compare the same way. Runs are matched by their place in
the results document (the dtype is part of a run's key, so the keys differ).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, cast

from bench.precision_gates import gates
from services.analysis.documents import Results, RunAnalysis
from services.common.storage.layout import (
    ANALYSIS_FILE,
    RESULTS_FILE,
    RUN_RECORD_FILE,
    local_run_dir,
)


def _load(out: Path) -> tuple[list[RunAnalysis], Results, float]:
    """The runs' analyses in the results document's order, the document, and the runs'
    summed stage seconds."""
    results = cast(Results, json.loads((out / RESULTS_FILE).read_text()))
    analyses: list[RunAnalysis] = []
    seconds = 0.0
    for run in results["runs"]:
        run_dir = local_run_dir(out, run["key"])
        analyses.append(cast(RunAnalysis, json.loads((run_dir / ANALYSIS_FILE).read_text())))
        record = run_dir / RUN_RECORD_FILE
        if record.exists():
            seconds += sum(json.loads(record.read_text()).get("timings", {}).values())
    return analyses, results, seconds


def compare(a: Path, b: Path) -> dict[str, Any]:
    """Every accuracy figure of b against a (``precision_gates.gates``), and the times."""
    runs_a, doc_a, wall_a = _load(a)
    runs_b, doc_b, wall_b = _load(b)
    if len(runs_a) != len(runs_b):
        raise SystemExit(f"{a} has {len(runs_a)} runs, {b} {len(runs_b)}: not one spec")
    layer = doc_a.get("spec", {}).get("report_layer")
    out = gates(runs_a, runs_b, doc_a, doc_b, layer)
    out["runs"] = [[ra["key"], rb["key"]] for ra, rb in zip(runs_a, runs_b, strict=True)]
    out["stage_seconds"] = {
        "a": wall_a,
        "b": wall_b,
        "b_over_a": wall_b / wall_a if wall_a else None,
    }
    return out


def lines(res: dict[str, Any]) -> list[str]:
    """The comparison as a reader wants it: per statistic, both series and the max diff."""
    text = [f"runs compared: {len(res['runs'])}"]
    for run in res["per_example"]["runs"]:
        text.append(f"run {run['run']}:")
        for name, s in run["stats"].items():
            fa = " ".join(f"{x:+.4f}" for x in s["a"])
            fb = " ".join(f"{x:+.4f}" for x in s["b"])
            text.append(f"  {name}: max |diff| {s['max_abs_diff']:.2e}\n    a {fa}\n    b {fb}")
    m, passed = res["measured"], res["passed"]
    text += [
        f"{k}: {v:.3g} (gate {res['thresholds'][k]}: {'ok' if passed[k] else 'FAIL'})"
        for k, v in m.items()
    ]
    changed = res["conclusions"]["changed"]
    text.append(f"tests compared: {res['conclusions']['n_tests']}, changed: {changed or 'none'}")
    st = res["stage_seconds"]
    if st["b_over_a"] is not None:
        text.append(f"stage seconds a {st['a']:.1f}, b {st['b']:.1f} (b/a {st['b_over_a']:.2f})")
    return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Compare, print, and optionally write the whole comparison as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.compare_outputs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("a", type=Path, help="the reference --out directory (e.g. fp32)")
    parser.add_argument("b", type=Path, help="the other --out directory (e.g. bf16)")
    parser.add_argument("--json", type=Path, help="write the whole comparison here")
    args = parser.parse_args(argv)
    res = compare(args.a, args.b)
    print("\n".join(lines(res)))
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=float))
    return res


if __name__ == "__main__":
    main()
