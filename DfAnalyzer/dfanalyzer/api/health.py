"""GET /health: whether the service and its store answer."""
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from dfanalyzer import __version__
from dfanalyzer.api.deps import get_settings, get_store
from dfanalyzer.errors import StoreUnavailable

router = APIRouter(tags=["service"])


@router.get("/health")
def health(store=Depends(get_store), settings=Depends(get_settings)):
    """200 with status "ok", or 503 with status "backend unreachable" and why (MonetDB server down)."""
    backend = "monetdb-server" if settings.monetdb_url else "embedded-monetdb"
    answer = {"status": "ok", "version": __version__, "backend": backend, "data_dir": settings.data_dir}
    try:
        store.read("SELECT 1")
    except StoreUnavailable as error:
        answer.update(status="backend unreachable", error=str(error))
        return JSONResponse(answer, status_code=503, headers={"Retry-After": str(error.retry_after)})
    return answer
