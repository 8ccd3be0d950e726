// icl-it dashboard: the Compare page. Any number of experiments; any of their cells
// overlaid on one layer plot (the primary measure by default), the difference A − B of
// two of those curves per layer, and the diff of the experiments' specs. Uses
// dashboard.js's helpers and plots.js's specs.
"use strict";

const IclCompare = (() => {
  const P = IclPlots;
  let loaded = [];  // [{experiment, results, tag}]

  function parseIds(text) { return [...new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))]; }

  // A full id, or the one experiment of this key whose id starts with the prefix.
  async function resolve(id) {
    if (id.length >= 32) return id;
    let after = null;
    const found = [];
    for (let page = 0; page < 10; page++) {
      const list = await getJSON(`/v1/experiments?limit=100${after ? `&after=${encodeURIComponent(after)}` : ""}`);
      found.push(...list.data.filter((e) => e.id.startsWith(id)).map((e) => e.id));
      if (!list.has_more) break;
      after = list.next_cursor;
    }
    if (found.length === 1) return found[0];
    throw new Error(found.length ? `id prefix ${id} is ambiguous (${found.length} experiments)` : `no experiment id starts with ${id}`);
  }

  async function fetchOne(id) {
    const path = `/v1/experiments/${encodeURIComponent(await resolve(id))}`;
    const experiment = await getJSON(path);
    if (experiment.status !== "succeeded") throw new Error(`${experiment.name} (${experiment.id.slice(0, 8)}) has no results: ${experiment.status}`);
    return { experiment, results: await getJSON(`${path}/results`) };
  }

  function tagOf(item, all) {
    const sameName = all.filter((o) => o.experiment.name === item.experiment.name).length > 1;
    return sameName ? `${item.experiment.name} ${item.experiment.id.slice(0, 6)}` : item.experiment.name;
  }

  // Every cell of every experiment as a checkbox; the main cell of each is ticked.
  function cellBoxes() {
    const boxes = [];
    loaded.forEach((item, e) => {
      const cells = item.results.cells || [];
      const main = Math.max(0, cells.findIndex((c) => c.control === "none"));
      cells.forEach((c, i) => boxes.push(el("label", {},
        el("input", { type: "checkbox", "data-exp": e, "data-cell": i, checked: i === main }),
        ` ${item.tag} · ${cellLabel(c)}`)));
    });
    $("#cmp-cells").replaceChildren(...boxes);
  }

  function picked() {
    return [...document.querySelectorAll("#cmp-cells input:checked")].map((box) => {
      const item = loaded[Number(box.dataset.exp)];
      const cell = item.results.cells[Number(box.dataset.cell)];
      return { item, cell, label: `${item.tag} · ${cellLabel(cell)}` };
    });
  }

  function pairsOf(metric) {
    const pairs = new Set();
    for (const { results } of loaded) for (const c of results.cells || []) for (const p of Object.keys((c.metrics || {})[metric] || {})) pairs.add(p);
    return [...pairs];
  }

  // The rows of every picked cell; series are named "<experiment> · <cell> · <pair>".
  function overlayRows(metric, pair) {
    const rows = [];
    for (const { cell, label } of picked()) {
      const one = P.cellRows(cell, metric, { prefix: `${label} · `, pair: metric === P.PRIMARY ? null : pair || null });
      rows.push(...(metric === P.PRIMARY ? one.filter((r) => r.primary) : one));
    }
    return rows;
  }

  function drawOverlay() {
    const metric = $("#cmp-metric").value, pair = $("#cmp-pair").value;
    const rows = overlayRows(metric, pair);
    const spec = P.layerSpec(rows, { title: `${P.metricLabel(metric)}${metric === P.PRIMARY ? "" : ` · ${pair || "every pair"}`}`, yTitle: metric === P.PRIMARY ? "matched − mismatched" : metric, zeroRule: P.crossesZero(rows) });
    return P.embed("overlay", $("#overlay"), spec).then(() => drawDifference(rows));
  }

  // A − B per layer of two overlaid series (means; the CI is not a paired one, so none).
  function drawDifference(rows) {
    const series = [...new Set(rows.map((r) => r.series))];
    const keepA = $("#diff-a").value, keepB = $("#diff-b").value;
    P.fill($("#diff-a"), series.map((s) => [s, s]), series.includes(keepA) ? keepA : series[0]);
    P.fill($("#diff-b"), series.map((s) => [s, s]), series.includes(keepB) ? keepB : series[1] ?? series[0]);
    const a = $("#diff-a").value, b = $("#diff-b").value;
    const byLayer = (name) => new Map(rows.filter((r) => r.series === name).map((r) => [r.layer, r]));
    const A = byLayer(a), B = byLayer(b);
    const diff = [...A.keys()].filter((l) => B.has(l)).sort((x, y) => x - y).map((layer) => ({
      series: "A − B", layer, layer_name: A.get(layer).layer_name, mean: A.get(layer).mean - B.get(layer).mean,
      lo: null, hi: null, n: null, sig: false,
    }));
    $("#diff-note").textContent = series.length < 2 ? "Pick two cells (or a measure with two series) to difference."
      : `${diff.length} layers in common. A: ${a}. B: ${b}.`;
    return P.embed("difference", $("#difference"), P.layerSpec(diff, { title: "A − B", yTitle: "difference of means", zeroRule: true }));
  }

  // -- spec diff -----------------------------------------------------------------------
  function flatten(value, prefix = "", out = {}) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else out[prefix] = JSON.stringify(value);
    return out;
  }

  function drawSpecDiff() {
    const flat = loaded.map(({ experiment }) => flatten(experiment.spec || {}));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
    const all = $("#spec-all").checked;
    $("#spec-diff thead").replaceChildren(el("tr", {}, el("th", { text: "field" }), ...loaded.map((i) => el("th", { text: i.tag }))));
    const rows = keys.map((k) => {
      const values = flat.map((f) => f[k]);
      const differs = new Set(values).size > 1;
      if (!differs && !all) return null;
      return el("tr", { "data-field": k, class: differs ? "differs" : null }, el("td", { text: k }),
        ...values.map((v) => el("td", { class: differs ? "differs" : null, text: v === undefined ? "(absent)" : v })));
    }).filter(Boolean);
    $("#spec-diff tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { text: "(the specs are identical)" }))]));
  }

  function setMetricChoices() {
    const metrics = [...new Set(loaded.flatMap(({ results }) => P.metricChoices(results)))];
    P.fill($("#cmp-metric"), metrics.map((m) => [m, P.metricLabel(m)]), metrics.includes(P.PRIMARY) ? P.PRIMARY : metrics[0]);
    setPairChoices();
  }

  function setPairChoices() {
    const metric = $("#cmp-metric").value;
    const pairs = metric === P.PRIMARY ? [] : pairsOf(metric);
    P.fill($("#cmp-pair"), [["", metric === P.PRIMARY ? "(the primary pair)" : "every pair"], ...pairs.map((p) => [p, p])], pairs.includes("icl_it") ? "icl_it" : "");
    $("#cmp-pair").disabled = metric === P.PRIMARY;
  }

  async function load(ids) {
    $("#error").hidden = true;
    const items = await Promise.all(ids.map(fetchOne));
    loaded = items.map((item) => Object.assign(item, { tag: tagOf(item, items) }));
    $("#compare").hidden = false;
    cellBoxes();
    setMetricChoices();
    drawSpecDiff();
    await drawOverlay();
  }

  function page() {
    const redraw = () => drawOverlay().catch(showError);
    $("#cmp-metric").addEventListener("change", () => { setPairChoices(); redraw(); });
    $("#cmp-pair").addEventListener("change", redraw);
    $("#cmp-cells").addEventListener("change", redraw);
    $("#diff-a").addEventListener("change", () => drawDifference(overlayRows($("#cmp-metric").value, $("#cmp-pair").value)).catch(showError));
    $("#diff-b").addEventListener("change", () => drawDifference(overlayRows($("#cmp-metric").value, $("#cmp-pair").value)).catch(showError));
    $("#spec-all").addEventListener("change", drawSpecDiff);
    $("#compare-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const ids = parseIds($("#cmp-ids").value);
      history.replaceState(null, "", `/ui/compare?ids=${encodeURIComponent(ids.join(","))}`);
      load(ids).catch(showError);
    });
    const ids = parseIds($("#cmp-ids").value);
    if (ids.length) load(ids).catch(showError);
  }

  return { page, flatten };
})();
