/* One tuner search: its settings and search space, the best score so far against the trial
   number, the score against one tuned value, and the trials (tuned values, status, score,
   duration, Hyperband's continuations, pruning) with links to their runs. State in the URL:
   `x` (the tuned value of the scatter), `sort`/`desc` and `q` (the trials table). */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const url = document.body.dataset.searchUrl;
  let search = null, bestChart = null, scatterChart = null;

  const runUrl = run => `/runs/${encodeURIComponent(run)}?dataflow=${encodeURIComponent(search.dataflow)}`;
  const shortTrial = id => id ? id.slice(search.search_id.length + 1) : "";
  const lowerIsBetter = () => (search.direction || "min").split(",")[0] === "min";
  const tunedNames = () => {
    const names = search.search_space.map(entry => entry.name);
    for (const trial of search.trials) for (const name of Object.keys(trial.values)) {
      if (!names.includes(name) && !name.startsWith("tuner/")) names.push(name);
    }
    return names;
  };
  const hyperband = () => search.trials.some(t => t.bracket !== null && t.bracket !== undefined);

  function columns() {
    const base = [
      {key: "number", label: "#", value: t => t.number},
      {key: "trial", label: "trial", text: true, value: t => shortTrial(t.trial_id),
       html: t => `<a href="${runUrl((t.runs[0] || {}).execution || "")}">${DFA.escapeHtml(shortTrial(t.trial_id))}</a>`},
      {key: "status", label: "status", text: true, value: t => t.status,
       html: t => `<span class="status status-${DFA.escapeHtml(t.status)}" title="${DFA.escapeHtml(t.message || "")}">${DFA.escapeHtml(t.status)}</span>`},
      {key: "score", label: `score (${search.objective || "value"})`, value: t => t.score},
    ];
    const tuned = tunedNames().map(name => ({key: `v:${name}`, label: name, group: "tuned", value: t => t.values[name],
                                             text: typeof (search.trials.find(t => t.values[name] !== undefined) || {values: {}}).values[name] === "string"}));
    const band = hyperband() ? [
      {key: "epochs", label: "tuner/epochs", value: t => t.epochs},
      {key: "initial_epoch", label: "tuner/initial_epoch", value: t => t.initial_epoch},
      {key: "bracket", label: "bracket", value: t => t.bracket},
      {key: "round", label: "round", value: t => t.round},
      {key: "continues", label: "continues", text: true, value: t => shortTrial(t.continues_trial),
       html: t => t.continues_trial ? `<a href="#trial-${encodeURIComponent(t.continues_trial)}" class="continues">← ${DFA.escapeHtml(shortTrial(t.continues_trial))}</a>` : ""},
    ] : [];
    const pruning = search.trials.some(t => t.pruned_epoch !== null && t.pruned_epoch !== undefined) ?
      [{key: "pruned_epoch", label: "pruned at epoch", value: t => t.pruned_epoch}] : [];
    return [...base, ...tuned, ...band, ...pruning,
      {key: "duration", label: "duration (s)", value: t => t.duration},
      {key: "runs", label: "runs", text: true, value: t => t.runs.map(r => r.execution).join(" "),
       html: t => t.runs.map((r, i) => `<a href="${runUrl(r.execution)}" title="${DFA.escapeHtml(r.execution)}">` +
         `${t.runs.length > 1 ? `e${i + 1}` : "run"}</a> <span class="muted">${DFA.escapeHtml(r.status || "")}` +
         `${r.epochs !== null && r.epochs !== undefined ? ` · ${r.epochs} ep` : ""}</span>`).join("<br>")},
      {key: "message", label: "message", text: true, value: t => t.message || ""}];
  }

  function drawSettings() {
    $("search-status").textContent = search.status;
    $("search-status").className = `status status-${search.status}`;
    const fields = [["library", `${search.library} ${search.library_version || ""}`], ["dataflow", search.dataflow],
      ["tuner", search.tuner], ["oracle / sampler", search.oracle], ["pruner", search.pruner], ["project / study", search.project],
      ["objective", `${search.objective || ""} (${search.direction || ""})`], ["max trials", search.max_trials],
      ["executions per trial", search.executions_per_trial], ["started", search.started], ["ended", search.ended],
      ["best trial", search.best_trial ? shortTrial(search.best_trial) : ""], ["best score", search.best_score]]
      .filter(([, value]) => value !== null && value !== undefined && value !== "");
    const space = search.search_space.map(entry => {
      const range = entry.values || entry.choices ? `{${(entry.values || entry.choices).join(", ")}}` :
        entry.min_value !== undefined ? `[${entry.min_value}, ${entry.max_value}]` :
        entry.low !== undefined ? `[${entry.low}, ${entry.high}]` : (entry.value !== undefined ? `= ${entry.value}` : "");
      const extra = ["step", "sampling", "log", "default"].filter(k => entry[k] !== undefined && entry[k] !== null && entry[k] !== false)
        .map(k => `${k} ${entry[k]}`).join(", ");
      return `<li><strong>${DFA.escapeHtml(entry.name)}</strong> ${DFA.escapeHtml(entry.type)} ${DFA.escapeHtml(range)}` +
        `${extra ? ` <span class="muted">${DFA.escapeHtml(extra)}</span>` : ""}</li>`;
    }).join("");
    $("search-settings").innerHTML = `<div class="grid" style="grid-template-columns: 1fr 1fr">` +
      `<dl class="facts">${fields.map(([k, v]) => `<dt>${DFA.escapeHtml(k)}</dt><dd>${DFA.escapeHtml(DFA.formatValue(v))}</dd>`).join("")}</dl>` +
      `<div><strong>Search space</strong><ul class="space">${space || "<li class=muted>not declared up front</li>"}</ul></div></div>`;
    const filter = `in=${encodeURIComponent(`hp:search_id=${search.search_id}`)}`;
    $("open-runs").href = `/?dataflow=${encodeURIComponent(search.dataflow)}&${filter}`;
    $("open-analysis").href = `/analysis?dataflow=${encodeURIComponent(search.dataflow)}&${filter}`;
    $("prov-link").href = `${search.prov}?format=provn`;
  }

  function drawBest(chart) {
    const scored = search.trials.filter(t => t.score !== null && t.score !== undefined);
    chart.setOption({
      animation: false, tooltip: {trigger: "item", valueFormatter: v => DFA.formatValue(v)},
      legend: {top: 0, right: 8}, grid: {left: 60, right: 20, top: 30, bottom: 40},
      xAxis: {type: "value", name: "trial", nameLocation: "middle", nameGap: 24, minInterval: 1},
      yAxis: {type: "value", scale: true, name: search.objective || "score"},
      series: [
        {name: "best so far", type: "line", step: "end", showSymbol: search.best_so_far.length <= 1, symbolSize: 6,
         data: search.best_so_far.map(p => [p.number, p.best])},
        {name: "trial score", type: "scatter", symbolSize: 8,
         data: scored.map(t => ({value: [t.number, t.score], trial: t}))},
      ],
    }, true);
  }

  function drawScatter(chart) {
    const name = $("x").value;
    const points = search.trials.filter(t => t.score !== null && t.score !== undefined && t.values[name] !== undefined);
    const numeric = points.every(t => typeof t.values[name] === "number");
    chart.setOption({
      animation: false, tooltip: {trigger: "item", formatter: p => `${DFA.escapeHtml(shortTrial(p.data.trial.trial_id))}: ` +
        `${DFA.escapeHtml(name)}=${DFA.escapeHtml(String(p.data.value[0]))}, score ${DFA.formatValue(p.data.value[1])}`},
      grid: {left: 60, right: 20, top: 20, bottom: 40},
      xAxis: numeric ? {type: "value", scale: true, name, nameLocation: "middle", nameGap: 24}
                     : {type: "category", name, nameLocation: "middle", nameGap: 24,
                        data: [...new Set(points.map(t => String(t.values[name])))].sort()},
      yAxis: {type: "value", scale: true, name: search.objective || "score"},
      series: [{type: "scatter", symbolSize: 9,
                data: points.map(t => ({value: [numeric ? t.values[name] : String(t.values[name]), t.score], trial: t}))}],
    }, true);
  }

  function openTrialRun(params) {
    const run = params.data && params.data.trial && params.data.trial.runs[0];
    if (run) location.href = runUrl(run.execution);
  }

  function drawTrials() {
    const p = DFA.params();
    const sort = p.get("sort") || "number", desc = p.get("desc") === "1", text = (p.get("q") || "").toLowerCase();
    const cols = columns();
    const column = cols.find(c => c.key === sort) || cols[0];
    const trials = search.trials.filter(t => !text || JSON.stringify(t).toLowerCase().includes(text));
    trials.sort((a, b) => {
      const x = column.value(a), y = column.value(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (desc ? -1 : 1);
    });
    $("trials").querySelector("thead").innerHTML = `<tr>${cols.map(c =>
      `<th data-key="${DFA.escapeHtml(c.key)}" class="${c.text ? "text" : ""} ${c.key === column.key ? `sorted${desc ? "" : " asc"}` : ""}">` +
      `${c.group ? `<span class="group">${c.group}</span>` : ""}${DFA.escapeHtml(c.label)}</th>`).join("")}</tr>`;
    $("trials").querySelector("tbody").innerHTML = trials.map(t =>
      `<tr id="trial-${DFA.escapeHtml(t.trial_id)}" data-trial="${DFA.escapeHtml(t.trial_id)}" class="${t.trial_id === search.best_trial ? "best" : ""}">` +
      cols.map(c => `<td class="${c.text ? "text" : ""}">${c.html ? c.html(t) : DFA.escapeHtml(DFA.formatValue(c.value(t)))}</td>`).join("") +
      "</tr>").join("");
    const counts = {};
    search.trials.forEach(t => { counts[t.status] = (counts[t.status] || 0) + 1; });
    $("trials-info").textContent = `— ${trials.length} of ${search.trials.length}: ` +
      Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ") + " · click a trial to open its run";
  }

  function drawAll() {
    drawSettings();
    const names = tunedNames();
    const chosen = DFA.params().get("x") || $("x").value || names[0] || "";
    $("x").innerHTML = names.map(n => `<option${n === chosen ? " selected" : ""}>${DFA.escapeHtml(n)}</option>`).join("");
    if (bestChart) bestChart.draw(bestChart.instance); else {
      bestChart = DFA.chart($("best-chart"), drawBest);
      bestChart.instance.on("click", openTrialRun);
    }
    if (scatterChart) scatterChart.draw(scatterChart.instance); else {
      scatterChart = DFA.chart($("scatter"), drawScatter);
      scatterChart.instance.on("click", openTrialRun);
    }
    drawTrials();
  }

  async function load() {
    search = await DFA.api(url, {key: "search"});
    drawAll();
  }

  $("trials").querySelector("thead").addEventListener("click", event => {
    const th = event.target.closest("th");
    if (!th) return;
    const p = DFA.params();
    const same = (p.get("sort") || "number") === th.dataset.key;
    DFA.setParams({sort: th.dataset.key, desc: same && p.get("desc") !== "1" ? "1" : null});
    drawTrials();
  });
  $("trials").querySelector("tbody").addEventListener("click", event => {
    if (event.target.closest("a")) return;
    const row = event.target.closest("tr");
    const trial = row && search.trials.find(t => t.trial_id === row.dataset.trial);
    if (trial && trial.runs.length) location.href = runUrl(trial.runs[0].execution);
  });
  $("x").addEventListener("change", () => { DFA.setParams({x: $("x").value}); scatterChart.draw(scatterChart.instance); });
  DFA.setTwin(url);
  load();
  DFA.poll(load, 3000, () => search && search.status === "RUNNING");
})();
