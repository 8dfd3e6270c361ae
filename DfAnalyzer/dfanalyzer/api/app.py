"""The FastAPI application: routers, error answers, and the store it serves."""
import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dfanalyzer import __version__
from dfanalyzer.api import (comparison, dataflows, executions, health, ingest, path_query, pde, prov, query,
                            run_views, runs_table, saved_queries)
from dfanalyzer.errors import DfaError
from dfanalyzer.ingest import Ingestor, MessageRejected
from dfanalyzer.web import mount_web

log = logging.getLogger(__name__)

ROUTERS = [
    health.router,
    pde.router,
    ingest.router,
    query.router,
    dataflows.router,
    executions.router,
    prov.router,
    runs_table.router,
    path_query.router,
    saved_queries.router,
    run_views.router,
    comparison.router,
]
ROUTERS.append(__import__("dfanalyzer.api.models", fromlist=["router"]).router)  # trained models (keras_prov)


def create_app(store, settings):
    """The application serving `store`; `settings` are shown by /health."""
    app = FastAPI(title="DfAnalyzer", version=__version__,
                  description="Provenance of deep-learning runs (W3C PROV, PROV-Df) on MonetDB.")
    app.state.store = store
    app.state.settings = settings
    app.state.ingestor = Ingestor(store)
    for router in ROUTERS:
        app.include_router(router)
    mount_web(app)

    @app.middleware("http")
    async def collapse_slashes(request: Request, call_next):
        # Original clients post to DFA_URL + '/pde/...' with a URL ending in '/', hence '//pde'.
        path = request.scope["path"]
        if "//" in path:
            request.scope["path"] = re.sub("/{2,}", "/", path)
        return await call_next(request)

    @app.exception_handler(MessageRejected)
    async def rejected_message(request: Request, error: MessageRejected):
        return JSONResponse({"detail": {"error": str(error), "message_id": error.message_id}}, status_code=422)

    @app.exception_handler(DfaError)
    async def dfa_error(request: Request, error: DfaError):
        if error.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, error)
        return JSONResponse({"detail": str(error)}, status_code=error.status_code)

    return app
