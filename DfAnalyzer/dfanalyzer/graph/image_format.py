"""The base of the image formats graphs are drawn in."""


class ImageFormat:
    """One image format Graphviz draws.

    Attributes:
        name: what users give (`-o graph.png`, `graph.svg`).
        media_type: the HTTP Content-Type.
        graph_attributes: Graphviz graph attributes this format needs (e.g. resolution).
    """

    name = ""
    media_type = "application/octet-stream"
    graph_attributes = {}

    def render(self, agraph):
        """The image of a pygraphviz AGraph as bytes (laid out with dot)."""
        for key, value in self.graph_attributes.items():
            agraph.graph_attr[key] = value
        return agraph.draw(format=self.name, prog="dot")
