"""PROV-JSON."""
from dfanalyzer.export.document_format import DocumentFormat


class ProvJson(DocumentFormat):
    """PROV-JSON (https://www.w3.org/submissions/prov-json/).

    Example:
        text = ProvJson().serialize(document)
    """

    name = "json"
    description = "PROV-JSON (W3C member submission)"
    media_type = "application/json"
    extension = ".json"
    prov_format = "json"
    prov_options = {"indent": 2}

