#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into an EMPTY database, then check it with the
# backed-up keys: the audit chain must verify (cecp audit verify).
# usage: scripts/restore.sh SRC NEW_DATABASE_URL
# Afterwards start the nodes with CECP_DATABASE_URL=NEW_DATABASE_URL and
# CECP_<SECRET>_FILE=SRC/keys/CECP_<SECRET> (or copy the keys to your secret store).
set -euo pipefail
SRC="${1:?usage: scripts/restore.sh SRC NEW_DATABASE_URL}"
NEW="${2:?usage: scripts/restore.sh SRC NEW_DATABASE_URL}"
cd "$(dirname "$0")/.."
(cd "$SRC" && sha256sum --quiet -c SHA256SUMS) || { echo "checksums do not match" >&2; exit 1; }
pg_restore --no-owner --exit-on-error --dbname "${NEW/postgresql+psycopg:/postgresql:}" \
  "$SRC/cecp.dump"
for var in CECP_SECRET_KEY CECP_MASTER_KEY CECP_PASSWORD_SALT CECP_TOTP_SECRET; do
  unset "$var"
  export "${var}_FILE=$SRC/keys/$var"
done
NEW_SA="${NEW/postgresql:/postgresql+psycopg:}"
CECP_DATABASE_URL="$NEW_SA" "${CECP_BIN:-.venv/bin/cecp}" audit verify
echo "restored into $NEW; the audit chain verifies with the backed-up keys"
