# Shared constants and helpers for infra/setup.sh, infra/stack.sh and infra/tigerbeetle/*.sh.
# Sourced, never executed: the caller has already set `set -euo pipefail`.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INFRA_DIR="$ROOT_DIR/infra"
# Everything a running stack writes (data, logs, pid files) lives here; it is git-ignored.
RUN_DIR="$ROOT_DIR/.run"
# Machine-level cache shared by every clone (Kafka classpath, set-up lock).
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/ledger-bridge"

# Fixed, non-default ports so the stack never collides with a system service on the defaults.
# infra/README.md documents them; test/support/infra/settings.ts repeats them as the test defaults.
BIND_HOST=127.0.0.1
PG_PORT=55432
PGBOUNCER_PORT=56432
REDIS_PORT=56379
KAFKA_PORT=59092
KAFKA_CONTROLLER_PORT=59093
NGINX_PORT="${NGINX_PORT:-58080}"
# RabbitMQ (the ledger's change feed): AMQP, its Erlang distribution port, its own epmd (not the
# system's 4369) and the port range rabbitmqctl's short-lived Erlang node may take.
RABBITMQ_PORT=55672
RABBITMQ_DIST_PORT=55673
RABBITMQ_EPMD_PORT=54369
RABBITMQ_CTL_DIST_PORT_MIN=55674
RABBITMQ_CTL_DIST_PORT_MAX=55683

# The application's PostgreSQL role and database (local development credentials, not secrets).
APP_DB_USER=ledger
APP_DB_PASSWORD=ledger
APP_DB_NAME=ledger
# The integration tests' database: they reset it freely, so `npm start`'s data is never touched.
TEST_DB_NAME=ledger_test
# The load runs' database (`npm run load`, `bench:compare`): emptied at the start of every run, so
# the reconciler after a run compares exactly what that run wrote.
LOAD_DB_NAME=ledger_load

KAFKA_VERSION=3.9.1
PG_BIN=/usr/lib/postgresql/15/bin

LOG_TAG="${LOG_TAG:-infra}"

say() { printf '[%s] %s\n' "$LOG_TAG" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$LOG_TAG" "$*" >&2; }
die() {
  printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2
  exit 1
}

# The Go toolchain (k6, compose-check and Compose are built from their Go modules).
go_binary() {
  command -v go || echo /usr/local/go/bin/go
}

# Milliseconds since the epoch, for the timings printed at the end of each script.
now_ms() { date +%s%3N; }

# Runs a command as a service account when we are root (PostgreSQL, PgBouncer and Redis refuse to
# run as root); as an ordinary user, the services simply run as that user.
as_user() {
  local user="$1"
  shift
  if [[ $EUID -eq 0 ]]; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# The account a service runs as: its Debian account under root, the caller otherwise.
service_user() {
  if [[ $EUID -eq 0 ]]; then echo "$1"; else id -un; fi
}

# Creates a directory owned by the service account that writes into it.
make_owned_dir() {
  local user="$1" dir="$2" mode="${3:-0750}"
  mkdir -p "$dir"
  if [[ $EUID -eq 0 ]]; then chown "$user": "$dir"; fi
  chmod "$mode" "$dir"
}

# Creates (if needed) a log file the service account can append to; root appends to it too.
make_owned_file() {
  local user="$1" file="$2"
  touch "$file"
  if [[ $EUID -eq 0 ]]; then chown "$user": "$file"; fi
}

# A clone may live under a root-owned 0700 directory (mktemp -d): the service accounts need to
# traverse every ancestor of .run/. Adds o+x (traverse, not list) where it is missing and says so.
ensure_traversable() {
  local user="$1" dir="$2" d ancestors=()
  [[ $EUID -eq 0 ]] || return 0
  d="$dir"
  while [[ "$d" != "/" && -n "$d" ]]; do
    ancestors=("$d" "${ancestors[@]}")
    d="$(dirname "$d")"
  done
  # From the root down: a directory can only be tested once its parent is traversable.
  for d in "${ancestors[@]}"; do
    if [[ -d "$d" ]] && ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
      chmod o+x "$d"
      say "made $d traversable (chmod o+x) so that '$user' can reach $dir"
    fi
  done
}

# True while PID is a live process. A zombie (exited, not yet reaped by an init that reaps
# slowly) counts as gone: `kill -0` alone would report it alive.
pid_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)"
  [[ -n "$state" && "$state" != Z ]]
}

