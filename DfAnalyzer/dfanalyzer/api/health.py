"""GET /health: whether the service and its store answer. It is open without a token, so it
tells nothing about the machine (no paths)."""
from fastapi import APIRouter, Depends, Request

from dfanalyzer import __version__
from dfanalyzer.api.answers import HealthAnswer
from dfanalyzer.api.deps import get_settings, get_store

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthAnswer)
def health(request: Request, store=Depends(get_store), settings=Depends(get_settings)):
    store.ping()
    backend = "monetdb-server" if settings.monetdb_url else "embedded-monetdb"
    restarts = getattr(request.app.state, "worker_restarts", 0)  # set by the worker process
    return {"status": "ok", "version": __version__, "backend": backend, "worker_restarts": restarts}
