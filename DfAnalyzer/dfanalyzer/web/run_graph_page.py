"""/runs/{exec}/graph: the interactive PROV graph of one run (the same section the run page shows)."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dfanalyzer.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/runs/{execution}/graph")
def run_graph_page(request: Request, execution: str):
    return render(request, "prov_graph.html", "runs", f"Provenance of {execution}", execution=execution)
