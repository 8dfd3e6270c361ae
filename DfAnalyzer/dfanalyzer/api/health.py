"""GET /health: whether the service and its store answer."""
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from dfanalyzer import __version__
from dfanalyzer.api.deps import get_settings, get_store
from dfanalyzer.errors import StoreUnavailable

router = APIRouter(tags=["service"])


@router.get("/health")
def health(request: Request, store=Depends(get_store), settings=Depends(get_settings)):
    """200 with status "ok", or 503 with status "backend unreachable" and why (MonetDB server down)."""
    backend = "monetdb-server" if settings.monetdb_url else "embedded-monetdb"
    restarts = getattr(request.app.state, "worker_restarts", 0)  # set by the worker process
    answer = {"status": "ok", "version": __version__, "backend": backend, "data_dir": settings.data_dir,
              "worker_restarts": restarts}
    try:
        store.ping()
    except StoreUnavailable as error:
        answer.update(status="backend unreachable", error=str(error))
        return JSONResponse(answer, status_code=503, headers={"Retry-After": str(error.retry_after)})
    return answer
