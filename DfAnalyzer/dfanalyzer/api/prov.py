"""W3C PROV documents and graph images of executions and dataflows, and the list of runs.

- GET /api/v1/executions/{exec}/prov?format=provn|json|xml|ttl|jsonld
- GET /api/v1/dataflows/{tag}/prov?format=...            (the dataflow with all its executions)
- GET /api/v1/executions/{exec}/graph.png|svg|pdf        (PROV graph; ?kind=spec for its dataflow)
- GET /api/v1/dataflows/{tag}/graph.png|svg|pdf          (specification graph; ?kind=prov for all runs)
- GET /api/v1/runs?dataflow=...                          (executions with their final metrics)
"""
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from dfanalyzer.api.answers import RunSummary as RunSummaryAnswer
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.download_name import content_disposition
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.errors import InvalidInput
from dfanalyzer.export import Exporter, ProvenanceReader, registry as document_formats
from dfanalyzer.export.run_summary import RunSummary
from dfanalyzer.graph import Folding, ProvGraph, RunOverview, SpecGraph, registry as image_formats
from dfanalyzer.graph.folding import DEFAULT_KEEP, DEFAULT_LIMIT
from dfanalyzer.reading import list_executions

router = APIRouter(tags=["provenance"])


def _content(formats):
    """The `responses=` entry documenting a 200 in each format's media type."""
    media_types = {f.media_type.split(";")[0] for f in formats}
    return {200: {"description": "the document or image",
                  "content": {media_type: {"schema": {"type": "object" if media_type.endswith("json") else "string"}}
                              for media_type in sorted(media_types)}}}


DOCUMENTS = _content(document_formats.FORMATS.values())
IMAGES = _content(image_formats.FORMATS.values())

FORMAT_HELP = "PROV format: " + ", ".join(document_formats.known())
KIND_HELP = "prov: the provenance graph; spec: the dataflow specification"
# The document lists the values the routes accept; the routes check them, so that a wrong one is
# answered with the known ones (not a bare "should match pattern").


def _image_format():
    return Path(..., description="png, svg, pdf or dot", json_schema_extra={"enum": list(image_formats.FORMATS)})


def _kind(default):
    return Query(default, description=KIND_HELP, json_schema_extra={"enum": list(image_formats.KINDS)})


def _fold():
    return Query(DEFAULT_LIMIT, description="runs longer than this are folded (at least twice `keep`)",
                 json_schema_extra={"minimum": 2})


def _keep():
    return Query(DEFAULT_KEEP, description="records drawn at each end of a folded run",
                 json_schema_extra={"minimum": 1})


def _document_format():
    return Query("provn", description=FORMAT_HELP, json_schema_extra={"enum": document_formats.known()})


def _document_response(text, document_format, name):
    filename = f"{name}{document_format.extension}"
    return Response(content=text, media_type=document_format.media_type,
                    headers={"Content-Disposition": content_disposition(filename)})


@router.get("/api/v1/executions/{execution}/prov", response_class=Response, responses=DOCUMENTS)
def execution_prov(execution: str, format: str = _document_format(),
                   dataflow: str | None = None, store=Depends(get_store)):
    """The PROV document of one execution."""
    document_format = document_formats.get(format)
    text = Exporter(store).export(execution, document_format.name, kind="execution", dataflow=dataflow)
    return _document_response(text, document_format, execution)


@router.get("/api/v1/dataflows/{tag}/prov", response_class=Response, responses=DOCUMENTS)
def dataflow_prov(tag: str, format: str = _document_format(), store=Depends(get_store)):
    """The PROV document of a dataflow: its plan and all its executions."""
    document_format = document_formats.get(format)
    text = Exporter(store).export(tag, document_format.name, kind="dataflow")
    return _document_response(text, document_format, tag)


def _graph(store, name, subject, kind, fold, keep, dataflow=None):
    if kind not in image_formats.KINDS:
        raise InvalidInput(f"unknown graph kind {kind!r}; known kinds: {', '.join(image_formats.KINDS)}")
    try:
        Folding(limit=fold, keep=keep)
    except ValueError as error:
        raise InvalidInput(f"fold={fold}, keep={keep}: {error}") from None
    reader = ProvenanceReader(store)
    if kind == "spec":
        if subject == "execution":
            snapshot = reader.execution(name, dataflow=dataflow)
            return SpecGraph(reader.specification(snapshot.dataflow["tag"]))
        return SpecGraph(reader.specification(name))
    if subject == "dataflow":
        runs = list_executions(store, name)
        if len(runs) > 1:  # every record of many runs is an unreadable strip: one node per run
            overview = RunOverview(reader.specification(name).dataflow["tag"], runs)
            summary = RunSummary(store)
            for run in overview.drawn_runs():
                run["metrics"] = summary.metrics(run["dataflow"], run["execution"])
            return overview
    return ProvGraph(Exporter(store).document(name, kind=subject, dataflow=dataflow), fold_limit=fold, keep=keep)


def _image_response(graph, image_format_name, name):
    image_format = image_formats.get(image_format_name)
    return Response(content=image_format.render(graph.agraph()), media_type=image_format.media_type,
                    headers={"Content-Disposition": content_disposition(f"{name}.{image_format.name}")})


@router.get("/api/v1/executions/{execution}/graph.{image_format}", response_class=Response, responses=IMAGES)
def execution_graph(execution: str, image_format: str = _image_format(), kind: str = _kind("prov"),
                    fold: int = _fold(), keep: int = _keep(),
                    dataflow: str | None = None, store=Depends(get_store)):
    """The provenance graph of an execution (png, svg or pdf)."""
    image_formats.get(image_format)
    graph = _graph(store, execution, "execution", kind, fold, keep, dataflow)
    return _image_response(graph, image_format, execution)


@router.get("/api/v1/dataflows/{tag}/graph.{image_format}", response_class=Response, responses=IMAGES)
def dataflow_graph(tag: str, image_format: str = _image_format(), kind: str = _kind("spec"),
                   fold: int = _fold(), keep: int = _keep(),
                   store=Depends(get_store)):
    """The specification graph of a dataflow (png, svg or pdf); ?kind=prov draws its runs (one
    node per run, linking to the run's own graph, when there are several)."""
    image_formats.get(image_format)
    graph = _graph(store, tag, "dataflow", kind, fold, keep)
    return _image_response(graph, image_format, tag)


@router.get("/api/v1/runs", response_model=list[RunSummaryAnswer])
def runs(dataflow: str | None = None, store=Depends(get_store)):
    """Executions with dataflow, start and end, status and final metrics."""
    return SafeJSONResponse(RunSummary(store).list(dataflow))
