# RabbitMQ 3.10 (Debian's rabbitmq-server), the broker `tigerbeetle amqp` publishes the ledger's
# change feed to. One node run by the project (not the Debian systemd unit): data, logs, config,
# Erlang cookie and pid file under .run/rabbitmq/, no plugins, and every socket on 127.0.0.1 —
# AMQP, Erlang distribution and its own epmd on non-default ports, so a system RabbitMQ or epmd
# never collides with it. Sourced by infra/stack.sh after lib/common.sh.
#
# The vhost `ledger` and the user `ledger`/`ledger` are made on the node's first boot
# (default_vhost/default_user: `guest` never exists) and checked on every start. The topology the
# feed needs (exchange, queues) is declared by the project's TypeScript (changefeed/declare.ts).

RABBITMQ_DIR="$RUN_DIR/rabbitmq"
RABBITMQ_CONF="$RABBITMQ_DIR/rabbitmq.conf"
RABBITMQ_PID="$RABBITMQ_DIR/rabbitmq.pid"
RABBITMQ_LOG_DIR="$RABBITMQ_DIR/log"
RABBITMQ_STDOUT="$RABBITMQ_LOG_DIR/stdout.log"
RABBITMQ_NODE="ledger@localhost"
RABBITMQ_VHOST=ledger
RABBITMQ_USER=ledger
RABBITMQ_PASSWORD=ledger
RABBITMQ_SBIN=/usr/lib/rabbitmq/bin
# Measured here: ~10 s from launch to await_startup on an idle machine; a busy 2-core box can
# triple that, and the first boot also creates the database.
RABBITMQ_START_TIMEOUT_S=90
# A clean stop closes connections and flushes the quorum queues' logs: seconds.
RABBITMQ_STOP_TIMEOUT_S=60
# The node's memory alarm (blocks publishers above it) and disk alarm: sized for a shared
# development machine, not the default 40% of RAM. Quorum queues keep message bodies on disk.
RABBITMQ_MEMORY_MAX=1GiB
RABBITMQ_DISK_FREE_MIN=2GB

rabbitmq_amqp_url() {
  echo "amqp://$RABBITMQ_USER:$RABBITMQ_PASSWORD@$BIND_HOST:$RABBITMQ_PORT/$RABBITMQ_VHOST"
}

# The environment of every rabbitmq-server, rabbitmqctl and epmd call: one place, so the CLI
# always finds the node (same cookie via HOME, same epmd) and never reads /etc/rabbitmq.
rabbitmq_env() {
  local loopback='-kernel inet_dist_use_interface {127,0,0,1}'
  local dist_port="-kernel inet_dist_listen_min $RABBITMQ_DIST_PORT"
  dist_port+=" -kernel inet_dist_listen_max $RABBITMQ_DIST_PORT"
  RABBITMQ_ENV=(
    "HOME=$RABBITMQ_DIR"
    "RABBITMQ_NODENAME=$RABBITMQ_NODE"
    "RABBITMQ_CONF_ENV_FILE=$RABBITMQ_DIR/rabbitmq-env.conf"
    "RABBITMQ_CONFIG_FILE=$RABBITMQ_CONF"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$RABBITMQ_DIR/advanced.config"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$RABBITMQ_DIR/enabled_plugins"
    "RABBITMQ_MNESIA_BASE=$RABBITMQ_DIR/mnesia"
    "RABBITMQ_LOG_BASE=$RABBITMQ_LOG_DIR"
    "RABBITMQ_PID_FILE=$RABBITMQ_PID"
    "RABBITMQ_NODE_IP_ADDRESS=$BIND_HOST"
    "RABBITMQ_NODE_PORT=$RABBITMQ_PORT"
    "RABBITMQ_DIST_PORT=$RABBITMQ_DIST_PORT"
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=$loopback $dist_port"
    # rabbitmqctl is an Erlang node too: loopback only, on a small range of its own.
    "RABBITMQ_CTL_ERL_ARGS=$loopback"
    "RABBITMQ_CTL_DIST_PORT_MIN=$RABBITMQ_CTL_DIST_PORT_MIN"
    "RABBITMQ_CTL_DIST_PORT_MAX=$RABBITMQ_CTL_DIST_PORT_MAX"
    "ERL_EPMD_PORT=$RABBITMQ_EPMD_PORT"
    "ERL_EPMD_ADDRESS=$BIND_HOST"
  )
}

