#!/usr/bin/env bash
# Stops the replicas that tb-cluster/start.sh launched (by their pid files), SIGTERM first.
# Needs no TB_BIN: it only signals processes. The data files stay.
set -euo pipefail
LOG_TAG=tb-stop
source "$(dirname "$0")/../infra/lib/common.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"

main() {
  local replica pid_file pid
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    pid_file="$(tb_pid_file "$replica")"
    pid="$(live_pid "$pid_file")"
    if [[ -z "$pid" ]]; then
      clean_stale_pid "tigerbeetle replica $replica" "$pid_file"
      say "replica $replica: not running"
      continue
    fi
    stop_pid "tigerbeetle replica $replica" "$pid" "$TB_STOP_TIMEOUT_S"
    rm -f "$pid_file"
    say "replica $replica: stopped"
  done
}

main "$@"
