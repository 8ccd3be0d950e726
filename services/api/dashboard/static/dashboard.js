// icl-it dashboard: plain JS over the public JSON API (/v1/...), no build step.
// The API key lives in this tab's sessionStorage (gone when the tab closes; never in
// localStorage, which every page of this origin could read for ever) and is sent as
// "Authorization: Bearer", exactly as any other client sends it; the server decides what
// the key may see. The pages' Content-Security-Policy allows no inline script, so every
// handler is attached here.
"use strict";

const KEY = "icl-it-api-key";
localStorage.removeItem(KEY);  // where earlier versions kept it
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const PAIR_COLORS = { icl_it: "#1f6feb", anchor_icl: "#e8590c", anchor_it: "#2f9e44", icl_it_untuned: "#868e96" };
const EXTRA_COLORS = ["#9c36b5", "#c2255c", "#0c8599", "#5c940d"];

function apiKey() { return sessionStorage.getItem(KEY) || ""; }

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  const key = apiKey();
  if (key) headers.Authorization = "Bearer " + key;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (!response.ok) {
    let problem;
    try { problem = await response.json(); } catch (e) { problem = { title: response.statusText }; }
    throw new ApiError(response.status, problem);
  }
  return response;
}
const getJSON = async (path) => (await api(path)).json();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
const $ = (sel) => document.querySelector(sel);
const fmt = (x, d = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
const pct = (x) => `${Math.round((x || 0) * 100)}%`;

function showError(err) {
  const box = $("#error");
  if (!box) return;
  box.hidden = false;
  box.textContent = err instanceof ApiError && err.status === 404
    ? "Not found (it does not exist, or belongs to another API key)."
    : err instanceof ApiError && err.status === 401
      ? `Unauthorized: ${err.message}. Enter a valid API key above ` +
        "(the local stack's key is in $ICL_IT_HOME/api_key)."
      : `${err.message}`;
}

function statusBadge(status) { return el("span", { class: `status ${status}`, text: status }); }
function progressBar(fraction) {
  const inner = el("div");
  inner.style.width = pct(Math.min(fraction || 0, 1));
  return el("div", { class: "bar" }, inner);
}

async function saveBlob(path, filename) {
  const blob = await (await api(path)).blob();
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// -- the key form in the header ----------------------------------------------------------
function setupKey() {
  const input = $("#api-key");
  const state = $("#key-state");
  input.value = apiKey();
  state.textContent = apiKey() ? "key set" : "no key";
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value) sessionStorage.setItem(KEY, input.value); else sessionStorage.removeItem(KEY);
    location.reload();
  });
}