rabbitmqctl_() {
  rabbitmq_env
  env "${RABBITMQ_ENV[@]}" timeout 60 "$RABBITMQ_SBIN/rabbitmqctl" -n "$RABBITMQ_NODE" -q "$@" 9>&-
}

rabbitmq_pid() { live_pid "$RABBITMQ_PID"; }

# Healthy: the node finished booting (await_startup) and the application's user opens an AMQP
# connection to its vhost (infra/rabbitmq/ready.ts): an open port alone proves neither.
rabbitmq_healthy() {
  rabbitmqctl_ await_startup --timeout 5 >/dev/null 2>&1 &&
    "$ROOT_DIR/node_modules/.bin/tsx" "$INFRA_DIR/rabbitmq/ready.ts" "$(rabbitmq_amqp_url)" 9>&-
}

rabbitmq_write_config() {
  # Empty on purpose: the environment is set by rabbitmq_env, never by /etc/rabbitmq.
  : >"$RABBITMQ_DIR/rabbitmq-env.conf"
  echo '[].' >"$RABBITMQ_DIR/enabled_plugins"
  cat >"$RABBITMQ_CONF" <<EOF
# Written by infra/stack.sh on every start: edit infra/lib/rabbitmq.sh instead.
listeners.tcp.default = $BIND_HOST:$RABBITMQ_PORT
# Made on the node's first boot only (an empty database): there is never a guest user.
default_vhost = $RABBITMQ_VHOST
default_user = $RABBITMQ_USER
default_pass = $RABBITMQ_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users.guest = true
vm_memory_high_watermark.absolute = $RABBITMQ_MEMORY_MAX
disk_free_limit.absolute = $RABBITMQ_DISK_FREE_MIN
log.file = rabbit.log
log.file.level = info
log.console = false
EOF
}

# Idempotent: a database made before these settings (or by hand) is brought to the same state.
rabbitmq_ensure_access() {
  local vhosts users
  vhosts="$(rabbitmqctl_ list_vhosts name --no-table-headers)" ||
    fail_with_log rabbitmq "$RABBITMQ_LOG_DIR/rabbit.log" "rabbitmqctl list_vhosts failed"
  grep -qx "$RABBITMQ_VHOST" <<<"$vhosts" || rabbitmqctl_ add_vhost "$RABBITMQ_VHOST" >/dev/null
  users="$(rabbitmqctl_ list_users --no-table-headers | cut -f1)"
  if ! grep -qx "$RABBITMQ_USER" <<<"$users"; then
    rabbitmqctl_ add_user "$RABBITMQ_USER" "$RABBITMQ_PASSWORD" >/dev/null
    rabbitmqctl_ set_user_tags "$RABBITMQ_USER" administrator >/dev/null
  fi
  rabbitmqctl_ set_permissions -p "$RABBITMQ_VHOST" "$RABBITMQ_USER" '.*' '.*' '.*' >/dev/null
  if grep -qx guest <<<"$users"; then
    rabbitmqctl_ delete_user guest >/dev/null
    say "rabbitmq: removed the default user 'guest'"
  fi
}

