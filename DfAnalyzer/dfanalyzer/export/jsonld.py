"""PROV-JSONLD."""
from dfanalyzer.export.document_format import DocumentFormat


class JsonLd(DocumentFormat):
    """PROV-JSONLD (https://www.w3.org/submissions/prov-jsonld/), the compact JSON-LD shape the
    prov library writes and reads.

    Example:
        text = JsonLd().serialize(document)
    """

    name = "jsonld"
    description = "PROV-JSONLD (JSON-LD, W3C member submission)"
    media_type = "application/ld+json"
    extension = ".jsonld"
    prov_format = "jsonld"
