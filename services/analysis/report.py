"""A self-contained HTML report of the RESULTS document (figures inlined as base64 PNG);
the rows of its tables come from ``tables``.

All text from users (experiment and study names, descriptions, factor values) is escaped
by jinja2's autoescape.
"""

from __future__ import annotations

import base64
from typing import Any

from jinja2 import Environment

from services.analysis import figures as figure_files
from services.analysis.causal_tables import causal_views
from services.analysis.documents import CellSummary, Results, StudySummary, TrendResult
from services.analysis.tables import it_control_rows, metric_rows, primary_rows, random_init_rows
from services.analysis.vocabulary import (
    CONDITION_LABELS,
    IT_CONTROL_PAIRS,
    METRIC_LABELS,
    PAPER_METRICS,
    PAPER_PAIRS,
    cell_title,
    fmt_num,
    fmt_p,
    fmt_slice,
    pair_label,
)

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ICL vs IT report: {{ spec.name }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.45em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
.statement { background: #eef5ff; border-left: 4px solid #1f77b4; padding: 0.6em 1em; }
.paper { background: #f7f7f7; border-left: 4px solid #aaa; padding: 0.5em 1em; }
.sig { font-weight: 600; } .muted { color: #666; font-size: 0.9em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }
code { background: #f6f6f6; padding: 0 0.2em; }
</style></head><body>
<h1>ICL vs instruction tuning: {{ spec.name }}</h1>
{% if spec.description %}<p>{{ spec.description }}</p>{% endif %}
<p class="muted">Model {{ spec.model.name }}, task {{ spec.data.hf or spec.data.task }},
{{ n_cells }} cell(s), {{ n_runs }} run(s), seeds {{ spec.seeds | join(", ") }}.
Schema {{ results.schema }}.</p>

<h2>The question</h2>
<p>Both ICL and IT mostly teach the model the answer format, so most of each shift from the
anchor state is common to every example. The primary measure asks whether example i's ICL
shift agrees with its <em>own</em> IT shift more than with the IT shifts of examples tuned on
other demonstrations: {{ conv.primary }}</p>
{% for st in primary_statements %}<p class="statement"><b>{{ st.study }}:</b> {{ st.text }}</p>
{% endfor %}

<h2>Conventions</h2>
<ul>
<li><b>Position:</b> {{ conv.position }}.</li>
<li><b>Layers:</b> {{ conv.layer_indexing }} Report layer:
  {% if spec.report_layer is none %}each model's final-norm output{% else %}{{ spec.report_layer }}{% endif %}.</li>
{% for m in metrics %}<li><b>{{ metric_labels.get(m, m) }}:</b> {{ conv.metrics.get(m, "") }}</li>
{% endfor %}
<li><b>Intervals:</b> {{ conv.ci_method }}</li>
<li><b>Tests:</b> {{ conv.tests }}</li>
<li><b>Accuracy and label mass:</b> {{ conv.accuracy }}</li>
<li><b>Sample sizes:</b> {% for c in cells %}{{ c.title }}: {{ c.n_examples }} examples × {{ c.n_seeds }} seed(s){% if not loop.last %}; {% endif %}{% endfor %}.</li>
</ul>

{% for s in studies %}
<h2>Study: {{ s.name }}</h2>
{% if s.description %}<p>{{ s.description }}</p>{% endif %}
<p>Factor: <code>{{ s.factor if s.factor else "none" }}</code>.</p>
<p class="statement">{{ s.statement }}</p>
{% for fig in s.primary_figures %}<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">
{% endfor %}
<table>
<tr><th class="l">{{ s.factor if s.factor else "cell" }}</th><th>layer</th><th>n</th>
<th>shift cos matched</th><th>mismatched</th><th>difference [95% CI]</th><th>p</th>
<th>p Holm (study)</th><th>p Holm (experiment)</th><th>layers significant (max-T)</th>
<th>ICL / IT shift norm</th><th>shared fraction ICL / IT</th><th>IT steps, final loss</th>
<th>label mass anchor / ICL / IT</th><th>acc. anchor / ICL / IT</th></tr>
{% for r in s.primary_rows %}
<tr><td class="l">{{ r.level }}</td><td>{{ r.layer }}</td><td>{{ r.n }}</td><td>{{ r.matched }}</td>
<td>{{ r.mismatched }}</td><td class="{{ 'sig' if r.significant else '' }}">{{ r.diff }}</td>
<td>{{ r.p }}</td><td>{{ r.p_study }}</td><td>{{ r.p_exp }}</td><td>{{ r.layers }}</td>
<td>{{ r.norms }}</td><td>{{ r.shared }}</td><td>{{ r.it }}</td><td>{{ r.mass }}</td><td>{{ r.acc }}</td></tr>
{% endfor %}
</table>
{% for t in s.primary_trends %}<p class="muted">Trend of the difference over {{ s.factor }}{% if t.slice %} ({{ t.slice }}){% endif %}: {{ t.text }}</p>{% endfor %}
<details><summary>The paper's comparison and the other measures</summary>
{% for m in s.metrics %}
<h3>{{ metric_labels.get(m.metric, m.metric) }}</h3>
{% if m.statement %}<p class="paper">{{ m.statement }}</p>{% endif %}
{% for fig in m.figures %}<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">
{% endfor %}
<table>
<tr><th class="l">{{ s.factor if s.factor else "cell" }}</th><th>layer</th><th>n</th>
{% for p in m.pairs %}<th>{{ p }} [95% CI]</th>{% endfor %}{% if m.test_column %}<th>ICL–IT − anchor–ICL (p)</th>{% endif %}</tr>
{% for r in m.rows %}
<tr><td class="l">{{ r.level }}</td><td>{{ r.layer }}</td><td>{{ r.n }}</td>
{% for v in r.pairs %}<td>{{ v }}</td>{% endfor %}{% if m.test_column %}<td class="{{ 'sig' if r.significant else '' }}">{{ r.test }}</td>{% endif %}</tr>
{% endfor %}
</table>
{% for t in m.trends %}<p class="muted">Trend of ICL–IT over {{ s.factor }}{% if t.slice %} ({{ t.slice }}){% endif %}: {{ t.text }}</p>{% endfor %}
{% endfor %}
</details>
{% endfor %}

<h2>Controls</h2>
<p class="muted">{{ controls.notes }}</p>
{% if controls.it %}
<h3>IT-shaped controls (shift cosine with the ICL shift, at the report layer)</h3>
<table>
<tr><th class="l">cell</th><th>layer</th><th>own adapter</th>{% for h in controls.it_heads %}<th>{{ h }}: value, own − control (p)</th>{% endfor %}</tr>
{% for r in controls.it %}
<tr><td class="l">{{ r.title }}</td><td>{{ r.layer }}</td><td>{{ r.own }}</td>{% for v in r.cols %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}
{% if controls.random_init %}
<h3>Random-init model</h3>
<table>
<tr><th class="l">model</th><th class="l">metric</th><th>layer</th><th>IT final loss</th>
{% for p in row_pairs %}<th>{{ pair_labels[p] }} real</th><th>{{ pair_labels[p] }} random-init</th>{% endfor %}
<th>ICL–IT real − random (p)</th></tr>
{% for r in controls.random_init %}
<tr><td class="l">{{ r.model }}</td><td class="l">{{ r.metric }}</td><td>{{ r.layer }}</td><td>{{ r.loss }}</td>
{% for v in r.cells %}<td>{{ v }}</td>{% endfor %}<td>{{ r.test }}</td></tr>
{% endfor %}
</table>
{% for fig in controls.figures %}<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">
{% endfor %}
{% endif %}
{% if controls.identity %}<p class="muted">Identity check: the zero-step adapter vs the anchor,
largest |cosine difference| {{ controls.identity }} (equal by construction; not a control).</p>{% endif %}

{% if causal %}<h2>Task-vector check (activation patching)</h2>
<p class="muted">Example i's ICL or IT shift (state − anchor at a block's output, last
token) added to its zero-shot pass of the base model; the output compared with ICL's and
IT's over the whole vocabulary. Own: the example's shift; cross: other examples' shifts
(p: paired sign-flip test, own vs cross); other adapters: the example's own input through
other examples' adapters, so only the demonstrations differ (with the cross_adapter
control).</p>
{% for v in causal %}<h3>{{ v.title }}</h3><p class="statement">{{ v.statement }}</p>
<table><tr><th class="l">patched layer</th><th>ICL shift: label mass own / cross</th>
<th>accuracy own / cross</th><th>KL to IT own / cross</th>
<th>IT shift: label mass own / cross</th><th>KL to ICL own / cross</th>
<th>KL to ICL own / other adapters</th></tr>
{% for r in v.rows %}<tr><td class="l">{{ r.layer }}</td><td>{{ r.icl_mass }}</td>
<td>{{ r.icl_acc }}</td><td>{{ r.icl_kl_it }}</td><td>{{ r.it_mass }}</td><td>{{ r.it_kl_icl }}</td>
<td>{{ r.it_kl_icl_adapters }}</td></tr>
{% endfor %}</table><p class="muted">{{ v.scale }}</p>
{% endfor %}{% endif %}

{% if extra_figures %}<h2>Other figures</h2>
{% for fig in extra_figures %}<p class="muted">{{ fig.alt }}</p>
<img alt="{{ fig.alt }}" src="data:image/png;base64,{{ fig.b64 }}">{% endfor %}{% endif %}
</body></html>
"""

# What the template shows of a study, a metric or the controls: field -> value.
View = dict[str, Any]

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _fig(figures: dict[str, bytes], key: str, used: set[str]) -> list[dict[str, str]]:
    if key not in figures:
        return []
    used.add(key)
    return [{"alt": key, "b64": base64.b64encode(figures[key]).decode("ascii")}]


def _trend_text(t: TrendResult) -> str:
    mde = t.get("mde")
    sig = "significant" if t["significant"] else "within the noise"
    if mde is not None and not t["significant"]:
        sig += f" (could detect {fmt_num(mde, 3)} or more; {t.get('mde_method', '')})"
    stat = {"spearman": "Spearman rho", "page": "Page's L"}.get(t["kind"], "between-level SS")
    return (
        f"{stat}={fmt_num(t['statistic'], 3)}, p={fmt_p(t['p_value'])}, n={t['n']}; {sig}. "
        f"{t['method']}."
    )


def _trends(s: StudySummary, metric: str) -> list[dict[str, str]]:
    return [
        {"slice": fmt_slice(t["slice"]), "text": _trend_text(t)}
        for t in s["trends"]
        if t["metric"] == metric
    ]


def _metric_view(
    s: StudySummary,
    cells: dict[str, CellSummary],
    metric: str,
    figures: dict[str, bytes],
    used: set[str],
) -> View | None:
    """One metric of a study (the paper's comparison and the other measures); None when
    no cell of the study has it."""
    pairs: list[str] = []
    for ref in s["cells"]:
        for p in cells[ref["cell"]]["metrics"].get(metric, {}):
            if p not in pairs:
                pairs.append(p)
    if not pairs:
        return None
    figs = _fig(figures, figure_files.figure_key("factor", s["name"], metric), used)
    figs += _fig(figures, figure_files.figure_key("layers", s["name"], metric), used)
    statement = s.get("statements", {}).get(metric, "")
    if metric == "cka":
        statement += " " + _cka_null_text(s, cells)
    return {
        "metric": metric,
        "statement": statement,
        "pairs": [pair_label(metric, p) for p in pairs],
        "test_column": metric in PAPER_METRICS,
        "rows": metric_rows(s, cells, metric, pairs),
        "trends": _trends(s, metric),
        "figures": figs,
    }


def _study_view(
    s: StudySummary,
    cells: dict[str, CellSummary],
    metrics: list[str],
    figures: dict[str, bytes],
    used: set[str],
) -> View:
    views = [_metric_view(s, cells, metric, figures, used) for metric in metrics]
    return {
        "name": s["name"],
        "description": s.get("description", ""),
        "factor": s["factor"],
        "statement": s["statement"],
        "primary_rows": primary_rows(s, cells),
        "primary_trends": _trends(s, "shift_cosine"),
        "primary_figures": _fig(
            figures, figure_files.figure_key("primary", s["name"], "shift_cosine"), used
        )
        + _fig(figures, figure_files.figure_key("primary_factor", s["name"], "shift_cosine"), used),
        "metrics": [v for v in views if v is not None],
    }


def _cka_null_text(s: StudySummary, cells: dict[str, CellSummary]) -> str:
    """CKA across a handful of examples is mostly noise: say how wide its null is."""
    parts = []
    for ref in s["cells"]:
        cell = cells[ref["cell"]]
        null = (cell.get("cka_null") or {}).get("icl_it")
        if not null:
            continue
        layer = cell["report_layer"]
        sds = [v[layer] for v in null["null_sd"] if v and v[layer] is not None]
        ps = [v[layer] for v in null["p"] if v and v[layer] is not None]
        if sds:
            lv = f"{ref['level']}: " if s["factor"] else ""
            parts.append(
                f"{lv}null sd {fmt_num(sum(sds) / len(sds), 2)}, p per seed "
                + ", ".join(fmt_p(p) for p in ps)
            )
    if not parts:
        return ""
    n = cells[s["cells"][0]["cell"]]["n_examples"]
    return (
        f"ICL–IT CKA against its permutation null (rows shuffled; n={n} examples"
        + (", too few for a headline" if n < 16 else "")
        + "): "
        + "; ".join(parts)
        + "."
    )


def _controls_view(results: Results, figures: dict[str, bytes], used: set[str]) -> View:
    ctl = results.get("controls", {})
    rnd, figs = [], []
    for e in ctl.get("random_init", []):
        rnd += random_init_rows(e)
        for metric in e["metrics"]:
            figs += _fig(figures, figure_files.figure_key("random_init", e["cell"], metric), used)
    checks = ctl.get("identity_checks", [])
    diffs = [d for d in (c.get("max_abs_cosine_difference") for c in checks) if d is not None]
    return {
        "notes": ctl.get("notes", ""),
        "it": it_control_rows(results),
        "it_heads": [CONDITION_LABELS[p.removeprefix("icl_")] for p in IT_CONTROL_PAIRS],
        "random_init": rnd,
        "figures": figs,
        "identity": f"{max(diffs):.1e}" if diffs else None,
    }


def render_report_html(results: Results, figures: dict[str, bytes] | None = None) -> str:
    """Self-contained HTML for a RESULTS document. figures: PNG bytes keyed by
    figure_files.figure_key(...); None draws them with figure_files.make_figures(results).
    Figures under unknown keys are shown at the end."""
    if figures is None:
        figures = figure_files.make_figures(results)
    cells = {c["cell"]: c for c in results["cells"]}
    used: set[str] = set()
    metrics = results.get("metrics", [])
    studies = [_study_view(s, cells, metrics, figures, used) for s in results["studies"]]
    controls = _controls_view(results, figures, used)
    extra = [f for k in figures if k not in used for f in _fig(figures, k, used)]
    return _TEMPLATE.render(
        results=results,
        spec=results["spec"],
        conv=results["conventions"],
        metrics=metrics,
        metric_labels=METRIC_LABELS,
        pair_labels={p: pair_label("cosine", p) for p in PAPER_PAIRS},
        row_pairs=PAPER_PAIRS,
        n_cells=len(results["cells"]),
        n_runs=len(results["runs"]),
        primary_statements=[s for s in results.get("statements", []) if s["kind"] == "primary"],
        cells=[
            {"title": cell_title(c), "n_examples": c["n_examples"], "n_seeds": c["n_seeds"]}
            for c in results["cells"]
        ],
        studies=studies,
        controls=controls,
        causal=causal_views(results),
        extra_figures=extra,
    )
