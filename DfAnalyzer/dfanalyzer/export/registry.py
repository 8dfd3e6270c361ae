"""The registry of PROV document formats: `get("provn")`."""
from dfanalyzer.errors import InvalidInput
from dfanalyzer.export.jsonld import JsonLd
from dfanalyzer.export.provjson import ProvJson
from dfanalyzer.export.provn import ProvN
from dfanalyzer.export.provxml import ProvXml
from dfanalyzer.export.turtle import Turtle

FORMATS = {format_class.name: format_class() for format_class in (ProvN, ProvJson, ProvXml, Turtle, JsonLd)}
# Other names people use for the same formats.
ALIASES = {"prov-n": "provn", "prov-json": "json", "prov-xml": "xml", "turtle": "ttl", "rdf": "ttl",
           "prov-o": "ttl", "json-ld": "jsonld"}


class UnknownFormat(InvalidInput):
    """A format name no exporter or renderer has; the message lists the known ones."""


def known():
    """The format names, in the order they are documented."""
    return list(FORMATS)


def get(name):
    """The DocumentFormat registered under `name` (case-insensitive; a few aliases accepted).

    Raises:
        UnknownFormat: with the list of known formats.
    """
    key = str(name or "").strip().lower()
    key = ALIASES.get(key, key)
    if key not in FORMATS:
        raise UnknownFormat(f"unknown PROV format {name!r}; known formats: {', '.join(known())}")
    return FORMATS[key]


def for_path(path):
    """The DocumentFormat named by a file name's extension (.provn, .json, .xml, .ttl, .jsonld)."""
    suffix = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else ""
    by_extension = {document_format.extension.lstrip("."): document_format for document_format in FORMATS.values()}
    if suffix in by_extension:
        return by_extension[suffix]
    raise UnknownFormat(f"cannot tell the PROV format of {str(path)!r} from its extension; use one of: "
                        + ", ".join(document_format.extension for document_format in FORMATS.values()))
