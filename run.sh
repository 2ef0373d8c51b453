#!/usr/bin/env bash
# Install and run cecp with demo data: SQLite under instance/, jobs in-process (no Redis).
# Set CECP_DATABASE_URL / CECP_REDIS_URL to use PostgreSQL / Redis instead.
# Serves through gunicorn (CECP_HOST / CECP_PORT, CECP_WORKERS); `./run.sh --dev` runs
# Flask's development server with the reloader instead.
set -euo pipefail
cd "$(dirname "$0")"
DEV=0
for arg in "$@"; do
  case "$arg" in
    --dev) DEV=1 ;;
    -h|--help) echo "usage: ./run.sh [--dev]   (env: CECP_HOST, CECP_PORT, CECP_WORKERS," \
                    "CECP_DEMO_ENTERPRISES, CECP_DEMO_MONTHS)"; exit 0 ;;
    *) echo "unknown argument: $arg (usage: ./run.sh [--dev])" >&2; exit 2 ;;
  esac
done
scripts/bootstrap.sh
.venv/bin/cecp db upgrade
.venv/bin/cecp demo --enterprises "${CECP_DEMO_ENTERPRISES:-60}" --months "${CECP_DEMO_MONTHS:-36}"
# The country comparison: the CDIAC data set shipped in app/monitoring/data (public domain).
CDIAC="${CECP_CDIAC_FILE:-app/monitoring/data/cdiac-fossil-co2-by-nation-1751-2020.csv}"
.venv/bin/cecp import countries "$CDIAC"
HOST="${CECP_HOST:-127.0.0.1}" PORT="${CECP_PORT:-5000}"
echo "平台地址 / Platform: http://$HOST:$PORT/auth/login"
if [ "$DEV" = 1 ]; then
  exec .venv/bin/cecp run --host "$HOST" --port "$PORT" --reload --debugger
fi
exec env CECP_HOST="$HOST" CECP_PORT="$PORT" .venv/bin/gunicorn -c gunicorn.conf.py \
  'app.wsgi:app'
