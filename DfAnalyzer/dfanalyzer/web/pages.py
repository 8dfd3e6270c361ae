"""The pages of part 1: runs, one run, comparison, hyperparameter analysis.

Each page is a template whose script reads REST endpoints (the main one shown in the page as its
JSON twin), so what the page shows is what `curl` gets. Where the page knows its first requests
from its own URL, it names them (`data_urls`) and the browser starts them while it is still
loading the chart library (`<link rel="preload">`).
"""
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dfanalyzer.runs.series import DEFAULT_POINTS
from dfanalyzer.web.templating import render

EPOCHS_PAGE = 100

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def runs_page(request: Request):
    return render(request, "runs.html", "runs", "Runs")


def _url(path, **params):
    present = {name: value for name, value in params.items() if value is not None}
    return f"{path}?{urlencode(present)}" if present else path


def _zoom(text):
    """(start, end) of a `zoom=START:END` parameter, or (None, None)."""
    try:
        start, end = (float(part) for part in (text or "").split(":"))
    except ValueError:
        return None, None
    return f"{start:g}", f"{end:g}"


@router.get("/runs/{execution}")
def run_page(request: Request, execution: str, dataflow: str | None = None, zoom: str | None = None):
    base = f"/api/v1/executions/{quote(execution, safe='')}"
    start, end = _zoom(zoom)
    data_urls = {
        "summary": _url(f"{base}/summary", dataflow=dataflow),
        "series": _url(f"{base}/series", dataflow=dataflow, points=DEFAULT_POINTS, start=start, end=end),
        "epochs": _url(f"{base}/epochs", dataflow=dataflow, offset=0, limit=EPOCHS_PAGE),
    }
    return render(request, "run.html", "runs", f"Run {execution}", execution=execution, data_urls=data_urls)


@router.get("/compare")
def compare_page(request: Request, runs: str = "", dataflow: str | None = None):
    data_urls = {"compare": _url("/api/v1/compare", runs=runs, dataflow=dataflow)} if runs else {}
    return render(request, "compare.html", "compare", "Compare runs", data_urls=data_urls)


@router.get("/analysis")
def analysis_page(request: Request):
    return render(request, "analysis.html", "analysis", "Hyperparameter analysis")


@router.get("/searches")
def searches_page(request: Request):
    return render(request, "searches.html", "searches", "Searches")


@router.get("/searches/{search_id}")
def search_page(request: Request, search_id: str):
    data_urls = {"search": f"/api/v1/searches/{quote(search_id, safe='')}"}
    return render(request, "search.html", "searches", f"Search {search_id}", search_id=search_id, data_urls=data_urls)
