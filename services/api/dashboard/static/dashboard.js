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
      ? `Unauthorized: ${err.message}. Open the sign-in link \`icl-it up\` printed ` +
        "(http://HOST:PORT/login#key=...), or enter a valid API key above " +
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
// The key is never written back into the page (not even into the input's value): the
// field stays empty and says whether a key is set; submitting it empty forgets the key.
function setupKey() {
  const input = $("#api-key");
  const state = $("#key-state");
  input.value = "";
  input.placeholder = apiKey() ? "key set (paste to replace)" : "iclit_...";
  state.textContent = apiKey() ? "key set" : "no key";
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value) sessionStorage.setItem(KEY, input.value); else sessionStorage.removeItem(KEY);
    location.reload();
  });
}

// -- /login#key=... (the link `icl-it up` prints) ------------------------------------------
// The fragment never reaches a server; the key moves into this tab's sessionStorage, the
// fragment leaves the address bar and the history (replaceState), and the list opens in
// place of this entry (location.replace), so Back never returns to a URL with the key.
function loginPage() {
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  history.replaceState(null, "", location.pathname);
  if (!key) {
    $("#login-state").textContent = "This link carries no key. Open the link `icl-it up` printed, " +
      "or enter a key in the header.";
    return;
  }
  sessionStorage.setItem(KEY, key);
  location.replace("/");
}

// -- labels shared with the plots (plots.js, compare.js) -------------------------------
function cellLabel(cell) {
  if (cell.label) return cell.label; // results.json names each cell by its factors
  const factors = Object.entries(cell.factors || {})
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k.split(".").pop()}=${v}`).join(", ");
  const control = cell.control && cell.control !== "none" ? `CONTROL ${cell.control} ` : "";
  return `${control}${factors || "base"}`;
}

// -- experiments list: one row per experiment, what a reader scans for -------------------
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });

function duration(e) {
  if (!e.started_at) return e.status === "queued" ? "queued" : "";
  const end = e.finished_at ? new Date(e.finished_at) : new Date();
  const s = Math.max(0, Math.round((end - new Date(e.started_at)) / 1000));
  const text = s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`
    : `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  return e.finished_at ? text : `${text} so far`;
}

const signed = (x, d = 3) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(d)}`);
const pval = (p) => (p === null || p === undefined ? "–" : p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

function primaryCell(e) {
  const p = e.primary;
  if (p) {
    const ci = p.ci_low === null || p.ci_high === null ? "" : ` [${signed(p.ci_low, 2)}, ${signed(p.ci_high, 2)}]`;
    return el("td", { class: "primary", title: `${p.study}: ${p.measure} at layer ${p.layer}, n = ${p.n}` },
      el("span", { class: p.significant ? "effect significant" : "effect", text: `${signed(p.effect)}${ci}` }),
      el("br"),
      el("small", { text: `p = ${pval(p.p_value)}` + (p.p_holm === null || p.p_holm === undefined ? "" : ` · Holm ${pval(p.p_holm)}`) }));
  }
  if (e.error) return el("td", { class: "primary" }, el("small", { class: "error", text: e.error.code, title: e.error.message }));
  return el("td", { class: "primary" });
}

function experimentRow(e, box) {
  const terminal = TERMINAL.has(e.status);
  const runs = `${e.progress.completed_runs}/${e.progress.total_runs} runs`;
  return el("tr", { "data-id": e.id, "data-status": e.status },
    el("td", {}, box),
    el("td", { class: "state" }, statusBadge(e.status),
      terminal ? null : el("div", {}, progressBar(e.progress.fraction), el("small", { text: `${pct(e.progress.fraction)} · ${runs}` }))),
    el("td", { class: "name" }, el("a", { href: `/ui/experiments/${e.id}`, text: e.name }), el("br"),
      el("code", { class: "id", text: e.id.slice(0, 8), title: e.id })),
    el("td", { class: "model", text: (e.models || []).join(", ") || "–" }),
    el("td", { class: "num", text: e.cells ?? "", title: runs }),
    primaryCell(e),
    el("td", { class: "date", text: DATE.format(new Date(e.created_at)) }),
    el("td", { class: "num", text: duration(e) }));
}

// -- experiments list ---------------------------------------------------------------------
async function experimentsPage() {
  const body = $("#experiments tbody");
  const selected = new Set();
  const compare = $("#compare-selected");
  compare.addEventListener("click", () => {
    location.href = `/ui/compare?ids=${encodeURIComponent([...selected].join(","))}`;
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
        compare.disabled = selected.size < 2;  // Compare overlays any number
      });
      return experimentRow(e, box);
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

// -- the experiment page's headline: spec, primary test, accuracy and IT loss -------------
// Built here and placed after #summary; each line appears only when its data exist.
function specLine(spec) {
  const get = (dotted) => dotted.split(".").reduce((node, k) => (node && typeof node === "object" ? node[k] : undefined), spec);
  const lora = get("lora.max_steps") ? `max_steps ${get("lora.max_steps")}` : get("lora.steps_per_demo")
    ? `${get("lora.steps_per_demo")} steps/demo` : get("lora.epochs") ? `${get("lora.epochs")} epochs` : null;
  return [
    ["model", get("model.name")], ["task", get("data.task")], ["n", get("inference.n")], ["k", get("demos.k")],
    ["selection", get("demos.selection")], ["template", get("template.kind")], ["LoRA", lora],
    ["seeds", (get("seeds") || []).join(", ")], ["preset", get("preset")],
  ].filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) => `${k} ${v}`).join(" · ");
}

