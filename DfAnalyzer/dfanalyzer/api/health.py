"""GET /health: whether the service and its store answer. It is open without a token, so it
tells nothing about the machine (no paths)."""
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from dfanalyzer import __version__
from dfanalyzer.api.answers import HealthAnswer
from dfanalyzer.api.deps import get_settings, get_store
from dfanalyzer.errors import StoreUnavailable

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthAnswer)
def health(request: Request, store=Depends(get_store), settings=Depends(get_settings)):
    """200 with status "ok", or 503 with status "backend unreachable" (MonetDB server away)."""
    backend = "monetdb-server" if settings.monetdb_url else "embedded-monetdb"
    restarts = getattr(request.app.state, "worker_restarts", 0)  # set by the worker process
    answer = {"status": "ok", "version": __version__, "backend": backend, "worker_restarts": restarts}
    try:
        store.ping()
    except StoreUnavailable as error:
        answer["status"] = "backend unreachable"
        return JSONResponse(answer, status_code=503, headers={"Retry-After": str(error.retry_after)})
    return answer