// -- layer curves (inline SVG) --------------------------------------------------------------
function cellLabel(cell) {
  if (cell.label) return cell.label; // results.json names each cell by its factors
  const factors = Object.entries(cell.factors || {})
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k.split(".").pop()}=${v}`).join(", ");
  const control = cell.control && cell.control !== "none" ? `CONTROL ${cell.control} ` : "";
  return `${control}${factors || "base"}`;
}

function curveSeries(cell, metric) {
  const pairs = (cell.metrics || {})[metric] || {};
  let extra = 0;
  return Object.entries(pairs).map(([pair, block]) => {
    const means = block.mean || block.value || [];
    return {
      label: pair,
      color: PAIR_COLORS[pair] || EXTRA_COLORS[extra++ % EXTRA_COLORS.length],
      points: means.map((y, x) => ({ x, y, lo: (block.ci_low || [])[x], hi: (block.ci_high || [])[x] })),
    };
  });
}

function seriesRange(series) {
  let lo = Infinity, hi = -Infinity;
  for (const s of series) for (const p of s.points) {
    for (const v of [p.y, p.lo, p.hi]) if (v !== null && v !== undefined && isFinite(v)) {
      lo = Math.min(lo, v); hi = Math.max(hi, v);
    }
  }
  if (!isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function lineChart(container, series, { yRange, title, names } = {}) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 560, H = 320, L = 48, R = 130, T = 24, B = 36;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", "100%");
  svg.setAttribute("role", "img");
  const n = Math.max(1, ...series.map((s) => s.points.length)) - 1 || 1;
  const [y0, y1] = yRange || seriesRange(series);
  const sx = (x) => L + (x / n) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const add = (name, attrs, text) => {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  if (title) add("text", { x: L, y: 15, "font-size": 12, "font-weight": 600 }, title);
  add("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#888" });
  add("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#888" });
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    add("line", { x1: L, y1: sy(v), x2: W - R, y2: sy(v), stroke: "#eee" });
    add("text", { x: L - 6, y: sy(v) + 4, "font-size": 10, "text-anchor": "end" }, v.toFixed(2));
  }
  const step = Math.max(1, Math.ceil(n / 6));
  for (let x = 0; x <= n; x += step) {
    add("text", { x: sx(x), y: H - B + 14, "font-size": 10, "text-anchor": "middle" }, String(x));
  }
  add("text", { x: (L + W - R) / 2, y: H - 4, "font-size": 11, "text-anchor": "middle" },
    names && names.length ? "layer (0 = embeddings)" : "layer");
  series.forEach((s, i) => {
    const band = s.points.filter((p) => p.lo !== null && p.lo !== undefined && p.hi !== null && p.hi !== undefined);
    if (band.length > 1) {
      const upper = band.map((p) => `${sx(p.x)},${sy(p.hi)}`);
      const lower = band.slice().reverse().map((p) => `${sx(p.x)},${sy(p.lo)}`);
      add("polygon", { points: upper.concat(lower).join(" "), fill: s.color, "fill-opacity": 0.15, stroke: "none" });
    }
    const line = s.points.filter((p) => p.y !== null && p.y !== undefined);
    add("polyline", {
      points: line.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" "),
      fill: "none", stroke: s.color, "stroke-width": 2, "data-series": s.label,
    });
    add("line", { x1: W - R + 10, y1: T + 10 + i * 18, x2: W - R + 30, y2: T + 10 + i * 18, stroke: s.color, "stroke-width": 3 });
    add("text", { x: W - R + 36, y: T + 14 + i * 18, "font-size": 11 }, s.label);
  });
  container.replaceChildren(svg);
  return svg;
}

// -- experiments list ---------------------------------------------------------------------
async function experimentsPage() {
  const body = $("#experiments tbody");
  const selected = new Set();
  const compare = $("#compare-selected");
  compare.addEventListener("click", () => {
    const [a, b] = [...selected];
    location.href = `/ui/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`;
  });
  let pages = 1;
  async function render() {
    let rows = [], after = null, hasMore = false;
    for (let i = 0; i < pages; i++) {
      const page = await getJSON(`/v1/experiments?limit=50${after ? `&after=${encodeURIComponent(after)}` : ""}`);
      rows = rows.concat(page.data);
      hasMore = page.has_more; after = page.next_cursor;
      if (!hasMore) break;
    }
    $("#more").hidden = !hasMore;
    $("#empty").hidden = rows.length > 0;
    body.replaceChildren(...rows.map((e) => {
      const box = el("input", { type: "checkbox", "aria-label": `select ${e.name}`, checked: selected.has(e.id) });
      box.addEventListener("change", () => {
        if (box.checked) selected.add(e.id); else selected.delete(e.id);
        compare.disabled = selected.size !== 2;
      });
      return el("tr", { "data-id": e.id, "data-status": e.status },
        el("td", {}, box),
        el("td", {}, el("a", { href: `/ui/experiments/${e.id}`, text: e.name })),
        el("td", {}, statusBadge(e.status)),
        el("td", {}, progressBar(e.progress.fraction), pct(e.progress.fraction)),
        el("td", { class: "num", text: `${e.progress.completed_runs}/${e.progress.total_runs}` }),
        el("td", { text: new Date(e.created_at).toLocaleString() }),
        el("td", {}, el("code", { text: e.id.slice(0, 12) })));
    }));
    return rows.some((e) => !TERMINAL.has(e.status));
  }
  $("#more").addEventListener("click", () => { pages += 1; render().catch(showError); });
  const loop = async () => {
    try {
      if (await render()) setTimeout(loop, 1500); else setTimeout(loop, 10000);
    } catch (err) { showError(err); }
  };
  loop();
}

// -- one experiment ---------------------------------------------------------------------
async function experimentPage() {
  const id = $("#experiment").dataset.id;
  const base = `/v1/experiments/${encodeURIComponent(id)}`;
  let resultsShown = false;

  // The report is shown in a frame with an empty sandbox: an opaque origin without
  // script, so nothing in it can reach this page, its storage or the API.
  $("#open-report").addEventListener("click", async () => {
    const html = await (await api(`${base}/report`)).text();
    const frame = el("iframe", { id: "report-frame", sandbox: "", title: "Report", src: "about:blank" });
    frame.srcdoc = html;
    $("#report-frame-box").replaceChildren(frame);
    $("#report").hidden = false;
    $("#report").scrollIntoView();
  });
  $("#close-report").addEventListener("click", () => {
    $("#report").hidden = true;
    $("#report-frame-box").replaceChildren();
  });
  $("#download-csv").addEventListener("click", () => saveBlob(`${base}/results?format=csv`, `${id}-cells.csv`));
  $("#download-parquet").addEventListener("click", () => saveBlob(`${base}/results?format=parquet`, `${id}-cells.parquet`));
  $("#download-examples").addEventListener("click", () => saveBlob(`${base}/results?format=csv&table=examples`, `${id}-examples.csv`));
  $("#cancel").addEventListener("click", async () => {
    await api(`${base}/cancel`, { method: "POST" });
  });

  function renderExperiment(e) {
    $("#summary").hidden = false;
    $("#name").replaceChildren(e.name, " ", el("code", { text: e.id }));
    $("#status").replaceWith(Object.assign(statusBadge(e.status), { id: "status" }));
    const running = e.runs.find((r) => r.status === "running");
    $("#stage").textContent = running ? `run ${running.index + 1}: ${running.stage || "starting"}` : "";
    $("#bar").style.width = pct(Math.min(e.progress.fraction, 1));
    $("#progress-text").textContent =
      `${e.progress.completed_runs}/${e.progress.total_runs} runs · ${pct(e.progress.fraction)}` +
      (e.error ? ` · ${e.error.code}: ${e.error.message}` : "");
    $("#cancel").hidden = TERMINAL.has(e.status) || e.status === "cancelling";
    $("#runs tbody").replaceChildren(...e.runs.map((r) => el("tr", {},
      el("td", { class: "num", text: r.index + 1 }),
      el("td", {}, statusBadge(r.status)),
      el("td", { text: r.control }),
      el("td", { text: Object.entries(r.factors).map(([k, v]) => `${k}=${v}`).join(", ") || "base" }),
      el("td", { class: "num", text: r.seed }),
      el("td", { text: r.error ? `${r.error.code}: ${r.error.message}` : r.stage || "" }),
      el("td", {}, progressBar(r.progress), pct(r.progress)))));
  }

  async function renderArtifacts() {
    const list = await getJSON(`${base}/artifacts`);
    $("#artifacts tbody").replaceChildren(...list.data.map((a) => el("tr", {},
      el("td", {}, el("a", {
        href: "#", text: a.id, "data-artifact": a.id,
        onclick: (ev) => { ev.preventDefault(); saveBlob(a.url, `${id}-${a.id.replace(/\//g, "-")}`); },
      })),
      el("td", { text: a.kind }),
      el("td", { class: "num", text: a.size_bytes ?? "" }),
      el("td", { text: (a.shape || []).join(" × ") }))));
  }

  async function renderResults() {
    const results = await getJSON(`${base}/results`);
    $("#results").hidden = false;
    for (const b of ["#open-report", "#download-csv", "#download-parquet", "#download-examples"]) $(b).disabled = false;
    const statements = [];
    for (const study of results.studies || []) {
      for (const [metric, text] of Object.entries(study.statements || {})) {
        statements.push(el("li", {}, el("strong", { text: `${study.name} · ${metric}: ` }), text));
      }
    }
    $("#statements").replaceChildren(...(statements.length ? statements : [el("li", { text: "(none)" })]));
    const metricSel = $("#metric"), cellSel = $("#cell");
    metricSel.replaceChildren(...(results.metrics || []).map((m) => el("option", { text: m })));
    cellSel.replaceChildren(...(results.cells || []).map((c, i) => el("option", { value: i, text: cellLabel(c) })));
    const draw = () => {
      const cell = results.cells[Number(cellSel.value || 0)];
      lineChart($("#curve"), curveSeries(cell, metricSel.value), { title: `${metricSel.value} · ${cellLabel(cell)}`, names: cell.layer_names });
    };
    metricSel.addEventListener("change", draw);
    cellSel.addEventListener("change", draw);
    if ((results.cells || []).length) draw();
    renderTable(results);
    try {
      const html = await (await api(`${base}/report`)).text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const figures = [...doc.querySelectorAll("img")].map((img) => {
        const src = img.getAttribute("src");
        if (!src || !src.startsWith("data:image/")) return null;
        return el("figure", {
          onclick: () => { $("#figure-big").src = src; $("#figure-big").alt = img.alt; $("#figure-dialog").showModal(); },
        }, el("img", { src, alt: img.alt }), el("figcaption", { text: img.alt }));
      }).filter(Boolean);
      $("#figures").replaceChildren(...(figures.length ? figures : [el("p", { class: "hint", text: "(no figures)" })]));
    } catch (err) { $("#figures").textContent = `report: ${err.message}`; }
  }

  function renderTable(results) {
    const pairs = [...new Set((results.cells || []).flatMap((c) => Object.values(c.metrics || {}).flatMap((m) => Object.keys(m))))];
    $("#table thead").replaceChildren(el("tr", {}, el("th", { text: "cell" }), el("th", { text: "metric" }), el("th", { text: "layer" }),
      ...pairs.map((p) => el("th", { text: p }))));
    const rows = [];
    for (const cell of results.cells || []) {
      const layer = cell.report_layer ?? cell.n_layers;
      for (const [metric, per] of Object.entries(cell.metrics || {})) {
        rows.push(el("tr", {}, el("td", { text: cellLabel(cell) }), el("td", { text: metric }), el("td", { class: "num", text: layer }),
          ...pairs.map((p) => {
            const b = per[p];
            if (!b) return el("td", { text: "–" });
            const m = (b.mean || b.value || [])[layer];
            return el("td", { class: "num", text: `${fmt(m, 2)} [${fmt((b.ci_low || [])[layer], 2)}, ${fmt((b.ci_high || [])[layer], 2)}]` });
          })));
      }
    }
    $("#table tbody").replaceChildren(...rows);
  }

  let lastEvent = null;
  async function renderEvents() {
    for (;;) {
      const page = await getJSON(`${base}/events?limit=200${lastEvent === null ? "" : `&after=${lastEvent}`}`);
      for (const ev of page.data) {
        lastEvent = ev.id;
        $("#events tbody").append(el("tr", { "data-type": ev.type },
          el("td", { text: new Date(ev.created_at).toLocaleTimeString() }),
          el("td", { text: ev.level }), el("td", { text: ev.type }), el("td", { text: ev.message })));
      }
      if (!page.has_more) return;
    }
  }

  const loop = async () => {
    try {
      const e = await getJSON(base);
      renderExperiment(e);
      await renderEvents();
      if (TERMINAL.has(e.status)) {
        await renderArtifacts();
        if (e.status === "succeeded" && !resultsShown) { resultsShown = true; await renderResults(); }
        return;
      }
      setTimeout(loop, 1000);
    } catch (err) { showError(err); }
  };
  loop();
}

