"""PROV-N, the W3C notation meant for people."""
from dfanalyzer.export.document_format import DocumentFormat


class ProvN(DocumentFormat):
    """PROV-N (https://www.w3.org/TR/prov-n/).

    Example:
        text = ProvN().serialize(document)
    """

    name = "provn"
    description = "PROV-N, the W3C notation meant for people"
    media_type = "text/provenance-notation; charset=utf-8"
    extension = ".provn"
    prov_format = "provn"
