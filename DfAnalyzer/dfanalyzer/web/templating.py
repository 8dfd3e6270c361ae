"""Rendering pages: one Jinja environment, the navigation, and the page shown when assets are missing."""
from fastapi import Request
from fastapi.templating import Jinja2Templates

from dfanalyzer import __version__
from dfanalyzer.web.assets import TEMPLATES_DIR, missing_vendor_files

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

# The navigation bar: (label, path, page name). Query and Dataflows are part 2's pages.
NAVIGATION = [
    ("Runs", "/", "runs"),
    ("Compare", "/compare", "compare"),
    ("Analysis", "/analysis", "analysis"),
    ("Searches", "/searches", "searches"),
    ("Query", "/query", "query"),
    ("Dataflows", "/dataflows", "dataflows"),
]


def render(request: Request, template, page, title, **context):
    """The page `template` with the navigation (`page` is highlighted), or a 503 page naming
    the missing front-end files and the command that installs them."""
    missing = missing_vendor_files()
    if missing:
        return templates.TemplateResponse(request, "assets_missing.html", {
            "missing": missing, "navigation": NAVIGATION, "page": page, "title": "Assets missing",
            "version": __version__}, status_code=503)
    return templates.TemplateResponse(request, template, {
        "navigation": NAVIGATION, "page": page, "title": title, "version": __version__, **context})
