"""The front-end libraries: installed from npm by scripts/bootstrap.sh into static/vendor/."""
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
TEMPLATES_DIR = WEB_DIR / "templates"

# Every file the pages load from static/vendor/, as scripts/bootstrap.sh copies them there.
VENDOR_FILES = [
    "echarts.min.js", "echarts.common.min.js",
    "codemirror/codemirror.js", "codemirror/codemirror.css", "codemirror/sql.js",
    "codemirror/show-hint.js", "codemirror/show-hint.css", "codemirror/sql-hint.js",
    "cytoscape.min.js", "dagre.min.js", "cytoscape-dagre.js",
]


def missing_vendor_files():
    """The vendor files that are not installed (empty when the web app can run)."""
    return [name for name in VENDOR_FILES if not (VENDOR_DIR / name).is_file()]
