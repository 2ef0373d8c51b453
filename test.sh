#!/usr/bin/env bash
# Install the test dependencies and run the whole suite (pytest). Extra arguments go to
# pytest. With CI=true, PostgreSQL and Redis are mandatory: tests needing them fail.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh test
# Browser tests drive Debian's chromium; PDFs and screenshots need a CJK font.
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# Operations tests: HAProxy in front of live nodes, a real etcd, pg_dump/pg_restore.
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing system packages (install them as root): ${need[*]}" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
