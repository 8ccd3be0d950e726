"""A self-contained HTML report of the RESULTS document (figures inlined as base64 PNG).

All text from users (experiment and study names, descriptions, factor values) is escaped
by jinja2's autoescape.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from jinja2 import Environment

from services.analysis import figures as F
from services.analysis.stats import METRIC_LABELS, PAIR_LABELS

ROW_PAIRS = ("icl_it", "anchor_icl", "anchor_it")

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ICL vs IT report: {{ spec.name }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
.statement { background: #eef5ff; border-left: 4px solid #1f77b4; padding: 0.6em 1em; }
.sig { font-weight: 600; } .muted { color: #666; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }
code { background: #f6f6f6; padding: 0 0.2em; }
</style></head><body>
<h1>ICL vs instruction tuning: {{ spec.name }}</h1>
{% if spec.description %}<p>{{ spec.description }}</p>{% endif %}
<p class="muted">Model {{ spec.model.name }}, task {{ spec.data.task }},
{{ n_cells }} cell(s), {{ n_runs }} run(s), seeds {{ spec.seeds | join(", ") }}.
Schema {{ results.schema }}.</p>

<h2>Conventions</h2>
<ul>
<li><b>Position:</b> {{ conv.position }}.</li>
<li><b>Layers:</b> {{ conv.layer_indexing }} Report layer:
  {% if spec.report_layer is none %}each model's last layer{% else %}{{ spec.report_layer }}{% endif %}.</li>
{% for m in metrics %}<li><b>{{ metric_labels.get(m, m) }}:</b> {{ conv.metrics.get(m, "") }}</li>
{% endfor %}
<li><b>Intervals:</b> {{ conv.ci_method }}</li>
<li><b>Tests:</b> {{ conv.tests }}</li>
<li><b>Accuracy:</b> {{ conv.accuracy }}</li>
<li><b>Sample sizes:</b> {% for c in cells %}{{ c.title }}: {{ c.n_examples }} examples × {{ c.n_seeds }} seed(s){% if not loop.last %}; {% endif %}{% endfor %}.</li>
</ul>

{% for s in studies %}
<h2>Study: {{ s.name }}</h2>
{% if s.description %}<p>{{ s.description }}</p>{% endif %}
<p>Factor: <code>{{ s.factor if s.factor else "none" }}</code>.</p>
<p class="statement">{{ s.statement }}</p>
{% for m in s.metrics %}
<h3>{{ metric_labels.get(m.metric, m.metric) }}</h3>
{% if m.statement and m.metric != s.primary %}<p class="statement">{{ m.statement }}</p>{% endif %}
{% for fig in m.figures %}<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">
{% endfor %}
<table>
<tr><th class="l">{{ s.factor if s.factor else "cell" }}</th><th>layer</th><th>n</th>
{% for p in row_pairs %}<th>{{ pair_labels[p] }} [95% CI]</th>{% endfor %}
<th>ICL–IT − anchor–ICL (p)</th>
{% for c in s.conditions %}<th>acc. {{ c }} [95% CI]</th>{% endfor %}</tr>
{% for r in m.rows %}
<tr><td class="l">{{ r.level }}</td><td>{{ r.layer }}</td><td>{{ r.n }}</td>
{% for v in r.pairs %}<td>{{ v }}</td>{% endfor %}
<td class="{{ 'sig' if r.significant else '' }}">{{ r.test }}</td>
{% for v in r.accuracy %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% for t in m.trends %}<p class="muted">Trend of ICL–IT over {{ s.factor }}{% if t.slice %} ({{ t.slice }}){% endif %}:
{{ t.text }}</p>{% endfor %}
{% endfor %}
{% endfor %}

<h2>Controls</h2>
<p class="muted">{{ controls.notes }}</p>
{% if controls.random_init %}
<h3>Random-init model</h3>
<table>
<tr><th class="l">model</th><th class="l">metric</th><th>layer</th>
{% for p in row_pairs %}<th>{{ pair_labels[p] }} real</th><th>{{ pair_labels[p] }} random-init</th>{% endfor %}
<th>ICL–IT real − random (p)</th></tr>
{% for r in controls.random_init %}
<tr><td class="l">{{ r.model }}</td><td class="l">{{ r.metric }}</td><td>{{ r.layer }}</td>
{% for v in r.cells %}<td>{{ v }}</td>{% endfor %}<td>{{ r.test }}</td></tr>
{% endfor %}
</table>
{% for fig in controls.figures %}<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">
{% endfor %}
{% else %}<p>No random-init control in this experiment.</p>{% endif %}
{% if controls.untuned %}
<h3>Untuned adapter</h3>
<table>
<tr><th class="l">cell</th><th class="l">metric</th><th>layer</th><th>ICL–IT</th>
<th>ICL–IT(untuned)</th><th>difference (p)</th></tr>
{% for r in controls.untuned %}
<tr><td class="l">{{ r.title }}</td><td class="l">{{ r.metric }}</td><td>{{ r.layer }}</td>
<td>{{ r.a }}</td><td>{{ r.b }}</td><td>{{ r.test }}</td></tr>
{% endfor %}
</table>
{% else %}<p>No untuned-adapter control in this experiment.</p>{% endif %}

{% if extra_figures %}<h2>Other figures</h2>
{% for fig in extra_figures %}<p class="muted">{{ fig.alt }}</p>
<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">{% endfor %}{% endif %}
</body></html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}"


def _ci(block: dict[str, Any] | None, layer: int | None = None) -> str:
    """'mean [lo, hi]' of a stats block (per-layer lists when layer is given)."""
    if not block:
        return "–"
    pick = (lambda k: block[k][layer]) if layer is not None else (lambda k: block[k])
    return f"{_num(pick('mean'))} [{_num(pick('ci_low'))}, {_num(pick('ci_high'))}]"


def _p(p: Any) -> str:
    if p is None:
        return "–"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _test(t: dict[str, Any] | None) -> str:
    if not t or not t.get("n"):
        return "–"
    sig = "significant" if t["significant"] else "within noise"
    return (
        f"{_num(t['mean_diff'])} [{_num(t['ci_low'])}, {_num(t['ci_high'])}] "
        f"(p={_p(t['p_value'])}, n={t['n']}; {sig})"
    )


def _fig(figures: dict[str, bytes], key: str, used: set[str]) -> list[dict[str, str]]:
    if key not in figures:
        return []
    used.add(key)
    return [{"alt": key, "b64": base64.b64encode(figures[key]).decode("ascii")}]


def _study_view(
    s: dict[str, Any], cells: dict[str, Any], figures: dict[str, bytes], used: set[str]
) -> dict[str, Any]:
    conds: list[str] = []
    for ref in s["cells"]:
        for c in cells[ref["cell"]]["accuracy"]:
            if c not in conds:
                conds.append(c)
    metrics = []
    for metric, statement in s["statements"].items():
        rows = []
        for ref in s["cells"]:
            cell = cells[ref["cell"]]
            layer = cell["report_layer"]
            per_pair = cell["metrics"].get(metric, {})
            test = next(
                (t for t in s["tests"] if t["metric"] == metric and t["cell"] == ref["cell"]),
                None,
            )
            slice_txt = ", ".join(f"{k}={v}" for k, v in ref["slice"].items())
            level = ref["level"] if s["factor"] else F.cell_title(cell)
            n = next((b["n"][layer] for b in per_pair.values()), None)
            rows.append(
                {
                    "level": f"{level}" + (f" ({slice_txt})" if slice_txt else ""),
                    "layer": layer,
                    "n": n if n is not None else "–",
                    "pairs": [_ci(per_pair.get(p), layer) for p in ROW_PAIRS],
                    "test": _test(test),
                    "significant": bool(test and test["significant"]),
                    "accuracy": [_ci(cell["accuracy"].get(c)) for c in conds],
                }
            )
        trends = []
        for t in s["trends"]:
            if t["metric"] != metric:
                continue
            sig = "significant" if t["significant"] else "within the noise"
            stat = "Spearman rho" if t["kind"] == "spearman" else "between-level SS"
            trends.append(
                {
                    "slice": ", ".join(f"{k}={v}" for k, v in t["slice"].items()),
                    "text": f"{stat}={_num(t['statistic'], 3)}, p={_p(t['p_value'])}, "
                    f"n={t['n']}; {sig}. {t['method']}.",
                }
            )
        figs = _fig(figures, F.figure_key("factor", s["name"], metric), used)
        figs += _fig(figures, F.figure_key("layers", s["name"], metric), used)
        metrics.append(
            {
                "metric": metric,
                "statement": statement,
                "rows": rows,
                "trends": trends,
                "figures": figs,
            }
        )
    return {
        "name": s["name"],
        "description": s.get("description", ""),
        "factor": s["factor"],
        "statement": s["statement"],
        "primary": s.get("primary_metric"),
        "conditions": conds,
        "metrics": metrics,
    }


def _controls_view(
    results: dict[str, Any], cells: dict[str, Any], figures: dict[str, bytes], used: set[str]
) -> dict[str, Any]:
    ctl = results.get("controls", {})
    rnd, figs = [], []
    for e in ctl.get("random_init", []):
        for metric, per_pair in e["metrics"].items():
            values = []
            for p in ROW_PAIRS:
                v = per_pair.get(p) or {}
                values += [_ci(v.get("real")), _ci(v.get("random_init"))]
            rnd.append(
                {
                    "model": e.get("model"),
                    "metric": METRIC_LABELS.get(metric, metric),
                    "layer": e["layer"],
                    "cells": values,
                    "test": _test(per_pair.get("test_icl_it_real_vs_random")),
                }
            )
            figs += _fig(figures, F.figure_key("random_init", e["cell"], metric), used)
    untuned = []
    for e in ctl.get("untuned_adapter", []):
        title = F.cell_title(cells[e["cell"]]) if e["cell"] in cells else e["cell"]
        for metric, v in e["metrics"].items():
            untuned.append(
                {
                    "title": title,
                    "metric": METRIC_LABELS.get(metric, metric),
                    "layer": e["layer"],
                    "a": _ci(v["icl_it"]),
                    "b": _ci(v["icl_it_untuned"]),
                    "test": _test(v.get("test")),
                }
            )
    return {"notes": ctl.get("notes", ""), "random_init": rnd, "untuned": untuned, "figures": figs}


def render_report_html(results: dict[str, Any], figures: dict[str, bytes] | None = None) -> str:
    """Self-contained HTML for a RESULTS document. figures: PNG bytes keyed by
    figures.figure_key(...); None draws them with figures.make_figures(results).
    Figures under unknown keys are shown at the end."""
    if figures is None:
        figures = F.make_figures(results)
    cells = {c["cell"]: c for c in results["cells"]}
    used: set[str] = set()
    studies = [_study_view(s, cells, figures, used) for s in results["studies"]]
    controls = _controls_view(results, cells, figures, used)
    extra = [f for k in figures if k not in used for f in _fig(figures, k, used)]
    return _TEMPLATE.render(
        results=results,
        spec=results["spec"],
        conv=results["conventions"],
        metrics=results.get("metrics", []),
        metric_labels=METRIC_LABELS,
        pair_labels=PAIR_LABELS,
        row_pairs=ROW_PAIRS,
        n_cells=len(results["cells"]),
        n_runs=len(results["runs"]),
        cells=[
            {"title": F.cell_title(c), "n_examples": c["n_examples"], "n_seeds": c["n_seeds"]}
            for c in results["cells"]
        ],
        studies=studies,
        controls=controls,
        extra_figures=extra,
    )


def _cell_label(cell: dict[str, Any]) -> str:
    factors = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(cell["factors"].items()))
    prefix = "CONTROL random-init " if cell["control"] == "random_init" else ""
    return (prefix + (factors or "base"))[:44]


def summary_table(results: dict[str, Any]) -> str:
    """A plain-text table for terminals: every cell at its report layer, then statements."""
    pairs = ("icl_it", "anchor_icl", "anchor_it", "icl_it_untuned")
    heads = ("ICL-IT", "anchor-ICL", "anchor-IT", "ICL-ITuntuned")
    lines = [
        f"{'cell':44s} {'n':>4s} {'metric':16s} "
        + " ".join(f"{h:>19s}" for h in heads)
        + "   acc anchor/ICL/IT"
    ]
    for cell in results["cells"]:
        layer = cell["report_layer"]
        acc = cell.get("accuracy", {})
        acc_s = "/".join(_num((acc.get(c) or {}).get("mean"), 2) for c in ("anchor", "icl", "it"))
        for j, metric in enumerate(m for m in results["metrics"] if m in cell["metrics"]):
            block = cell["metrics"][metric]
            vals = []
            for p in pairs:
                b = block.get(p)
                if b is None:
                    vals.append(f"{'-':>19s}")
                    continue
                mean, lo, hi = (b[k][layer] for k in ("mean", "ci_low", "ci_high"))
                vals.append(f"{_num(mean, 2):>6s} [{_num(lo, 2)},{_num(hi, 2)}]".rjust(19))
            n = block[next(iter(block))]["n"]
            n = n[layer] if isinstance(n, list) else n
            label = _cell_label(cell) if j == 0 else ""
            lines.append(
                f"{label:44s} {n!s:>4s} {metric:16s} "
                + " ".join(vals)
                + (f"   {acc_s}" if j == 0 else "")
            )
    lines.append(
        f"(values at each cell's report layer, e.g. layer {results['cells'][0]['report_layer']}"
        " = last block; 95% CIs in brackets)"
        if results["cells"]
        else "(no cells)"
    )
    for study in results.get("studies", []):
        if study.get("statement"):
            lines.append(f"- {study['name']}: {study['statement']}")
    return "\n".join(lines)
