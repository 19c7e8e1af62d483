#!/usr/bin/env bash
# The container engine: Debian's docker.io, run as a process this project starts, with all its
# state under ~/.cache/ledger-bridge/docker/ (outside the clone, shared by every clone).
#
#   bash infra/containers/engine.sh start   use the engine that answers (DOCKER_HOST, else the
#                                           system's /var/run/docker.sock, else ours), or start
#                                           ours; prints, on stdout only, the shell assignments
#                                           to use it:  eval "$(bash infra/containers/engine.sh start)"
#   bash infra/containers/engine.sh stop    stops the engine only if this script started it
#   bash infra/containers/engine.sh status  which engine answers; exit 1 when none does
#
# Left as it was found: `start` records in engine.state only an engine it started, and `stop`
# stops only that one; a system engine, or one named by DOCKER_HOST, is used and never stopped.
# The engine runs with what this machine allows (a container here: no overlay mounts, no
# iptables): --storage-driver=vfs (every layer a full copy: slower builds, more disk),
# --iptables=false --ip-forward=false --bridge=none (no default bridge network: containers use
# --network host, or a user-defined network), listening on its unix socket only (no TCP).
set -euo pipefail
LOG_TAG=engine
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=../lib/apt.sh
source "$INFRA_DIR/lib/apt.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"

ENGINE_PACKAGES=(
  "docker.io:/usr/sbin/dockerd"
  "containerd:/usr/bin/containerd"
  "runc:/usr/sbin/runc"
  # docker-init, for `init: true` (the compose file's TigerBeetle services).
  "tini:/usr/bin/docker-init"
)
# dockerd answers within a few seconds; the first start on a new data root takes longer.
ENGINE_START_TIMEOUT_S=60
# dockerd stops its containers (10 s each by default) and its containerd before it exits.
ENGINE_STOP_TIMEOUT_S=60

usage() {
  echo "usage: bash infra/containers/engine.sh start|stop|status" >&2
  exit 2
}

# The assignments `start` prints; LEDGER_ENGINE_STARTED=1 only when this call started dockerd.
print_assignments() {
  printf 'export DOCKER_HOST=%q\n' "$1"
  printf 'export LEDGER_ENGINE_STARTED=%q\n' "$2"
}

# The pid of the dockerd we started, when it is alive and is dockerd (not a reused pid).
our_dockerd_pid() {
  local pid
  pid="$(live_pid "$ENGINE_PID_FILE")"
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] && echo "$pid"
  return 0
}

# An engine someone else runs (DOCKER_HOST, or the system's); prints its address, or nothing.
foreign_engine() {
  local ours="unix://$ENGINE_SOCKET"
  if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != "$ours" ]]; then
    engine_answers "$DOCKER_HOST" ||
      die "DOCKER_HOST=$DOCKER_HOST is set but no engine answers there;" \
        "unset it to use the system's engine or start the project's own"
    echo "$DOCKER_HOST"
  elif [[ -S "$SYSTEM_DOCKER_SOCKET" ]] && engine_answers "unix://$SYSTEM_DOCKER_SOCKET"; then
    echo "unix://$SYSTEM_DOCKER_SOCKET"
  fi
}

write_config() {
  # An empty configuration file of our own: the system's /etc/docker/daemon.json (made for the
  # system's engine) must not change ours.
  [[ -f "$ENGINE_CONFIG_FILE" ]] || echo '{}' >"$ENGINE_CONFIG_FILE"
}

launch_dockerd() {
  local dockerd=/usr/sbin/dockerd
  rm -f "$ENGINE_SOCKET"
  mkdir -p "$ENGINE_DATA_ROOT" "$ENGINE_EXEC_ROOT"
  write_config
  printf '\n===== %s engine.sh start =====\n' "$(date -Is)" >>"$ENGINE_LOG"
  # setsid: the engine outlives this script and the terminal; 9>&-: it must not hold the lock.
  setsid "$dockerd" \
    --data-root "$ENGINE_DATA_ROOT" --exec-root "$ENGINE_EXEC_ROOT" \
    --pidfile "$ENGINE_PID_FILE" --host "unix://$ENGINE_SOCKET" \
    --config-file "$ENGINE_CONFIG_FILE" \
    --storage-driver=vfs --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    </dev/null >>"$ENGINE_LOG" 2>&1 9>&- &
  if ! wait_until "$ENGINE_START_TIMEOUT_S" engine_answers "unix://$ENGINE_SOCKET"; then
    fail_with_log dockerd "$ENGINE_LOG" \
      "did not answer on $ENGINE_SOCKET within ${ENGINE_START_TIMEOUT_S}s"
  fi
}

