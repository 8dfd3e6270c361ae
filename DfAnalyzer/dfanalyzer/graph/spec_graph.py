"""The dataflow specification graph: transformations and the sets they read and write."""
import html

import pygraphviz

from dfanalyzer.graph import style
from dfanalyzer.graph.drawn_graph import DrawnGraph


class SpecGraph(DrawnGraph):
    """Draws a dataflow specification as DfAnalyzer's dataflow view showed it: each transformation
    a box, each set a table of its attributes (name and type), an edge from a set to each
    transformation reading it ("input") and from the transformation writing it ("output").

    Args:
        snapshot: a `dfanalyzer.export.snapshot.Snapshot` (its specification part is used), e.g.
            `ProvenanceReader(store).specification("alexnet")`.

    Example:
        SpecGraph(reader.specification("alexnet")).write("alexnet-spec.png")
    """

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def agraph(self):
        graph = pygraphviz.AGraph(directed=True, strict=False, name="specification")
        graph.graph_attr.update(rankdir="LR", fontname=style.FONT, nodesep="0.35", ranksep="0.6",
                                label=f"dataflow {self.snapshot.dataflow['tag']}", labelloc="t",
                                fontsize="16")
        graph.node_attr.update(fontname=style.FONT, fontsize="11")
        graph.edge_attr.update(fontname=style.FONT, fontsize="9", color="#404040", fontcolor="#404040")
        for transformation in self.snapshot.transformations:
            graph.add_node(f"t{transformation.id}", label=transformation.tag, **style.TRANSFORMATION)
        for data_set in self.snapshot.sets:
            graph.add_node(f"s{data_set.id}", label=self._set_label(data_set), **style.DATA_SET)
        for data_set in self.snapshot.sets:
            for dt_id in data_set.producers:
                graph.add_edge(f"t{dt_id}", f"s{data_set.id}", label="output")
            for dt_id in data_set.consumers:
                graph.add_edge(f"s{data_set.id}", f"t{dt_id}", label="input")
        return graph

    @staticmethod
    def _set_label(data_set):
        rows = [f'<TR><TD COLSPAN="2" BGCOLOR="{style.SET_HEADER_COLOR}"><B>{html.escape(data_set.tag)}</B></TD></TR>']
        for attribute in data_set.attributes:
            rows.append(f'<TR><TD ALIGN="LEFT">{html.escape(attribute.name)}</TD>'
                        f'<TD ALIGN="LEFT"><FONT COLOR="#606060">{html.escape(attribute.type)}</FONT></TD></TR>')
        if not data_set.attributes:
            rows.append('<TR><TD COLSPAN="2"><I>no attributes</I></TD></TR>')
        return (f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" '
                f'BGCOLOR="{style.SET_BODY_COLOR}" COLOR="#808080">' + "".join(rows) + "</TABLE>>")
