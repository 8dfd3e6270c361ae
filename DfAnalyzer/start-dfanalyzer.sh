#!/usr/bin/env bash
# Starts DfAnalyzer in the background, waits until it answers, and prints its URL and data directory.
# Flags are those of `dfanalyzer start` (--host, --port, --data-dir, --monetdb-url).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if command -v dfanalyzer >/dev/null 2>&1; then
  exec dfanalyzer start "$@"
elif [ -x "$here/.venv/bin/dfanalyzer" ]; then
  exec "$here/.venv/bin/dfanalyzer" start "$@"
else
  echo "dfanalyzer is not installed: run 'bash scripts/bootstrap.sh' (or 'pip install .') first" >&2
  exit 1
fi