// -- comparison ---------------------------------------------------------------------------
async function comparePage() {
  const form = $("#compare-form"), metricSel = $("#cmp-metric");
  let loaded = null;
  function mainCell(results) {
    return (results.cells || []).find((c) => c.control === "none") || (results.cells || [])[0];
  }
  function draw() {
    if (!loaded) return;
    const metric = metricSel.value;
    const cells = loaded.map(([, r]) => mainCell(r));
    const series = cells.map((c) => (c ? curveSeries(c, metric) : []));
    const yRange = seriesRange(series.flat());  // one scale for both
    ["a", "b"].forEach((side, i) => {
      const [exp] = loaded[i];
      $(`#title-${side}`).replaceChildren(`${exp.name} `, el("code", { text: exp.id.slice(0, 12) }));
      lineChart($(`#chart-${side}`), series[i], { yRange, title: `${metric} · ${cells[i] ? cellLabel(cells[i]) : "no cell"}` });
    });
  }
  async function load(a, b) {
    $("#error").hidden = true;
    const fetchOne = async (id) => [await getJSON(`/v1/experiments/${encodeURIComponent(id)}`), await getJSON(`/v1/experiments/${encodeURIComponent(id)}/results`)];
    loaded = await Promise.all([fetchOne(a), fetchOne(b)]);
    const metrics = [...new Set(loaded.flatMap(([, r]) => r.metrics || []))];
    const keep = metricSel.value;
    metricSel.replaceChildren(...metrics.map((m) => el("option", { text: m, selected: m === keep })));
    draw();
  }
  metricSel.addEventListener("change", draw);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const a = $("#cmp-a").value.trim(), b = $("#cmp-b").value.trim();
    history.replaceState(null, "", `/ui/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
    load(a, b).catch(showError);
  });
  if ($("#cmp-a").value && $("#cmp-b").value) load($("#cmp-a").value, $("#cmp-b").value).catch(showError);
}

// -- submit form --------------------------------------------------------------------------
function setDotted(target, dotted, value) {
  const parts = dotted.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}

function fieldFor(dotted) {
  const fields = [...document.querySelectorAll("#submit-form .field[data-field]")];
  const exact = fields.find((f) => f.dataset.field === dotted);
  if (exact) return exact;
  const prefix = fields.filter((f) => dotted.startsWith(f.dataset.field + ".")).sort((x, y) => y.dataset.field.length - x.dataset.field.length)[0];
  if (prefix) return prefix;
  if (dotted === "scale") return document.querySelector('.field[data-field="preset"]');
  return document.querySelector('.field[data-field="spec_text"]');
}

function showFieldErrors(problem) {
  const errors = problem.errors && problem.errors.length ? problem.errors : [{ loc: ["body"], msg: problem.detail || problem.title }];
  for (const err of errors) {
    const loc = (err.loc || []).filter((p, i) => !(i === 0 && p === "body"));
    const dotted = loc.join(".");
    const field = fieldFor(dotted);
    field.classList.add("invalid");
    field.append(el("div", { class: "field-error", "data-for": dotted || "(spec)", text: `${dotted || "spec"}: ${err.msg}` }));
  }
}

async function submitPage() {
  const form = $("#submit-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    document.querySelectorAll(".field-error").forEach((n) => n.remove());
    document.querySelectorAll(".field.invalid").forEach((n) => n.classList.remove("invalid"));
    $("#form-errors").hidden = true;
    $("#submit-state").textContent = "submitting…";
    try {
      const text = form.elements.spec_text.value;
      const spec = await (await api("/ui/parse-spec", { method: "POST", headers: { "Content-Type": "application/yaml" }, body: text })).json();
      for (const input of form.querySelectorAll("input[name], select[name]")) {
        const value = input.value.trim();
        if (!value) continue;
        if (input.name === "preset" || input.name === "scale") { spec[input.name] = value; continue; }
        let parsed = value;
        if (input.type === "number") parsed = Number(value);
        else if (input.dataset.kind === "int-list") parsed = value.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
        setDotted(spec, input.name, parsed);
      }
      const response = await api("/v1/experiments", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(spec),
      });
      const experiment = await response.json();
      $("#submit-state").textContent = "submitted";
      location.href = `/ui/experiments/${experiment.id}`;
    } catch (err) {
      $("#submit-state").textContent = "";
      if (err instanceof ApiError && err.status === 422) showFieldErrors(err.problem);
      else { $("#form-errors").hidden = false; $("#form-errors").textContent = err.message; }
    }
  });
}

setupKey();
({ index: experimentsPage, experiment: experimentPage, compare: comparePage, submit: submitPage })[document.body.dataset.page]?.();
