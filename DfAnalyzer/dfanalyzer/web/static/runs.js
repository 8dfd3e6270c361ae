/* The runs page: one server-side page of the runs table; every control is a URL parameter. */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const table = $("runs");
  let current = null;          // the last answer of /api/v1/runs/table
  let selection = new Set((DFA.params().get("sel") || "").split(",").filter(Boolean));
  let loading = null;

  function state() {
    const p = DFA.params();
    return {
      dataflow: p.get("dataflow") || "", mode: p.get("mode") || "last", epoch: p.get("epoch") || "",
      q: p.get("q") || "", range: p.getAll("range"), choice: p.getAll("in"), sort: p.get("sort") || "start",
      desc: p.get("desc") !== "0", offset: Number(p.get("offset") || 0), limit: Number(p.get("limit") || 50),
      cols: p.get("cols") || "", diff: p.get("diff") === "1",
    };
  }

  function apiUrl(s, format) {
    const q = new URLSearchParams();
    if (s.dataflow) q.set("dataflow", s.dataflow);
    q.set("mode", s.mode);
    if (s.mode === "epoch" && s.epoch !== "") q.set("epoch", s.epoch);
    if (s.q) q.set("q", s.q);
    s.range.forEach(r => q.append("range", r));
    s.choice.forEach(c => q.append("in", c));
    q.set("sort", s.sort);
    q.set("desc", s.desc ? "true" : "false");
    if (format !== "csv") { q.set("offset", s.offset); q.set("limit", s.limit); }
    if (s.cols) q.set("cols", s.cols);
    if (s.diff) q.set("diff", "true");
    if (format) q.set("format", format);
    return `/api/v1/runs/table?${q}`;
  }

  async function load() {
    const s = state();
    if (s.mode === "epoch" && s.epoch === "") return;   // waits for the epoch to be typed
    loading?.abort();
    loading = new AbortController();
    const url = apiUrl(s);
    DFA.setTwin(url);
    $("csv").href = apiUrl(s, "csv");
    try {
      current = await DFA.api(url, {key: "runs", signal: loading.signal});
    } catch (error) {
      return;
    }
    draw(s);
  }

  function draw(s) {
    const data = current;
    $("dataflow").innerHTML = data.dataflows.map(tag =>
      `<option ${tag === data.dataflow ? "selected" : ""}>${DFA.escapeHtml(tag)}</option>`).join("");
    $("mode").value = s.mode;
    $("epoch").classList.toggle("hidden", s.mode !== "epoch");
    $("epoch").value = s.epoch;
    if (document.activeElement !== $("filter")) $("filter").value = s.q;
    $("diff").checked = s.diff;
    $("limit").value = String(s.limit);
    const numeric = data.all_columns.filter(c => c.type === "number");
    const chosen = $("range-column").value;
    $("range-column").innerHTML = numeric.map(c =>
      `<option value="${DFA.escapeHtml(c.key)}">${DFA.escapeHtml(c.label)}</option>`).join("");
    if (chosen) $("range-column").value = chosen;
    $("ranges").innerHTML = s.range.map((r, i) => {
      const [low, high] = r.split(":").slice(-2);
      const key = r.split(":").slice(0, -2).join(":");
      const label = (data.all_columns.find(c => c.key === key) || {label: key}).label;
      return `<span class="chip">${DFA.escapeHtml(low || "−∞")} ≤ ${DFA.escapeHtml(label)} ≤ ${DFA.escapeHtml(high || "∞")}` +
        `<button type="button" data-remove-range="${i}" title="remove">×</button></span>`;
    }).join("") + s.choice.map((c, i) => {
      const [key, ...value] = c.split("=");
      const label = (data.all_columns.find(column => column.key === key) || {label: key}).label;
      return `<span class="chip">${DFA.escapeHtml(label)} = ${DFA.escapeHtml(value.join("="))}` +
        `<button type="button" data-remove-choice="${i}" title="remove">×</button></span>`;
    }).join("");

    const head = data.columns.map(c => {
      const sorted = c.key === s.sort ? ` sorted ${s.desc ? "" : "asc"}` : "";
      const align = c.type === "text" || c.type === "time" ? " text" : "";
      return `<th class="${align}${sorted}" data-sort="${DFA.escapeHtml(c.key)}" title="${DFA.escapeHtml(c.key)}">` +
        `<span class="group">${DFA.escapeHtml(c.group)}</span>${DFA.escapeHtml(c.label)}</th>`;
    }).join("");
    table.tHead.innerHTML = `<tr><th class="text"><input type="checkbox" id="select-page" aria-label="select page"></th>${head}</tr>`;
    const dataflowParam = `?dataflow=${encodeURIComponent(data.dataflow)}`;
    table.tBodies[0].innerHTML = data.rows.map(row => {
      const cells = data.columns.map(c => {
        const value = row[c.key];
        let html = DFA.escapeHtml(DFA.formatValue(value, c.type));
        if (c.key === "execution") html = `<a href="/runs/${encodeURIComponent(value)}${dataflowParam}">${html}</a>`;
        if (c.key === "status") html = `<span class="status status-${DFA.escapeHtml(value)}">${html}</span>`;
        const align = c.type === "text" || c.type === "time" ? "text" : "";
        return `<td class="${align}" data-key="${DFA.escapeHtml(c.key)}">${html}</td>`;
      }).join("");
      const checked = selection.has(row.execution) ? "checked" : "";
      return `<tr data-run="${DFA.escapeHtml(row.execution)}" class="${checked ? "selected" : ""}">` +
        `<td class="text"><input type="checkbox" data-select ${checked} aria-label="select"></td>${cells}</tr>`;
    }).join("") || `<tr><td class="text muted" colspan="${data.columns.length + 1}">No run matches.</td></tr>`;
    const last = Math.min(data.offset + data.limit, data.total);
    $("page-info").textContent = data.total ? `${data.offset + 1}–${last} of ${data.total} runs` : "0 runs";
    $("prev").disabled = data.offset === 0;
    $("next").disabled = last >= data.total;
    drawSelection();
    drawColumnsPanel(s);
  }

  function drawSelection() {
    $("selected-count").textContent = selection.size;
    $("compare").disabled = selection.size === 0;
  }

  function drawColumnsPanel(s) {
    const shown = new Set(current.columns.map(c => c.key));
    const groups = {};
    current.all_columns.forEach(c => (groups[c.group] = groups[c.group] || []).push(c));
    $("columns-panel").innerHTML = Object.entries(groups).map(([group, columns]) =>
      `<fieldset><legend>${DFA.escapeHtml(group)}</legend>` + columns.map(c =>
        `<label><input type="checkbox" data-column="${DFA.escapeHtml(c.key)}" ${shown.has(c.key) || (s.diff && s.cols.split(",").includes(c.key)) ? "checked" : ""}> ${DFA.escapeHtml(c.label)}</label>`).join("") +
      `</fieldset>`).join("") + `<button type="button" id="columns-default">Default columns</button>`;
  }

  function change(values, {resetPage = true} = {}) {
    if (resetPage) values.offset = null;
    DFA.setParams(values);
    load();
  }

  function compare() {
    if (!selection.size) return;
    const dataflow = current ? `&dataflow=${encodeURIComponent(current.dataflow)}` : "";
    location.href = `/compare?runs=${[...selection].map(encodeURIComponent).join(",")}${dataflow}`;
  }

  $("dataflow").addEventListener("change", e => { selection.clear(); change({dataflow: e.target.value, cols: null, range: null, in: null, sel: null, sort: null}); });
  $("mode").addEventListener("change", e => change({mode: e.target.value === "last" ? null : e.target.value}));
  $("epoch").addEventListener("change", e => change({epoch: e.target.value}));
  let typing = null;
  $("filter").addEventListener("input", e => { clearTimeout(typing); typing = setTimeout(() => change({q: e.target.value}), 250); });
  $("diff").addEventListener("change", e => change({diff: e.target.checked}));
  $("limit").addEventListener("change", e => change({limit: e.target.value === "50" ? null : e.target.value}));
  $("range-add").addEventListener("click", () => {
    const key = $("range-column").value, low = $("range-low").value, high = $("range-high").value;
    if (!key || (low === "" && high === "")) return;
    change({range: [...state().range, `${key}:${low}:${high}`]});
  });
  $("ranges").addEventListener("click", e => {
    const {removeRange, removeChoice} = e.target.dataset;
    const s = state();
    if (removeRange !== undefined) { s.range.splice(Number(removeRange), 1); change({range: s.range}); }
    if (removeChoice !== undefined) { s.choice.splice(Number(removeChoice), 1); change({in: s.choice}); }
  });
  $("prev").addEventListener("click", () => { const s = state(); change({offset: Math.max(0, s.offset - s.limit) || null}, {resetPage: false}); });
  $("next").addEventListener("click", () => { const s = state(); change({offset: s.offset + s.limit}, {resetPage: false}); });
  table.tHead.addEventListener("click", e => {
    const th = e.target.closest("th[data-sort]");
    if (!th) return;
    const s = state();
    const desc = th.dataset.sort === s.sort ? !s.desc : true;
    change({sort: th.dataset.sort === "start" ? null : th.dataset.sort, desc: desc ? null : "0"});
  });
  table.addEventListener("change", e => {
    if (e.target.id === "select-page") {
      current.rows.forEach(row => e.target.checked ? selection.add(row.execution) : selection.delete(row.execution));
    } else if (e.target.matches("[data-select]")) {
      const run = e.target.closest("tr").dataset.run;
      e.target.checked ? selection.add(run) : selection.delete(run);
    } else return;
    DFA.setParams({sel: [...selection].join(",")});
    table.querySelectorAll("tbody tr[data-run]").forEach(tr => {
      const on = selection.has(tr.dataset.run);
      tr.classList.toggle("selected", on);
      tr.querySelector("[data-select]").checked = on;
    });
    drawSelection();
  });
  $("columns-button").addEventListener("click", () => $("columns-panel").classList.toggle("hidden"));
  $("columns-panel").addEventListener("change", () => {
    const keys = [...$("columns-panel").querySelectorAll("[data-column]:checked")].map(box => box.dataset.column);
    change({cols: keys.join(",")}, {resetPage: false});
  });
  $("columns-panel").addEventListener("click", e => { if (e.target.id === "columns-default") change({cols: null}, {resetPage: false}); });
  $("compare").addEventListener("click", compare);
  DFA.onKey("c", compare);
  addEventListener("popstate", load);

  load();
  // RUNNING rows change status, epochs and metrics: the page re-reads itself while one is shown.
  DFA.poll(load, 2000, () => current && current.rows.some(row => row.status === "RUNNING"));
})();
