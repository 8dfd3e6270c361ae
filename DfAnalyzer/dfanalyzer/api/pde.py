"""The original DfAnalyzer ingestion endpoints, for scripts written for the Java service.

Bodies are taken as they come (numbers as strings, missing fields) and checked by the ingestion
layer, which names what is wrong.
"""
from typing import Any

from fastapi import APIRouter, Body, Depends

from dfanalyzer.api.answers import StoredAnswer
from dfanalyzer.api.deps import get_ingestor
from dfanalyzer.api.responses import error_responses

router = APIRouter(prefix="/pde", tags=["original ingestion"])


@router.post("/dataflow/json", response_model=StoredAnswer, responses=error_responses(507))
def post_dataflow(specification: dict[str, Any] = Body(...), ingestor=Depends(get_ingestor)):
    """Stores (or extends) a dataflow specification."""
    info = ingestor.ingest_dataflow(specification)
    return {"stored": "dataflow", "tag": info.tag}


@router.post("/task/json", response_model=StoredAnswer, responses=error_responses(507))
def post_task(message: dict[str, Any] = Body(...), ingestor=Depends(get_ingestor)):
    """Stores a task message. Elements this task already stored in a set are not stored again,
    so clients that re-send their accumulated datasets store each row once."""
    task_id = ingestor.ingest_task(message, skip_stored_elements=True)
    return {"stored": "task", "task_id": task_id}
