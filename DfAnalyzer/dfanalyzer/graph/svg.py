"""SVG images."""
from dfanalyzer.graph.image_format import ImageFormat


class Svg(ImageFormat):
    """SVG: scalable, text searchable in a browser."""

    name = "svg"
    media_type = "image/svg+xml"
