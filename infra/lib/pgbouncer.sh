# PgBouncer in transaction pooling mode in front of the PostgreSQL primary, run as `postgres`.
# Sourced by infra/stack.sh after lib/common.sh and lib/postgres.sh.

PGB_DIR="$RUN_DIR/pgbouncer"
PGB_INI="$PGB_DIR/pgbouncer.ini"
PGB_USERLIST="$PGB_DIR/userlist.txt"
PGB_PID="$PGB_DIR/pgbouncer.pid"
PGB_LOG="$PGB_DIR/pgbouncer.log"
PGB_START_TIMEOUT_S=20
PGB_STOP_TIMEOUT_S=20

pgbouncer_url() {
  echo "postgres://$APP_DB_USER:$APP_DB_PASSWORD@$BIND_HOST:$PGBOUNCER_PORT/$APP_DB_NAME"
}

pgbouncer_pid() { live_pid "$PGB_PID"; }

# A real query through the pooler: proves PgBouncer authenticates and reaches the primary.
pgbouncer_healthy() {
  PGPASSWORD="$APP_DB_PASSWORD" PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -At \
    -h "$BIND_HOST" -p "$PGBOUNCER_PORT" -U "$APP_DB_USER" -d "$APP_DB_NAME" -c 'select 1' |
    grep -qx 1
}

# The auth file holds the role's SCRAM verifier copied from pg_authid (never the plain password):
# PgBouncer checks the client's SCRAM proof against it and reuses it to log in to PostgreSQL.
pgbouncer_write_userlist() {
  local verifier
  verifier="$(postgres_admin_sql -At -c \
    "SELECT rolpassword FROM pg_authid WHERE rolname = '$APP_DB_USER'")"
  [[ "$verifier" == SCRAM-SHA-256* ]] ||
    die "pgbouncer: no SCRAM verifier for role '$APP_DB_USER' in pg_authid"
  (
    umask 077
    printf '"%s" "%s"\n' "$APP_DB_USER" "$verifier" >"$PGB_USERLIST"
  )
}

pgbouncer_write_config() {
  cat >"$PGB_INI" <<EOF
; Written by infra/stack.sh on every start: edit infra/lib/pgbouncer.sh instead.
[databases]
$APP_DB_NAME = host=$BIND_HOST port=$PG_PORT dbname=$APP_DB_NAME
$TEST_DB_NAME = host=$BIND_HOST port=$PG_PORT dbname=$TEST_DB_NAME
$LOAD_DB_NAME = host=$BIND_HOST port=$PG_PORT dbname=$LOAD_DB_NAME

[pgbouncer]
listen_addr = $BIND_HOST
listen_port = $PGBOUNCER_PORT
; TCP only: no unix socket in a system directory.
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $PGB_USERLIST
; Transaction pooling: a server connection is lent for one transaction. Session state (SET,
; advisory locks, named prepared statements in PgBouncer 1.18) does not survive across them.
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
reserve_pool_size = 5
; Well below PostgreSQL's max_connections = 200, which direct clients share.
max_db_connections = 60
server_connect_timeout = 5
query_wait_timeout = 30
ignore_startup_parameters = extra_float_digits
logfile = $PGB_LOG
pidfile = $PGB_PID
EOF
}

pgbouncer_up() {
  local pid user
  user="$(service_user postgres)"
  make_owned_dir "$user" "$PGB_DIR" 0750
  pid="$(pgbouncer_pid)"
  if [[ -n "$pid" ]]; then
    wait_until 10 pgbouncer_healthy ||
      fail_with_log pgbouncer "$PGB_LOG" "running (pid $pid) but no query gets through"
    # A PgBouncer started by an older checkout may lack a database this one routes: rewrite its
    # configuration and let it reload (SIGHUP) without dropping a connection.
    local before
    before="$(cat "$PGB_INI" 2>/dev/null || true)"
    pgbouncer_write_config
    if [[ "$(cat "$PGB_INI")" != "$before" ]]; then
      kill -HUP "$pid"
      say "pgbouncer: configuration changed, reloaded"
    fi
    say "pgbouncer: already running (pid $pid)"
    return 0
  fi
  clean_stale_pid pgbouncer "$PGB_PID"
  require_port_free pgbouncer "$PGBOUNCER_PORT"
  pgbouncer_write_userlist
  pgbouncer_write_config
  if [[ $EUID -eq 0 ]]; then chown "$user": "$PGB_INI" "$PGB_USERLIST"; fi
  make_owned_file "$user" "$PGB_LOG"
  say "pgbouncer: starting on $BIND_HOST:$PGBOUNCER_PORT (transaction pooling)"
  as_user "$user" /usr/sbin/pgbouncer -q -d "$PGB_INI" >>"$PGB_LOG" 2>&1 9>&- ||
    fail_with_log pgbouncer "$PGB_LOG" "pgbouncer -d failed"
  wait_until "$PGB_START_TIMEOUT_S" pgbouncer_healthy ||
    fail_with_log pgbouncer "$PGB_LOG" "no query got through within ${PGB_START_TIMEOUT_S}s"
  say "pgbouncer: healthy (pid $(pgbouncer_pid))"
}

pgbouncer_down() {
  # SIGTERM: PgBouncer closes its sockets and exits (SIGINT would wait for clients to leave).
  stop_daemon pgbouncer "$(pgbouncer_pid)" "$PGB_PID" "$PGB_STOP_TIMEOUT_S"
}

pgbouncer_status() {
  local pid
  pid="$(pgbouncer_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif pgbouncer_healthy; then
    echo "running (pid $pid) $BIND_HOST:$PGBOUNCER_PORT -> $BIND_HOST:$PG_PORT"
  else
    echo "UNHEALTHY (pid $pid alive, no query gets through $BIND_HOST:$PGBOUNCER_PORT)"
  fi
}
