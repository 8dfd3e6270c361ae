"""PDF documents."""
from dfanalyzer.graph.image_format import ImageFormat


class Pdf(ImageFormat):
    """PDF: one page holding the whole graph, for papers and reports."""

    name = "pdf"
    media_type = "application/pdf"
