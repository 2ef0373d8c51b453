#!/usr/bin/env bash
# Install and run cecp with demo data: SQLite under instance/, jobs in-process (no Redis).
# Set CECP_DATABASE_URL / CECP_REDIS_URL to use PostgreSQL / Redis instead.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
.venv/bin/cecp db upgrade
.venv/bin/cecp demo --enterprises "${CECP_DEMO_ENTERPRISES:-60}" --months "${CECP_DEMO_MONTHS:-24}"
# The country comparison reads the CDIAC data set where it lies (not shipped with cecp).
CDIAC="${CECP_CDIAC_FILE:-../shared/data/cdiac-fossil-co2-by-nation-1751-2020.csv}"
[ -f "$CDIAC" ] && .venv/bin/cecp import countries "$CDIAC"
HOST="${CECP_HOST:-127.0.0.1}" PORT="${CECP_PORT:-5000}"
echo "平台地址 / Platform: http://$HOST:$PORT"
exec .venv/bin/cecp run --host "$HOST" --port "$PORT"
