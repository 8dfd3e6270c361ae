/* One run: curves (downsampled by the service, detail fetched on zoom), epochs table, details,
   steering. While the run is RUNNING, rows stored since the last cursor are appended every second;
   a LOST run (its process went silent) is not polled. */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const execution = $("run").dataset.execution;
  const dataflow = DFA.params().get("dataflow") || "";
  const base = `/api/v1/executions/${encodeURIComponent(execution)}`;
  const scope = dataflow ? `dataflow=${encodeURIComponent(dataflow)}&` : "";
  const POINTS = 1000, PAGE = 100;
  let summary = null, curves = null, cursor = 0, status = null, epochCount = 0;
  let zoom = parseZoom(DFA.params().get("zoom"));
  let epochPage = null;   // the epochs table's answer
  let steering = null;    // GET .../steering: can the caller steer, is the process listening, the log
  const charts = [];      // {group: [metrics], entry}

  function parseZoom(text) {
    const [start, end] = (text || "").split(":").map(Number);
    return Number.isFinite(start) && Number.isFinite(end) ? {start, end} : null;
  }

  /* Metrics drawn together: loss with val_loss; the learning rate alone, on its own axis. */
  function groups(metrics) {
    const byBase = new Map();
    for (const metric of metrics) {
      const name = metric.startsWith("val_") ? metric.slice(4) : metric;
      if (!byBase.has(name)) byBase.set(name, []);
      byBase.get(name).push(metric);
    }
    return [...byBase.entries()].sort(([a], [b]) => (a === "learning_rate") - (b === "learning_rate"));
  }

  /* Automatic adaptations dashed; steering actions (a person's) solid, with who and what. */
  function adaptationMarks() {
    const automatic = (summary?.adaptations || []).filter(a => a.epoch !== null && a.cause !== "user").map(a => ({
      xAxis: a.epoch, label: {formatter: `${a.cause || "change"}: ${DFA.formatValue(a.old_learning_rate)} → ${DFA.formatValue(a.new_learning_rate)}`,
        position: "insideEndTop", fontSize: 10}}));
    const steered = (steering?.actions || []).filter(a => a.state === "applied" && a.applied_epoch !== null).map(a => ({
      xAxis: a.applied_epoch, name: `steering-${a.id}`,
      lineStyle: {type: "solid", color: "#d9480f", width: 1.5},
      label: {formatter: `${a.actor}: ${steeringText(a)}`, position: "insideEndBottom", fontSize: 10, color: "#d9480f"}}));
    return automatic.concat(steered);
  }

  function steeringText(a) {
    if (a.action === "set_learning_rate") {
      return a.old_value !== null ? `lr ${DFA.formatValue(a.old_value)} → ${DFA.formatValue(a.new_value)}` : `lr → ${DFA.formatValue(a.value)}`;
    }
    return {stop: "stop", stop_now: "stop now", note: "note"}[a.action] || a.action;
  }

  /* Where each fit after the first begins, when the model was fitted more than once (fine-tuning). */
  function stageMarks() {
    const stages = summary?.stages || [];
    return stages.length < 2 ? [] : stages.slice(1).filter(s => s.first_epoch !== null).map(s => ({
      xAxis: s.first_epoch, lineStyle: {type: "solid", color: "#888"},
      label: {formatter: `stage ${s.stage}`, position: "insideStartTop", fontSize: 10}}));
  }

  function chartOption(name, metrics) {
    return {
      animation: false,
      title: {text: name, left: 8, top: 4, textStyle: {fontSize: 13}},
      tooltip: {trigger: "axis", valueFormatter: v => DFA.formatValue(v)},
      legend: {top: 4, right: 8},
      grid: {left: 60, right: 20, top: 36, bottom: 56},
      xAxis: {type: "value", name: "epoch", nameLocation: "middle", nameGap: 24, minInterval: 1, scale: true},
      yAxis: {type: "value", scale: true},
      dataZoom: [{type: "inside", filterMode: "none"}, {type: "slider", height: 16, bottom: 6, filterMode: "none"}],
      series: metrics.map((metric, index) => ({
        name: metric, type: "line", showSymbol: lonePoint(curves.series[metric]), symbolSize: 4,
        step: metric.includes("learning_rate") ? "end" : false,
        data: curves.series[metric] || [],
        markLine: index === 0 ? {symbol: "none", silent: true, lineStyle: {type: "dashed"}, data: [...stageMarks(), ...adaptationMarks()]} : undefined,
      })),
    };
  }

  /* A line of one point draws nothing: a run of one epoch (a pruned trial, Hyperband's first
     rung) shows its point as a symbol. */
  function lonePoint(points) {
    return (points || []).length === 1;
  }

  function applyZoom(instance) {
    if (zoom) instance.dispatchAction({type: "dataZoom", startValue: zoom.start, endValue: zoom.end});
  }

  /* Resolves after the browser has painted what is drawn so far (at once in a hidden tab). */
  const afterPaint = () => new Promise(resolve =>
    document.hidden ? resolve() : requestAnimationFrame(() => setTimeout(resolve)));

  /* One chart per group, each painted before the next is built: the first curves show after a
     third of the work, and no single task blocks the page for long. A newer call stops an older. */
  let drawing = 0;
  async function drawCharts() {
    const generation = ++drawing;
    const box = $("charts");
    charts.forEach(c => DFA.disposeChart(c.entry));
    charts.length = 0;
    box.innerHTML = "";
    $("curve-info").textContent = curves.downsampled
      ? `${epochCount} epochs, drawn as at most ${POINTS} points per curve (min/max per bucket); zoom in for detail`
      : `${curves.total} epochs`;
    echarts.connect("run-curves");   // the charts of the group share zoom and hover
    const elements = groups(curves.metrics).map(([name, metrics]) => {
      const element = document.createElement("div");
      element.className = "chart";
      element.dataset.metrics = metrics.join(",");
      box.appendChild(element);
      return {name, metrics, element};
    });
    for (const [index, {name, metrics, element}] of elements.entries()) {
      if (index > 0) await afterPaint();
      if (generation !== drawing) return;
      const entry = DFA.chart(element, instance => {
        instance.setOption(chartOption(name, metrics));
        instance.group = "run-curves";
        applyZoom(instance);
        instance.on("datazoom", onZoom);
      });
      charts.push({metrics, entry});
    }
  }

  function setMarks() {
    for (const {entry} of charts) entry.instance.setOption({series: [{markLine: {data: adaptationMarks()}}]});
  }

  function setSeriesData() {
    for (const {metrics, entry} of charts) {
      entry.instance.setOption({series: metrics.map(metric => ({
        data: curves.series[metric] || [], showSymbol: lonePoint(curves.series[metric])}))});
    }
  }

  let zoomTimer = null;
  function onZoom() {
    clearTimeout(zoomTimer);
    zoomTimer = setTimeout(async () => {
      const option = charts[0]?.entry.instance.getOption();
      if (!option) return;
      const {startValue, endValue, start, end} = option.dataZoom[0];
      const full = start <= 0 && end >= 100;
      zoom = full ? null : {start: Math.floor(startValue), end: Math.ceil(endValue)};
      DFA.setParams({zoom: zoom ? `${zoom.start}:${zoom.end}` : null});
      if (curves.downsampled || curves.zoomed) await loadCurves(true);
    }, 300);
  }

  // The first requests are the ones the page names (and the browser has preloaded).
  const first = document.body.dataset;

  function seriesRequest(keepCharts, url) {
    const range = zoom && keepCharts ? `&start=${zoom.start}&end=${zoom.end}` : "";
    return DFA.api(url || `${base}/series?${scope}points=${POINTS}${range}`, {key: "series"});
  }

  /* Draws the curves of `pending` (a series request already under way) or of a new request. */
  async function loadCurves(keepCharts, pending) {
    const range = zoom && keepCharts ? `&start=${zoom.start}&end=${zoom.end}` : "";
    const answer = await (pending || seriesRequest(keepCharts));
    answer.zoomed = Boolean(range);
    curves = answer;
    cursor = Math.max(cursor, answer.cursor);
    if (keepCharts && charts.length) setSeriesData(); else await drawCharts();
  }

  function kvRows(object) {
    const entries = Object.entries(object || {});
    return entries.length ? entries.map(([k, v]) =>
      `<tr><th>${DFA.escapeHtml(k)}</th><td>${DFA.escapeHtml(DFA.formatValue(v))}</td></tr>`).join("")
      : `<tr><td class="muted">none recorded</td></tr>`;
  }

  function rowsTable(rows, columns) {
    if (!rows.length) return `<tr><td class="muted">none recorded</td></tr>`;
    columns = columns || Object.keys(rows[0]);
    return `<thead><tr>${columns.map(c => `<th class="text">${DFA.escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>` +
      rows.map(r => `<tr>${columns.map(c => `<td class="${typeof r[c] === "number" ? "" : "text"}">${DFA.escapeHtml(DFA.formatValue(r[c]))}</td>`).join("")}</tr>`).join("") + "</tbody>";
  }

  function drawSummary() {
    const s = summary;
    status = s.status;
    $("run-status").textContent = s.status;
    $("run-status").className = `status status-${s.status}`;
    $("run-status").title = s.last_heard ? `its training process was last heard of at ${s.last_heard} UTC` : "";
    const seconds = s.start && s.end ? (new Date(s.end) - new Date(s.start)) / 1000 : null;
    $("run-facts").textContent = ` · ${s.dataflow} · started ${DFA.formatValue(s.start, "time")}` +
      (seconds !== null ? ` · ${seconds.toFixed(1)} s` : "");
    // A task its user interrupted (Ctrl-C) is no failure: said in grey, as a pruned run is.
    const failures = s.errors.filter(e => e.status !== "ABORTED"), aborted = s.errors.find(e => e.status === "ABORTED");
    $("run-errors").innerHTML = failures.map(e => `<div class="error"><strong>${DFA.escapeHtml(e.transformation)} ${DFA.escapeHtml(e.status)}</strong>${DFA.escapeHtml(e.error || "no message recorded")}</div>`).join("") +
      (aborted ? `<p class="muted" id="run-aborted">${DFA.escapeHtml(aborted.transformation)} was interrupted by its user (${DFA.escapeHtml(aborted.error || "no message recorded")}).</p>` : "") +
      (s.pruned ? `<p class="muted" id="run-pruned">A tuner pruned this run on purpose: ${DFA.escapeHtml(s.pruned)}</p>` : "");
    if (s.hyperparameters && s.hyperparameters.search_id) {
      $("run-facts").innerHTML += ` · <a href="/searches/${encodeURIComponent(s.hyperparameters.search_id)}">search</a>`;
    }
    $("hyperparameters").innerHTML = kvRows(s.hyperparameters);
    $("test").innerHTML = kvRows(s.test);
    $("early-stopping").innerHTML = kvRows(s.early_stopping);
    const stages = s.stages || [];
    $("stages-panel").hidden = stages.length < 2;
    $("stages").innerHTML = rowsTable(stages.map(st => ({
      stage: st.stage, epochs: st.first_epoch === null ? null : `${DFA.formatValue(st.first_epoch)}–${DFA.formatValue(st.last_epoch)}`,
      "learning rate": st.learning_rate ?? null, "initial epoch": st.initial_epoch ?? null,
      "trainable params": st.trainable_params ?? null, status: st.status})));
    $("adaptations").innerHTML = rowsTable(s.adaptations.map(a => ({epoch: a.epoch, cause: a.cause, old: a.old_learning_rate, new: a.new_learning_rate})));
    $("layers").innerHTML = rowsTable(s.layers);
    $("models").innerHTML = s.models.length ? s.models.map(m =>
      `<div><a href="${m.url}" download>${DFA.escapeHtml(m.path.split("/").pop())}</a> · ${DFA.escapeHtml(m.format)} · ` +
      `${DFA.formatValue(m.size_bytes)} bytes<br><code title="sha256">sha256 ${DFA.escapeHtml(m.sha256)}</code></div>`).join("")
      : `<span class="muted">no model file stored</span>`;
    $("prov").innerHTML = s.prov.map(p => `<a class="chip" href="${p.url}" download>${DFA.escapeHtml(p.format)}</a>`).join("");
    $("agents").innerHTML = s.agents.map(a => `<h3 style="font-size:13px;margin:6px 0 2px">${DFA.escapeHtml(a.kind)}: ${DFA.escapeHtml(a.name)}</h3>` +
      `<table class="kv">${kvRows(a.properties)}</table>`).join("") || `<span class="muted">none recorded</span>`;
    const svg = $("graph-svg");
    if (svg) {
      svg.href = s.graph.svg;
      $("graph-png").href = s.graph.png;
      // Drawing the graph costs the service time: only when it comes into view.
      if (!$("graph-image").getAttribute("src")) {
        const watcher = new IntersectionObserver(entries => {
          if (!entries.some(e => e.isIntersecting)) return;
          watcher.disconnect();
          $("graph-image").src = s.graph.svg;
        });
        watcher.observe($("provenance-graph"));
      }
    }
  }

  /* Steering: the controls show only to a caller whose token may steer, on a RUNNING run whose
     process listens; the log lists every action asked and what the process did with it. */
  async function loadSteering() {
    const before = JSON.stringify(steering?.actions || []);
    steering = await DFA.api(`${base}/steering${scope ? "?" + scope.slice(0, -1) : ""}`, {key: "steering"});
    drawSteering();
    if (JSON.stringify(steering.actions) !== before && charts.length) setMarks();
  }

  function drawSteering() {
    const s = steering;
    const panel = $("steering");
    panel.hidden = !s.actions.length && !s.listening && s.status !== "LOST";
    $("steering-controls").hidden = !(s.can_steer && s.listening);
    const heard = s.last_heard ? DFA.formatValue(s.last_heard, "time") : null;
    $("steering-state").textContent = s.status === "LOST"
      ? `LOST: its training process was last heard of at ${heard}`
      : s.listening ? `the training process listens (last heard ${heard})`
        : s.status === "RUNNING" ? "this run's process does not listen for steering" : `run ${s.status}`;
    if (s.listening && !s.can_steer) $("steering-state").textContent += " · your token may read but not steer";
    $("steering-log").innerHTML = s.actions.length ? rowsTable(s.actions.slice().reverse().map(a => ({
      id: a.id, asked: DFA.formatValue(a.requested_at, "time"), by: a.actor, action: a.action,
      value: a.value, state: a.state, epoch: a.applied_epoch, note: a.note || "", result: a.message || (
        a.new_value !== null ? `${DFA.formatValue(a.old_value)} → ${DFA.formatValue(a.new_value)}` : "")})))
      : `<tr><td class="muted">no steering action asked</td></tr>`;
  }

  async function steer(action) {
    const body = {action, note: $("steering-note").value || null};
    if (action === "set_learning_rate") {
      body.value = Number($("steering-rate").value);
      if (!$("steering-rate").value || !(body.value > 0)) {
        DFA.showError("steering", "Give the new learning rate.", "a positive number, e.g. 0.001");
        return;
      }
    }
    if (action === "note" && !body.note) {
      DFA.showError("steering", "Write the note first.", "the note says why; it is recorded with the run");
      return;
    }
    const buttons = [...document.querySelectorAll("#steering-controls button")];
    buttons.forEach(b => b.disabled = true);
    try {
      await DFA.api(`${base}/steering${scope ? "?" + scope.slice(0, -1) : ""}`, {key: "steering", body});
      $("steering-note").value = "";
      await loadSteering();
    } finally {
      buttons.forEach(b => b.disabled = false);
    }
  }

  async function loadEpochs(offset, url) {
    const answer = await DFA.api(url || `${base}/epochs?${scope}offset=${offset}&limit=${PAGE}`, {key: "epochs"});
    epochPage = {...answer, offset};
    epochCount = answer.total;
    drawEpochs();
  }

  function drawEpochs() {
    const t = $("epochs");
    t.tHead.innerHTML = `<tr>${epochPage.columns.map(c => `<th>${DFA.escapeHtml(c)}</th>`).join("")}</tr>`;
    t.tBodies[0].innerHTML = epochPage.rows.map(row => `<tr>${row.map(v => `<td>${DFA.escapeHtml(DFA.formatValue(v))}</td>`).join("")}</tr>`).join("");
    const last = epochPage.offset + epochPage.rows.length;
    $("epochs-info").textContent = epochCount ? `${epochPage.offset + 1}–${last} of ${epochCount} epochs` : "no epoch stored yet";
    $("epochs-prev").disabled = epochPage.offset === 0;
    $("epochs-next").disabled = last >= epochCount;
  }

  /* Live: the rows stored since `cursor` join the curves and, on the last page, the table. */
  async function liveStep() {
    const answer = await DFA.api(`${base}/epochs?${scope}after=${cursor}&limit=${PAGE}`, {key: "live"});
    cursor = answer.cursor;
    epochCount = answer.total;
    if (answer.rows.length) {
      const columns = answer.columns;
      const epochIndex = columns.indexOf("epoch");
      for (const metric of curves.metrics) {
        const index = columns.indexOf(metric);
        const data = curves.series[metric] || (curves.series[metric] = []);
        for (const row of answer.rows) if (row[index] !== null) data.push([row[epochIndex], row[index]]);
      }
      curves.total += answer.rows.length;
      if (curves.total > 2 * POINTS && !curves.zoomed) await loadCurves(true); else setSeriesData();
      if (epochPage.offset + epochPage.rows.length >= epochCount - answer.rows.length) {
        // The table's page and the curves' cursor come from separate requests: a row the page
        // already holds may also be among those stored since the cursor.
        const shown = new Set(epochPage.rows.map(row => row[0]));
        const unseen = epochPage.columns[0] === "epoch" ? answer.rows.filter(row => !shown.has(row[0])) : answer.rows;
        epochPage.rows.push(...unseen);
        if (epochPage.rows.length > PAGE) {
          epochPage.offset += epochPage.rows.length - PAGE;
          epochPage.rows = epochPage.rows.slice(-PAGE);
        }
      }
      drawEpochs();
      if (!curves.downsampled) $("curve-info").textContent = `${epochCount} epochs`;
    }
    await loadSteering();
    if (answer.status !== status) {
      summary = await DFA.api(`${base}/summary?${scope.slice(0, -1)}`, {key: "summary"});
      drawSummary();
      if (!charts.length || !summary.metrics.every(m => curves.metrics.includes(m))) await loadCurves(false);
      else setMarks();   // adaptations recorded since the page loaded
    }
  }

  for (const button of document.querySelectorAll("#steering-controls button")) {
    button.addEventListener("click", () => steer(button.dataset.action).catch(() => {}));
  }
  $("steering-controls").addEventListener("submit", event => event.preventDefault());
  $("epochs-prev").addEventListener("click", () => loadEpochs(Math.max(0, epochPage.offset - PAGE)));
  $("epochs-next").addEventListener("click", () => loadEpochs(epochPage.offset + PAGE));
  $("zoom-reset").addEventListener("click", () => {
    zoom = null;
    DFA.setParams({zoom: null});
    charts.forEach(c => c.entry.instance.dispatchAction({type: "dataZoom", start: 0, end: 100}));
  });

  async function start() {
    DFA.setTwin(first.summaryUrl);
    const summaryRequest = DFA.api(first.summaryUrl, {key: "summary"});
    const curvesRequest = seriesRequest(Boolean(zoom), first.seriesUrl);
    const epochsRequest = loadEpochs(0, first.epochsUrl);
    const steeringRequest = loadSteering();
    steeringRequest.catch(() => {});
    curvesRequest.catch(() => {});
    epochsRequest.catch(() => {});
    try {
      summary = await summaryRequest;
    } catch (error) {
      // A run that is not stored yet (or a service that is down) is asked for again.
      if (!error.status || error.status === 404) setTimeout(start, 2000);
      return;
    }
    drawSummary();
    try {
      await Promise.all([steeringRequest.catch(() => {}), epochsRequest]);
      await loadCurves(Boolean(zoom), curvesRequest);
    } catch (error) {
      // The service went away between the first requests: the page is drawn again once it answers
      // (else its table and curves would stay empty, and their errors shown, for good).
      if (!error.status || error.status >= 500) setTimeout(start, 2000);
      return;
    } finally {
      document.dispatchEvent(new Event("dfa:run-drawn"));   // what waits for the page's layout may start
    }
    DFA.poll(liveStep, 1000, () => status === "RUNNING");
  }
  start();
})();
