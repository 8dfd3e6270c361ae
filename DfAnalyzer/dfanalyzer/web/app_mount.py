"""Adds the web app to the FastAPI application: page routes and /static."""
from fastapi.staticfiles import StaticFiles

from dfanalyzer.web import dataflow_pages, pages, query_page, run_graph_page
from dfanalyzer.web.assets import STATIC_DIR

# Routers of pages; part 2's pages (query console, dataflow viewer) add theirs here.
PAGE_ROUTERS = [pages.router, query_page.router, dataflow_pages.router, run_graph_page.router]


def mount_web(app):
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
