"""The base of the PROV serialisation formats."""
import io

from prov.model import ProvDocument


class DocumentFormat:
    """One way of writing a PROV document. Subclasses set the class attributes and, when the prov
    library needs options for the format, `prov_options`.

    Attributes:
        name: the name users give (`--format provn`, `?format=provn`).
        description: one line for listings.
        media_type: the HTTP Content-Type.
        extension: the usual file extension, with its dot.
    """

    name = ""
    description = ""
    media_type = "text/plain"
    extension = ".txt"
    prov_format = ""
    prov_options = {}
    read_options = {}

    def serialize(self, document):
        """The document as text."""
        return document.serialize(format=self.prov_format, **self.prov_options)

    def deserialize(self, text):
        """A ProvDocument read back from text this format wrote."""
        return ProvDocument.deserialize(content=text, format=self.prov_format, **self.read_options)

    def write(self, document, path):
        with io.open(path, "w", encoding="utf-8") as stream:
            stream.write(self.serialize(document))
