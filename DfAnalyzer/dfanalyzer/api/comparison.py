"""GET /api/v1/compare?runs=A,B,...: the comparison page's data."""
from fastapi import APIRouter, Depends, Query

from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.runs.comparison import Comparison
from dfanalyzer.runs.series import MAX_POINTS

router = APIRouter(prefix="/api/v1", tags=["runs"], default_response_class=SafeJSONResponse)


@router.get("/compare")
def compare(runs: str = Query(..., pattern="[^,]", description="comma-separated execution tags"),
            dataflow: str | None = Query(None, description="dataflow of the runs, when tags are ambiguous"),
            points: int = Query(500, ge=2, le=MAX_POINTS, description="at most about this many points per curve and run"),
            store=Depends(get_store)):
    """Rows of hyperparameters, adaptations, layers, final and test metrics (each with `differs`)
    and, per metric, every run's curve."""
    executions = [run for run in runs.split(",") if run]
    return SafeJSONResponse(Comparison(store).compare(executions, dataflow, points))
