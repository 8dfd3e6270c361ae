"""The Dataflow Viewer: /dataflows (the list) and /dataflows/{tag} (the specification drawn,
with row counts, executions and a path-query builder); the original DfAnalyzer's /dfview
addresses redirect here."""
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from dfanalyzer.api.deps import get_store
from dfanalyzer.web.templating import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/dataflows")
def dataflows_page(request: Request):
    return render(request, "dataflows.html", "dataflows", "Dataflows")


@router.get("/dataflows/{tag}")
def viewer_page(request: Request, tag: str):
    return render(request, "dataflow_viewer.html", "dataflows", f"Dataflow {tag}", tag=tag)


@router.get("/dfview")
def original_viewer():
    return RedirectResponse("/dataflows", status_code=301)


@router.get("/dfview/visualization")
def original_visualization(dfId: str = "", store=Depends(get_store)):  # noqa: N803 (the original's parameter)
    """`?dfId=N` was the dataflow's id in the original; it is the catalog id here too."""
    rows = []
    if dfId.strip().isdigit():
        rows = store.read("SELECT tag FROM dataflow WHERE id = ?", [int(dfId)])[1]
    if not rows:
        return RedirectResponse("/dataflows", status_code=302)
    return RedirectResponse(f"/dataflows/{quote(rows[0][0], safe='')}", status_code=301)
