"""W3C PROV documents of the stored provenance: `Exporter(store).export("run-1", "provn")`.

Formats are looked up in a small registry, one module each: `get("provn")`, `known()`.
"""
from dfanalyzer.export.document_builder import DocumentBuilder
from dfanalyzer.export.exporter import Exporter
from dfanalyzer.export.reader import ProvenanceReader
from dfanalyzer.export.registry import UnknownFormat, get, known

__all__ = ["DocumentBuilder", "Exporter", "ProvenanceReader", "UnknownFormat", "get", "known"]
