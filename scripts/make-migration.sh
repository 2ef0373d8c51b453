#!/usr/bin/env bash
# Autogenerate an Alembic revision against a scratch PostgreSQL database migrated to head.
# Usage: scripts/make-migration.sh "message"
set -euo pipefail
cd "$(dirname "$0")/.."
DB="${CECP_MIGRATE_DB:-cecp_migrate_gen}"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\"" -c "CREATE DATABASE \"$DB\"" 2>/dev/null
export CECP_INSTANCE_PATH="$(mktemp -d)" CECP_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$DB"
# PostgreSQL never gets generated secrets: throwaway ones for the scratch database
for v in CECP_SECRET_KEY CECP_MASTER_KEY CECP_PASSWORD_SALT CECP_TOTP_SECRET; do
  [ -n "${!v:-}" ] || export "$v=$(openssl rand -hex 16)"
done
.venv/bin/cecp db upgrade
.venv/bin/cecp db migrate -m "$1"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\""
