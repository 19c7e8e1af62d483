# PostgreSQL 15 streaming replica for the local stack: made once with `pg_basebackup -R` from the
# primary (its own physical replication slot, so the primary keeps the WAL it has not replayed),
# then started and stopped with pg_ctl as `postgres`, like the primary.
# Sourced by infra/stack.sh after lib/common.sh and lib/postgres.sh.

PG_REPLICA_NAME=replica1
PG_REPLICA_PORT="${PG_REPLICA_PORT:-55433}"
PG_REPLICA_DATA="$PG_DIR/$PG_REPLICA_NAME"
PG_REPLICA_SOCK="$PG_DIR/$PG_REPLICA_NAME-sock"
PG_REPLICA_LOG="$PG_DIR/$PG_REPLICA_NAME.log"
# A base backup of a small development database takes seconds; a large one, longer.
PG_REPLICA_BASEBACKUP_TIMEOUT_S=600
PG_REPLICA_START_TIMEOUT_S=60

postgres_replica_url() {
  echo "postgres://$APP_DB_USER:$APP_DB_PASSWORD@$BIND_HOST:$PG_REPLICA_PORT/$APP_DB_NAME"
}

postgres_replica_pid() {
  [[ -f "$PG_REPLICA_DATA/postmaster.pid" ]] || return 0
  live_pid "$PG_REPLICA_DATA/postmaster.pid"
}

# Healthy: accepts connections, lets `ledger` query, and is in recovery (a standby, not a copy
# that was promoted or started without standby.signal).
postgres_replica_healthy() {
  "$PG_BIN/pg_isready" -q -h "$BIND_HOST" -p "$PG_REPLICA_PORT" -d "$APP_DB_NAME" -t 2 &&
    PGPASSWORD="$APP_DB_PASSWORD" PGCONNECT_TIMEOUT=2 "$PG_BIN/psql" -X -q -At \
      -h "$BIND_HOST" -p "$PG_REPLICA_PORT" -U "$APP_DB_USER" -d "$APP_DB_NAME" \
      -c 'select pg_is_in_recovery()' | grep -qx t
}

# The slot that keeps the primary's WAL for this replica; dropped only when the replica's data is
# gone (a fresh base backup creates it again with -C).
postgres_replica_drop_orphan_slot() {
  postgres_admin_sql -At >/dev/null <<EOF
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
 WHERE slot_name = '$PG_REPLICA_NAME' AND NOT active;
EOF
}

postgres_replica_basebackup() {
  local user="$1"
  [[ -f "$PG_REPLICA_DATA/PG_VERSION" ]] && return 0
  postgres_replica_drop_orphan_slot ||
    fail_with_log postgres-replica "$PG_LOG" "could not drop the orphan slot $PG_REPLICA_NAME"
  rm -rf "$PG_REPLICA_DATA"
  make_owned_dir "$user" "$PG_REPLICA_DATA" 0700
  say "postgres-replica: pg_basebackup from $BIND_HOST:$PG_PORT into $PG_REPLICA_DATA"
  # -R writes standby.signal and primary_conninfo (with the replication password); -X stream
  # copies the WAL written during the backup; -C -S creates the replica's slot.
  if ! PGPASSWORD="$PG_REPLICATION_PASSWORD" as_user "$user" timeout \
    "$PG_REPLICA_BASEBACKUP_TIMEOUT_S" "$PG_BIN/pg_basebackup" -h "$BIND_HOST" -p "$PG_PORT" \
    -U "$PG_REPLICATION_USER" -D "$PG_REPLICA_DATA" -R -X stream -C -S "$PG_REPLICA_NAME" \
    --checkpoint=fast >"$PG_DIR/$PG_REPLICA_NAME-basebackup.log" 2>&1; then
    # Leave nothing half-made: the next `up` starts the backup again from scratch.
    rm -rf "$PG_REPLICA_DATA"
    fail_with_log postgres-replica "$PG_DIR/$PG_REPLICA_NAME-basebackup.log" "pg_basebackup failed"
  fi
}

