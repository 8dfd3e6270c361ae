"""GET/POST/DELETE /api/v1/saved-queries: the SQL console's saved queries, and the paper's
analyses as ready examples for the dataflows that can answer them."""
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from dfanalyzer import paper_analyses, reading, saved_queries
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.api.responses import error_responses

QUERY_ID = Path(..., ge=1, le=2**63 - 1, description="the id GET /api/v1/saved-queries lists")

router = APIRouter(prefix="/api/v1/saved-queries", tags=["saved queries"], default_response_class=SafeJSONResponse)


class SavedQuery(BaseModel):
    id: int
    name: str
    sql: str
    created: str | None


class ExampleQuery(BaseModel):
    name: str
    sql: str
    example: bool


class SavedQueriesAnswer(BaseModel):
    saved: list[SavedQuery]
    examples: list[ExampleQuery] = Field(..., description="the Keras-Prov paper's analyses, for dataflows that have them")


class DeletedAnswer(BaseModel):
    deleted: int


class SavedQueryRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=saved_queries.MAX_NAME, pattern=r"\S",
                      description="unique name; saving under an existing name replaces its SQL")
    sql: str = Field(..., min_length=1, pattern=r"\S", description="one SELECT or WITH statement")


@router.get("", response_model=SavedQueriesAnswer)
def list_saved_queries(dataflow: str = Query(None, description="only this dataflow's ready examples"),
                       store=Depends(get_store)):
    """{"saved": [{id, name, sql, created}], "examples": [{name, sql, example}]}."""
    tags = [dataflow] if dataflow else paper_analyses.candidate_dataflows(store)
    examples = [example for tag in tags
                for example in paper_analyses.analyses(store, reading.dataflow_specification(store, tag))]
    return SafeJSONResponse({"saved": saved_queries.list_saved(store), "examples": examples})


@router.post("", response_model=SavedQuery, responses=error_responses(507))
def save_query(request: SavedQueryRequest, store=Depends(get_store)):
    return SafeJSONResponse(saved_queries.save(store, request.name, request.sql))


@router.get("/{query_id}", response_model=SavedQuery)
def saved_query(query_id: int = QUERY_ID, store=Depends(get_store)):
    return SafeJSONResponse(saved_queries.get_saved(store, query_id))


@router.delete("/{query_id}", response_model=DeletedAnswer, responses=error_responses(507))
def delete_query(query_id: int = QUERY_ID, store=Depends(get_store)):
    saved_queries.delete(store, query_id)
    return SafeJSONResponse({"deleted": query_id})
