"""Exporting the provenance of an execution or a dataflow as a PROV document."""
from dfanalyzer.export import registry
from dfanalyzer.export.document_builder import DocumentBuilder
from dfanalyzer.export.keras_conventions import KerasConventions
from dfanalyzer.export.lineage_conventions import LineageConventions
from dfanalyzer.export.steering_records import SteeringRecords
from dfanalyzer.export.reader import ProvenanceReader


class Exporter:
    """Reads provenance from a store and writes it in one of the PROV formats.

    Args:
        store: a read-only use of a `dfanalyzer.store.Store`.
        builder: the DocumentBuilder (by default with the Keras and the lineage conventions and
            the steering actions).

    Example:
        exporter = Exporter(store)
        text = exporter.export("alexnet-1", "provn")               # an execution ...
        text = exporter.export("alexnet", "ttl", kind="dataflow")  # ... or a whole dataflow
        document = exporter.document("alexnet-1")                  # prov.model.ProvDocument
        exporter.write("alexnet-1", "out/alexnet-1.provn")         # format from the extension
    """

    def __init__(self, store, builder=None):
        self.reader = ProvenanceReader(store)
        self.builder = builder or DocumentBuilder(
            conventions=(KerasConventions(), LineageConventions(store), SteeringRecords()))

    def snapshot(self, name, kind=None, dataflow=None):
        """The snapshot of execution or dataflow `name`; `kind` None means: an execution if one has
        that tag, else a dataflow."""
        if kind is None:
            kind, name = self.reader.resolve(name)
        if kind == "execution":
            return self.reader.execution(name, dataflow=dataflow)
        if kind == "dataflow":
            return self.reader.dataflow(name)
        raise ValueError(f"kind must be 'execution' or 'dataflow', got {kind!r}")

    def document(self, name, kind=None, dataflow=None):
        return self.builder.build(self.snapshot(name, kind, dataflow))

    def export(self, name, format_name, kind=None, dataflow=None):
        """The document as text in format `format_name` (checked before anything is read)."""
        document_format = registry.get(format_name)
        return document_format.serialize(self.document(name, kind, dataflow))

    def write(self, name, path, format_name=None, kind=None, dataflow=None):
        """Writes the document to `path`, in `format_name` or the format its extension names
        (.provn, .json, .xml, .ttl, .jsonld). Returns the path."""
        document_format = registry.get(format_name) if format_name else registry.for_path(path)
        text = document_format.serialize(self.document(name, kind, dataflow))
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return path
