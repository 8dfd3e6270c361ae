"""Graph images of the provenance: the dataflow specification and the PROV graph of a run.

    SpecGraph(ProvenanceReader(store).specification("alexnet")).write("spec.png")
    ProvGraph(Exporter(store).document("alexnet-1")).write("prov.svg")
    RunOverview("alexnet", RunSummary(store).list("alexnet")).write("runs.png")   # many runs

Image formats are looked up in a small registry, one module each: `get("png")`, `known()`.
"""
from dfanalyzer.graph.folding import Folding
from dfanalyzer.graph.prov_graph import ProvGraph
from dfanalyzer.graph.run_overview import RunOverview
from dfanalyzer.graph.registry import UnknownImageFormat, for_path, get, known
from dfanalyzer.graph.spec_graph import SpecGraph

__all__ = ["Folding", "ProvGraph", "RunOverview", "SpecGraph", "UnknownImageFormat", "for_path", "get", "known"]
