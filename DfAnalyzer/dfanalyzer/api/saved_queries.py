"""GET/POST/DELETE /api/v1/saved-queries: the SQL console's saved queries, and the paper's
analyses as ready examples for the dataflows that can answer them."""
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from dfanalyzer import paper_analyses, reading, saved_queries
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse

router = APIRouter(prefix="/api/v1/saved-queries", tags=["saved queries"], default_response_class=SafeJSONResponse)


class SavedQueryRequest(BaseModel):
    name: str = Field(..., description="unique name; saving under an existing name replaces its SQL")
    sql: str = Field(..., description="one SELECT or WITH statement")


@router.get("")
def list_saved_queries(dataflow: str = Query(None, description="only this dataflow's ready examples"),
                       store=Depends(get_store)):
    """{"saved": [{id, name, sql, created}], "examples": [{name, sql, example}]}."""
    tags = [dataflow] if dataflow else [d["tag"] for d in reading.list_dataflows(store)]
    examples = [example for tag in tags
                for example in paper_analyses.analyses(store, reading.dataflow_specification(store, tag))]
    return SafeJSONResponse({"saved": saved_queries.list_saved(store), "examples": examples})


@router.post("")
def save_query(request: SavedQueryRequest, store=Depends(get_store)):
    return SafeJSONResponse(saved_queries.save(store, request.name, request.sql))


@router.get("/{query_id}")
def saved_query(query_id: int, store=Depends(get_store)):
    return SafeJSONResponse(saved_queries.get_saved(store, query_id))


@router.delete("/{query_id}")
def delete_query(query_id: int, store=Depends(get_store)):
    saved_queries.delete(store, query_id)
    return SafeJSONResponse({"deleted": query_id})
