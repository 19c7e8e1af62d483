# Redis 7 (balance cache, L2) with an append-only file, run as `redis`.
# Sourced by infra/stack.sh after lib/common.sh.

REDIS_DIR="$RUN_DIR/redis"
REDIS_DATA="$REDIS_DIR/data"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
REDIS_START_TIMEOUT_S=20
REDIS_STOP_TIMEOUT_S=30

redis_url() { echo "redis://$BIND_HOST:$REDIS_PORT"; }

redis_pid() { live_pid "$REDIS_PID"; }

redis_healthy() {
  [[ "$(timeout 3 redis-cli -h "$BIND_HOST" -p "$REDIS_PORT" PING 2>/dev/null)" == PONG ]]
}

redis_write_config() {
  cat >"$REDIS_CONF" <<EOF
# Written by infra/stack.sh on every start: edit infra/lib/redis.sh instead.
bind $BIND_HOST
protected-mode yes
port $REDIS_PORT
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_LOG
dir $REDIS_DATA
# The AOF is fsync'd once a second: a cache may lose the last second; it is rebuilt from the ledger.
appendonly yes
appendfsync everysec
EOF
}

redis_up() {
  local pid user
  user="$(service_user redis)"
  make_owned_dir "$user" "$REDIS_DIR" 0750
  make_owned_dir "$user" "$REDIS_DATA" 0750
  pid="$(redis_pid)"
  if [[ -n "$pid" ]]; then
    wait_until 10 redis_healthy ||
      fail_with_log redis "$REDIS_LOG" "running (pid $pid) but not answering PING"
    say "redis: already running (pid $pid)"
    return 0
  fi
  clean_stale_pid redis "$REDIS_PID"
  require_port_free redis "$REDIS_PORT"
  redis_write_config
  if [[ $EUID -eq 0 ]]; then chown "$user": "$REDIS_CONF"; fi
  make_owned_file "$user" "$REDIS_LOG"
  say "redis: starting on $BIND_HOST:$REDIS_PORT"
  as_user "$user" /usr/bin/redis-server "$REDIS_CONF" >>"$REDIS_LOG" 2>&1 9>&- ||
    fail_with_log redis "$REDIS_LOG" "redis-server failed to start"
  wait_until "$REDIS_START_TIMEOUT_S" redis_healthy ||
    fail_with_log redis "$REDIS_LOG" "no PONG within ${REDIS_START_TIMEOUT_S}s"
  wait_until 5 test -s "$REDIS_PID" || fail_with_log redis "$REDIS_LOG" "no pid file $REDIS_PID"
  say "redis: healthy (pid $(redis_pid))"
}

redis_down() {
  # SIGTERM makes Redis fsync the AOF and exit cleanly.
  stop_daemon redis "$(redis_pid)" "$REDIS_PID" "$REDIS_STOP_TIMEOUT_S"
}

redis_status() {
  local pid
  pid="$(redis_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif redis_healthy; then
    echo "running (pid $pid) $BIND_HOST:$REDIS_PORT"
  else
    echo "UNHEALTHY (pid $pid alive, no PONG on $BIND_HOST:$REDIS_PORT)"
  fi
}
