/* The compare page's verdict on data, code and environment ("code differ"), with the diffs of
   the scripts, git diffs and package lists behind it; from the answer compare.js read (dfa:compared). */
"use strict";
(() => {
  const $ = id => document.getElementById(id);
  document.addEventListener("dfa:compared", event => {
    const lineage = event.detail.lineage;
    if (!lineage) return;
    const verdict = lineage.verdict;
    if (Object.values(verdict).every(v => v === "not recorded")) return;
    $("lineage-verdict-panel").hidden = false;
    $("lineage-verdict").innerHTML = Object.entries(verdict).map(([part, state]) =>
      `<span class="chip lineage-${state.replace(" ", "-")}" data-part="${part}">${DFA.escapeHtml(part)} ` +
      `<strong>${state === "differ" ? "differ" : DFA.escapeHtml(state)}</strong></span>`).join("");
    $("lineage-diffs").innerHTML = lineage.diffs.map(d =>
      `<details class="lineage-diff" data-kind="${DFA.escapeHtml(d.kind)}"><summary>${DFA.escapeHtml(d.kind)}: ` +
      `${DFA.escapeHtml(d.from)} → ${DFA.escapeHtml(d.to)}</summary><pre>${d.diff.split("\n").map(line =>
        `<span class="${line.startsWith("+") ? "diff-add" : line.startsWith("-") ? "diff-del" : ""}">${DFA.escapeHtml(line)}</span>`).join("\n")}</pre></details>`).join("");
  });
})();
