#!/usr/bin/env bash
# The part of the official postgres image's docker-entrypoint.sh that the project relies on: on an
# empty PGDATA, initdb (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_INITDB_ARGS), `host all all all
# $POSTGRES_HOST_AUTH_METHOD` in pg_hba.conf, POSTGRES_DB, then every /docker-entrypoint-initdb.d
# file (*.sh run with bash, *.sql through psql) against a server on the unix socket only; then
# exec the command. Runs as postgres (the image's USER). Not handled: *.sql.gz and the like,
# POSTGRES_INITDB_WALDIR, *_FILE secrets, running as root (the image never does).
set -euo pipefail

# `docker run image -c shared_buffers=…`: options for postgres, as in the official image.
if [[ "${1:-}" == -* ]]; then
  set -- postgres "$@"
fi

init_database() {
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (the superuser password)}"
  export POSTGRES_USER="${POSTGRES_USER:-postgres}"
  local db="${POSTGRES_DB:-$POSTGRES_USER}" auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" f
  local -a initdb_args
  read -r -a initdb_args <<<"${POSTGRES_INITDB_ARGS:-}"
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    "${initdb_args[@]}"
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

  # A server no one else can reach while the scripts run: unix socket only.
  export PGPORT="${PGPORT:-5432}" PGHOST=/var/run/postgresql
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p $PGPORT" -w start
  if [[ "$db" != postgres ]]; then
    PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e "$f" ]] || continue
    case "$f" in
      *.sh) echo "running $f" && PGPASSWORD="$POSTGRES_PASSWORD" bash "$f" ;;
      *.sql) echo "running $f" &&
        PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$db" -f "$f" ;;
      *) echo "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGHOST
  echo "PostgreSQL init process complete; ready for start up."
}

if [[ "${1:-}" == postgres && ! -s "$PGDATA/PG_VERSION" ]]; then
  init_database
fi
exec "$@"
