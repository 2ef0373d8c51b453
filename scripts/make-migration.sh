#!/usr/bin/env bash
# Autogenerate an Alembic revision against a scratch PostgreSQL database migrated to head.
# Usage: scripts/make-migration.sh "message"
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${CECP_MIGRATE_DB:-cecp_migrate_gen}"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\"" -c "CREATE DATABASE \"$DB\"" 2>/dev/null
export CECP_INSTANCE_PATH="$(mktemp -d)" CECP_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$DB"
.venv/bin/cecp db upgrade
.venv/bin/cecp db migrate -m "$1"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\""
