/* The interactive PROV graph of a run (GET /api/v1/executions/<exec>/graph.json) with cytoscape:
   pan and zoom, click a node for its attributes, a set's records collapsed into one node (sets
   with more than COLLAPSE_ABOVE records start collapsed), search. Colours and shapes follow the
   W3C PROV conventions of the static images. */
"use strict";
const DFAProvGraph = (() => {
  const COLLAPSE_ABOVE = 8;
  const COLORS = {entity: ["#FFFC87", "#808080"], activity: ["#9FB1FC", "#0000FF"], agent: ["#FED37F", "#000000"]};
  const EDGE_COLORS = {used: "#A00000", wasGeneratedBy: "#006000", wasAssociatedWith: "#D08000",
    actedOnBehalfOf: "#C08000", wasInformedBy: "#0000A0", wasDerivedFrom: "#606060", hadPlan: "#606060"};
  const $ = id => document.getElementById(id);
  const e = value => DFA.escapeHtml(value);

  async function mount(execution, dataflow) {
    const url = `/api/v1/executions/${encodeURIComponent(execution)}/graph.json` +
      (dataflow ? `?dataflow=${encodeURIComponent(dataflow)}` : "");
    const graph = await DFA.api(url, {key: "prov-graph"});
    const byId = new Map(graph.nodes.map(node => [node.id, node]));
    const groups = new Map();
    for (const node of graph.nodes) {
      if (node.group) groups.set(node.group, [...(groups.get(node.group) || []), node.id]);
    }
    const collapsed = new Set([...groups].filter(([, members]) => members.length > COLLAPSE_ABOVE).map(([group]) => group));
    const groupLabel = group => decodeURIComponent(group.split("set/").pop());
    let cy = null;

    function elements() {
      const shownAs = id => {
        const node = byId.get(id);
        return node && node.group && collapsed.has(node.group) ? `group:${node.group}` : id;
      };
      const result = [];
      for (const node of graph.nodes) {
        if (node.group && collapsed.has(node.group)) continue;
        result.push({data: {id: node.id, label: node.label, kind: node.kind, record: node.record ? 1 : 0,
                            plan: node.types.includes("prov:Plan") ? 1 : 0}});
      }
      for (const group of collapsed) {
        result.push({data: {id: `group:${group}`, group, kind: "entity", folded: 1,
                            label: `${groupLabel(group)}\n${groups.get(group).length} records`}});
      }
      const seen = new Set();
      for (const edge of graph.edges) {
        const source = shownAs(edge.source), target = shownAs(edge.target);
        const key = `${source}|${target}|${edge.label}`;
        if (source === target || seen.has(key)) continue;
        seen.add(key);
        result.push({data: {id: `edge:${key}`, source, target, label: edge.label}});
      }
      return result;
    }

    function style() {
      const text = DFA.theme() === "dark" ? "#e3e7ee" : "#1d2430";
      const rules = [
        {selector: "node", style: {"label": "data(label)", "text-wrap": "wrap", "text-valign": "center", "font-size": 11,
          "color": "#1d2430", ...DFA.labelSize(11), "padding": "8px", "border-width": 1}},
        {selector: "edge", style: {"curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.2, "label": "data(label)",
          "font-size": 8, "color": text, "text-rotation": "autorotate", "min-zoomed-font-size": 6}},
        {selector: "node[?folded]", style: {"border-style": "dashed", "border-width": 2}},
        {selector: "node[?plan]", style: {"border-style": "double", "border-width": 4}},
        {selector: "node.match", style: {"underlay-color": "#ff9800", "underlay-opacity": 0.6, "underlay-padding": 8}},
        {selector: "node:selected", style: {"overlay-color": "#2463eb", "overlay-opacity": 0.2}},
      ];
      for (const [kind, [fill, border]] of Object.entries(COLORS)) {
        rules.push({selector: `node[kind='${kind}']`, style: {"background-color": fill, "border-color": border,
          "shape": kind === "entity" ? "ellipse" : kind === "activity" ? "rectangle" : "pentagon"}});
      }
      for (const [label, color] of Object.entries(EDGE_COLORS)) {
        rules.push({selector: `edge[label='${label}']`, style: {"line-color": color, "target-arrow-color": color}});
      }
      return rules;
    }

    function draw() {
      if (cy) cy.destroy();
      cy = cytoscape({container: $("prov-graph"), elements: elements(), style: style(),
                      minZoom: 0.05, maxZoom: 2.5});
      // As in the static image: derivations do not move records between columns.
      cy.elements().not("edge[label='wasDerivedFrom']").layout({name: "dagre", rankDir: "RL", nodeSep: 12, rankSep: 50}).run();
      cy.fit(undefined, 20);
      cy.on("tap", "node", event => details(event.target));
      const records = cy.nodes("[?record]").length;
      $("prov-meta").textContent = `${records} of ${graph.nodes.filter(n => n.record).length} records shown` +
        (collapsed.size ? ` · ${collapsed.size} set${collapsed.size === 1 ? "" : "s"} collapsed` : "");
      $("prov-meta").dataset.shown = records;
      $("prov-meta").dataset.groups = collapsed.size;
      window.dfaProvGraph = {cy, collapsed, groups};
    }

    function details(target) {
      if (target.data("folded")) {
        collapsed.delete(target.data("group"));
        draw();
        const first = groups.get(target.data("group"))[0];
        cy.$id(first).select();
        return details(cy.$id(first));
      }
      const node = byId.get(target.id());
      const collapse = node.group && groups.get(node.group).length > 1
        ? `<button type="button" data-collapse="${e(node.group)}">Collapse the ${groups.get(node.group).length} ${e(groupLabel(node.group))} records</button>` : "";
      $("prov-details").innerHTML = `<h2>${e(node.label)}</h2><p class="muted">${e(node.kind)} · ${e(node.id)}</p>` +
        `<table class="kv">${node.attributes.map(([name, value]) =>
          `<tr><th>${e(name)}</th><td>${e(typeof value === "string" && value.length > 200 ? value.slice(0, 200) + "…" : value)}</td></tr>`).join("")}</table>` +
        collapse;
    }
    $("prov-details").addEventListener("click", event => {
      const button = event.target.closest("[data-collapse]");
      if (!button) return;
      collapsed.add(button.dataset.collapse);
      draw();
      cy.$id(`group:${button.dataset.collapse}`).select();
    });

    $("prov-search").addEventListener("input", () => {
      const wanted = $("prov-search").value.trim().toLowerCase();
      cy.nodes().removeClass("match");
      if (!wanted) return;
      const hits = graph.nodes.filter(node => node.label.toLowerCase().includes(wanted) || node.id.toLowerCase().includes(wanted) ||
        node.attributes.some(([, value]) => String(value).toLowerCase() === wanted));
      if (hits.some(node => node.group && collapsed.has(node.group))) {
        hits.forEach(node => node.group && collapsed.delete(node.group));
        draw();
      }
      const found = cy.collection(hits.map(node => cy.$id(node.id)).filter(n => n.length));
      found.addClass("match");
      if (found.length) cy.animate({fit: {eles: found, padding: 80}, duration: 200});
      $("prov-meta").dataset.matches = found.length;
    });
    $("prov-fit").addEventListener("click", () => cy.fit(undefined, 20));
    $("prov-expand-all").addEventListener("click", () => { collapsed.clear(); draw(); });
    $("prov-collapse-all").addEventListener("click", () => {
      for (const [group, members] of groups) if (members.length > 1) collapsed.add(group);
      draw();
    });
    draw();
  }

  return {mount};
})();
