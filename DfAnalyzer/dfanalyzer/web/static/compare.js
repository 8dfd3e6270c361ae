/* Any number of runs: a table of what differs (hyperparameters, adaptations, layers, results) and
   one chart per metric with every run's curve, hover showing all of them at that epoch. */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const params = DFA.params();
  const runs = (params.get("runs") || "").split(",").filter(Boolean);
  let answer = null;

  const GROUP_LABELS = {run: "run", hyperparameter: "hyperparameter", adaptation: "adaptation", steering: "steering",
                        layer: "layer", final: "final metric", test: "test metric", data: "data", code: "code",
                        environment: "environment"};

  function colors() {
    const palette = ["#2463eb", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#29335c", "#db2b39", "#4caf50",
                     "#ff7f0e", "#00bcd4", "#795548", "#e91e63"];
    return answer.runs.map((_, i) => i < palette.length ? palette[i] : `hsl(${(i * 137.5) % 360} 65% 50%)`);
  }

  function drawTable() {
    const showAll = DFA.params().get("all") === "1";
    $("diff").checked = !showAll;
    const rows = answer.rows.filter(row => showAll || row.differs || row.group === "run");
    const runColors = colors();
    const head = `<thead><tr><th class="text">group</th><th class="text">name</th>${answer.runs.map((r, i) =>
      `<th class="text"><span style="color:${runColors[i]}">■</span> <a href="/runs/${encodeURIComponent(r.execution)}?dataflow=${encodeURIComponent(r.dataflow)}">${DFA.escapeHtml(r.execution)}</a></th>`).join("")}</tr></thead>`;
    const body = rows.map(row => `<tr data-name="${DFA.escapeHtml(row.name)}" data-group="${row.group}" class="${row.differs ? "differs" : ""}">` +
      `<td class="text muted">${GROUP_LABELS[row.group] || row.group}</td><td class="text">${DFA.escapeHtml(row.name)}</td>` +
      row.values.map(v => `<td class="${typeof v === "number" ? "" : "text"}">${DFA.escapeHtml(DFA.formatValue(v))}</td>`).join("") + "</tr>").join("");
    $("comparison").innerHTML = head + `<tbody>${body}</tbody>`;
    const differing = answer.rows.filter(r => r.differs && r.group !== "run").length;
    $("compare-info").textContent = `${answer.runs.length} runs · ${differing} of ${answer.rows.length - 2} rows differ`;
  }

  function drawCharts() {
    const box = $("charts");
    box.innerHTML = "";
    const runColors = colors();
    for (const metric of answer.metrics) {
      const element = document.createElement("div");
      element.className = "chart";
      element.dataset.metric = metric;
      box.appendChild(element);
      DFA.chart(element, instance => instance.setOption({
        animation: false,
        title: {text: metric, left: 8, top: 4, textStyle: {fontSize: 13}},
        tooltip: {trigger: "axis", valueFormatter: v => DFA.formatValue(v), confine: true},
        legend: {type: "scroll", top: 24, left: 8, right: 8},
        grid: {left: 60, right: 20, top: 56, bottom: 48},
        xAxis: {type: "value", name: "epoch", nameLocation: "middle", nameGap: 24, minInterval: 1, scale: true},
        yAxis: {type: "value", scale: true},
        dataZoom: [{type: "inside", filterMode: "none"}],
        color: runColors,
        series: answer.runs.map(run => ({
          name: run.execution, type: "line", showSymbol: (answer.series[metric][run.execution] || []).length === 1, data: answer.series[metric][run.execution] || [],
          step: metric.includes("learning_rate") ? "end" : false,
        })),
      }));
    }
  }

  function drawChips() {
    $("run-chips").innerHTML = answer.runs.map((r, i) =>
      `<span class="chip"><span style="color:${colors()[i]}">■</span> ${DFA.escapeHtml(r.execution)}` +
      `<button type="button" data-remove="${DFA.escapeHtml(r.execution)}" title="remove from the comparison">×</button></span>`).join("");
  }

  $("diff").addEventListener("change", e => { DFA.setParams({all: !e.target.checked}); drawTable(); });
  $("run-chips").addEventListener("click", e => {
    const run = e.target.dataset.remove;
    if (!run) return;
    DFA.setParams({runs: runs.filter(r => r !== run).join(",")});
    location.reload();
  });

  async function start() {
    if (!runs.length) { $("empty").classList.remove("hidden"); return; }
    const url = document.body.dataset.compareUrl;   // named (and preloaded) by the page
    DFA.setTwin(url);
    try { answer = await DFA.api(url, {key: "compare"}); } catch (_) { return; }
    drawChips();
    drawTable();
    document.dispatchEvent(new CustomEvent("dfa:compared", {detail: answer}));   // compare_lineage.js
    drawCharts();
  }
  start();
})();