# Prints the pid recorded in a pid file when that process is alive; nothing otherwise.
live_pid() {
  local file="$1" pid
  [[ -f "$file" ]] || return 0
  pid="$(head -n 1 "$file" 2>/dev/null | tr -dc '0-9')"
  if [[ -n "$pid" ]] && pid_alive "$pid"; then echo "$pid"; fi
}

# Removes a pid file whose process is gone (a crash or a reboot left it behind).
clean_stale_pid() {
  local name="$1" file="$2"
  if [[ -f "$file" && -z "$(live_pid "$file")" ]]; then
    say "$name: removing stale pid file $file"
    rm -f "$file"
  fi
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$BIND_HOST/$1" 2>/dev/null
}

# Refuses to start a service whose fixed port is already taken by a process we do not own.
require_port_free() {
  local name="$1" port="$2"
  if port_open "$port"; then
    die "$name: port $BIND_HOST:$port is already in use by another process" \
      "(not ours: no live pid file under $RUN_DIR). Find it with: ss -ltnp 'sport = :$port'"
  fi
}

# Polls CMD every 250 ms until it succeeds or TIMEOUT_S elapses; returns 1 on time-out.
wait_until() {
  local timeout_s="$1"
  shift
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.25
  done
}

# Prints the last lines of a service's log, for a failure message.
show_log_tail() {
  local name="$1" file="$2"
  if [[ -f "$file" ]]; then
    printf -- '----- last 40 lines of %s (%s) -----\n' "$name" "$file" >&2
    tail -n 40 "$file" >&2
    printf -- '----- end of %s log -----\n' "$name" >&2
  else
    printf '(no log file at %s)\n' "$file" >&2
  fi
}

fail_with_log() {
  local name="$1" file="$2"
  shift 2
  show_log_tail "$name" "$file"
  die "$name: $*"
}

pid_gone() { ! pid_alive "$1"; }

# SIGTERM, then wait up to TIMEOUT_S for the process to exit; SIGKILL as a last resort.
stop_pid() {
  local name="$1" pid="$2" timeout_s="$3"
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_until "$timeout_s" pid_gone "$pid"; then
    warn "$name (pid $pid) did not stop within ${timeout_s}s of SIGTERM: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 5 pid_gone "$pid" || die "$name (pid $pid) survived SIGKILL"
  fi
}

# Stops a daemon that keeps a pid file: NAME, its pid (empty: not running), its pid file, the
# SIGTERM timeout. Used by every service whose clean stop is SIGTERM (nginx first sends SIGQUIT).
stop_daemon() {
  local name="$1" pid="$2" pid_file="$3" timeout_s="$4"
  if [[ -z "$pid" ]]; then
    clean_stale_pid "$name" "$pid_file"
    say "$name: not running"
    return 0
  fi
  stop_pid "$name" "$pid" "$timeout_s"
  rm -f "$pid_file"
  say "$name: stopped"
}

# Runs a step under an exclusive lock file, so that two concurrent `npm test` runs do not
# initialise the same data directory or run apt-get at the same time. The lock is held on fd 9:
# every daemon started under it must be launched with `9>&-`, or it would hold the lock forever.
with_lock() {
  local file="$1"
  shift
  mkdir -p "$(dirname "$file")"
  (
    flock -w 600 9 || die "could not take the lock $file within 600s"
    "$@"
  ) 9>"$file"
}
