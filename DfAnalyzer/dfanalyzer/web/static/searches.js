/* Every tuner search (KerasTuner, Optuna), newest first; live while one runs. */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const URL_ALL = "/api/v1/searches";
  let searches = [];
  const COLUMNS = [
    ["search_id", "search", "text"], ["dataflow", "dataflow", "text"], ["tuner", "tuner", "text"],
    ["oracle", "oracle / sampler", "text"], ["objective", "objective", "text"], ["direction", "direction", "text"],
    ["status", "status", "text"], ["trials", "trials", "number"], ["trial_statuses", "by status", "text"],
    ["best_score", "best score", "number"], ["started", "started", "time"], ["ended", "ended", "time"]];

  function cell(search, [key, , type]) {
    const value = search[key];
    if (key === "search_id") return `<a href="/searches/${encodeURIComponent(value)}">${DFA.escapeHtml(value)}</a>`;
    if (key === "status") return `<span class="status status-${DFA.escapeHtml(value)}">${DFA.escapeHtml(value)}</span>`;
    if (key === "trial_statuses") return DFA.escapeHtml(Object.entries(value || {}).map(([s, n]) => `${n} ${s}`).join(", "));
    return DFA.escapeHtml(DFA.formatValue(value, type));
  }

  function draw() {
    const text = $("filter").value.toLowerCase();
    DFA.setParams({q: text || null});
    const shown = searches.filter(s => !text || JSON.stringify(s).toLowerCase().includes(text));
    $("searches").querySelector("thead").innerHTML =
      `<tr>${COLUMNS.map(([, label, type]) => `<th class="${type === "text" ? "text" : ""}">${label}</th>`).join("")}</tr>`;
    $("searches").querySelector("tbody").innerHTML = shown.map(s =>
      `<tr data-search="${DFA.escapeHtml(s.search_id)}">${COLUMNS.map(c =>
        `<td class="${c[2] === "text" ? "text" : ""}">${cell(s, c)}</td>`).join("")}</tr>`).join("");
    $("searches-info").textContent = `${shown.length} of ${searches.length} searches`;
    $("no-searches").hidden = searches.length > 0;
  }

  async function load() {
    searches = await DFA.api(URL_ALL, {key: "searches"});
    draw();
  }

  $("filter").value = DFA.params().get("q") || "";
  $("filter").addEventListener("input", draw);
  DFA.setTwin(URL_ALL);
  load();
  DFA.poll(load, 3000, () => searches.some(s => s.status === "RUNNING"));
})();
