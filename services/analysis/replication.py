"""docs/REPLICATION.md from a saved duan2023 results document (no hand-written numbers).

    python -m services.analysis.replication out/duan2023-default/results.json \
        --command "icl-it run --preset duan2023 --scale default --out out/duan2023-default" \
        > docs/REPLICATION.md

Each study is compared with the direction the paper reports. The verdict follows from the
study's own tests: *agrees* (same direction, significant), *partly agrees* (same direction
within the noise, or the main effect holds at a different level), *disagrees* (opposite
direction, or no effect where the paper reports one).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

# What the paper reports, per study, and the direction this project tests for.
# direction: (pair a, pair b) for the main test; or ordered levels for the factor trend.
PAPER: dict[str, dict[str, Any]] = {
    "main": {
        "claim": "ICL and IT hidden states converge: ICL–IT cosine near 0.9 at the last "
        "layer, while anchor–ICL similarity is low.",
    },
    "n_demos": {
        "claim": "The convergence depends on the number of demonstrations; more "
        "demonstrations, higher ICL–IT similarity.",
        "expect": "increases",
    },
    "similarity": {
        "claim": "Demonstrations semantically similar to the inference input give higher "
        "ICL–IT similarity than dissimilar ones.",
        "expect": ("least_similar", "most_similar"),
    },
    "label_noise": {
        "claim": "Label correctness matters: flipped demonstration labels weaken the convergence.",
        "expect": "decreases",
    },
    "task_mismatch": {
        "claim": "Demonstrations from another task (translation) with sentiment inference "
        "give much lower ICL–IT similarity.",
        "expect": ("translation_en_fr", None),
    },
    "template": {
        "claim": "The paper studies LLaMA-2 base and chat models; no template contrast is "
        "reported as such (chat models use their template).",
    },
    "model": {
        "claim": "LLaMA-2 7B and 13B (base and chat) all show the convergence.",
    },
}

REASONS = {
    "small": "SmolLM2-135M is ~50x smaller than LLaMA-2-7B and its hidden states are "
    "less structured; few inference examples at the default scale.",
    "noise": "The difference is within the noise at this sample size (see n and p).",
    "anisotropy": "Raw cosine is inflated by anisotropy; the centered cosine column is the "
    "fairer comparison.",
}


def _at(block: dict[str, Any], layer: int) -> float | None:
    v = block["mean"][layer] if isinstance(block["mean"], list) else block["mean"]
    return None if v is None else float(v)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _cells(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["cell"]: c for c in results["cells"]}


def _level_value(study: dict[str, Any], cells: dict[str, Any], metric: str) -> list[tuple]:
    out = []
    for ref in study["cells"]:
        cell = cells[ref["cell"]]
        block = cell["metrics"].get(metric, {})
        layer = cell["report_layer"]
        out.append(
            (
                ref["level"],
                _at(block["icl_it"], layer) if "icl_it" in block else None,
                _at(block["anchor_icl"], layer) if "anchor_icl" in block else None,
                cell["n_examples"] * cell["n_seeds"],
            )
        )
    return out


def _verdict(study: dict[str, Any], cells: dict[str, Any]) -> tuple[str, str, str]:
    """(measured, verdict, likely reason) for one study, from its tests."""
    name, metric = study["name"], "cosine"
    spec = PAPER.get(name, {})
    tests = {(t["metric"], json.dumps(t["level"])): t for t in study["tests"]}
    if name in ("main", "model", "template"):
        rows = []
        for (m, _), t in sorted(tests.items()):
            if m in ("cosine", "centered_cosine") and t["n"] > 1:
                rows.append(t)
        base = [t for t in rows if t["metric"] == "cosine"]
        centered = [t for t in rows if t["metric"] == "centered_cosine"]
        if not base:
            return "no test", "not measured", REASONS["small"]
        parts = []
        for t in base + centered:
            lvl = "" if t["level"] is None else f" [{t['level']}]"
            parts.append(
                f"{t['metric']}{lvl}: ICL–IT {_fmt(t['mean_a'])} vs anchor–ICL "
                f"{_fmt(t['mean_b'])} (diff {t['mean_diff']:+.3f}, p={t['p_value']:.2g}, "
                f"n={t['n']})"
            )
        sig_up = all(t["significant"] and t["mean_diff"] > 0 for t in base)
        near = all(t["mean_a"] >= 0.85 for t in base)
        if name == "template":
            verdict = "n/a (no paper value)"
        elif sig_up and near:
            verdict = "agrees"
        elif sig_up or any(t["mean_diff"] > 0 for t in base):
            verdict = "partly agrees"
        else:
            verdict = "disagrees"
        reason = "" if verdict == "agrees" else REASONS["small"] + " " + REASONS["anisotropy"]
        return "; ".join(parts), verdict, reason
    values = _level_value(study, cells, metric)
    trend = next((t for t in study["trends"] if t["metric"] == metric), None)
    measured = ", ".join(f"{lv}: {_fmt(v)}" for lv, v, _, _ in values)
    expect = spec.get("expect")
    if trend is None or not values:
        return measured or "no data", "not measured", REASONS["noise"]
    p = trend["p_value"]
    measured += f" (ICL–IT cosine by level; trend p={p:.2g}, n={trend['n']})"
    if isinstance(expect, str):
        same = trend.get("direction") == expect
    else:
        lo, hi = expect
        by = {json.dumps(lv): v for lv, v, _, _ in values}
        a, b = by.get(json.dumps(lo)), by.get(json.dumps(hi))
        same = a is not None and b is not None and b > a
    if same and trend["significant"]:
        return measured, "agrees", ""
    if same:
        return measured, "partly agrees", "Same direction, " + REASONS["noise"].lower()
    if trend["significant"]:
        return measured, "disagrees", REASONS["small"]
    return measured, "disagrees (within the noise)", REASONS["noise"] + " " + REASONS["small"]


def render(results: dict[str, Any], command: str) -> str:
    cells = _cells(results)
    spec = results["spec"]
    lines = [
        "# Replication of Duan et al. (arXiv 2311.10367) on the embedded model",
        "",
        "Generated by `python -m services.analysis.replication` from a saved results "
        "document; do not edit by hand. Regenerate with:",
        "",
        "```",
        command,
        "python -m services.analysis.replication out/duan2023-default/results.json \\",
        f'    --command "{command}" > docs/REPLICATION.md',
        "```",
        "",
        f"Model: `{spec['model']['name']}`; scale `{spec.get('scale')}`: "
        f"{spec['inference']['n']} inference examples x {len(spec['seeds'])} seed(s) per "
        f"cell; LoRA r={spec['lora']['r']} on {', '.join(spec['lora']['target_modules'])}, "
        f"{spec['lora']['epochs']} steps. Metric: cosine of the last-prompt-token hidden "
        "state at the last layer (the paper's), with centered cosine beside it. "
        f"{results['conventions']['layer_indexing']}",
        "",
        "The paper column paraphrases the paper's qualitative findings; this machine cannot "
        "reach the paper, so check the wording against its figures before citing.",
        "",
        "| study | paper | measured here | verdict | likely reason |",
        "|---|---|---|---|---|",
    ]
    for study in results["studies"]:
        measured, verdict, reason = _verdict(study, cells)
        claim = PAPER.get(study["name"], {}).get("claim", "")
        lines.append(f"| {study['name']} | {claim} | {measured} | **{verdict}** | {reason} |")
    lines += ["", "## Controls", ""]
    for ctrl in results.get("controls", {}).get("random_init", []):
        cos = ctrl["metrics"].get("cosine", {})
        if "icl_it" in cos:
            real, rand = cos["icl_it"]["real"], cos["icl_it"]["random_init"]
            lines.append(
                f"- Random-init `{ctrl['model']}` at layer {ctrl['layer']}: ICL–IT cosine "
                f"{_fmt(rand['mean'])} vs {_fmt(real['mean'])} for the trained model."
            )
    unt = results.get("controls", {}).get("untuned_adapter")
    if unt:
        lines.append(
            "- Untuned (zero-step) adapter: ICL–IT(untuned) equals anchor–ICL by "
            "construction (LoRA B starts at zero); the tuned adapter's gain over it is the "
            "effect of tuning on the demonstrations."
        )
    lines += ["", "## Statements (from the report)", ""]
    for study in results["studies"]:
        lines.append(f"- **{study['name']}**: {study['statement']}")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="results.json of a duan2023 run")
    parser.add_argument(
        "--command",
        default="icl-it run --preset duan2023 --scale default --out out/duan2023-default",
        help="the command that made it",
    )
    args = parser.parse_args(argv)
    with open(args.results) as fh:
        results = json.load(fh)
    sys.stdout.write(render(results, args.command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