rabbitmq_start_node() {
  mkdir -p "$RABBITMQ_DIR" "$RABBITMQ_LOG_DIR"
  chmod 0700 "$RABBITMQ_DIR"
  clean_stale_pid rabbitmq "$RABBITMQ_PID"
  require_port_free rabbitmq "$RABBITMQ_PORT"
  require_port_free rabbitmq-dist "$RABBITMQ_DIST_PORT"
  rabbitmq_write_config
  rabbitmq_env
  say "rabbitmq: starting node $RABBITMQ_NODE on $BIND_HOST:$RABBITMQ_PORT" \
    "(distribution :$RABBITMQ_DIST_PORT, epmd :$RABBITMQ_EPMD_PORT)"
  # rabbitmq-server execs erl, so $! is the VM; it also writes RABBITMQ_PID_FILE itself once
  # booted. setsid + nohup: it outlives this shell; 9>&- so it does not hold the stack's lock.
  # The epmd it spawns inherits the same (lock-free) descriptors.
  setsid nohup env "${RABBITMQ_ENV[@]}" "$RABBITMQ_SBIN/rabbitmq-server" </dev/null \
    >>"$RABBITMQ_STDOUT" 2>&1 9>&- &
  echo $! >"$RABBITMQ_PID"
}

# Starts the node in the background and returns at once; rabbitmq_wait checks it became healthy
# (the Erlang VM takes seconds to boot: the stack starts other services meanwhile).
rabbitmq_launch() {
  RABBITMQ_LAUNCHED_MS="$(now_ms)"
  if [[ -n "$(rabbitmq_pid)" ]]; then
    RABBITMQ_ALREADY_RUNNING=1
    return 0
  fi
  RABBITMQ_ALREADY_RUNNING=0
  rabbitmq_start_node
}

rabbitmq_wait() {
  local pid
  pid="$(rabbitmq_pid)"
  [[ -n "$pid" ]] || fail_with_log rabbitmq "$RABBITMQ_STDOUT" "the node exited during start-up"
  # Each probe fails fast while the node is not registered with epmd yet.
  if ! wait_until "$RABBITMQ_START_TIMEOUT_S" rabbitmq_healthy; then
    show_log_tail rabbitmq-stdout "$RABBITMQ_STDOUT"
    fail_with_log rabbitmq "$RABBITMQ_LOG_DIR/rabbit.log" \
      "not healthy within ${RABBITMQ_START_TIMEOUT_S}s"
  fi
  if [[ "${RABBITMQ_ALREADY_RUNNING:-0}" == 1 ]]; then
    say "rabbitmq: already running (pid $pid)"
    return 0
  fi
  rabbitmq_ensure_access
  say "rabbitmq: healthy (pid $pid) $(($(now_ms) - RABBITMQ_LAUNCHED_MS)) ms after launch"
}

rabbitmq_up() {
  rabbitmq_launch
  rabbitmq_wait
}

rabbitmq_down() {
  local pid
  pid="$(rabbitmq_pid)"
  if [[ -z "$pid" ]]; then
    clean_stale_pid rabbitmq "$RABBITMQ_PID"
    say "rabbitmq: not running"
  else
    # `rabbitmqctl stop` shuts the node down cleanly (queues flushed, connections closed) and
    # waits for its pid; SIGTERM, then SIGKILL, only if that fails.
    if ! rabbitmqctl_ stop "$RABBITMQ_PID" >/dev/null 2>&1; then
      warn "rabbitmq: rabbitmqctl stop failed; sending SIGTERM"
    fi
    pid_alive "$pid" && stop_pid rabbitmq "$pid" "$RABBITMQ_STOP_TIMEOUT_S"
    rm -f "$RABBITMQ_PID"
    say "rabbitmq: stopped"
  fi
  # The node started its own epmd on our port; with no node left registered it stops on request.
  rabbitmq_env
  env "${RABBITMQ_ENV[@]}" epmd -port "$RABBITMQ_EPMD_PORT" -kill >/dev/null 2>&1 || true
}

rabbitmq_status() {
  local pid
  pid="$(rabbitmq_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif rabbitmq_healthy >/dev/null 2>&1; then
    echo "running (pid $pid) $BIND_HOST:$RABBITMQ_PORT vhost $RABBITMQ_VHOST"
  else
    echo "UNHEALTHY (pid $pid alive, no AMQP session on $BIND_HOST:$RABBITMQ_PORT)"
  fi
}
