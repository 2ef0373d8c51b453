#!/usr/bin/env bash
# Back up cecp: the database (pg_dump, custom format) and the four keys, into DEST.
# usage: scripts/backup.sh DEST        (env: CECP_DATABASE_URL, and each secret as a
#        variable or a *_FILE key file, as the nodes have them; see docs/operations.md)
# The keys are needed to read the backup: without CECP_MASTER_KEY the encrypted fields and
# the audit chain's HMAC roots stay sealed. Keep DEST/keys apart from DEST/cecp.dump.
set -euo pipefail
DEST="${1:?usage: scripts/backup.sh DEST}"
URL="${CECP_DATABASE_URL:?set CECP_DATABASE_URL}"
URL="${URL/postgresql+psycopg:/postgresql:}"
mkdir -p "$DEST/keys"
chmod 700 "$DEST/keys"
pg_dump --format=custom --no-owner --file "$DEST/cecp.dump" "$URL"
for var in CECP_SECRET_KEY CECP_MASTER_KEY CECP_PASSWORD_SALT CECP_TOTP_SECRET; do
  file_var="${var}_FILE"
  if [ -n "${!var:-}" ]; then
    printf '%s\n' "${!var}" > "$DEST/keys/$var"
  elif [ -n "${!file_var:-}" ]; then
    cp "${!file_var}" "$DEST/keys/$var"
  else
    echo "missing $var (or $file_var): the backup could not be read without it" >&2
    exit 78
  fi
  chmod 600 "$DEST/keys/$var"
done
(cd "$DEST" && sha256sum cecp.dump keys/* > SHA256SUMS)
echo "backup written to $DEST (database: cecp.dump, keys: keys/, checksums: SHA256SUMS)"
