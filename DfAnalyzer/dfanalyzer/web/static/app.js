/* Shared helpers of every page: API reads with in-page errors, URL state, theme, keyboard, charts. */
"use strict";
const DFA = (() => {
  const errors = document.getElementById("errors");

  function escapeHtml(value) {
    return String(value ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }

  /* One message per source (`key`), replaced when the same source fails again, removed when it works. */
  function showError(key, title, detail) {
    let box = errors.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!box) {
      box = document.createElement("div");
      box.className = "error";
      box.dataset.key = key;
      errors.appendChild(box);
    }
    box.innerHTML = `<strong>${escapeHtml(title)}</strong>${escapeHtml(detail)}`;
  }
  function clearError(key) {
    errors.querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
  }

  function detailText(body) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map(d => `${(d.loc || []).join(".")}: ${d.msg}`).join("\n");
    if (detail && detail.error) return detail.error;
    return JSON.stringify(body);
  }

  /* GET (or POST with `body`) JSON from the service; failures are shown in the page and rethrown. */
  async function api(url, {key = "api", body, method, signal} = {}) {
    let response;
    try {
      response = await fetch(url, {
        method: method || (body === undefined ? "GET" : "POST"), signal,
        headers: body === undefined ? {} : {"Content-Type": "application/json"},
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      showError(key, "DfAnalyzer is not answering.",
        `${location.origin} could not be reached (${error.message}). Start it with \`dfanalyzer start\` ` +
        "(or `make run`); this page retries by itself where it updates live.");
      throw error;
    }
    let parsed = null;
    try { parsed = await response.json(); } catch (_) { /* not JSON */ }
    if (!response.ok) {
      showError(key, `The request failed (HTTP ${response.status}).`, `${detailText(parsed)}\n${url}`);
      const error = new Error(detailText(parsed));
      error.status = response.status;
      throw error;
    }
    clearError(key);
    return parsed;
  }

  /* URL state: the page's query string is the truth; pages read it and write it back. */
  function params() { return new URLSearchParams(location.search); }
  function setParams(values, {push = false} = {}) {
    const search = params();
    for (const [name, value] of Object.entries(values)) {
      search.delete(name);
      if (Array.isArray(value)) value.forEach(v => search.append(name, v));
      else if (value !== null && value !== undefined && value !== "" && value !== false) search.set(name, value === true ? "1" : value);
    }
    const url = `${location.pathname}${search.toString() ? "?" + search : ""}`;
    (push ? history.pushState : history.replaceState).call(history, null, "", url);
  }
  function setTwin(url) { document.getElementById("json-twin").href = url; }

  /* Charts follow the theme: each registered chart is rebuilt by its `draw(chart)` on a switch. */
  const charts = new Set();
  function theme() { return document.documentElement.dataset.theme; }
  function chart(element, draw) {
    const entry = {element, draw, instance: echarts.init(element, theme() === "dark" ? "dark" : null)};
    entry.instance.setOption({backgroundColor: "transparent"});
    charts.add(entry);
    draw(entry.instance);
    return entry;
  }
  function disposeChart(entry) { entry.instance.dispose(); charts.delete(entry); }
  function redrawCharts() {
    for (const entry of charts) {
      entry.instance.dispose();
      entry.instance = echarts.init(entry.element, theme() === "dark" ? "dark" : null);
      entry.instance.setOption({backgroundColor: "transparent"});
      entry.draw(entry.instance);
    }
  }
  addEventListener("resize", () => charts.forEach(entry => entry.instance.resize()));

  document.getElementById("theme-toggle").addEventListener("click", () => {
    const next = theme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("dfa-theme", next);
    redrawCharts();
  });

  /* Keyboard: `/` focuses the page's filter, `c` compares the selected runs. */
  const keys = {};
  addEventListener("keydown", event => {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest("input, textarea, select, [contenteditable], .CodeMirror")) return;
    const filter = document.querySelector("[data-filter]");
    if (event.key === "/" && filter) { event.preventDefault(); filter.focus(); filter.select?.(); }
    else if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  function onKey(key, action) { keys[key] = action; }

  const numberFormat = new Intl.NumberFormat("en", {maximumSignificantDigits: 5});
  function formatValue(value, type) {
    if (value === null || value === undefined) return "";
    if (type === "time" || (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value))) return value.replace("T", " ").slice(0, 19);
    if (typeof value === "number") return Math.abs(value) >= 1e6 || (value !== 0 && Math.abs(value) < 1e-4) ? value.toExponential(3) : numberFormat.format(value);
    return String(value);
  }

  /* Calls `step` every `ms` while `wanted()` holds and the page is visible; never overlaps calls. */
  function poll(step, ms, wanted = () => true) {
    let timer = null, stopped = false;
    async function tick() {
      timer = null;
      if (stopped) return;
      if (!document.hidden && wanted()) {
        try { await step(); } catch (_) { /* shown in the page by api() */ }
      }
      if (!stopped) timer = setTimeout(tick, ms);
    }
    timer = setTimeout(tick, ms);
    return {stop() { stopped = true; if (timer) clearTimeout(timer); }};
  }

  /* Loads `urls` as scripts once each, fetched in parallel and run in order: for libraries a
     page needs only later (async = false keeps inserted scripts in insertion order). */
  const loadedScripts = new Map();
  function loadScript(url) {
    if (!loadedScripts.has(url)) {
      loadedScripts.set(url, new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.async = false;
        script.src = url;
        script.onload = resolve;
        script.onerror = () => reject(new Error(`${url} could not be loaded`));
        document.head.appendChild(script);
      }));
    }
    return loadedScripts.get(url);
  }
  function loadScripts(urls) {
    return Promise.all(urls.map(loadScript)).catch(error => {
      showError("scripts", "A script of this page could not be loaded.",
        `${error.message}; reload the page (is DfAnalyzer still running?).`);
      throw error;
    });
  }

  /* Graph nodes as large as their label (cytoscape's own `width: label` is deprecated): style
     functions measuring the label's lines in cytoscape's default font. */
  const measuring = document.createElement("canvas").getContext("2d");
  function labelSize(fontSize, isBold = () => false) {
    const lines = (node) => String(node.data("label") ?? "").split("\n");
    return {
      "width": (node) => {
        measuring.font = `${isBold(node) ? "bold " : ""}${fontSize}px "Helvetica Neue", Helvetica, sans-serif`;
        return Math.ceil(Math.max(...lines(node).map((line) => measuring.measureText(line).width))) + 2;
      },
      "height": (node) => Math.ceil(lines(node).length * fontSize * 1.25),
    };
  }

  return {api, showError, clearError, escapeHtml, params, setParams, setTwin, chart, disposeChart, theme,
          onKey, formatValue, poll, loadScripts, labelSize};
})();
