"""GET /api/v1/executions/{exec}/graph.json: the PROV graph of a run as nodes and edges, for the
interactive graph of the run page (which lays it out, collapses and searches it in the browser)."""
import datetime

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.export import Exporter
from dfanalyzer.graph.prov_view import ProvView

router = APIRouter(tags=["provenance"], default_response_class=SafeJSONResponse)


class GraphNode(BaseModel):
    id: str
    kind: str
    label: str
    types: list[str]
    group: str | None
    record: bool
    attributes: list[list[Any]]


class GraphEdge(BaseModel):
    source: str
    target: str
    label: str


class GraphAnswer(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]


def _value(value):
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def _attributes(record):
    if record is None:
        return []
    attributes = [[str(name), _value(value)] for name, value in record.attributes]
    if hasattr(record, "get_startTime"):  # activities
        for name, moment in (("prov:startTime", record.get_startTime()), ("prov:endTime", record.get_endTime())):
            if moment is not None:
                attributes.append([name, _value(moment)])
    return attributes


def graph_json(document):
    """{"nodes": [...], "edges": [...]} of a PROV document. An entity's `group` names the set its
    record belongs to (e.g. `kprov:set/oTrainingModel`), so the page can collapse a set's records."""
    view = ProvView(document)
    nodes = []
    for node in view.nodes:
        label = node.attribute("label") if node.record is not None else None
        set_type = next((t for t in node.types if "set/" in t), None)
        nodes.append({"id": node.id, "kind": node.kind, "label": str(label or node.id.split(":", 1)[-1]),
                      "types": list(node.types), "group": set_type if node.kind == "entity" else None,
                      "record": node.record is not None, "attributes": _attributes(node.record)})
    return {"nodes": nodes, "edges": [{"source": e.source, "target": e.target, "label": e.label} for e in view.edges]}


@router.get("/api/v1/executions/{execution}/graph.json", response_model=GraphAnswer)
def execution_graph_json(execution: str, dataflow: str | None = None, store=Depends(get_store)):
    return SafeJSONResponse(graph_json(Exporter(store).document(execution, kind="execution", dataflow=dataflow)))