engine_start_locked() {
  local foreign pid started_ms
  foreign="$(foreign_engine)"
  if [[ -n "$foreign" ]]; then
    note "using the engine already running at $foreign (not ours: 'stop' leaves it running)"
    print_assignments "$foreign" 0
    return 0
  fi
  pid="$(our_dockerd_pid)"
  if [[ -n "$pid" ]]; then
    engine_answers "unix://$ENGINE_SOCKET" ||
      fail_with_log dockerd "$ENGINE_LOG" "pid $pid is running but does not answer on" \
        "$ENGINE_SOCKET; stop it with: bash infra/containers/engine.sh stop"
    note "the project's engine is already running (pid $pid)"
    print_assignments "unix://$ENGINE_SOCKET" 0
    return 0
  fi
  clean_stale_pid dockerd "$ENGINE_PID_FILE" >&2
  with_lock "$CACHE_DIR/setup.lock" apt_ensure "container engine packages" \
    "docker.io, containerd, runc, tini" "${ENGINE_PACKAGES[@]}" >&2
  started_ms="$(now_ms)"
  launch_dockerd
  pid="$(our_dockerd_pid)"
  [[ -n "$pid" ]] || fail_with_log dockerd "$ENGINE_LOG" "answers, but $ENGINE_PID_FILE names no dockerd"
  printf 'pid=%s\nsocket=%s\nstarted_at=%s\n' "$pid" "$ENGINE_SOCKET" "$(date -Is)" \
    >"$ENGINE_STATE_FILE"
  note "started dockerd $("$(docker_cli)" -H "unix://$ENGINE_SOCKET" version \
    --format '{{.Server.Version}}') (pid $pid) in $(($(now_ms) - started_ms)) ms;" \
    "data under $DOCKER_CACHE_DIR, log $ENGINE_LOG"
  print_assignments "unix://$ENGINE_SOCKET" 1
}

# The containerd that dockerd started for itself (it exits with dockerd).
managed_containerd_pid() {
  live_pid "$ENGINE_EXEC_ROOT/containerd/containerd.pid"
}

engine_stop_locked() {
  local pid recorded containerd_pid
  if [[ ! -f "$ENGINE_STATE_FILE" ]]; then
    pid="$(our_dockerd_pid)"
    [[ -z "$pid" ]] || warn "dockerd (pid $pid) runs on $ENGINE_SOCKET but $ENGINE_STATE_FILE" \
      "is missing: not stopping an engine this script has no record of starting"
    say "engine: none started by this script; nothing to stop"
    return 0
  fi
  recorded="$(sed -n 's/^pid=//p' "$ENGINE_STATE_FILE")"
  pid="$(our_dockerd_pid)"
  if [[ -z "$pid" ]]; then
    say "engine: dockerd (pid $recorded) is no longer running; removing its state"
  else
    [[ "$pid" == "$recorded" ]] ||
      die "$ENGINE_PID_FILE names pid $pid but $ENGINE_STATE_FILE recorded $recorded: not stopping"
    containerd_pid="$(managed_containerd_pid)"
    stop_pid dockerd "$pid" "$ENGINE_STOP_TIMEOUT_S"
    if [[ -n "$containerd_pid" ]] && ! wait_until 15 pid_gone "$containerd_pid"; then
      warn "dockerd's containerd (pid $containerd_pid) outlived it: stopping it"
      stop_pid containerd "$containerd_pid" 15
    fi
    say "engine: dockerd (pid $pid) stopped"
  fi
  rm -f "$ENGINE_STATE_FILE" "$ENGINE_PID_FILE" "$ENGINE_SOCKET"
}

engine_status() {
  local pid foreign
  pid="$(our_dockerd_pid)"
  if [[ -n "$pid" ]] && engine_answers "unix://$ENGINE_SOCKET"; then
    say "the project's engine: running (pid $pid), DOCKER_HOST=unix://$ENGINE_SOCKET," \
      "$([[ -f "$ENGINE_STATE_FILE" ]] && echo "started by engine.sh" || echo "NOT recorded")"
    "$(docker_cli)" -H "unix://$ENGINE_SOCKET" info --format \
      '  server {{.ServerVersion}}, storage {{.Driver}}, root {{.DockerRootDir}}, {{.Images}} images, {{.ContainersRunning}} containers running'
    return 0
  fi
  say "the project's engine: not running"
  foreign="$(foreign_engine)"
  [[ -n "$foreign" ]] || return 1
  say "another engine answers at $foreign (used by 'start', never stopped by 'stop')"
}

main() {
  (($# == 1)) || usage
  mkdir -p "$DOCKER_CACHE_DIR"
  case "$1" in
    start) with_lock "$ENGINE_LOCK" engine_start_locked ;;
    stop) with_lock "$ENGINE_LOCK" engine_stop_locked ;;
    status) engine_status ;;
    *) usage ;;
  esac
}

main "$@"
