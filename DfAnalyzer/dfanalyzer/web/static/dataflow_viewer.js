/* The Dataflow Viewer: the specification drawn with cytoscape (dagre layout), row counts per set,
   the executions, and a path-query builder over POST /api/v1/dataflows/<tag>/path-query.
   State in the URL: ?set=...&source=...&target=...&include=...&exclude=...&projection=...
   &selection=...&mapping=... */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  const e = DFA.escapeHtml;
  const tag = $("viewer").dataset.tag;
  const api = `/api/v1/dataflows/${encodeURIComponent(tag)}`;
  const LISTS = ["source", "target", "include", "exclude", "projection", "selection"];
  const query = {mapping: "physical"};
  let specification = null, counts = {}, selectedSet = null, cy = null;

  function readUrl() {
    const params = DFA.params();
    for (const name of LISTS) query[name] = params.getAll(name);
    query.mapping = params.get("mapping") || "physical";
    $("mapping").value = query.mapping;
    return params.get("set");
  }
  function writeUrl() {
    DFA.setParams({...Object.fromEntries(LISTS.map(name => [name, query[name]])),
                   mapping: query.mapping === "physical" ? null : query.mapping, set: selectedSet});
  }

  function setById(setTag) { return specification.sets.find(s => s.tag === setTag); }

  function draw() {
    const elements = [];
    for (const transformation of specification.transformations) {
      elements.push({data: {id: `t:${transformation.tag}`, label: transformation.tag, kind: "transformation"}});
    }
    for (const data_set of specification.sets) {
      const given = data_set.produced_by.length === 0;
      const rows = counts[data_set.tag] ?? 0;
      elements.push({data: {id: `s:${data_set.tag}`, tag: data_set.tag, kind: "set", given: given ? 1 : 0,
        label: `${data_set.tag}\n${rows} row${rows === 1 ? "" : "s"} · ${data_set.attributes.length} attr.`}});
      for (const consumer of data_set.consumed_by) {
        elements.push({data: {id: `s:${data_set.tag}->t:${consumer}`, source: `s:${data_set.tag}`, target: `t:${consumer}`}});
      }
      for (const producer of data_set.produced_by) {
        elements.push({data: {id: `t:${producer}->s:${data_set.tag}`, source: `t:${producer}`, target: `s:${data_set.tag}`}});
      }
    }
    const dark = DFA.theme() === "dark";
    cy = cytoscape({
      container: $("graph"), elements, minZoom: 0.2, maxZoom: 3,
      style: [
        {selector: "node", style: {"label": "data(label)", "text-wrap": "wrap", "text-valign": "center",
          "font-size": 13, "color": "#1d2430", ...DFA.labelSize(13, (node) => node.data("kind") === "transformation"),
          "padding": "10px"}},
        {selector: "node[kind='transformation']", style: {"shape": "round-rectangle", "background-color": "#9FB1FC",
          "border-color": "#0000FF", "border-width": 1, "font-weight": "bold"}},
        {selector: "node[kind='set']", style: {"shape": "ellipse", "background-color": "#FFFC87",
          "border-color": "#808080", "border-width": 1, "padding": "14px"}},
        {selector: "node[kind='set'][given=1]", style: {"background-color": "#9be39b"}},
        {selector: "node.source", style: {"border-color": "#1a7f37", "border-width": 4}},
        {selector: "node.target", style: {"border-color": "#c62828", "border-width": 4}},
        {selector: "node.include", style: {"border-style": "double", "border-width": 5}},
        {selector: "node.exclude", style: {"opacity": 0.45}},
        {selector: "node:selected", style: {"overlay-color": "#2463eb", "overlay-opacity": 0.15, "overlay-padding": 6}},
        {selector: "edge", style: {"curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5,
          "line-color": dark ? "#9aa5b5" : "#606060", "target-arrow-color": dark ? "#9aa5b5" : "#606060"}},
        {selector: "edge.on-path", style: {"line-color": "#2463eb", "target-arrow-color": "#2463eb", "width": 3}},
      ],
      layout: {name: "dagre", rankDir: "LR", nodeSep: 30, rankSep: 60},
    });
    cy.on("tap", "node[kind='set']", event => selectSet(event.target.data("tag")));
    cy.on("mouseover", "node[kind='set']", event => {
      const data_set = setById(event.target.data("tag"));
      $("graph").title = `${data_set.tag}: ` + data_set.attributes.map(a => `${a.name} (${a.type})`).join(", ");
    });
    cy.on("mouseout", "node", () => { $("graph").title = ""; });
    window.dfaViewer = {cy};
  }

  function markRoles() {
    cy.nodes().removeClass("source target include exclude");
    for (const role of ["source", "target", "include", "exclude"]) {
      for (const setTag of query[role]) cy.$id(`s:${setTag}`).addClass(role);
    }
  }

  function selectSet(setTag) {
    const data_set = setById(setTag);
    if (!data_set) return;
    selectedSet = setTag;
    cy.nodes().unselect();
    cy.$id(`s:${setTag}`).select();
    $("set-title").textContent = `${setTag} · ${counts[setTag] ?? 0} rows`;
    $("set-hint").textContent = `produced by ${data_set.produced_by.join(", ") || "nothing (given)"}; ` +
      `read by ${data_set.consumed_by.join(", ") || "nothing"}. Tick attributes to project them.`;
    $("roles").classList.remove("hidden");
    $("selection-form").classList.remove("hidden");
    $("attributes").innerHTML = data_set.attributes.map(a => {
      const reference = `${setTag}.${a.name}`;
      return `<label><input type="checkbox" data-projection="${e(reference)}" ${query.projection.includes(reference) ? "checked" : ""}>` +
        ` ${e(a.name)} <span class="muted">${e(a.type)}</span></label>`;
    }).join("") || `<span class="muted">no attributes</span>`;
    $("selection-attribute").innerHTML = data_set.attributes.map(a =>
      `<option value="${e(a.name)}" data-type="${e(a.type)}">${e(a.name)}</option>`).join("");
    writeUrl();
  }

  function renderPicked() {
    $("picked").innerHTML = LISTS.map(name => `<dt>${name}</dt><dd>` + (query[name].map((value, index) =>
      `<span class="chip">${e(value)}<button type="button" data-remove="${name}" data-index="${index}" title="remove">✕</button></span>`).join(" ") ||
      `<span class="muted">${name === "projection" ? "none: every join attribute" : "none"}</span>`) + "</dd>").join("");
    markRoles();
  }
  $("picked").addEventListener("click", event => {
    const remove = event.target.closest("[data-remove]");
    if (!remove) return;
    query[remove.dataset.remove].splice(Number(remove.dataset.index), 1);
    changed();
  });
  function changed() {
    renderPicked();
    writeUrl();
  }

  $("roles").addEventListener("click", event => {
    const button = event.target.closest("[data-role]");
    if (!button || !selectedSet) return;
    const role = button.dataset.role;
    if (!query[role].includes(selectedSet)) query[role].push(selectedSet);
    const opposite = {include: "exclude", exclude: "include"}[role];  // a set cannot be both
    if (opposite) query[opposite] = query[opposite].filter(s => s !== selectedSet);
    changed();
  });
  $("attributes").addEventListener("change", event => {
    const box = event.target.closest("[data-projection]");
    if (!box) return;
    const reference = box.dataset.projection;
    query.projection = query.projection.filter(p => p !== reference);
    if (box.checked) query.projection.push(reference);
    changed();
  });
  $("selection-add").addEventListener("click", () => {
    const option = $("selection-attribute").selectedOptions[0];
    const raw = $("selection-value").value.trim();
    if (!option || !raw) return $("selection-value").focus();
    const numeric = option.dataset.type === "NUMERIC" && !Number.isNaN(Number(raw));
    const value = numeric ? raw : `'${raw.replace(/'/g, "''")}'`;
    query.selection.push(`${selectedSet}.${option.value} ${$("selection-operator").value} ${value}`);
    $("selection-value").value = "";
    changed();
  });
  $("mapping").addEventListener("change", () => { query.mapping = $("mapping").value; changed(); });
  $("clear").addEventListener("click", () => {
    for (const name of LISTS) query[name] = [];
    $("generated-sql").value = "";
    $("open-console").classList.add("hidden");
    $("path-result").tHead.innerHTML = $("path-result").tBodies[0].innerHTML = "";
    $("path-meta").textContent = "";
    cy.edges().removeClass("on-path");
    changed();
  });

  async function generate() {
    if (!query.source.length || !query.target.length) {
      return DFA.showError("path", "Pick a source and a target set.", "Click a set in the graph, then Source; another, then Target.");
    }
    const body = {mapping: query.mapping, limit: 1000};
    for (const name of LISTS) body[name] = query[name];
    const answer = await DFA.api(`${api}/path-query`, {key: "path", body});
    $("generated-sql").value = answer.console_sql;
    updateConsoleLink();
    $("path-meta").textContent = ` ${answer.rows.length}${answer.truncated ? "+" : ""} rows · ${answer.paths.length} path${answer.paths.length === 1 ? "" : "s"}`;
    $("path-meta").dataset.rows = answer.rows.length;
    $("path-result").tHead.innerHTML = "<tr>" + answer.columns.map(c => `<th>${e(c)}</th>`).join("") + "</tr>";
    $("path-result").tBodies[0].innerHTML = answer.rows.map(row =>
      "<tr>" + row.map(v => `<td>${e(DFA.formatValue(v))}</td>`).join("") + "</tr>").join("");
    cy.edges().removeClass("on-path");
    for (const path of answer.paths) {
      for (let i = 0; i + 1 < path.length; i++) {
        cy.$id(`s:${path[i]}`).outgoers("node").filter(n => n.outgoers("node").some(m => m.id() === `s:${path[i + 1]}`))
          .forEach(transformation => {
            cy.$id(`s:${path[i]}->${transformation.id()}`).addClass("on-path");
            cy.$id(`${transformation.id()}->s:${path[i + 1]}`).addClass("on-path");
          });
      }
    }
  }
  function updateConsoleLink() {
    const sql = $("generated-sql").value;
    $("open-console").href = `/query?dataflow=${encodeURIComponent(tag)}&sql=${encodeURIComponent(sql)}`;
    $("open-console").classList.toggle("hidden", !sql.trim());
  }
  $("generate").addEventListener("click", generate);
  $("generated-sql").addEventListener("input", updateConsoleLink);

  async function loadExecutions() {
    const executions = await DFA.api(`/api/v1/executions?dataflow=${encodeURIComponent(tag)}`, {key: "executions"});
    $("summary").textContent = `${specification.transformations.length} transformations · ${specification.sets.length} sets · ` +
      `${executions.length} executions`;
    $("executions").tBodies[0].innerHTML = executions.slice().reverse().map(x =>
      `<tr><td class="text"><a href="/runs/${encodeURIComponent(x.execution)}?dataflow=${encodeURIComponent(tag)}">${e(x.execution)}</a></td>` +
      `<td class="text"><span class="status status-${e(x.status)}">${e(x.status)}</span></td>` +
      `<td class="text">${e(DFA.formatValue(x.start_time))}</td><td>${x.tasks}</td></tr>`).join("") ||
      `<tr><td class="text muted" colspan="4">no execution yet</td></tr>`;
  }

  async function start() {
    DFA.setTwin(api);
    const chosen = readUrl();
    [specification, counts] = await Promise.all([DFA.api(api, {key: "spec"}), DFA.api(`${api}/row-counts`, {key: "spec"})]);
    draw();
    renderPicked();
    if (chosen) selectSet(chosen);
    await loadExecutions();
    if (query.source.length && query.target.length) await generate();
    document.body.dataset.ready = "1";
  }
  start();
})();
