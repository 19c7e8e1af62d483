#!/usr/bin/env bash
# Production PgBouncer: writes the auth file from the environment (PgBouncer derives the SCRAM
# exchange from the plain password; the file never leaves the container), then runs in the
# foreground so the container's lifetime is PgBouncer's.
set -euo pipefail
: "${LEDGER_DB_PASSWORD:?LEDGER_DB_PASSWORD must be set}"
umask 077
printf '"ledger" "%s"\n' "$LEDGER_DB_PASSWORD" >/tmp/userlist.txt
exec /usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer.ini
