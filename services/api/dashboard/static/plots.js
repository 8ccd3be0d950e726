// icl-it dashboard: the plots, as Vega-Lite specs rendered by the vendored vega-embed
// (static/vendor/, no CDN). Every embed passes `ast: true`: Vega then interprets its
// expressions (vega-interpreter) instead of compiling them with `new Function`, which
// the pages' Content-Security-Policy refuses. Uses dashboard.js's helpers (getJSON, el,
// $, cellLabel, showError, TERMINAL), loaded on every page.
//
// Layer plots share one shape: rows {series, layer, layer_name, mean, lo, hi, n, sig},
// drawn as CI bands, lines and hoverable points; clicking legend entries picks the
// series to show (none picked: all), and significant layers (step-down max-T across
// layers, the primary test's family-wise control) get a black triangle.
"use strict";

const IclPlots = (() => {
  const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";
  const EMBED = { actions: false, ast: true, renderer: "svg", tooltip: { theme: "light" }, logLevel: vega.Error };
  const PRIMARY = "primary";
  const views = {};  // name -> the vega View (read by the browser tests)

  async function embed(name, container, spec) {
    if (views[name]) views[name].finalize();
    const result = await vegaEmbed(container, spec, EMBED);
    views[name] = result.view;
    container.dataset.plot = name;
    return result.view;
  }

  const num = (v) => (v === null || v === undefined || !isFinite(v) ? null : Number(v));

  // One {series, layer, mean, lo, hi} row per layer of a statistics block {mean, ci_low, ...}.
  function blockRows(series, block, names, extra = {}) {
    const means = block.mean || block.value || [];
    return means.map((m, layer) => Object.assign({
      series, layer, layer_name: (names || [])[layer] ?? String(layer),
      mean: num(m), lo: num((block.ci_low || [])[layer]), hi: num((block.ci_high || [])[layer]),
      n: (Array.isArray(block.n) ? block.n[layer] : block.n) ?? null, sig: false,
    }, extra)).filter((r) => r.mean !== null);
  }

  // The primary measure of a cell: matched and mismatched shift cosine, and their
  // difference with its CI and the layers significant after max-T.
  function primaryRows(cell, prefix = "") {
    const p = cell.primary;
    if (!p || !p.difference) return [];
    const names = cell.layer_names;
    const fw = p.family_wise || {};
    const sig = new Set(fw.significant_layers || []);
    const rows = blockRows(`${prefix}matched − mismatched`, p.difference, names, { primary: true });
    for (const r of rows) {
      r.sig = sig.has(r.layer);
      r.p_adjusted = num((fw.p_adjusted || [])[r.layer]);
    }
    const shift = (cell.metrics || {}).shift_cosine || {};
    const mismatched = (cell.metrics || {}).shift_cosine_mismatched || {};
    if (shift.icl_it) rows.push(...blockRows(`${prefix}matched (own adapter)`, shift.icl_it, names));
    if (mismatched.icl_it) rows.push(...blockRows(`${prefix}mismatched (others' adapters)`, mismatched.icl_it, names));
    return rows;
  }

  // Rows of one cell for a metric (every pair) or for the primary measure.
  function cellRows(cell, metric, { prefix = "", pair = null } = {}) {
    if (metric === PRIMARY) return primaryRows(cell, prefix);
    const rows = [];
    for (const [p, block] of Object.entries((cell.metrics || {})[metric] || {})) {
      if (pair && p !== pair) continue;
      rows.push(...blockRows(`${prefix}${p}`, block, cell.layer_names));
    }
    return rows;
  }

  function hasPrimary(results) { return (results.cells || []).some((c) => c.primary && c.primary.difference); }

  function metricChoices(results) {
    const metrics = (results.metrics || []).slice();
    if (!metrics.includes("shift_cosine_mismatched") && (results.cells || []).some((c) => (c.metrics || {}).shift_cosine_mismatched)) {
      metrics.push("shift_cosine_mismatched");
    }
    return hasPrimary(results) ? [PRIMARY, ...metrics] : metrics;
  }

  function metricLabel(metric) {
    return metric === PRIMARY ? "primary: matched − mismatched shift cosine" : metric;
  }

  const fmt3 = (field, title) => ({ field, type: "quantitative", title, format: ".3f" });

  // The layered spec: CI band, line (legend-bound series picking), points with tooltips,
  // significance triangles, and a zero rule when the values cross zero.
  function layerSpec(rows, { title = "", yTitle = "value", width = 620, height = 300, zeroRule = false } = {}) {
    const shown = { param: "shown", empty: true };
    const X = { field: "layer", type: "quantitative", title: "layer (0 = embeddings)", axis: { tickMinStep: 1 } };
    const layers = [
      {
        name: "lines",
        params: [{ name: "shown", select: { type: "point", fields: ["series"], toggle: "true" }, bind: "legend" }],
        mark: { type: "line", strokeWidth: 2, tooltip: false },
        encoding: {
          x: X,
          y: { field: "mean", type: "quantitative", title: yTitle, scale: { zero: false } },
          opacity: { condition: { param: "shown", value: 1 }, value: 0.07 },
        },
      },
      {
        name: "band",
        transform: [{ filter: "isValid(datum.lo) && isValid(datum.hi)" }, { filter: shown }],
        mark: { type: "area", opacity: 0.15, tooltip: false },
        encoding: { x: X, y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
      {
        name: "points",
        transform: [{ filter: shown }],
        mark: { type: "point", filled: true, size: 28 },
        encoding: {
          x: X,
          y: { field: "mean", type: "quantitative" },
          tooltip: [
            { field: "series", title: "series" },
            { field: "layer", title: "layer" }, { field: "layer_name", title: "name" },
            fmt3("mean", "mean"), fmt3("lo", "CI low"), fmt3("hi", "CI high"), { field: "n", title: "n" },
          ],
        },
      },
      {
        name: "significant",
        transform: [{ filter: "datum.sig" }, { filter: shown }],
        mark: { type: "point", shape: "triangle-up", filled: true, size: 110, color: "black", opacity: 1 },
        encoding: {
          x: X,
          y: { field: "mean", type: "quantitative" },
          color: { value: "black" },
          tooltip: [
            { field: "series", title: "series" }, { field: "layer", title: "significant at layer" },
            fmt3("mean", "mean"), fmt3("p_adjusted", "max-T adjusted p"),
          ],
        },
      },
    ];
    if (zeroRule) layers.unshift({ name: "zero", data: { values: [{ y: 0 }] }, mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { y: { field: "y", type: "quantitative" }, color: { value: "#999" } } });
    return {
      $schema: SCHEMA, title, width, height,
      data: { values: rows },
      encoding: {
        color: { field: "series", type: "nominal", title: "series (click to pick)", legend: { orient: "bottom", columns: 2, labelLimit: 420 } },
      },
      layer: layers,
      config: { view: { stroke: "#d9dee4" } },
    };
  }

  function crossesZero(rows) {
    return rows.some((r) => (r.lo ?? r.mean) < 0) && rows.some((r) => (r.hi ?? r.mean) > 0);
  }

  // -- the experiment page: layer curves, per example, tuning loss ----------------------
  function fill(select, options, keep) {
    select.replaceChildren(...options.map(([value, text]) => el("option", { value, text, selected: String(value) === String(keep) })));
  }

  function layerCurves(results) {
    const metricSel = $("#metric"), cellSel = $("#cell");
    fill(metricSel, metricChoices(results).map((m) => [m, metricLabel(m)]), hasPrimary(results) ? PRIMARY : null);
    fill(cellSel, (results.cells || []).map((c, i) => [i, cellLabel(c)]), 0);
    const draw = () => {
      const cell = results.cells[Number(cellSel.value || 0)];
      const metric = metricSel.value;
      const rows = cellRows(cell, metric);
      const sig = rows.filter((r) => r.sig).map((r) => r.layer);
      $("#curve-note").textContent = metric === PRIMARY
        ? `${(cell.primary || {}).measure || ""}; ▲ = significant after step-down max-T across layers` +
          ` (${sig.length ? `layers ${sig.join(", ")}` : "no layer"} at α = ${((cell.primary || {}).family_wise || {}).alpha ?? 0.05}).`
        : "Mean over inference examples with its 95% CI band.";
      return embed("curve", $("#curve"), layerSpec(rows, {
        title: `${metricLabel(metric)} · ${cellLabel(cell)}`, yTitle: metric === PRIMARY ? "shift cosine" : metric,
        zeroRule: crossesZero(rows),
      }));
    };
    metricSel.addEventListener("change", () => draw().catch(showError));
    cellSel.addEventListener("change", () => draw().catch(showError));
    return (results.cells || []).length ? draw() : Promise.resolve();
  }

  async function artifactJSON(artifact) { return artifact ? getJSON(artifact.url) : null; }

  // Per-example values: the run analyses of the chosen cell (values[metric][pair] is
  // [example][layer]), one line per example and seed, the cell's mean on top.
  async function perExample(results, experiment, artifacts) {
    const cellSel = $("#ex-cell"), metricSel = $("#ex-metric"), pairSel = $("#ex-pair");
    fill(cellSel, (results.cells || []).map((c, i) => [i, cellLabel(c)]), 0);
    const cache = {};
    const analyses = async (cell) => {
      const runs = experiment.runs.filter((r) => (cell.run_keys || []).includes(r.key));
      return Promise.all(runs.map(async (run) => {
        if (!(run.id in cache)) cache[run.id] = await artifactJSON(artifacts.find((a) => a.kind === "analysis" && a.run_id === run.id));
        return cache[run.id];
      }));
    };
    const perExampleMetrics = (docs) => {
      const out = {};
      for (const d of docs.filter(Boolean)) {
        for (const [m, pairs] of Object.entries(d.values || {})) {
          for (const [p, v] of Object.entries(pairs)) if (Array.isArray(v) && Array.isArray(v[0])) (out[m] ||= new Set()).add(p);
        }
      }
      return out;
    };
    const draw = async (refill) => {
      const cell = results.cells[Number(cellSel.value || 0)];
      const docs = await analyses(cell);
      const available = perExampleMetrics(docs);
      if (refill) {
        const metrics = Object.keys(available);
        fill(metricSel, metrics.map((m) => [m, m]), metrics.includes("shift_cosine") ? "shift_cosine" : metrics[0]);
      }
      const pairs = [...(available[metricSel.value] || [])];
      if (refill || !pairs.includes(pairSel.value)) fill(pairSel, pairs.map((p) => [p, p]), pairs.includes("icl_it") ? "icl_it" : pairs[0]);
      const rows = [];
      for (const d of docs.filter(Boolean)) {
        const values = ((d.values || {})[metricSel.value] || {})[pairSel.value] || [];
        const ids = d.example_ids || [];
        values.forEach((layers, i) => layers.forEach((v, layer) => {
          if (num(v) === null) return;
          const ex = ids[i] ?? i;
          rows.push({ series: `example ${ex}${docs.length > 1 ? ` · seed ${d.seed}` : ""}`, example: String(ex), seed: d.seed, layer, layer_name: (d.layer_names || [])[layer] ?? String(layer), mean: v, lo: null, hi: null, n: 1, sig: false });
        }));
      }
      const block = (((cell.metrics || {})[metricSel.value] || {})[pairSel.value]);
      if (block) rows.push(...blockRows("cell mean", block, cell.layer_names));
      $("#ex-note").textContent = `${new Set(rows.filter((r) => r.series !== "cell mean").map((r) => r.series)).size} example lines from ${docs.filter(Boolean).length} run(s).`;
      return embed("examples", $("#examples-plot"), layerSpec(rows, { title: `${metricSel.value} · ${pairSel.value} per example · ${cellLabel(cell)}`, yTitle: metricSel.value }));
    };
    cellSel.addEventListener("change", () => draw(true).catch(showError));
    metricSel.addEventListener("change", () => draw(false).catch(showError));
    pairSel.addEventListener("change", () => draw(false).catch(showError));
    return draw(true);
  }

  // -- loss curves ---------------------------------------------------------------------
  function lossSpec(name, { title = "", values = [] } = {}) {
    return {
      $schema: SCHEMA, title, width: 620, height: 260,
      data: { name, values },
      params: [{ name: "picked", select: { type: "point", fields: ["series"], toggle: "true" }, bind: "legend" }],
      mark: { type: "line", point: { size: 22, filled: true }, strokeWidth: 1.5 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "step", axis: { tickMinStep: 1 } },
        y: { field: "loss", type: "quantitative", title: "LoRA loss", scale: { zero: false } },
        color: { field: "series", type: "nominal", title: "adapter (click to pick)", legend: { orient: "right", labelLimit: 220 } },
        opacity: { condition: { param: "picked", value: 1, empty: true }, value: 0.07 },
        tooltip: [{ field: "series" }, { field: "step" }, fmt3("loss", "loss"), { field: "condition" }, { field: "example" }],
      },
    };
  }

  // The tuning artifacts (per run: tuning.json = {adapters: [{adapter, condition, example,
  // steps, loss}], step_rate_per_s, wall_s}), one run at a time.
  async function tuningCurves(experiment, artifacts) {
    const tuning = artifacts.filter((a) => a.kind === "tuning");
    $("#tuning-section").hidden = tuning.length === 0;
    if (!tuning.length) return;
    const runSel = $("#tuning-run");
    const runIndex = (a) => (experiment.runs.find((r) => r.id === a.run_id) || {}).index ?? 0;
    fill(runSel, tuning.map((a, i) => [i, `run ${runIndex(a) + 1}`]), 0);
    const draw = async () => {
      const doc = await artifactJSON(tuning[Number(runSel.value || 0)]);
      const rows = [];
      for (const a of doc.adapters || []) {
        (a.steps || []).forEach((step, i) => rows.push({
          series: `adapter ${a.adapter} (${a.condition})`, step, loss: num((a.loss || [])[i]),
          condition: a.condition, example: a.example,
        }));
      }
      $("#tuning-note").textContent = `${(doc.adapters || []).length} adapters · ` +
        `${doc.step_rate_per_s ? `${Number(doc.step_rate_per_s).toFixed(2)} steps/s · ` : ""}` +
        `${doc.wall_s ? `${Number(doc.wall_s).toFixed(1)} s tuning` : ""}`;
      return embed("tuning", $("#tuning-plot"), lossSpec("loss", { title: `LoRA loss per step · run ${runIndex(tuning[Number(runSel.value || 0)]) + 1}`, values: rows.filter((r) => r.loss !== null) }));
    };
    runSel.addEventListener("change", () => draw().catch(showError));
    return draw();
  }

  // The live loss curve: grows with each "tuning" event of the event stream
  // (data {run_id, group, groups, step, steps, adapters, loss, eta_s}).
  // An experiment that had finished when the page opened shows its tuning artifacts instead.
  function liveLoss(experiment) {
    if (TERMINAL.has(experiment.status)) return async () => {};
    let pending = null;
    const runIndex = {};
    for (const r of experiment.runs || []) runIndex[r.id] = r.index + 1;
    return async function onEvent(event) {
      if (event.type !== "tuning") return;
      const d = event.data || {};
      const run = runIndex[d.run_id || event.run_id] ?? "?";
      const rows = (d.adapters || []).map((a, i) => ({
        series: `run ${run} · adapter ${a}`, step: d.step, loss: num((d.loss || [])[i]),
        condition: `group ${(d.group ?? 0) + 1}/${d.groups ?? 1}`, example: null,
      })).filter((r) => r.loss !== null);
      $("#live").hidden = false;
      $("#live-eta").textContent = `run ${run} · adapter group ${(d.group ?? 0) + 1}/${d.groups ?? 1} · ` +
        `step ${d.step}/${d.steps}` + (num(d.eta_s) !== null ? ` · ETA ${Math.round(d.eta_s)} s` : "");
      if (!views.live) {
        pending = pending || embed("live", $("#live-loss"), lossSpec("live", { title: "LoRA loss while tuning (live)" }));
        await pending;
      }
      const view = views.live;
      view.insert("live", rows).run();
      $("#live-loss").dataset.points = String(view.data("live").length);
    };
  }

  async function showResults(results, experiment, base) {
    await layerCurves(results);
    const artifacts = (await getJSON(`${base}/artifacts`)).data;
    await perExample(results, experiment, artifacts).catch((err) => { $("#ex-note").textContent = `per example: ${err.message}`; });
    await tuningCurves(experiment, artifacts).catch((err) => { $("#tuning-note").textContent = `tuning: ${err.message}`; });
  }

  return { PRIMARY, views, embed, layerSpec, cellRows, primaryRows, blockRows, metricChoices, metricLabel, crossesZero, showResults, liveLoss, fill };
})();
