#!/usr/bin/env bash
# Formats the data files of a local 3-replica TigerBeetle cluster under .run/tigerbeetle/, once:
# an existing data file is never touched (formatting again would erase a ledger).
#
#   TB_BIN=/path/to/tigerbeetle [TB_CLUSTER_ID=0] bash tb-cluster/format.sh
set -euo pipefail
LOG_TAG=tb-format
source "$(dirname "$0")/../infra/lib/common.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"

format_replica() {
  local replica="$1" file partial log
  file="$(tb_data_file "$replica")"
  log="$(tb_log_file "$replica")"
  if [[ -e "$file" ]]; then
    say "replica $replica: $file exists, skipped"
    return 0
  fi
  # Format under a temporary name and rename on success, so that an interrupted format never
  # leaves a file that the next run would take for a formatted replica.
  partial="$file.formatting"
  rm -f "$partial"
  say "replica $replica: formatting $file"
  # shellcheck disable=SC2086 # TB_FORMAT_ARGS is a list of flags on purpose.
  "$TB_BIN" format --cluster="$TB_CLUSTER_ID" --replica="$replica" \
    --replica-count="$TB_REPLICA_COUNT" $TB_FORMAT_ARGS "$partial" >>"$log" 2>&1 ||
    fail_with_log "tigerbeetle replica $replica" "$log" "tigerbeetle format failed"
  mv "$partial" "$file"
}

main() {
  local replica
  tb_require_binary
  mkdir -p "$TB_DIR"
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    format_replica "$replica"
  done
  say "cluster $TB_CLUSTER_ID: $TB_REPLICA_COUNT data files ready; start with: npm run tb:start"
}

main "$@"
