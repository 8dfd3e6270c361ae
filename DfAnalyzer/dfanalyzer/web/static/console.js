/* The SQL console: CodeMirror 5 over POST /api/v1/query, saved queries, export and a chart.
   State in the URL: ?sql=...&dataflow=...&limit=...&x=...&y=...&chart=line|scatter */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const state = {columns: [], rows: [], truncated: false, schema: null};

  const editor = CodeMirror.fromTextArea($("sql"), {
    mode: "text/x-sql", lineNumbers: true, indentWithTabs: false, smartIndent: true, matchBrackets: true,
    extraKeys: {"Ctrl-Enter": run, "Cmd-Enter": run, "Ctrl-Space": "autocomplete"},
    hintOptions: {tables: {}, completeSingle: false},
  });
  editor.on("inputRead", (cm, change) => {
    if (/[\w.]/.test(change.text.join(""))) cm.showHint({completeSingle: false});
  });

  const quote = name => `"${String(name).replace(/"/g, '""')}"`;
  function insert(text) {
    editor.replaceSelection(text);
    editor.focus();
  }

  /* Completion and the schema browser: the catalog tables and the chosen dataflow's set tables. */
  async function loadSchema() {
    const dataflow = $("dataflow").value;
    const schema = await DFA.api(`/api/v1/schema${dataflow ? "?dataflow=" + encodeURIComponent(dataflow) : ""}`, {key: "schema"});
    state.schema = schema;
    const tables = {};
    const browser = $("schema-browser");
    const parts = [];
    for (const [tag, flow] of Object.entries(schema.dataflows)) {
      parts.push(`<div class="muted">${DFA.escapeHtml(tag)}</div>`);
      for (const [table, columns] of Object.entries(flow.tables)) {
        tables[`${flow.schema_name}.${table}`] = columns.map(c => c.name);
        parts.push(tableEntry(`${quote(flow.schema_name)}.${quote(table)}`, `${flow.schema_name}.${table}`, columns));
      }
    }
    parts.push(`<div class="muted">catalog</div>`);
    for (const [table, columns] of Object.entries(schema.catalog)) {
      tables[table] = columns;
      parts.push(tableEntry(quote(table), table, columns.map(name => ({name}))));
    }
    browser.innerHTML = parts.join("");
    editor.setOption("hintOptions", {tables, completeSingle: false});
  }
  function tableEntry(inserted, shown, columns) {
    const items = columns.map(c => `<div><span class="name" data-insert="${DFA.escapeHtml(quote(c.name))}">${DFA.escapeHtml(c.name)}</span>` +
      (c.type ? ` <span class="type">${DFA.escapeHtml(c.type)}</span>` : "") + `</div>`).join("");
    return `<details><summary><span class="name" data-insert="${DFA.escapeHtml(inserted)}">${DFA.escapeHtml(shown)}</span></summary>` +
      `<div class="columns">${items}</div></details>`;
  }
  $("schema-browser").addEventListener("click", event => {
    const name = event.target.closest("[data-insert]");
    if (!name) return;
    event.preventDefault();
    insert(name.dataset.insert);
  });

  /* Running: the guard's refusal and MonetDB's errors are shown as the messages they are. */
  async function run() {
    const sql = editor.getValue();
    const limit = Number($("limit").value);
    DFA.setParams({sql, limit: limit === 1000 ? null : limit});
    $("query-error").classList.add("hidden");
    $("result-meta").textContent = "running…";
    const started = performance.now();
    let response, body;
    try {
      response = await fetch("/api/v1/query", {method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({sql, limit})});
      body = await response.json().catch(() => null);
    } catch (error) {
      return showQueryError(`DfAnalyzer is not answering (${error.message}); start it with \`dfanalyzer start\`.`);
    }
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : JSON.stringify(body && body.detail);
      return showQueryError(`${response.status === 400 ? "Refused" : "Failed"}: ${detail}`);
    }
    state.columns = body.columns;
    state.rows = body.rows;
    state.truncated = body.truncated;
    renderTable();
    // Measured once the table is painted: the time a person waits.
    await new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve)));
    const elapsed = performance.now() - started;
    $("result-meta").textContent = `${body.rows.length} row${body.rows.length === 1 ? "" : "s"} · ${elapsed.toFixed(0)} ms` +
      (body.truncated ? ` · truncated at the limit of ${limit}; raise the limit or add a WHERE` : "");
    $("result-meta").dataset.rows = body.rows.length;
    $("result-meta").dataset.elapsed = elapsed.toFixed(1);
    $("export-csv").disabled = $("export-json").disabled = false;
    setTimeout(prepareChart);  // after the table: the chart is below it
  }
  function showQueryError(message) {
    $("query-error").textContent = message;
    $("query-error").classList.remove("hidden");
    $("result-meta").textContent = "";
    state.columns = [];
    state.rows = [];
    renderTable();
    $("chart-panel").classList.add("hidden");
    $("export-csv").disabled = $("export-json").disabled = true;
  }

  /* The table draws its rows in pages as they are scrolled to, so a 10,000-row result costs the
     browser a few hundred rows of layout, not ten thousand. */
  const ROWS_PER_PAGE = 300;
  let drawnRows = 0, numericColumns = [];
  function renderTable() {
    numericColumns = state.columns.map((_, index) => state.rows.length > 0 && state.rows.every(
      row => row[index] === null || typeof row[index] === "number"));
    $("result").tHead.innerHTML = "<tr>" + state.columns.map((c, i) =>
      `<th class="${numericColumns[i] ? "" : "text"}">${DFA.escapeHtml(c)}</th>`).join("") + "</tr>";
    $("result").tBodies[0].innerHTML = "";
    drawnRows = 0;
    drawMoreRows();
  }
  function drawMoreRows() {
    const end = Math.min(state.rows.length, drawnRows + ROWS_PER_PAGE);
    const html = [];
    for (let r = drawnRows; r < end; r++) {
      const row = state.rows[r];
      let cells = "";
      for (let i = 0; i < row.length; i++) {
        cells += `<td class="${numericColumns[i] ? "" : "text"}">${DFA.escapeHtml(DFA.formatValue(row[i]))}</td>`;
      }
      html.push(`<tr>${cells}</tr>`);
    }
    $("result").tBodies[0].insertAdjacentHTML("beforeend", html.join(""));
    drawnRows = end;
    $("result").dataset.drawn = drawnRows;
  }
  const tableWrap = $("result").closest(".table-wrap");
  tableWrap.addEventListener("scroll", () => {
    if (drawnRows < state.rows.length && tableWrap.scrollTop + tableWrap.clientHeight > tableWrap.scrollHeight - 400) drawMoreRows();
  });

  /* Export of the shown result, as the service returned it. */
  function download(name, type, text) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], {type}));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }
  const csvCell = value => {
    if (value === null || value === undefined) return "";
    const text = String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  $("export-csv").addEventListener("click", () => download("query.csv", "text/csv",
    [state.columns, ...state.rows].map(row => row.map(csvCell).join(",")).join("\n") + "\n"));
  $("export-json").addEventListener("click", () => download("query.json", "application/json",
    JSON.stringify({columns: state.columns, rows: state.rows, truncated: state.truncated}, null, 1)));

  /* Chart: two numeric columns of the result as a line or a scatter. */
  let chartEntry = null;
  function prepareChart() {
    const numeric = state.columns.filter((_, i) => state.rows.length > 0 &&
      state.rows.some(row => typeof row[i] === "number") && state.rows.every(row => row[i] === null || typeof row[i] === "number"));
    if (numeric.length < 2) {
      $("chart-panel").classList.add("hidden");
      return;
    }
    const params = DFA.params();
    for (const [select, wanted, fallback] of [["chart-x", params.get("x"), numeric[0]], ["chart-y", params.get("y"), numeric[1]]]) {
      $(select).innerHTML = numeric.map(c => `<option>${DFA.escapeHtml(c)}</option>`).join("");
      $(select).value = numeric.includes(wanted) ? wanted : fallback;
    }
    $("chart-kind").value = params.get("chart") === "scatter" ? "scatter" : "line";
    $("chart-panel").classList.remove("hidden");
    drawChart();
  }
  function drawChart() {
    const x = state.columns.indexOf($("chart-x").value), y = state.columns.indexOf($("chart-y").value);
    const kind = $("chart-kind").value;
    const points = state.rows.filter(row => row[x] !== null && row[y] !== null).map(row => [row[x], row[y]]);
    if (kind === "line") points.sort((a, b) => a[0] - b[0]);
    const draw = chart => chart.setOption({
      backgroundColor: "transparent",
      tooltip: {trigger: kind === "line" ? "axis" : "item"}, grid: {left: 60, right: 20, top: 20, bottom: 40},
      xAxis: {type: "value", name: state.columns[x], nameLocation: "middle", nameGap: 26, scale: true},
      yAxis: {type: "value", name: state.columns[y], scale: true},
      series: [{type: kind, data: points, showSymbol: points.length < 200, symbolSize: 6, large: points.length > 2000}],
    }, true);
    if (chartEntry) DFA.disposeChart(chartEntry);
    chartEntry = DFA.chart($("chart"), draw);
  }
  for (const id of ["chart-x", "chart-y", "chart-kind"]) {
    $(id).addEventListener("change", () => {
      DFA.setParams({x: $("chart-x").value, y: $("chart-y").value, chart: $("chart-kind").value});
      drawChart();
    });
  }

  /* Saved queries (kept by the service) and the paper's analyses as examples. */
  async function loadSaved() {
    const dataflow = $("dataflow").value;
    const listed = await DFA.api(`/api/v1/saved-queries${dataflow ? "?dataflow=" + encodeURIComponent(dataflow) : ""}`, {key: "saved"});
    $("saved").innerHTML = listed.saved.map(q =>
      `<li data-id="${q.id}"><a data-open="${q.id}" title="${DFA.escapeHtml(q.sql)}">${DFA.escapeHtml(q.name)}</a>` +
      `<span class="muted">${DFA.escapeHtml(DFA.formatValue(q.created).slice(0, 10))}</span>` +
      `<button type="button" data-delete="${q.id}" title="delete">✕</button></li>`).join("") ||
      `<li class="muted">none yet: write a query, name it, Save</li>`;
    state.saved = Object.fromEntries(listed.saved.map(q => [q.id, q]));
    state.examples = listed.examples;
    $("examples").innerHTML = listed.examples.map((q, i) =>
      `<li><a data-example="${i}" title="${DFA.escapeHtml(q.sql)}">${DFA.escapeHtml(q.name)}</a></li>`).join("") ||
      `<li class="muted">the Keras-Prov paper's analyses appear for dataflows that have them</li>`;
  }
  function open(sql, name) {
    editor.setValue(sql);
    if (name) $("save-name").value = name;
    run();
  }
  $("saved").addEventListener("click", async event => {
    const opened = event.target.closest("[data-open]");
    const deleted = event.target.closest("[data-delete]");
    if (opened) open(state.saved[opened.dataset.open].sql, state.saved[opened.dataset.open].name);
    if (deleted) {
      await DFA.api(`/api/v1/saved-queries/${deleted.dataset.delete}`, {key: "saved", method: "DELETE"});
      await loadSaved();
    }
  });
  $("examples").addEventListener("click", event => {
    const example = event.target.closest("[data-example]");
    if (example) open(state.examples[example.dataset.example].sql);
  });
  $("save").addEventListener("click", async () => {
    const name = $("save-name").value.trim();
    if (!name) {
      $("save-name").focus();
      return DFA.showError("saved", "Name the query first.", "Type a name next to Save; the same name replaces that query.");
    }
    await DFA.api("/api/v1/saved-queries", {key: "saved", body: {name, sql: editor.getValue()}});
    await loadSaved();
  });

  $("run").addEventListener("click", run);
  $("dataflow").addEventListener("change", () => {
    DFA.setParams({dataflow: $("dataflow").value});
    loadSchema();
    loadSaved();
  });

  async function start() {
    const params = DFA.params();
    const dataflows = await DFA.api("/api/v1/dataflows", {key: "dataflows"});
    $("dataflow").insertAdjacentHTML("beforeend", dataflows.map(d =>
      `<option>${DFA.escapeHtml(d.tag)}</option>`).join(""));
    if (params.get("dataflow")) $("dataflow").value = params.get("dataflow");
    if (params.get("limit")) $("limit").value = params.get("limit");
    DFA.setTwin("/api/v1/saved-queries");
    await Promise.all([loadSchema(), loadSaved()]);
    if (params.get("sql")) {
      editor.setValue(params.get("sql"));
      await run();
    } else {
      editor.setValue("SELECT tag, schema_name, created_at FROM dataflow ORDER BY id");
    }
    document.body.dataset.ready = "1";
  }
  start();
})();
