"""The pages of part 1: runs, one run, comparison, hyperparameter analysis.

Each page is a template whose script reads one REST endpoint (shown in the page as its JSON
twin), so what the page shows is what `curl` gets.
"""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dfanalyzer.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def runs_page(request: Request):
    return render(request, "runs.html", "runs", "Runs")


@router.get("/runs/{execution}")
def run_page(request: Request, execution: str):
    return render(request, "run.html", "runs", f"Run {execution}", execution=execution)


@router.get("/compare")
def compare_page(request: Request):
    return render(request, "compare.html", "compare", "Compare runs")


@router.get("/analysis")
def analysis_page(request: Request):
    return render(request, "analysis.html", "analysis", "Hyperparameter analysis")
