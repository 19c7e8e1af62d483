# PostgreSQL 15 primary for the local stack: initdb once, then pg_ctl start/stop as `postgres`.
# Sourced by infra/stack.sh after lib/common.sh.

PG_DIR="$RUN_DIR/postgres"
PG_DATA="$PG_DIR/primary"
# The unix socket lives inside .run/ (0700, owned by the service account): local admin
# connections use it with `trust`, and nobody else can reach it.
PG_SOCK="$PG_DIR/sock"
PG_LOG="$PG_DIR/primary.log"
PG_START_TIMEOUT_S=60
PG_STOP_TIMEOUT_S=60
# Replication role for the streaming replicas a later step adds (pg_basebackup -R).
PG_REPLICATION_USER=replicator
PG_REPLICATION_PASSWORD=replicator

postgres_url() {
  echo "postgres://$APP_DB_USER:$APP_DB_PASSWORD@$BIND_HOST:$PG_PORT/$APP_DB_NAME"
}

postgres_pid() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  live_pid "$PG_DATA/postmaster.pid"
}

postgres_healthy() {
  "$PG_BIN/pg_isready" -q -h "$BIND_HOST" -p "$PG_PORT" -d "$APP_DB_NAME" -t 2 &&
    PGPASSWORD="$APP_DB_PASSWORD" PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -At \
      -h "$BIND_HOST" -p "$PG_PORT" -U "$APP_DB_USER" -d "$APP_DB_NAME" -c 'select 1' |
    grep -qx 1
}

# Superuser session over the private unix socket.
postgres_admin_sql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres -d postgres "$@"
}

postgres_initdb() {
  local user
  user="$(service_user postgres)"
  make_owned_dir "$user" "$PG_DIR" 0755
  make_owned_dir "$user" "$PG_SOCK" 0700
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  say "postgres: initdb $PG_DATA (UTF8, C.UTF-8)"
  make_owned_dir "$user" "$PG_DATA" 0700
  as_user "$user" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
    fail_with_log postgres "$PG_DIR/initdb.log" "initdb failed"
  # Our settings live in their own file, rewritten on every start; initdb's file stays pristine.
  echo "include 'ledger-bridge.conf'" >>"$PG_DATA/postgresql.conf"
}

postgres_write_config() {
  cat >"$PG_DATA/ledger-bridge.conf" <<EOF
# Written by infra/stack.sh on every start: edit infra/lib/postgres.sh instead.
listen_addresses = '$BIND_HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
unix_socket_permissions = 0700
# PgBouncer pools + direct connections from tests, migrations and projection workers.
max_connections = 200
shared_buffers = 256MB
# A payments ledger: every commit is durable before it is acknowledged.
fsync = on
synchronous_commit = on
full_page_writes = on
password_encryption = scram-sha-256
# Ready for streaming replicas (pg_basebackup -R from this primary).
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 256MB
hot_standby = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  cat >"$PG_DATA/pg_hba.conf" <<EOF
# Written by infra/stack.sh. The socket directory is 0700 and owned by the service account, so
# trust there admits only that account (and root); TCP on loopback always needs a password.
local   all          all                       trust
host    all          all           $BIND_HOST/32  scram-sha-256
host    replication  $PG_REPLICATION_USER    $BIND_HOST/32  scram-sha-256
EOF
  if [[ $EUID -eq 0 ]]; then chown postgres: "$PG_DATA/ledger-bridge.conf" "$PG_DATA/pg_hba.conf"; fi
}

# Creates the application's role and database, and the replication role; safe to repeat.
postgres_bootstrap() {
  postgres_admin_sql >/dev/null <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_DB_USER') THEN
    CREATE ROLE $APP_DB_USER LOGIN PASSWORD '$APP_DB_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_REPLICATION_USER') THEN
    CREATE ROLE $PG_REPLICATION_USER LOGIN REPLICATION PASSWORD '$PG_REPLICATION_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $APP_DB_NAME OWNER $APP_DB_USER ENCODING ''UTF8'''
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$APP_DB_NAME') \gexec
SELECT 'CREATE DATABASE $TEST_DB_NAME OWNER $APP_DB_USER ENCODING ''UTF8'''
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$TEST_DB_NAME') \gexec
SELECT 'CREATE DATABASE $LOAD_DB_NAME OWNER $APP_DB_USER ENCODING ''UTF8'''
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$LOAD_DB_NAME') \gexec
-- Local stack only: the replica tests pause and resume WAL replay on the standby as
-- '$APP_DB_USER' (grants are per database and replicate). A production role would not hold them.
\c $APP_DB_NAME
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO $APP_DB_USER;
\c $TEST_DB_NAME
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO $APP_DB_USER;
\c $LOAD_DB_NAME
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO $APP_DB_USER;
EOF
}

postgres_up() {
  local pid user
  user="$(service_user postgres)"
  postgres_initdb
  pid="$(postgres_pid)"
  if [[ -n "$pid" ]]; then
    wait_until 15 postgres_healthy ||
      fail_with_log postgres "$PG_LOG" "running (pid $pid) but not answering on $PG_PORT"
    # A stack started by an older checkout may lack a database this one expects.
    postgres_bootstrap || fail_with_log postgres "$PG_LOG" "creating role/database failed"
    say "postgres: already running (pid $pid)"
    return 0
  fi
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    say "postgres: removing stale postmaster.pid"
    rm -f "$PG_DATA/postmaster.pid"
  fi
  require_port_free postgres "$PG_PORT"
  postgres_write_config
  say "postgres: starting on $BIND_HOST:$PG_PORT"
  as_user "$user" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT_S" \
    start >/dev/null 9>&- || fail_with_log postgres "$PG_LOG" "pg_ctl start failed"
  postgres_bootstrap || fail_with_log postgres "$PG_LOG" "creating role/database failed"
  wait_until 15 postgres_healthy ||
    fail_with_log postgres "$PG_LOG" "started but '$APP_DB_USER' cannot run a query"
  say "postgres: healthy (pid $(postgres_pid))"
}

postgres_down() {
  local pid
  pid="$(postgres_pid)"
  if [[ -z "$pid" ]]; then
    say "postgres: not running"
    return 0
  fi
  # Fast mode: roll back open transactions and shut down cleanly (a checkpoint, no recovery).
  as_user "$(service_user postgres)" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w \
    -t "$PG_STOP_TIMEOUT_S" stop >/dev/null || fail_with_log postgres "$PG_LOG" "pg_ctl stop failed"
  say "postgres: stopped"
}

postgres_status() {
  local pid
  pid="$(postgres_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif postgres_healthy; then
    echo "running (pid $pid) $BIND_HOST:$PG_PORT"
  else
    echo "UNHEALTHY (pid $pid alive, $BIND_HOST:$PG_PORT not answering)"
  fi
}

# Streaming replicas: infra/lib/postgres-replica.sh (pg_basebackup -R from this primary).
