"""The runs of a dataflow as a grid of summary nodes, each linking to its own provenance graph.

Drawing every record of many runs gives a strip tens of thousands of pixels wide; a grid of one
node per run stays readable and says where each run's full graph is.
"""
import math
from urllib.parse import quote as url_quote

import pygraphviz

from dfanalyzer.graph import style
from dfanalyzer.graph.drawn_graph import DrawnGraph

METRICS_SHOWN = 3


class RunOverview(DrawnGraph):
    """One activity-styled node per execution of a dataflow, in rows of `columns`; in SVG each
    node is a link to `/api/v1/executions/<run>/graph.svg`. Beyond `max_runs` runs, the first and
    last halves are drawn and one dashed node counts the others.

    Args:
        dataflow: the dataflow tag (the plan all runs follow).
        runs: records of `reading.list_executions` (execution, status, start_time, end_time), with
            "metrics" ({name: value}) on those worth showing (see `drawn_runs`).
        columns: runs per row; by default about the square root of the count, at most 6.
        max_runs: the most runs drawn.

    Example:
        RunOverview("alexnet", RunSummary(store).list("alexnet")).write("alexnet-runs.png")
    """

    def __init__(self, dataflow, runs, columns=None, max_runs=48):
        self.dataflow = dataflow
        self.runs = list(runs)
        self.max_runs = max_runs
        self.columns = columns or max(1, min(6, math.ceil(math.sqrt(min(len(self.runs), max_runs) * 1.5))))

    def agraph(self):
        graph = pygraphviz.AGraph(directed=True, strict=False, name="runs")
        graph.graph_attr.update(rankdir="TB", fontname=style.FONT, nodesep="0.25", ranksep="0.3", newrank="true",
                                fontsize="10", labelloc="b",
                                label="each run's own graph: /api/v1/executions/<run>/graph.svg (a click on a run in the SVG)")
        graph.node_attr.update(fontname=style.FONT, fontsize="10", margin="0.1,0.05")
        graph.add_node("plan", label=f"{_escape(self.dataflow)}\\n(plan · {len(self.runs)} executions)",
                       **style.PLAN)
        names = [self._add_run(graph, index, run) for index, run in enumerate(self._drawn())]
        rows = [names[start:start + self.columns] for start in range(0, len(names), self.columns)]
        for row_number, row in enumerate(rows):
            graph.add_subgraph(row, name=f"row{row_number}", rank="same")
            for left, right in zip(row, row[1:]):
                graph.add_edge(left, right, style="invis")
        graph.add_edge("plan", rows[0][0] if rows else "plan", style="invis")
        for upper, lower in zip(rows, rows[1:]):
            for above, below in zip(upper, lower):
                graph.add_edge(above, below, style="invis")
        return graph

    def drawn_runs(self):
        """The runs that get a node of their own (so a caller fetches metrics only for them)."""
        if len(self.runs) <= self.max_runs:
            return self.runs
        half = self.max_runs // 2
        return self.runs[:half] + self.runs[len(self.runs) - half:]

    def _drawn(self):
        drawn = self.drawn_runs()
        if len(drawn) == len(self.runs):
            return drawn
        half = len(drawn) // 2
        return drawn[:half] + [{"folded": len(self.runs) - len(drawn)}] + drawn[half:]

    def _add_run(self, graph, index, run):
        name = f"r{index + 1}"
        if "folded" in run:
            graph.add_node(name, label=f"… {run['folded']} executions …", **dict(style.ACTIVITY, **style.FOLDED))
            return name
        lines = [_escape(run["execution"]), " · ".join(filter(None, [run.get("status"), _duration(run)]))]
        metrics = [(key, value) for key, value in (run.get("metrics") or {}).items() if isinstance(value, (int, float))]
        lines += [f"{_escape(key)} = {value:.4g}" for key, value in metrics[:METRICS_SHOWN]]
        link = (f"/api/v1/executions/{url_quote(run['execution'], safe='')}/graph.svg"
                f"?dataflow={url_quote(self.dataflow, safe='')}")
        graph.add_node(name, label="\\n".join(lines), URL=link, target="_top",
                       tooltip=f"provenance graph of {_escape(run['execution'])}", **style.ACTIVITY)
        return name


def _duration(run):
    start, end = run.get("start_time"), run.get("end_time")
    if start is None or end is None or not hasattr(end, "__sub__"):
        return None
    try:
        seconds = (end - start).total_seconds()
    except TypeError:
        return None
    return f"{seconds:.3g} s" if seconds >= 0 else None  # clocks of different machines


def _escape(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"')
