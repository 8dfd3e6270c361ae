"""The FastAPI application: routers, error answers, and the store it serves."""
import logging
import re
import time

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from dfanalyzer import __version__
from dfanalyzer.api import (comparison, dataflows, executions, health, ingest, openapi_document, path_query, pde,
                            prov, prov_graph_json, query, run_views, runs_table, saved_queries, schema,
                            searches, steering)
from dfanalyzer.api.auth import token_middleware
from dfanalyzer.errors import DfaError, DiskFull
from dfanalyzer.ingest import MessageRejected
from dfanalyzer.ingest.shared_database import SharedDatabaseIngestor
from dfanalyzer.listeners import Listeners
from dfanalyzer.web import mount_web

log = logging.getLogger(__name__)
DISK_FULL_LOG_SECONDS = 60

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
    run_views.router,
    comparison.router,
    searches.router,
    steering.router,
]
ROUTERS.append(__import__("dfanalyzer.api.models", fromlist=["router"]).router)  # trained models (keras_prov)
ROUTERS.append(__import__("dfanalyzer.api.lineage", fromlist=["router"]).router)  # data/code lineage (keras_prov)


def create_app(store, settings):
    """The application serving `store`; `settings` say who may call it (token, CORS origins)."""
    app = FastAPI(title="DfAnalyzer", version=__version__,
                  description="Provenance of deep-learning runs (W3C PROV, PROV-Df) on MonetDB.")
    app.state.store = store
    app.state.settings = settings
    app.state.ingestor = SharedDatabaseIngestor(store)
    app.state.listeners = Listeners(store, settings.lost_after)
    for router in ROUTERS:
        app.include_router(router)
    mount_web(app)
    openapi_document.install(app)

    @app.middleware("http")
    async def collapse_slashes(request: Request, call_next):
        # Original clients post to DFA_URL + '/pde/...' with a URL ending in '/', hence '//pde'.
        path = request.scope["path"]
        if "//" in path:
            request.scope["path"] = re.sub("/{2,}", "/", path)
        return await call_next(request)

    if settings.token:
        app.middleware("http")(token_middleware(settings.token, settings.read_token))
    if settings.cors_origins:  # added last: answers browsers' preflight requests before the token check
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=True,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        methods = allowed_methods(request.app, request.scope) if error.status_code == 405 else None
        if methods:
            error.headers = {**(error.headers or {}), "Allow": ", ".join(methods)}
        return await http_exception_handler(request, error)

    @app.exception_handler(MessageRejected)
    async def rejected_message(request: Request, error: MessageRejected):
        return JSONResponse({"detail": {"error": str(error), "message_id": error.message_id}}, status_code=422)

    disk_full_logged = [0.0]

    @app.exception_handler(DfaError)
    async def dfa_error(request: Request, error: DfaError):
        if isinstance(error, DiskFull):  # every write says it until space is freed: logged now and then
            if time.monotonic() - disk_full_logged[0] > DISK_FULL_LOG_SECONDS:
                disk_full_logged[0] = time.monotonic()
                log.error("%s %s: %s", request.method, request.url.path, error)
        elif error.status_code >= 500:
            log.error("%s %s: %s", request.method, request.url.path, error)
        retry_after = getattr(error, "retry_after", None)
        return JSONResponse({"detail": str(error)}, status_code=error.status_code,
                            headers={"Retry-After": str(retry_after)} if retry_after else None)

    return app


def allowed_methods(app, scope):
    """The methods the OpenAPI document lists for the request's path (all the routes of a path,
    where Starlette's 405 names those of the first one only), else the methods of the 405."""
    methods = set()
    for pattern, operations in _path_patterns(app):
        if pattern.match(scope["path"]):
            methods |= operations
    return sorted(methods)


def _path_patterns(app):
    if getattr(app.state, "path_patterns", None) is None:
        patterns = []
        for template, operations in app.openapi().get("paths", {}).items():
            parts = re.split(r"(\{[^}]+\})", template)
            regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
            patterns.append((re.compile(f"^{regex}$"), {method.upper() for method in operations}))
        app.state.path_patterns = patterns
    return app.state.path_patterns
