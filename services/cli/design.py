"""``icl-it design``: the n per cell that detects a target effect, before a run.

icl-it design --effect 0.02 --alpha 0.05 --n-tests 13 --pilot docs/reports/duan2023-default/results.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def cmd_design(args: argparse.Namespace) -> int:
    """Print the design for the command line's request (text, or JSON with --json); exit
    status 2 when the request is invalid."""
    from services.common.spec.design import DesignRequest, design

    pilot = json.loads(Path(args.pilot).read_text()) if args.pilot else None
    try:
        req = DesignRequest(
            effect=args.effect,
            alpha=args.alpha,
            power=args.power,
            n_tests=args.n_tests,
            group_size=args.group_size,
            n_cells=args.n_cells,
            n_seeds=args.n_seeds,
            sd_unit=args.sd,
            pilot=pilot,
        )
    except ValueError as exc:
        print(f"icl-it design: {exc}", file=sys.stderr)
        return 2
    result = design(req)
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(design_text(req, result.model_dump()))
    return 0


def design_text(req: Any, r: dict[str, Any]) -> str:
    """The design in a few lines a researcher can paste into a plan."""
    lines = [
        f"To detect own − cross adapter >= {req.effect:g} with power {req.power:g} at "
        f"alpha {req.alpha:g} / {req.n_tests} test(s) = {r['alpha_per_test']:.4g}:",
        f"  n per cell        {r['n_per_cell']} inference examples "
        f"(mde at that n: {r['mde_at_n']:.4f})",
        f"  per-example sd    {r['sd_unit']:.4f} ({r['sd_source']})",
    ]
    c = r.get("compute")
    if c:
        machine = c.get("machine") or {}
        lines += [
            f"  compute           {c['seconds_per_run']:.0f} s per run x {c['runs']} run(s) = "
            f"{c['hours_total']:.2f} h on {machine.get('cpu', '?')} "
            f"({machine.get('cores', '?')} cores, {c.get('model')}), from {c['bench_file']}"
            + ("" if c.get("same_machine") else " (no benchmark of this machine's CPU found)"),
        ]
    else:
        lines.append("  compute           no engine benchmark in bench/results")
    cp = r.get("compute_pilot")
    if cp:
        lines.append(
            f"  compute (pilot)   {cp['seconds_per_run']:.0f} s per run x {cp['runs']} run(s) = "
            f"{cp['hours_total']:.2f} h at the pilot's own rates ({cp['pilot_runs']} runs in "
            f"{cp['pilot_seconds']:.0f} s: controls, cross passes and patching included; on "
            "the machine that ran it)"
        )
    return "\n".join(lines)


def add_design_command(sub: Any) -> None:
    """Register ``icl-it design`` and its options on the CLI's subparsers."""
    p = sub.add_parser("design", help="n per cell to detect an effect, and its compute")
    p.add_argument("--effect", type=float, default=0.02, help="own − cross to detect")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--n-tests", type=int, default=1, help="primary tests in the Holm family")
    p.add_argument("--group-size", type=int, default=16, help="adapters per group")
    p.add_argument("--n-cells", type=int, default=1)
    p.add_argument("--n-seeds", type=int, default=1)
    p.add_argument("--sd", type=float, default=None, help="per-example sd of own − cross")
    p.add_argument("--pilot", default=None, help="a pilot results.json for the sd")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_design)
