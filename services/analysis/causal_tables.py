"""The task-vector check as report rows: one table per cell that patched, one row per
patched block (analysis/causal.py computes the values; report.py shows them)."""

from __future__ import annotations

from typing import Any

from services.analysis.documents import CellCausal, MeanCI, Results
from services.analysis.vocabulary import cell_title, fmt_num, fmt_p


def _mean(block: MeanCI, k: int) -> Any:
    return block["mean"][k]


def _own_cross(c: CellCausal, shift: str, measure: str, k: int) -> str:
    """'own / cross (p own vs cross)' of one measure at patched-layer position k."""
    side = c["patched"][shift]
    text = fmt_num(_mean(side["own"][measure], k))
    if "cross" in side:
        t = c["own_vs_cross"][shift][measure][k]
        text += f" / {fmt_num(_mean(side['cross'][measure], k))} (p={fmt_p(t['p_value'])})"
    return text


def _own_adapters(c: CellCausal, k: int) -> str:
    """'own / other adapters (p)' of the IT shift's KL to ICL's output at position k: the
    demonstration-specific version (the input held fixed); '-' when the run has none."""
    tests = c.get("own_vs_cross_adapter")
    if not tests:
        return "-"
    side = c["patched"]["it"]
    return (
        f"{fmt_num(_mean(side['own']['kl_icl'], k))} / "
        f"{fmt_num(_mean(side['cross_adapter']['kl_icl'], k))} "
        f"(p={fmt_p(tests['kl_icl'][k]['p_value'])})"
    )


def causal_rows(c: CellCausal) -> list[dict[str, str]]:
    """Per patched block: the ICL shift's label mass, accuracy and KL to IT's output, and
    the IT shift's KL to ICL's output, own / cross, and own / through other adapters."""
    return [
        {
            "layer": f"{layer} {name}",
            "icl_mass": _own_cross(c, "icl", "label_mass", k),
            "icl_acc": _own_cross(c, "icl", "accuracy", k),
            "icl_kl_it": _own_cross(c, "icl", "kl_it", k),
            "it_mass": _own_cross(c, "it", "label_mass", k),
            "it_kl_icl": _own_cross(c, "it", "kl_icl", k),
            "it_kl_icl_adapters": _own_adapters(c, k),
        }
        for k, (layer, name) in enumerate(zip(c["layers"], c["layer_names"], strict=True))
    ]


def causal_views(results: Results) -> list[dict[str, Any]]:
    """One view per cell with a task-vector check: title, statement, rows, and the plain
    conditions' KLs for scale."""
    views = []
    for cell in results["cells"]:
        c = cell.get("causal")
        if not c:
            continue
        un = c["unpatched"]
        views.append(
            {
                "title": cell_title(cell),
                "statement": c["statement"],
                "rows": causal_rows(c),
                "scale": (
                    f"unpatched: KL(anchor || ICL) {fmt_num(un['anchor']['kl_icl']['mean'])}, "
                    f"KL(anchor || IT) {fmt_num(un['anchor']['kl_it']['mean'])}, "
                    f"KL(ICL || IT) {fmt_num(un['icl']['kl_it']['mean'])}, "
                    f"KL(IT || ICL) {fmt_num(un['it']['kl_icl']['mean'])}; "
                    f"head check {fmt_num(c['head_check_max_abs'], 6)}"
                ),
            }
        )
    return views
