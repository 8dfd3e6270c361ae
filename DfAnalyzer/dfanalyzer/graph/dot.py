"""The DOT source of a graph, for Graphviz users and for checking what a graph holds."""
from dfanalyzer.graph.image_format import ImageFormat


class Dot(ImageFormat):
    """Graphviz DOT text, before layout (no positions): nodes, edges and their attributes."""

    name = "dot"
    media_type = "text/vnd.graphviz; charset=utf-8"

    def render(self, agraph):
        return agraph.to_string().encode("utf-8")
