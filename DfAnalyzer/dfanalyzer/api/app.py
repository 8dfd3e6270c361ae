"""The FastAPI application: routers, error answers, and the store it serves."""
import logging
import re

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dfanalyzer import __version__
from dfanalyzer.api import (dataflows, executions, health, ingest, path_query, pde, prov, prov_graph_json, query,
                            runs_table, saved_queries, schema)
from dfanalyzer.errors import DfaError
from dfanalyzer.ingest import MessageRejected
from dfanalyzer.ingest.shared_database import SharedDatabaseIngestor
from dfanalyzer.web import mount_web

log = logging.getLogger(__name__)

ROUTERS = [
    health.router,
    pde.router,
    ingest.router,
    query.router,
    dataflows.router,
    executions.router,
    prov_graph_json.router,  # before prov.router, whose graph.{image_format} would take graph.json
    prov.router,
    runs_table.router,
    path_query.router,
    saved_queries.router,
    schema.router,
]
ROUTERS.append(__import__("dfanalyzer.api.models", fromlist=["router"]).router)  # trained models (keras_prov)


def create_app(store, settings):
    """The application serving `store`; `settings` are shown by /health."""
    app = FastAPI(title="DfAnalyzer", version=__version__,
                  description="Provenance of deep-learning runs (W3C PROV, PROV-Df) on MonetDB.")
    app.state.store = store
    app.state.settings = settings
    app.state.ingestor = SharedDatabaseIngestor(store)
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
        retry_after = getattr(error, "retry_after", None)
        return JSONResponse({"detail": str(error)}, status_code=error.status_code,
                            headers={"Retry-After": str(retry_after)} if retry_after else None)

    return app
