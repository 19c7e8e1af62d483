# shellcheck shell=bash
# shellcheck disable=SC2034 # Constants for the scripts that source this file.
# Shared by infra/containers/*.sh: where the container engine and the image cache live.
# Sourced after infra/lib/common.sh, never executed: the caller has already set `set -euo pipefail`.
#
# Everything lives under one machine-level folder shared by every clone (CACHE_DIR is
# ~/.cache/ledger-bridge): nothing the engine writes is inside the clone.
CONTAINERS_DIR="$INFRA_DIR/containers"
DOCKER_CACHE_DIR="$CACHE_DIR/docker"
# The engine this project starts: its data root (images, containers, volumes), exec root (runtime
# state, containerd's sockets), pid file, unix socket, log and the state file saying we started it.
ENGINE_DATA_ROOT="$DOCKER_CACHE_DIR/data"
ENGINE_EXEC_ROOT="$DOCKER_CACHE_DIR/exec"
ENGINE_PID_FILE="$DOCKER_CACHE_DIR/dockerd.pid"
ENGINE_SOCKET="$DOCKER_CACHE_DIR/docker.sock"
ENGINE_LOG="$DOCKER_CACHE_DIR/dockerd.log"
ENGINE_STATE_FILE="$DOCKER_CACHE_DIR/engine.state"
ENGINE_CONFIG_FILE="$DOCKER_CACHE_DIR/daemon.json"
ENGINE_LOCK="$DOCKER_CACHE_DIR/engine.lock"
# Root-filesystem tarballs made by base-image.sh: a fresh data root re-imports one in seconds.
IMAGE_TARBALL_DIR="$DOCKER_CACHE_DIR/rootfs"
# The engine a system service runs, when there is one.
SYSTEM_DOCKER_SOCKET=/var/run/docker.sock

# Messages go to stderr: `engine.sh start` prints only shell assignments on stdout.
note() { say "$@" >&2; }

# The docker CLI on PATH (the machine may ship a newer client than Debian's engine; the client
# negotiates the engine's API version).
docker_cli() {
  command -v docker || echo /usr/bin/docker
}

# True when the engine at DOCKER_HOST-style address $1 answers.
engine_answers() {
  DOCKER_HOST="$1" timeout 10 "$(docker_cli)" version --format '{{.Server.Version}}' \
    >/dev/null 2>&1
}

# Runs a CPU- or disk-heavy step at the lowest priority: the machine's 2 cores are shared with
# benchmarks.
low_priority() {
  nice -n 19 ionice -c3 "$@"
}

# Starts the engine if none answers and exports DOCKER_HOST (and LEDGER_ENGINE_STARTED=1 when this
# call started it, so the caller can leave the machine as it found it: stop only what it started).
engine_up() {
  local assignments
  assignments="$(bash "$CONTAINERS_DIR/engine.sh" start)" || die "the container engine did not start"
  eval "$assignments"
  export DOCKER_HOST LEDGER_ENGINE_STARTED
}

# Stops the engine when engine_up started it; otherwise leaves it running.
engine_down_if_started() {
  if [[ "${LEDGER_ENGINE_STARTED:-0}" == 1 ]]; then
    bash "$CONTAINERS_DIR/engine.sh" stop >&2
  else
    note "engine: left running (it was running before this script)"
  fi
}
