"""A run as its page reads it: GET /api/v1/executions/{exec}/summary, /series (downsampled curves)
and /epochs (per-epoch rows; `after=CURSOR` answers only what was stored since, for live pages)."""
from fastapi import APIRouter, Depends, Query

from dfanalyzer.api.deps import get_store
from dfanalyzer.api.encoding import SafeJSONResponse
from dfanalyzer.runs.run_detail import RunDetail
from dfanalyzer.runs.series import MAX_POINTS, MAX_ROWS, EpochSeries

MAX_ROW_ID = 2 ** 63 - 1  # row ids are BIGINT
MAX_OFFSET = 2 ** 31 - 1  # LIMIT + OFFSET must fit a BIGINT too
router = APIRouter(prefix="/api/v1/executions", tags=["runs"], default_response_class=SafeJSONResponse)


@router.get("/{execution}/summary")
def summary(execution: str, dataflow: str | None = None, store=Depends(get_store)):
    """Status, hyperparameters, layers, adaptations, early stopping, test results, agents, models,
    errors, and the addresses of its PROV documents and graph."""
    return SafeJSONResponse(RunDetail(store).read(execution, dataflow))


@router.get("/{execution}/series")
def series(execution: str, dataflow: str | None = None,
           points: int = Query(1000, ge=2, le=MAX_POINTS, description="at most about this many points per metric"),
           start: float | None = Query(None, description="first epoch (zoom)"),
           end: float | None = Query(None, description="last epoch (zoom)"),
           metrics: str | None = Query(None, description="comma-separated metric columns (default: all)"),
           store=Depends(get_store)):
    """Per metric, [[epoch, value], ...]: every point, or the min and max of equal buckets when the
    run has more epochs than `points` (the same points on every call)."""
    chosen = [metric for metric in metrics.split(",") if metric] if metrics else None
    return SafeJSONResponse(EpochSeries(store, execution, dataflow).curves(points, start, end, chosen))


@router.get("/{execution}/epochs")
def epochs(execution: str, dataflow: str | None = None,
           after: int | None = Query(None, ge=-MAX_ROW_ID, le=MAX_ROW_ID,
                                     description="a `cursor` of an earlier answer: only newer rows"),
           offset: int = Query(0, ge=0, le=MAX_OFFSET),
           limit: int = Query(100, ge=1, le=MAX_ROWS, description="rows per page"),
           store=Depends(get_store)):
    """One row per epoch (epoch first), a page of them, or the rows stored after `after`."""
    return SafeJSONResponse(EpochSeries(store, execution, dataflow).rows(after, offset, limit))
