#!/usr/bin/env bash
# Starts the 3 replicas of the local TigerBeetle cluster in the background (pid and log files
# under .run/tigerbeetle/) and prints the TB_ADDRESSES to export. Replicas already running are
# left alone. Format first with tb-cluster/format.sh.
#
#   TB_BIN=/path/to/tigerbeetle [TB_CLUSTER_ID=0] bash tb-cluster/start.sh
set -euo pipefail
LOG_TAG=tb-start
source "$(dirname "$0")/../infra/lib/common.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"

launch_replica() {
  local replica="$1" addresses="$2" file pid_file log port
  file="$(tb_data_file "$replica")"
  pid_file="$(tb_pid_file "$replica")"
  log="$(tb_log_file "$replica")"
  port="$(tb_port "$replica")"
  [[ -f "$file" ]] || die "replica $replica: no data file $file: run tb-cluster/format.sh first"
  if [[ -n "$(live_pid "$pid_file")" ]]; then
    say "replica $replica: already running (pid $(live_pid "$pid_file"))"
    return 0
  fi
  clean_stale_pid "tigerbeetle replica $replica" "$pid_file"
  require_port_free "tigerbeetle replica $replica" "$port"
  say "replica $replica: starting on $BIND_HOST:$port"
  # Each replica takes the full address list and finds its own entry by its replica index,
  # which format stored in the data file. setsid + nohup: it outlives this shell.
  # shellcheck disable=SC2086 # TB_START_ARGS is a list of flags on purpose.
  setsid nohup "$TB_BIN" start --addresses="$addresses" $TB_START_ARGS "$file" </dev/null \
    >>"$log" 2>&1 &
  echo $! >"$pid_file"
}

# Listening is what this script can check; a client round trip through the cluster
# (tb-cluster/status.ts) proves the replicas have formed a cluster with a primary.
wait_replica() {
  local replica="$1" pid_file log port
  pid_file="$(tb_pid_file "$replica")"
  log="$(tb_log_file "$replica")"
  port="$(tb_port "$replica")"
  wait_until "$TB_START_TIMEOUT_S" port_open "$port" ||
    fail_with_log "tigerbeetle replica $replica" "$log" \
      "not listening on $BIND_HOST:$port within ${TB_START_TIMEOUT_S}s"
  [[ -n "$(live_pid "$pid_file")" ]] ||
    fail_with_log "tigerbeetle replica $replica" "$log" "exited during start-up"
}

main() {
  local replica addresses
  tb_require_binary
  mkdir -p "$TB_DIR"
  addresses="$(tb_addresses)"
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    launch_replica "$replica" "$addresses"
  done
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    wait_replica "$replica"
  done
  say "cluster $TB_CLUSTER_ID: $TB_REPLICA_COUNT replicas listening; logs in $TB_DIR"
  echo "export TB_ADDRESSES=$addresses"
}

main "$@"
