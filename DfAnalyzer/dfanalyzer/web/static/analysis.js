/* Hyperparameter analysis: parallel coordinates over the hyperparameters (numeric and text) and a
   metric, a scatter of the metric against one hyperparameter, and the runs table, linked by brushes.
   A numeric brush is a range KEY:LOW:HIGH in the URL (`brush=`); a brush on a text axis chooses
   its values, one KEY=VALUE each (`in=`); both are the runs table's filters (`range=`, `in=`). */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const MAX_CATEGORIES = 50;     // a text hyperparameter with more distinct values gets no axis
  const NOT_AXES = new Set(["hp:trial_id"]);  // a tuner trial's id names a run, it does not describe one
  let table = null;              // every run with the analysed columns
  let parallel = null, scatter = null;
  let brushes = new Map();       // numeric column key -> [low, high]
  let choices = new Map();       // text column key -> Set of the values brushed

  function state() {
    const p = DFA.params();
    return {dataflow: p.get("dataflow") || "", metric: p.get("metric") || "", x: p.get("x") || "",
            mode: p.get("mode") || "last", logx: p.get("logx"), logy: p.get("logy") === "1"};
  }

  function readBrushes() {
    brushes = new Map();
    for (const text of DFA.params().getAll("brush")) {
      const parts = text.split(":");
      const [low, high] = parts.slice(-2).map(Number);
      brushes.set(parts.slice(0, -2).join(":"), [low, high]);
    }
    choices = new Map();
    for (const text of DFA.params().getAll("in")) {
      const [key, ...value] = text.split("=");
      if (!choices.has(key)) choices.set(key, new Set());
      choices.get(key).add(value.join("="));
    }
  }
  const choiceTexts = () => [...choices].flatMap(([key, values]) => [...values].sort().map(value => `${key}=${value}`));
  function writeBrushes() {
    DFA.setParams({brush: [...brushes].map(([key, [low, high]]) => `${key}:${low}:${high}`), in: choiceTexts()});
  }
  const inBrushes = row => [...brushes].every(([key, [low, high]]) =>
    typeof row[key] === "number" && row[key] >= low && row[key] <= high) &&
    [...choices].every(([key, values]) => values.has(row[key]));
  /* The runs table's filters for the brushes, as query parameters. */
  const filterParams = () => [
    ...[...brushes].map(([key, [low, high]]) => `range=${encodeURIComponent(`${key}:${low}:${high}`)}`),
    ...choiceTexts().map(text => `in=${encodeURIComponent(text)}`)].join("&");

  function columnsOf(group, type = "number") { return table.all_columns.filter(c => c.group === group && c.type === type); }
  function label(key) { return (table.all_columns.find(c => c.key === key) || {label: key}).label; }

  /* The sorted values of a text column (null left out). */
  const categories = key => [...new Set(table.rows.map(r => r[key]).filter(v => typeof v === "string"))].sort();

  /* The hyperparameters worth an axis: not equal in every run; text ones with few enough values. */
  function axes(s) {
    const distinct = c => new Set(table.rows.map(r => r[c.key])).size;
    const varying = [...columnsOf("hyperparameter"), ...columnsOf("hyperparameter", "text")]
      .filter(c => !NOT_AXES.has(c.key))
      .filter(c => distinct(c) > 1 && (c.type === "number" || categories(c.key).length <= MAX_CATEGORIES));
    return [...table.all_columns.filter(c => varying.includes(c)).map(c => c.key), s.metric];
  }
  const isText = key => (table.all_columns.find(c => c.key === key) || {}).type === "text";

  async function load() {
    const s = state();
    readBrushes();
    const scope = s.dataflow ? `dataflow=${encodeURIComponent(s.dataflow)}&` : "";
    const probe = await DFA.api(`/api/v1/runs/table?${scope}limit=1`, {key: "analysis"});
    const analysed = probe.all_columns.filter(c => c.group !== "run" &&
      (c.type === "number" || (c.type === "text" && c.group === "hyperparameter"))).map(c => c.key);
    const url = `/api/v1/runs/table?${scope}mode=${s.mode}&limit=5000&cols=${["execution", ...analysed].map(encodeURIComponent).join(",")}`;
    DFA.setTwin(url);
    table = await DFA.api(url, {key: "analysis"});
    table.rows.forEach(r => { delete r.status; });
    const metrics = [...columnsOf("metric"), ...columnsOf("test")];
    const hyperparameters = columnsOf("hyperparameter");
    if (!s.metric || !metrics.some(c => c.key === s.metric)) {
      s.metric = (metrics.find(c => c.key === "m:val_accuracy") || metrics.find(c => c.key === "m:accuracy") || metrics[0] || {}).key || "";
    }
    const varying = hyperparameters.filter(c => new Set(table.rows.map(r => r[c.key])).size > 1);
    if (!s.x || !hyperparameters.some(c => c.key === s.x)) {
      s.x = (varying.find(c => c.key === "hp:learning_rate") || varying[0] || hyperparameters[0] || {}).key || "";
    }
    $("dataflow").innerHTML = probe.dataflows.map(tag => `<option ${tag === table.dataflow ? "selected" : ""}>${DFA.escapeHtml(tag)}</option>`).join("");
    const options = list => list.map(c => `<option value="${DFA.escapeHtml(c.key)}">${DFA.escapeHtml(c.label)}</option>`).join("");
    $("metric").innerHTML = options(metrics);
    $("metric").value = s.metric;
    $("x").innerHTML = options(hyperparameters);
    $("x").value = s.x;
    $("mode").value = s.mode;
    const xs = table.rows.map(r => r[s.x]).filter(v => typeof v === "number");
    const logx = s.logx === null ? xs.length > 0 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 10 : s.logx === "1";
    $("logx").checked = logx;
    $("logy").checked = s.logy;
    DFA.setParams({dataflow: table.dataflow, metric: s.metric, x: s.x});
    drawParallel(s);
    drawScatter(s, logx);
    await drawLinked(s);
  }

  /* Lines coloured by the metric, so good and bad runs stand apart. */
  function metricRange(key, dimension) {
    const values = table.rows.map(r => r[key]).filter(v => typeof v === "number");
    if (!values.length) return undefined;
    return {type: "continuous", dimension, min: Math.min(...values), max: Math.max(...values), right: 4, top: "middle",
            itemHeight: 120, text: [label(key), ""], inRange: {color: ["#d73027", "#fee08b", "#1a9850"]}, calculable: false};
  }

  function drawParallel(s) {
    const keys = axes(s);
    if (parallel) DFA.disposeChart(parallel);
    parallel = DFA.chart($("parallel"), instance => {
      instance.setOption({
        animation: false,
        parallel: {left: 60, right: 150, top: 40, bottom: 30},
        parallelAxis: keys.map((key, dim) => isText(key)
          ? {dim, id: key, name: label(key), nameTextStyle: {fontSize: 11}, type: "category", data: categories(key),
             realtime: false}
          : {dim, id: key, name: label(key), nameTextStyle: {fontSize: 11}, type: "value", scale: true, realtime: false,
             axisLabel: {formatter: v => DFA.formatValue(v)}}),
        tooltip: {trigger: "item", formatter: p => DFA.escapeHtml(p.name)},
        visualMap: metricRange(s.metric, keys.length - 1),
        series: [{type: "parallel", lineStyle: {width: 1.5, opacity: 0.6}, inactiveOpacity: 0.05, activeOpacity: 1,
          emphasis: {lineStyle: {width: 3}},
          data: table.rows.map(r => ({name: r.execution, value: keys.map(k => r[k] ?? null)}))}],
      });
      for (const key of keys) {
        if (brushes.has(key)) instance.dispatchAction({type: "axisAreaSelect", parallelAxisId: key, intervals: [brushes.get(key)]});
        if (choices.has(key)) instance.dispatchAction({type: "axisAreaSelect", parallelAxisId: key, intervals: categoryIntervals(key)});
      }
      instance.on("axisareaselected", event => {
        const key = event.parallelAxisId;
        const intervals = event.intervals || [];
        if (isText(key)) {
          // On a category axis an interval is in category positions (0, 1, ...): the values it covers.
          const picked = categories(key).filter((_, index) => intervals.some(([a, b]) =>
            index >= Math.min(a, b) && index <= Math.max(a, b)));
          if (intervals.length) choices.set(key, new Set(picked)); else choices.delete(key);
        } else if (intervals.length) {
          brushes.set(key, [Math.min(...intervals[0]), Math.max(...intervals[0])]);
        } else {
          brushes.delete(key);
        }
        writeBrushes();
        drawScatter(state(), $("logx").checked);
        drawLinked(state());
      });
    });
  }

  /* The brushed values of a text axis as intervals around their positions, neighbours joined. */
  function categoryIntervals(key) {
    const spans = [];
    categories(key).forEach((value, index) => {
      if (!choices.get(key).has(value)) return;
      const last = spans[spans.length - 1];
      if (last && last[1] === index - 1) last[1] = index; else spans.push([index, index]);
    });
    return spans.map(([first, last]) => [first - 0.3, last + 0.3]);
  }

  function drawScatter(s, logx) {
    const inside = [], outside = [];
    for (const row of table.rows) {
      const x = row[s.x], y = row[s.metric];
      if (typeof x !== "number" || typeof y !== "number") continue;
      if ((logx && x <= 0) || (s.logy && y <= 0)) continue;
      (inBrushes(row) ? inside : outside).push({name: row.execution, value: [x, y]});
    }
    if (scatter) DFA.disposeChart(scatter);
    scatter = DFA.chart($("scatter"), instance => {
      instance.setOption({
        animation: false,
        grid: {left: 64, right: 24, top: 24, bottom: 48},
        tooltip: {trigger: "item", formatter: p => `${DFA.escapeHtml(p.name)}<br>${DFA.escapeHtml(label(s.x))}: ${DFA.formatValue(p.value[0])}<br>${DFA.escapeHtml(label(s.metric))}: ${DFA.formatValue(p.value[1])}`},
        xAxis: {type: logx ? "log" : "value", name: label(s.x), nameLocation: "middle", nameGap: 28, scale: true},
        yAxis: {type: s.logy ? "log" : "value", name: label(s.metric), scale: true},
        brush: {toolbox: ["rect", "clear"], xAxisIndex: 0, yAxisIndex: 0, throttleType: "debounce", throttleDelay: 200},
        toolbox: {feature: {brush: {type: ["rect", "clear"]}}, right: 8, top: 0},
        series: [
          {name: "in the brushes", type: "scatter", symbolSize: 7, data: inside},
          {name: "outside", type: "scatter", symbolSize: 5, itemStyle: {opacity: 0.2}, data: outside},
        ],
      });
      instance.on("brushEnd", event => {
        const area = (event.areas || [])[0];
        if (!area || !area.coordRange) return;
        const [[x0, x1], [y0, y1]] = area.coordRange;
        brushes.set(s.x, [Math.min(x0, x1), Math.max(x0, x1)]);
        brushes.set(s.metric, [Math.min(y0, y1), Math.max(y0, y1)]);
        writeBrushes();
        load();
      });
    });
  }

  /* The runs table of the brushed runs, filtered by the service with the same ranges. */
  let linkedRequest = 0;
  async function drawLinked(s) {
    const request = ++linkedRequest;
    const ranges = filterParams();
    const keys = [...new Set([s.x, ...axes(s)])];
    const scope = `dataflow=${encodeURIComponent(table.dataflow)}&mode=${s.mode}`;
    const answer = await DFA.api(`/api/v1/runs/table?${scope}&limit=200&cols=${["execution", "status", ...keys].map(encodeURIComponent).join(",")}${ranges ? "&" + ranges : ""}`, {key: "linked"});
    if (request !== linkedRequest) return;   // a newer brush asked already
    const t = $("brushed");
    t.tHead.innerHTML = `<tr>${answer.columns.map(c => `<th class="${c.type === "text" ? "text" : ""}">${DFA.escapeHtml(c.label)}</th>`).join("")}</tr>`;
    t.tBodies[0].innerHTML = answer.rows.map(r => `<tr data-run="${DFA.escapeHtml(r.execution)}">${answer.columns.map(c => c.key === "execution"
      ? `<td class="text"><a href="/runs/${encodeURIComponent(r.execution)}?dataflow=${encodeURIComponent(table.dataflow)}">${DFA.escapeHtml(r.execution)}</a></td>`
      : `<td class="${c.type === "text" ? "text" : ""}">${DFA.escapeHtml(DFA.formatValue(r[c.key]))}</td>`).join("")}</tr>`).join("");
    $("analysis-info").textContent = `${answer.total} of ${table.total} runs in the brushes`;
    $("open-runs").href = `/?dataflow=${encodeURIComponent(table.dataflow)}${ranges ? "&" + ranges : ""}`;
    $("brushes").innerHTML = [...brushes].map(([key, [low, high]]) =>
      `<span class="chip">${DFA.formatValue(low)} ≤ ${DFA.escapeHtml(label(key))} ≤ ${DFA.formatValue(high)}</span>`).join("") +
      [...choices].map(([key, values]) =>
        `<span class="chip">${DFA.escapeHtml(label(key))} ∈ {${[...values].sort().map(DFA.escapeHtml).join(", ")}}</span>`).join("");
  }

  $("dataflow").addEventListener("change", e => { DFA.setParams({dataflow: e.target.value, metric: null, x: null, brush: null, in: null}); load(); });
  $("metric").addEventListener("change", e => { DFA.setParams({metric: e.target.value}); load(); });
  $("mode").addEventListener("change", e => { DFA.setParams({mode: e.target.value === "last" ? null : e.target.value}); load(); });
  $("x").addEventListener("change", e => { DFA.setParams({x: e.target.value, logx: null}); load(); });
  $("logx").addEventListener("change", e => { DFA.setParams({logx: e.target.checked ? "1" : "0"}); load(); });
  $("logy").addEventListener("change", e => { DFA.setParams({logy: e.target.checked}); load(); });
  $("clear-brush").addEventListener("click", () => { DFA.setParams({brush: null, in: null}); load(); });
  load().catch(() => { /* shown in the page */ });
})();
