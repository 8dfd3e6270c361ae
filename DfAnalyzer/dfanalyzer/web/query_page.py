"""The SQL console at /query: an editor over the read-only query endpoint, with the dataflows'
tables for completion, saved queries and a chart of the result."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dfanalyzer.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/query")
def query_page(request: Request):
    return render(request, "query.html", "query", "Query")
