"""PNG images."""
from dfanalyzer.graph.image_format import ImageFormat


class Png(ImageFormat):
    """PNG, at a resolution that keeps labels legible when the image is viewed at full size."""

    name = "png"
    media_type = "image/png"
    graph_attributes = {"dpi": "96"}
