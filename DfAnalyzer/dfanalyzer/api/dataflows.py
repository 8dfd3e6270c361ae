"""GET /api/v1/dataflows and /api/v1/dataflows/{tag}."""
from fastapi import APIRouter, Depends

from dfanalyzer import reading
from dfanalyzer.api.answers import DataflowSpecification, DataflowSummary
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse

router = APIRouter(prefix="/api/v1/dataflows", tags=["dataflows"], default_response_class=SafeJSONResponse)


@router.get("", response_model=list[DataflowSummary])
def list_dataflows(store=Depends(get_store)):
    return SafeJSONResponse(reading.list_dataflows(store))


@router.get("/{tag}", response_model=DataflowSpecification)
def dataflow(tag: str, store=Depends(get_store)):
    """The specification: transformations, sets with attributes and tables, producer/consumer links."""
    return SafeJSONResponse(reading.dataflow_specification(store, tag))


@router.get("/{tag}/row-counts", response_model=dict[str, int])
def row_counts(tag: str, store=Depends(get_store)):
    """{set tag: rows stored}, for the Dataflow Viewer."""
    return SafeJSONResponse(reading.set_row_counts(store, tag))