# The base backup copied the primary's ledger-bridge.conf (port, socket): rewrite it for the
# replica on every start. Everything else (fsync, wal_level, hot_standby) stays as the primary's.
postgres_replica_write_config() {
  local user="$1"
  sed -e "s/^port = .*/port = $PG_REPLICA_PORT/" \
    -e "s|^unix_socket_directories = .*|unix_socket_directories = '$PG_REPLICA_SOCK'|" \
    "$PG_DATA/ledger-bridge.conf" >"$PG_REPLICA_DATA/ledger-bridge.conf"
  cat >>"$PG_REPLICA_DATA/ledger-bridge.conf" <<EOF
# Replica only: report replay progress to the primary often, and let long reads finish before
# WAL that conflicts with them is applied (bounded, so replay lag stays bounded too).
hot_standby_feedback = on
wal_receiver_status_interval = 1s
max_standby_streaming_delay = 5s
EOF
  cp "$PG_DATA/pg_hba.conf" "$PG_REPLICA_DATA/pg_hba.conf"
  if [[ $EUID -eq 0 ]]; then
    chown "$user": "$PG_REPLICA_DATA/ledger-bridge.conf" "$PG_REPLICA_DATA/pg_hba.conf"
  fi
}

postgres_replica_up() {
  local pid user
  user="$(service_user postgres)"
  make_owned_dir "$user" "$PG_REPLICA_SOCK" 0700
  pid="$(postgres_replica_pid)"
  if [[ -n "$pid" ]]; then
    wait_until 15 postgres_replica_healthy ||
      fail_with_log postgres-replica "$PG_REPLICA_LOG" \
        "running (pid $pid) but not a healthy standby on $PG_REPLICA_PORT"
    say "postgres-replica: already running (pid $pid)"
    return 0
  fi
  if [[ -f "$PG_REPLICA_DATA/postmaster.pid" ]]; then
    say "postgres-replica: removing stale postmaster.pid"
    rm -f "$PG_REPLICA_DATA/postmaster.pid"
  fi
  require_port_free postgres-replica "$PG_REPLICA_PORT"
  postgres_replica_basebackup "$user"
  postgres_replica_write_config "$user"
  say "postgres-replica: starting on $BIND_HOST:$PG_REPLICA_PORT"
  as_user "$user" "$PG_BIN/pg_ctl" -D "$PG_REPLICA_DATA" -l "$PG_REPLICA_LOG" -w \
    -t "$PG_REPLICA_START_TIMEOUT_S" start >/dev/null 9>&- ||
    fail_with_log postgres-replica "$PG_REPLICA_LOG" "pg_ctl start failed"
  wait_until 30 postgres_replica_healthy ||
    fail_with_log postgres-replica "$PG_REPLICA_LOG" "started but not a healthy standby"
  say "postgres-replica: healthy (pid $(postgres_replica_pid))"
}

postgres_replica_down() {
  local pid
  pid="$(postgres_replica_pid)"
  if [[ -z "$pid" ]]; then
    say "postgres-replica: not running"
    return 0
  fi
  as_user "$(service_user postgres)" "$PG_BIN/pg_ctl" -D "$PG_REPLICA_DATA" -m fast -w \
    -t "$PG_STOP_TIMEOUT_S" stop >/dev/null ||
    fail_with_log postgres-replica "$PG_REPLICA_LOG" "pg_ctl stop failed"
  say "postgres-replica: stopped"
}

postgres_replica_status() {
  local pid
  pid="$(postgres_replica_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif postgres_replica_healthy; then
    echo "running (pid $pid) $BIND_HOST:$PG_REPLICA_PORT standby of :$PG_PORT"
  else
    echo "UNHEALTHY (pid $pid alive, not a healthy standby on $BIND_HOST:$PG_REPLICA_PORT)"
  fi
}

# stack.sh's status loop calls <service>_status; the replica's line is "replica".
replica_status() { postgres_replica_status; }
