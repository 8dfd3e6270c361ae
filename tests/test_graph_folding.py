"""Folding long runs in the PROV graph, on documents built in memory."""
import pytest

from dfanalyzer.export import DocumentBuilder
from dfanalyzer.graph import Folding, ProvGraph, UnknownImageFormat
from dfanalyzer.graph.prov_view import ProvView
from prov_sample import sample_snapshot


def graph_of(epochs, adaptations, **options):
    return ProvGraph(DocumentBuilder().build(sample_snapshot(epochs=epochs, adaptations=adaptations)), **options)


def node_labels(graph):
    agraph = graph.agraph()  # nodes read their attributes from the graph: keep it alive while reading
    return [node.attr["label"] for node in agraph.nodes()]


def test_runs_up_to_the_limit_are_drawn_in_full():
    agraph = graph_of(epochs=8, adaptations=2).agraph()
    labels = [node.attr["label"] for node in agraph.nodes()]
    assert sum(label.startswith("oTrainingModel ") for label in labels) == 8
    assert not any(label.startswith("…") for label in labels)


def test_beyond_the_limit_first_and_last_epochs_are_drawn_and_the_rest_folded():
    agraph = graph_of(epochs=500, adaptations=40).agraph()
    labels = [node.attr["label"] for node in agraph.nodes()]
    epochs = sorted(label.split("\\n")[0] for label in labels if label.startswith("oTrainingModel "))
    assert epochs == sorted(f"oTrainingModel {n}" for n in (1, 2, 3, 498, 499, 500))
    assert "… 494 epochs …\\n(epoch 3 to 496)" in labels
    assert "… 34 Adaptation tasks …" in labels
    # The rates of the folded adaptations are folded with them, not drawn one by one.
    assert sum(label.startswith("oAdaptation ") for label in labels) == 6
    summary = next(node for node in agraph.nodes() if node.attr["label"].startswith("… 494 epochs"))
    assert "dashed" in summary.attr["style"] and summary.attr["fillcolor"] == "#FFFC87"
    assert len(agraph.nodes()) < 60


def test_folded_edges_are_merged_and_counted():
    agraph = graph_of(epochs=100, adaptations=0).agraph()
    labels = [edge.attr["xlabel"] for edge in agraph.edges()]  # placed after layout
    assert "wasGeneratedBy ×94" in labels
    assert labels.count("wasGeneratedBy") == 6 + 1 + 1 + 1  # kept epochs, trained model row, model, test


def test_fold_limit_and_keep_are_options():
    labels = node_labels(graph_of(epochs=30, adaptations=0, fold_limit=40))
    assert sum(label.startswith("oTrainingModel ") for label in labels) == 30
    labels = node_labels(graph_of(epochs=30, adaptations=0, keep=1, fold_limit=2))
    assert "… 28 epochs …\\n(epoch 1 to 28)" in labels
    with pytest.raises(ValueError, match="limit >= 2 \\* keep"):
        Folding(limit=3, keep=2)


def test_images_are_written_in_the_format_the_extension_names(tmp_path):
    graph = graph_of(epochs=500, adaptations=10)
    for name, magic in [("g.png", b"\x89PNG"), ("g.pdf", b"%PDF"), ("g.svg", b"<?xml")]:
        graph.write(str(tmp_path / name))
        assert (tmp_path / name).read_bytes().startswith(magic)
    with pytest.raises(UnknownImageFormat, match="known formats: png, svg, pdf, dot"):
        graph.write(str(tmp_path / "g.bmp"))
    assert not (tmp_path / "g.bmp").exists()


def test_view_reads_every_relation_of_the_document():
    document = DocumentBuilder().build(sample_snapshot(epochs=4, adaptations=2))
    view = ProvView(document)
    relations = [r for r in document.get_records() if r.is_relation()]
    # every relation is an edge, plus one hadPlan edge for the execution's plan
    assert len(view.edges) == len(relations) + 1


def test_a_thousand_runs_overview_draws_the_first_and_last_and_counts_the_rest():
    from dfanalyzer.graph import RunOverview

    runs = [{"execution": f"run-{n}", "status": "FINISHED", "metrics": {"loss": 1.0 / (n + 1)}} for n in range(1000)]
    overview = RunOverview("sweep", runs)
    assert [run["execution"] for run in overview.drawn_runs()] == \
        [f"run-{n}" for n in list(range(24)) + list(range(976, 1000))]
    agraph = overview.agraph()  # nodes read their attributes from the graph: keep it alive while reading
    labels = [node.attr["label"] for node in agraph.nodes()]
    assert "… 952 executions …" in labels
    assert sum(label.startswith("run-") for label in labels) == 48
    assert "sweep\\n(plan · 1000 executions)" in labels
