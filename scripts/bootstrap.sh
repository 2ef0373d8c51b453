#!/usr/bin/env bash
# Shared set-up for run.sh and test.sh: a virtualenv with cecp installed, and the
# front-end assets from the npm registry copied into app/static/vendor.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' \
  || { echo "cecp needs Python 3.11 (found: $("$PYTHON" --version 2>&1))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
EXTRAS="${1:-}"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
if [ ! -f app/static/vendor/echarts/echarts.min.js ] || [ package.json -nt app/static/vendor ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed for the front-end assets" >&2; exit 1; }
  npm ci --no-audit --no-fund --loglevel=error
fi
