"""What every graph offers once it can build its pygraphviz AGraph: DOT text, image bytes, files."""
from dfanalyzer.graph import registry


class DrawnGraph:
    """Base of ProvGraph and SpecGraph; subclasses implement `agraph()`."""

    def agraph(self):
        raise TypeError(f"{type(self).__name__} must implement agraph()")

    def dot(self):
        """The DOT source of the graph."""
        return self.agraph().to_string()

    def render(self, format_name):
        """The image as bytes in `format_name` (png, svg, pdf)."""
        return registry.get(format_name).render(self.agraph())

    def write(self, path):
        """Writes the image to `path`, in the format its extension names."""
        image = registry.for_path(path).render(self.agraph())
        with open(path, "wb") as stream:
            stream.write(image)
        return path
