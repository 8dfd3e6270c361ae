/* keras_prov's lineage on the run page: the data (digests), code and environment, the runs the
   model derives from, the steps of the current epoch (live) and the system load. Every part is a
   request to /api/v1/executions/{exec}/lineage, /steps and /system; while the run is RUNNING they
   are asked again every 2 s. */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const execution = $("run").dataset.execution;
  const dataflow = DFA.params().get("dataflow") || "";
  const base = `/api/v1/executions/${encodeURIComponent(execution)}`;
  const scope = dataflow ? `dataflow=${encodeURIComponent(dataflow)}&` : "";
  const POINTS = 500;
  const esc = DFA.escapeHtml;
  let stepCharts = [], systemCharts = [], stepsEpoch = DFA.params().get("steps_epoch") || "last";

  const short = digest => digest ? `<code title="sha256 ${esc(digest)}">${esc(digest.slice(0, 12))}…</code>` : "";
  const runLink = run => `<a href="/runs/${encodeURIComponent(run.execution)}?dataflow=${encodeURIComponent(run.dataflow)}">` +
    `${esc(run.execution)}</a> <span class="muted">(${esc(run.dataflow)}, task ${esc(run.task)}, ${esc(run.status || "")})</span>`;

  function drawData(rows, steps) {
    if (!rows.length) return;
    const head = ["use", "argument", "kind", "digest of", "sha256", "shape / spec", "dtype", "samples", "validation split", ""];
    $("lineage-data").innerHTML = `<div class="table-wrap"><table class="data" id="lineage-data-table"><thead><tr>${head.map(h => `<th class="text">${esc(h)}</th>`).join("")}</tr></thead><tbody>` +
      rows.map(r => `<tr><td class="text">${esc(r.use)}</td><td class="text">${esc(r.argument)}</td><td class="text">${esc(r.kind)}</td>` +
        `<td class="text">${esc(r.digest_kind)}${r.digest_kind === "partial" ? ` <span class="muted">(${esc(DFA.formatValue(r.batches_hashed))} batches)</span>` : ""}</td>` +
        `<td class="text">${short(r.sha256)}</td><td class="text">${esc(r.shape || r.element_spec || "")}${r.cardinality !== null && r.cardinality !== undefined ? ` · ${esc(DFA.formatValue(r.cardinality))} batches` : ""}</td>` +
        `<td class="text">${esc(r.dtype || "")}</td><td>${esc(DFA.formatValue(r.samples))}</td><td>${esc(DFA.formatValue(r.validation_split))}</td>` +
        `<td class="text">${r.runs_using ? `<a href="${r.runs_using}">runs with this data</a>` : ""}</td></tr>`).join("") + "</tbody></table></div>" +
      steps.map(s => `<div class="data-step">${esc(s.use)} data from the DLProv step <strong>${esc(s.step_transformation)}</strong> ` +
        `(task ${esc(s.step_task)} of <a href="/runs/${encodeURIComponent(s.step_execution)}?dataflow=${encodeURIComponent(s.step_dataflow)}">${esc(s.step_execution)}</a>): ` +
        `${esc([...new Set(s.outputs.map(o => o.set))].join(", ") || "no output stored")}</div>`).join("");
  }

  function drawCode(code, texts) {
    if (!Object.keys(code).length) return;
    const text = kind => texts.find(t => t.kind === kind);
    const download = (kind, label) => text(kind) ? ` <a href="${text(kind).url}" download>${label}</a>` : "";
    const rows = [
      ["script", code.script_path ? `${esc(code.script_path)} ${short(code.script_sha256)}${download("script", "view")}` : null],
      ["notebook cell", code.cell_sha256 ? `${esc(code.notebook || "")} ${short(code.cell_sha256)}${download("cell", "view")}` : null],
      ["git commit", code.git_commit ? `<code>${esc(code.git_commit)}</code> on ${esc(code.git_branch || "?")}` : null],
      ["working tree", code.git_dirty ? (code.git_dirty === "true"
        ? `dirty: diff ${short(code.git_diff_sha256)} (${esc(DFA.formatValue(code.git_diff_bytes))} bytes)${download("git_diff", "diff")}`
        : "clean") : null],
      ["command line", code.command_line ? `<code>${esc(code.command_line)}</code>` : null],
      ["python", esc(code.python_version || "")],
      ["packages", code.packages_sha256 ? `${esc(DFA.formatValue(code.packages_count))} ${short(code.packages_sha256)}${download("packages", "list")}` : null],
    ].filter(([, v]) => v);
    $("lineage-code").innerHTML = `<table class="kv" id="lineage-code-table">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</table>`;
  }

  function drawDerivation(answer) {
    const weights = answer.weights[answer.weights.length - 1];
    if (!weights && !answer.derived_from.length) return;
    const parts = [];
    parts.push(answer.derived_from.length
      ? `<div id="derived-from">Started from the model of ${answer.derived_from.map(runLink).join(", ")}</div>`
      : `<div class="muted" id="derived-from">Started from weights no recorded run produced</div>`);
    if (answer.derived_into.length) parts.push(`<div id="derived-into">Continued by ${answer.derived_into.map(runLink).join(", ")}</div>`);
    if (weights) parts.push(`<table class="kv"><tr><th>initial weights</th><td>${short(weights.initial_weights_sha256)}</td></tr>` +
      `<tr><th>trained weights</th><td>${short(weights.trained_weights_sha256)}</td></tr></table>`);
    $("lineage-derivation").innerHTML = parts.join("");
  }

  function lineChart(element, title, xType, xName, series, marks) {
    return DFA.chart(element, instance => instance.setOption({
      animation: false,
      title: {text: title, left: 8, top: 4, textStyle: {fontSize: 13}},
      tooltip: {trigger: "axis", valueFormatter: v => DFA.formatValue(v)},
      legend: {top: 4, right: 8},
      grid: {left: 70, right: 20, top: 36, bottom: 40},
      xAxis: {type: xType, name: xName, nameLocation: "middle", nameGap: 24, scale: true},
      yAxis: {type: "value", scale: true},
      series: series.map(([name, data], index) => ({name, type: "line", showSymbol: data.length < 60, symbolSize: 4, data,
        markLine: index === 0 && marks ? {symbol: "none", silent: true, lineStyle: {type: "dashed"}, data: marks} : undefined})),
    }));
  }

  function redraw(list, box, specs) {
    list.forEach(entry => DFA.disposeChart(entry));
    box.innerHTML = "";
    return specs.map(spec => {
      const element = document.createElement("div");
      element.className = "chart";
      element.dataset.metrics = spec.series.map(([name]) => name).join(",");
      box.appendChild(element);
      return lineChart(element, spec.title, spec.xType, spec.xName, spec.series, spec.marks);
    });
  }

  function drawSteps(answer) {
    if (!answer.metrics.length || answer.epochs[1] === null) return;
    $("run-steps").hidden = false;
    const select = $("steps-epoch");
    const epochs = [];
    for (let e = answer.epochs[0]; e <= answer.epochs[1]; e++) epochs.push(e);
    const wanted = ["last", ...epochs.map(String)];
    if (select.options.length !== wanted.length) {
      select.innerHTML = wanted.map(e => `<option value="${e}">${e === "last" ? "current" : e}</option>`).join("");
    }
    select.value = stepsEpoch;
    $("steps-info").textContent = `epoch ${DFA.formatValue(answer.epoch)} · ${answer.total} rows` +
      (answer.downsampled ? `, drawn as at most ${POINTS} points per curve` : "");
    const groups = new Map();
    for (const metric of answer.metrics) {
      const name = metric.startsWith("val_") ? metric.slice(4) : metric;
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push([metric, answer.series[metric] || []]);
    }
    const specs = [...groups.entries()].map(([name, series]) => ({title: `${name} by step`, xType: "value", xName: "step", series}));
    if (stepCharts.length === specs.length) {
      specs.forEach((spec, index) => stepCharts[index].instance.setOption({series: spec.series.map(([, data]) => ({data}))}));
    } else {
      stepCharts = redraw(stepCharts, $("steps-charts"), specs);
    }
  }

  const SYSTEM_GROUPS = [
    ["CPU %", ["process_cpu_percent", "cpu_percent"]],
    ["memory (MB)", ["process_rss_bytes", "memory_used_bytes"]],
    ["GPU %", ["gpu_utilization_percent"]],
    ["GPU memory (MB)", ["gpu_memory_used_bytes"]],
  ];
  const inMegabytes = (metric, data) => metric.endsWith("_bytes") ? data.map(([x, y]) => [x, y === null ? null : y / 1e6]) : data;

  function drawSystem(answer) {
    const specs = SYSTEM_GROUPS.map(([title, metrics]) => ({
      title, xType: "time", xName: "time (dashed: epoch starts)",
      series: metrics.filter(m => (answer.series[m] || []).length).map(m => [m.replace(/_bytes$/, "_mb"), inMegabytes(m, answer.series[m])]),
      marks: (answer.epoch_marks || []).map(([epoch, stamp]) => ({xAxis: stamp, label: {formatter: `epoch ${epoch}`, fontSize: 10}})),
    })).filter(spec => spec.series.length);
    if (!specs.length) return;
    $("run-system").hidden = false;
    $("system-info").textContent = `${answer.total} samples`;
    if (systemCharts.length === specs.length) {
      specs.forEach((spec, index) => systemCharts[index].instance.setOption({series: spec.series.map(([, data]) => ({data}))}));
    } else {
      systemCharts = redraw(systemCharts, $("system-charts"), specs);
    }
  }

  async function load() {
    const [lineage, steps, system] = await Promise.all([
      DFA.api(`${base}/lineage?${scope.slice(0, -1)}`, {key: "lineage"}),
      DFA.api(`${base}/steps?${scope}points=${POINTS}&epoch=${encodeURIComponent(stepsEpoch)}`, {key: "steps"}),
      DFA.api(`${base}/system?${scope}points=${POINTS}`, {key: "system"}),
    ]);
    drawData(lineage.data, lineage.data_steps || []);
    drawCode(lineage.code, lineage.texts);
    drawDerivation(lineage);
    drawSteps(steps);
    drawSystem(system);
    document.dispatchEvent(new Event("dfa:lineage-drawn"));
  }

  $("steps-epoch").addEventListener("change", event => {
    stepsEpoch = event.target.value;
    DFA.setParams({steps_epoch: stepsEpoch === "last" ? null : stepsEpoch});
    load();
  });
  let wasRunning = false;   // one more load after the run ends: its last rows
  const wanted = () => {
    const running = $("run-status").textContent === "RUNNING";
    const wanted = running || wasRunning;
    wasRunning = running;
    return wanted;
  };
  load().catch(() => {}).finally(() => DFA.poll(load, 2000, wanted));
})();
