"""The task-vector check as report rows: one table per cell that patched, one row per
patched block (analysis/causal.py computes the values; report.py shows them)."""

from __future__ import annotations

from typing import Any

from services.analysis.documents import CellCausal, MeanCI, Results
from services.analysis.vocabulary import cell_title, fmt_num, fmt_p


def _mean(block: MeanCI, k: int) -> Any:
    return block["mean"][k]


def own_vs(
    c: CellCausal, shift: str, measure: str, side: str, k: int, mde: bool = False
) -> str | None:
    """'own / other (p=..)' of one measure at patched-layer position k, ``side`` the other:
    "cross" (other examples' shifts, ``own_vs_cross``) or "cross_adapter" (the same input
    through other adapters, ``own_vs_cross_adapter``); with ``mde``, the test's mde after
    p. None when the cell has no such side for ``shift``."""
    sides = c["patched"][shift]
    tests = (
        c.get("own_vs_cross_adapter") if side == "cross_adapter" else c["own_vs_cross"].get(shift)
    )
    if side not in sides or not tests:
        return None
    t = tests[measure][k]
    extra = f", mde {fmt_num(t['mde'])}" if mde and t.get("mde") is not None else ""
    return (
        f"{fmt_num(_mean(sides['own'][measure], k))} / {fmt_num(_mean(sides[side][measure], k))} "
        f"(p={fmt_p(t['p_value'])}{extra})"
    )


def _own_cross(c: CellCausal, shift: str, measure: str, k: int) -> str:
    """'own / cross (p own vs cross)' of one measure at patched-layer position k (the own
    value alone when the cell has no cross partners)."""
    got = own_vs(c, shift, measure, "cross", k)
    return got or fmt_num(_mean(c["patched"][shift]["own"][measure], k))


def _own_adapters(c: CellCausal, k: int) -> str:
    """'own / other adapters (p)' of the IT shift's KL to ICL's output at position k: the
    demonstration-specific version (the input held fixed); '-' when the run has none."""
    return own_vs(c, "it", "kl_icl", "cross_adapter", k) or "-"


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
