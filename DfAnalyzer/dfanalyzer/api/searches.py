"""Tuner searches (KerasTuner, Optuna) recorded by keras_prov.

- GET /api/v1/searches                      every search, newest first (live: status, trial counts)
- GET /api/v1/searches/{search_id}          one search: trials, their runs, best score so far
- GET /api/v1/searches/{search_id}/prov     its PROV document (?format=provn|json|xml|ttl|jsonld)
"""
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from dfanalyzer.api.deps import get_store
from dfanalyzer.api.download_name import content_disposition
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.export import registry as document_formats
from dfanalyzer.export.search_document import search_document
from dfanalyzer.runs.searches import Searches

router = APIRouter(prefix="/api/v1/searches", tags=["searches"])


class SearchSummary(BaseModel):
    model_config = ConfigDict(extra="allow")
    search_id: str
    dataflow: str
    library: str | None
    tuner: str | None
    objective: str | None
    direction: str | None
    status: str | None
    started: str | None
    ended: str | None
    trials: float | None
    trial_statuses: dict[str, int]
    best_trial: str | None
    best_score: float | None


class SearchTrial(BaseModel):
    model_config = ConfigDict(extra="allow")
    trial_id: str
    number: int | None
    status: str | None
    score: float | None
    values: dict[str, Any]
    continues_trial: str | None
    runs: list[dict[str, Any]]


class SearchDetail(SearchSummary):
    search_space: list[Any]
    trials: list[SearchTrial]
    best_so_far: list[dict[str, Any]]
    columns: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    tuned_columns: list[str]
    prov: str


@router.get("", response_model=list[SearchSummary])
def list_searches(store=Depends(get_store)):
    """Every search, newest first: tuner, objective, status, trial counts by status, best trial."""
    return SafeJSONResponse(Searches(store).list())


@router.get("/{search_id}", response_model=SearchDetail)
def read_search(search_id: str, store=Depends(get_store)):
    """One search: its settings and search space, each trial (tuned values, status, score,
    duration, continuation, runs), the best score so far by trial, and its runs as rows of the runs
    table (`columns`, `runs`; `tuned_columns` are the keys of the tuned values)."""
    return SafeJSONResponse(Searches(store).read(search_id))


@router.get("/{search_id}/prov", response_class=Response,
            responses={200: {"description": "the document", "content": {
                media_type: {"schema": {"type": "object" if media_type.endswith("json") else "string"}}
                for media_type in sorted(
                    {f.media_type.split(";")[0] for f in document_formats.FORMATS.values()})}}})
def search_prov(search_id: str, format: str = Query("provn", description="PROV format: " +
                                                    ", ".join(document_formats.known()),
                                                    json_schema_extra={"enum": document_formats.known()}),
                store=Depends(get_store)):
    """The PROV document of a search: the search as an activity of the tuner (a software agent),
    its trials informed by it, the runs informed by their trial, Hyperband's continuations as
    derivations between the trials' models."""
    document_format = document_formats.get(format)
    text = document_format.serialize(search_document(Searches(store).read(search_id)))
    return Response(content=text, media_type=document_format.media_type,
                    headers={"Content-Disposition": content_disposition(f"{search_id}{document_format.extension}")})