function headlineBox(e) {
  let box = $("#headline");
  if (!box) {
    box = el("section", { id: "headline" }, el("dl"),
      el("details", {}, el("summary", { text: "Full spec (JSON)" }), el("pre", { id: "spec-json" })));
    $("#summary").after(box);
    $("#spec-json").textContent = JSON.stringify(e.spec, null, 2);
    setHeadline("Spec", specLine(e.spec || {}));
  }
  return box;
}

function setHeadline(term, text) {
  const dl = $("#headline dl");
  const id = `headline-${term.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  let dd = document.getElementById(id);
  if (!dd) { dl.append(el("dt", { text: term }), (dd = el("dd", { id }))); }
  dd.textContent = text;
}

function renderHeadline(results) {
  const cell = (results.cells || []).find((c) => c.control === "none") || (results.cells || [])[0];
  const test = ((results.studies || [])[0] || {}).primary_tests?.[0];
  if (test) {
    const ci = test.ci_low === null || test.ci_low === undefined ? "" : ` (95% CI ${signed(test.ci_low)} to ${signed(test.ci_high)})`;
    setHeadline("Primary", `${test.a} − ${test.b} ${test.metric} at layer ${test.layer}: ${signed(test.mean_diff)}${ci}, ` +
      `p = ${pval(test.p_value)}` + (test.p_holm_experiment === undefined ? "" : `, Holm ${pval(test.p_holm_experiment)}`) + `, n = ${test.n}`);
  }
  if (!cell) return;
  const label = (results.cells || []).length > 1 ? ` (cell ${cellLabel(cell)})` : "";
  const acc = Object.entries(cell.accuracy || {}).filter(([, a]) => a && a.mean !== null && a.mean !== undefined);
  if (acc.length) {
    setHeadline("Accuracy", acc.map(([c, a]) => `${c} ${fmt(a.mean, 2)}` +
      (a.ci_low === null || a.ci_low === undefined ? "" : ` [${fmt(a.ci_low, 2)}, ${fmt(a.ci_high, 2)}]`)).join(" · ") + label);
  }
  const it = cell.it || {};
  const losses = [].concat(it.final_loss ?? []).filter((x) => x !== null && Number.isFinite(Number(x)));
  if (losses.length) {
    const mean = losses.reduce((a, b) => a + Number(b), 0) / losses.length;
    setHeadline("IT loss", `final LoRA loss ${fmt(mean, 3)}` + (it.steps ? ` after ${it.steps} steps` : "") +
      (it.budget ? ` (${it.budget})` : "") + label);
  }
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
    headlineBox(e);
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

  async function renderResults(experiment) {
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
    IclPlots.showResults(results, experiment, base).catch(showError);  // plots.js (Vega-Lite)
    renderTable(results);
    renderHeadline(results);
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

  // Events arrive as server-sent events (events.js); each one also refreshes the status,
  // except the "tuning" ones (one per step), which feed the live loss curve (plots.js).
  let timer = null, live = null;
  function followEvents(e) {
    live = IclPlots.liveLoss(e);
    const headers = apiKey() ? { Authorization: "Bearer " + apiKey() } : {};
    IclEvents.follow(`${base}/events/stream`, {
      headers,
      onEvent: (ev) => {
        if (ev.type === "tuning") { live(ev).catch(showError); return; }  // a curve, not rows
        $("#events tbody").append(el("tr", { "data-type": ev.type },
          el("td", { text: new Date(ev.created_at).toLocaleTimeString() }),
          el("td", { text: ev.level }), el("td", { text: ev.type }), el("td", { text: ev.message })));
        clearTimeout(timer);
        timer = setTimeout(loop, 200);
      },
      onError: (err) => showError(err),
    });
  }

  const loop = async () => {
    try {
      clearTimeout(timer);
      const e = await getJSON(base);
      renderExperiment(e);
      if (!live) followEvents(e);
      if (TERMINAL.has(e.status)) {
        await renderArtifacts();
        if (e.status === "succeeded" && !resultsShown) { resultsShown = true; await renderResults(e); }
        return;
      }
      timer = setTimeout(loop, 5000);  // besides the refresh on each event
    } catch (err) { showError(err); }
  };
  loop();
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

// The model and task lists come from the API (GET /v1/models, /v1/tasks and, where the
// API lists them, your uploaded datasets); "other" takes a local path or Hub id.
async function fillChoices() {
  const models = $("#model-select"), tasks = $("#task-select");
  try {
    const list = await getJSON("/v1/models");
    models.append(...list.data.map((m) => el("option", { value: m.name, text: `${m.name} (${m.params})`, title: m.description })));
  } catch (err) { /* the free-text "other" still works */ }
  models.append(el("option", { value: "__other__", text: "other: a local path or Hub id…" }));
  models.addEventListener("change", () => {
    $("#model-other").hidden = models.value !== "__other__";
    if (!$("#model-other").hidden) $("#model-other").focus();
  });
  try {
    const list = await getJSON("/v1/tasks");
    tasks.append(el("optgroup", { label: "Builtin" }, ...list.data.map((t) => el("option", {
      value: t.name, text: `${t.name} (${t.kind}, ${t.n_rows} rows)`, title: t.description,
    }))));
  } catch (err) { showFormError(err); }
  tasks.append(el("optgroup", { label: "Uploaded", id: "uploaded-tasks" }));
  try {
    const list = await getJSON("/v1/datasets");
    for (const d of list.data || []) addUploaded(d);
  } catch (err) { /* an API without a dataset list: uploads of this page still appear */ }
}

function addUploaded(d) {
  const group = $("#uploaded-tasks");
  if (group.querySelector(`option[value="${CSS.escape(d.task)}"]`)) return;
  group.append(el("option", { value: d.task, text: `${d.name || d.task} (${d.kind}, ${d.n_rows} rows)` }));
}

function showFormError(err) {
  $("#form-errors").hidden = false;
  $("#form-errors").textContent = err.message;
}

function setupUpload() {
  $("#dataset-upload").addEventListener("click", async () => {
    const file = $("#dataset-file").files[0], state = $("#dataset-state");
    document.querySelectorAll('.field[data-field="dataset"] .field-error').forEach((n) => n.remove());
    if (!file) { state.textContent = "choose a file first"; return; }
    state.textContent = "uploading…";
    try {
      const response = await api("/v1/datasets", {
        method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file,
      });
      const d = await response.json();
      addUploaded(d);
      $("#task-select").value = d.task;
      state.textContent = `uploaded ${d.task}: ${d.n_rows} rows (${d.kind}); selected as the task`;
    } catch (err) {
      state.textContent = "";
      const problem = err instanceof ApiError ? err.problem : {};
      const lines = (problem.errors || []).map((e) => `${(e.loc || []).join(".")}: ${e.msg}`);
      $('.field[data-field="dataset"]').append(el("div", { class: "field-error", text: [err.message, ...lines].join("\n") }));
    }
  });
}

async function submitPage() {
  const form = $("#submit-form");
  setupUpload();
  fillChoices();
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
        let value = input.value.trim();
        if (value === "__other__") value = $("#model-other").value.trim();
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
      else showFormError(err);
    }
  });
}

if (document.body.dataset.page === "login") loginPage();
setupKey();
({ index: experimentsPage, experiment: experimentPage, compare: () => IclCompare.page(), submit: submitPage })[document.body.dataset.page]?.();
