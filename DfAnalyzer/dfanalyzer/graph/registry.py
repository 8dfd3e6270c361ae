"""The registry of image formats: `get("svg")`."""
from dfanalyzer.errors import InvalidInput
from dfanalyzer.graph.dot import Dot
from dfanalyzer.graph.pdf import Pdf
from dfanalyzer.graph.png import Png
from dfanalyzer.graph.svg import Svg

FORMATS = {format_class.name: format_class() for format_class in (Png, Svg, Pdf, Dot)}
KINDS = ("prov", "spec")


class UnknownImageFormat(InvalidInput):
    """An image format that is not drawn; the message lists the known ones."""


def known():
    return list(FORMATS)


def get(name):
    """The ImageFormat for `name` ("png", "svg", "pdf", "dot"; case-insensitive, a leading dot allowed)."""
    key = str(name or "").strip().lower().lstrip(".")
    if key not in FORMATS:
        raise UnknownImageFormat(f"unknown image format {name!r}; known formats: {', '.join(known())}")
    return FORMATS[key]


def for_path(path):
    """The ImageFormat named by a file name's extension."""
    suffix = str(path).rsplit(".", 1)[-1] if "." in str(path) else ""
    if not suffix:
        raise UnknownImageFormat(f"{path!r} has no extension; end it with one of: "
                                 + ", ".join("." + name for name in known()))
    return get(suffix)
