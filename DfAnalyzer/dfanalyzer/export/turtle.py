"""PROV-O in Turtle (RDF)."""
from prov.serializers.provrdf import ProvRDFSerializer
from rdflib import Graph
from rdflib.compare import to_canonical_graph

from dfanalyzer.export.document_format import DocumentFormat


class Turtle(DocumentFormat):
    """PROV-O as RDF Turtle (https://www.w3.org/TR/prov-o/), through rdflib.

    Qualified relations (a derivation with its activity, an association with its plan) are blank
    nodes, which rdflib names at random; they are renamed canonically (`rdflib.compare`) so the
    same document always gives the same text.

    Example:
        text = Turtle().serialize(document)
    """

    name = "ttl"
    description = "PROV-O as RDF Turtle"
    media_type = "text/turtle; charset=utf-8"
    extension = ".ttl"
    prov_format = "rdf"
    read_options = {"rdf_format": "turtle"}

    def serialize(self, document):
        dataset = ProvRDFSerializer(document).encode_document(document)
        triples = Graph()
        for subject, predicate, value, _graph in dataset.quads((None, None, None, None)):
            triples.add((subject, predicate, value))
        canonical = Graph()
        for prefix, uri in dataset.namespaces():
            canonical.bind(prefix, uri, override=True, replace=True)
        for triple in to_canonical_graph(triples):
            canonical.add(triple)
        return canonical.serialize(format="turtle")
