"""GET /api/v1/executions and /api/v1/executions/{exec}."""
from fastapi import APIRouter, Depends

from dfanalyzer import reading
from dfanalyzer.api.answers import ExecutionDetail, ExecutionSummary
from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse

router = APIRouter(prefix="/api/v1/executions", tags=["executions"], default_response_class=SafeJSONResponse)


@router.get("", response_model=list[ExecutionSummary])
def list_executions(dataflow: str | None = None, store=Depends(get_store)):
    return SafeJSONResponse(reading.list_executions(store, dataflow))


@router.get("/{execution}", response_model=ExecutionDetail)
def execution(execution: str, dataflow: str | None = None, store=Depends(get_store)):
    """Tasks with status, times, dependencies and row counts per set, and the agents."""
    return SafeJSONResponse(reading.execution_detail(store, execution, dataflow))
