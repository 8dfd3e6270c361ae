"""Exporting and drawing in-process from an embedded store (DFA_URL=embedded:... mode), as an
example script does after training without a service."""
import pytest
from prov.model import ProvDocument

from dfanalyzer.export import Exporter, UnknownFormat, get
from dfanalyzer.graph import ProvGraph, SpecGraph
from dfanalyzer.export import ProvenanceReader
from dfanalyzer.ingest import Ingestor
from dfanalyzer.store import open_store
from prov_sample import DATAFLOW, sample_messages


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = open_store(data_dir=str(tmp_path_factory.mktemp("embedded")))
    store.create_catalog()
    Ingestor(store).ingest_batch(sample_messages("run-e", epochs=30, adaptations=3))
    yield store
    store.close()


def test_exporter_writes_each_format_named_by_the_extension(store, tmp_path):
    exporter = Exporter(store)
    reference = exporter.document("run-e")
    for extension in ("provn", "json", "xml", "ttl", "jsonld"):
        path = exporter.write("run-e", str(tmp_path / f"run-e.{extension}"))
        document_format = get(extension)
        with open(path, encoding="utf-8") as stream:
            assert document_format.deserialize(stream.read()) == reference
    with pytest.raises(UnknownFormat, match=r"\.provn, \.json, \.xml, \.ttl, \.jsonld"):
        exporter.write("run-e", str(tmp_path / "run-e.txt"))
    assert not (tmp_path / "run-e.txt").exists()


def test_graphs_from_an_embedded_store(store, tmp_path):
    document = Exporter(store).document("run-e")
    assert isinstance(document, ProvDocument)
    prov_path = ProvGraph(document).write(str(tmp_path / "run-e.png"))
    spec_path = SpecGraph(ProvenanceReader(store).specification(DATAFLOW)).write(str(tmp_path / "spec.svg"))
    with open(prov_path, "rb") as image:
        assert image.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(spec_path, encoding="utf-8") as image:
        assert "iTrainingModel" in image.read()
    assert "… 24 epochs …" in ProvGraph(document).dot()
