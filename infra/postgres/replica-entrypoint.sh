#!/usr/bin/env bash
# Production (docker-compose.production.yml): a streaming replica of postgres-primary. On an
# empty volume it clones the primary with pg_basebackup (-R writes standby.signal and the
# primary_conninfo; -C -S creates its own replication slot so the primary keeps the WAL it
# still needs), then runs postgres as a hot standby. Runs as the image's `postgres` user.
set -euo pipefail
: "${PRIMARY_HOST:?PRIMARY_HOST must be set}"
: "${REPLICA_SLOT:?REPLICA_SLOT must be set}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  until pg_isready -q -h "$PRIMARY_HOST" -p 5432; do
    echo "waiting for $PRIMARY_HOST:5432"
    sleep 2
  done
  echo "cloning $PRIMARY_HOST into $PGDATA (slot $REPLICA_SLOT)"
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h "$PRIMARY_HOST" -p 5432 -U replicator \
    -D "$PGDATA" -R -X stream -C -S "$REPLICA_SLOT" --checkpoint=fast
  chmod 0700 "$PGDATA"
fi

exec postgres -c hot_standby=on -c max_connections=300 -c hot_standby_feedback=on
