"""PROV-XML."""
from dfanalyzer.export.document_format import DocumentFormat


class ProvXml(DocumentFormat):
    """PROV-XML (https://www.w3.org/TR/prov-xml/).

    Example:
        text = ProvXml().serialize(document)
    """

    name = "xml"
    description = "PROV-XML (W3C note)"
    media_type = "application/xml"
    extension = ".xml"
    prov_format = "xml"
