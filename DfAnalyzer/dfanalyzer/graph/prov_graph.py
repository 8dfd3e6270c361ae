"""The provenance graph of a PROV document, drawn in the W3C PROV conventions."""
import datetime
import math

import pygraphviz

from dfanalyzer.graph import style
from dfanalyzer.graph.drawn_graph import DrawnGraph
from dfanalyzer.graph.folding import DEFAULT_KEEP, DEFAULT_LIMIT, Folding
from dfanalyzer.graph.prov_view import ProvView

PLAN_TYPE = "prov:Plan"
AGENT_KIND_NAMES = {"prov:Person": "person", "prov:SoftwareAgent": "software",
                    "prov:Organization": "organization"}
ATTRIBUTES_SHOWN = 4
# Relations between records of the same moment: drawn, but not allowed to add columns.
UNRANKED_RELATIONS = ("wasDerivedFrom", "alternateOf", "specializationOf")


class ProvGraph(DrawnGraph):
    """Draws a PROV document: entities as yellow ellipses, activities as blue rectangles, agents
    as orange houses, edges labelled with the PROV relation (used, wasGeneratedBy,
    wasAssociatedWith, wasInformedBy, wasDerivedFrom, ...). Time flows from left to right: what
    a task used is left of it, what it generated right of it, and the records of one step are
    stacked, so a run stays about 2,000 pixels on its longer side. Derivations do not move records
    between columns, and relation names are placed after layout, so neither widens the graph.

    Long runs are folded (see `Folding`): beyond `fold_limit` similar records, the first and last
    `keep` are drawn and the rest become one dashed summary node ("… 490 epochs …").

    Args:
        document: a prov.model.ProvDocument (e.g. from `dfanalyzer.export.Exporter.document`).
        fold_limit: the largest run of similar records drawn in full.
        keep: records drawn at each end of a folded run.

    Example:
        graph = ProvGraph(exporter.document("alexnet-1"))
        graph.write("alexnet-1.svg")          # or .png, .pdf
        print(graph.agraph().to_string())     # the DOT source
    """

    def __init__(self, document, fold_limit=DEFAULT_LIMIT, keep=DEFAULT_KEEP):
        self.view = ProvView(document)
        self.folding = Folding(limit=fold_limit, keep=keep).fold(self.view)

    def agraph(self):
        graph = pygraphviz.AGraph(directed=True, strict=False, name="provenance")
        graph.graph_attr.update(rankdir="RL", ordering="in", fontname=style.FONT, nodesep="0.12", ranksep="0.4",
                                forcelabels="true")
        graph.node_attr.update(fontname=style.FONT, fontsize="10", margin="0.04,0.02")
        graph.edge_attr.update(fontname=style.FONT, fontsize="8", arrowsize="0.7")
        names = {}
        plans = self._plans()
        for node in self.view.nodes:
            if self.folding.target(node.id) != node.id:
                continue
            names[node.id] = f"n{len(names) + 1}"
            attributes = dict(self._style(node, plans))
            attributes["label"] = self._label(node, plans)
            attributes["tooltip"] = _escape(node.id)
            graph.add_node(names[node.id], **attributes)
        for summary in self.folding.summaries:
            names[summary.id] = f"n{len(names) + 1}"
            attributes = dict({"entity": style.ENTITY, "agent": style.AGENT}.get(summary.kind, style.ACTIVITY))
            attributes.update(style.FOLDED)
            attributes["label"] = summary.label
            attributes["tooltip"] = f"{len(summary.members)} records folded"
            graph.add_node(names[summary.id], **attributes)
        counts, order = {}, []
        for edge in self._drawn_edges():
            source, target = self.folding.target(edge.source), self.folding.target(edge.target)
            if source == target or source not in names or target not in names:
                continue
            key = (names[source], names[target], edge.label)
            if key not in counts:
                order.append(key)
            counts[key] = counts.get(key, 0) + 1
        for key in order:
            source, target, label = key
            shown = label if counts[key] == 1 else f"{label} ×{counts[key]}"
            color = style.EDGE_COLORS.get(label, "#606060")
            # xlabel: placed after layout, so relation names do not push the records apart.
            attributes = {"xlabel": shown, "color": color, "fontcolor": color}
            if label in ("hadPlan", "actedOnBehalfOf"):
                attributes["style"] = "dashed"
            if label in UNRANKED_RELATIONS:
                attributes["constraint"] = "false"
            graph.add_edge(source, target, **attributes)
        return graph

    def _drawn_edges(self):
        """The edges worth drawing: a task informed by another task is not also linked to the
        execution both are part of (it is implied, and those long edges hide the rest)."""
        activities = {node.id for node in self.view.nodes if node.kind == "activity"}
        informants = {}
        for edge in self.view.edges:
            if edge.label == "wasInformedBy":
                informants.setdefault(edge.source, []).append(edge.target)
        executions = {node_id for node_id in activities
                      if not any(target in activities for target in informants.get(node_id, []))}
        for edge in self.view.edges:
            if edge.label == "wasInformedBy" and edge.target in executions:
                others = [target for target in informants.get(edge.source, []) if target not in executions]
                if others:
                    continue
            yield edge

    # -- look ----------------------------------------------------------------------------------

    def _plans(self):
        return {node.id for node in self.view.nodes if PLAN_TYPE in node.types}

    @staticmethod
    def _style(node, plans):
        if node.kind == "activity":
            return style.ACTIVITY
        if node.kind == "agent":
            return style.AGENT
        return style.PLAN if node.id in plans else style.ENTITY

    def _label(self, node, plans):
        record = node.record
        if record is None:
            return _escape(node.id.split(":", 1)[-1])
        title = _first(record, "label") or node.id.split(":", 1)[-1]
        lines = [_escape(title)]
        if node.id in plans:
            lines.append("(plan)")
            return "\\n".join(lines)
        if node.kind == "agent":
            kind = next((AGENT_KIND_NAMES[t] for t in node.types if t in AGENT_KIND_NAMES), None)
            kind = kind or next((t.split(":", 1)[-1].lower() for t in node.types), "agent")
            version = _first(record, "version")
            lines.append(f"{kind} {_escape(_short(version))}".strip() if version is not None else kind)
            return "\\n".join(lines)
        if node.kind == "activity":
            status = _first(record, "status")
            start, end = record.get_startTime(), record.get_endTime()
            details = [str(status)] if status else []
            if isinstance(start, datetime.datetime) and isinstance(end, datetime.datetime):
                details.append(f"{(end - start).total_seconds():.3g} s")
            if details:
                lines.append(" · ".join(details))
            return "\\n".join(lines)
        shown = []
        # What a row measures says more than when it was taken: time-like attributes go last.
        attributes = sorted(self._own_attributes(record), key=lambda pair: _is_time_like(pair[0]))
        for name, value in attributes:
            shown.append(f"{_escape(name)} = {_escape(_short(value))}")
        extra = len(shown) - ATTRIBUTES_SHOWN
        lines += shown[:ATTRIBUTES_SHOWN]
        if extra > 0:
            lines.append(f"(+{extra} more)")
        return "\\n".join(lines)

    @staticmethod
    def _own_attributes(record):
        for name, value in record.attributes:
            if getattr(name, "namespace", None) is not None and name.namespace.prefix == "prov":
                if name.localpart == "location":
                    yield "location", value
                continue
            yield name.localpart, value


def _is_time_like(name):
    lowered = name.lower()
    return lowered in ("timestamp", "time") or lowered.startswith("elapsed") or lowered.endswith("_time")


def _first(record, local_name):
    for name, value in record.attributes:
        if getattr(name, "localpart", None) == local_name:
            return value
    return None


def _short(value, width=24):
    if isinstance(value, float):
        text = "NaN" if math.isnan(value) else f"{value:.6g}"
    else:
        text = str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _escape(text):
    """Graphviz label text: backslashes and quotes kept literally."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')
