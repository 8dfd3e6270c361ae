#!/usr/bin/env bash
# Installs the web app's front-end libraries (pinned in DfAnalyzer/dfanalyzer/web/package-lock.json)
# from the npm registry and copies the files the pages load into static/vendor/ (git-ignored).
# No build step: these are the libraries' own distribution files.
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)/DfAnalyzer/dfanalyzer/web"
vendor="$web/static/vendor"
stamp="$vendor/.package-lock.sha256"
lock_hash=$( (cat "$web/package-lock.json" "$0") | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is needed once to install the web app's libraries (apt-get install -y nodejs npm)" >&2
  exit 1
fi
(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
modules="$web/node_modules"
rm -rf "$vendor"
mkdir -p "$vendor/codemirror"
# The full ECharts for the analysis page (parallel coordinates, brushes), the common build
# (line, scatter, zoom, markers: two thirds of the size) for the others.
cp "$modules/echarts/dist/echarts.min.js" "$modules/echarts/dist/echarts.common.min.js" "$vendor/"
cp "$modules/codemirror/lib/codemirror.js" "$modules/codemirror/lib/codemirror.css" \
   "$modules/codemirror/mode/sql/sql.js" \
   "$modules/codemirror/addon/hint/show-hint.js" "$modules/codemirror/addon/hint/show-hint.css" \
   "$modules/codemirror/addon/hint/sql-hint.js" "$vendor/codemirror/"
cp "$modules/cytoscape/dist/cytoscape.min.js" "$modules/dagre/dist/dagre.min.js" \
   "$modules/cytoscape-dagre/dist/cytoscape-dagre.js" "$vendor/"
echo "$lock_hash" > "$stamp"
