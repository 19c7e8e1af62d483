#!/usr/bin/env bash
# Production (docker-compose.production.yml): runs once, from /docker-entrypoint-initdb.d, when
# the official postgres image initialises the primary's empty volume. Creates the application's
# role and database and the replication role the streaming replicas use, and admits replication
# connections from the compose network.
set -euo pipefail
: "${LEDGER_DB_PASSWORD:?LEDGER_DB_PASSWORD must be set}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v ledger_password="$LEDGER_DB_PASSWORD" -v replication_password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE ledger LOGIN PASSWORD :'ledger_password';
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'replication_password';
CREATE DATABASE ledger OWNER ledger ENCODING 'UTF8';
SQL

echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
