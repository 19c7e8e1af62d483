# A local 3-replica TigerBeetle cluster from an operator-provided binary (TB_BIN): no registry
# ships TigerBeetle's server, so nothing installs it. Sourced by tb-cluster/{format,start,stop}.sh
# after lib/common.sh. Flags follow TigerBeetle's operating docs ("Deploying").

TB_REPLICA_COUNT=3
TB_CLUSTER_ID="${TB_CLUSTER_ID:-0}"
# Replica i listens on TB_BASE_PORT + i: 3001, 3002, 3003 (3000 is the bridge API).
TB_BASE_PORT="${TB_BASE_PORT:-3001}"
TB_DIR="${TB_RUN_DIR:-$RUN_DIR/tigerbeetle}"
# Extra flags for operators, e.g. TB_START_ARGS='--cache-grid=512MiB'.
TB_FORMAT_ARGS="${TB_FORMAT_ARGS:-}"
TB_START_ARGS="${TB_START_ARGS:-}"
TB_START_TIMEOUT_S=30
TB_STOP_TIMEOUT_S=15

tb_require_binary() {
  [[ -n "${TB_BIN:-}" ]] ||
    die "TB_BIN is not set: point it at a tigerbeetle 0.17.x binary" \
      "(e.g. TB_BIN=/opt/tigerbeetle/tigerbeetle). It is not installable from any registry here;" \
      "without a cluster the bridge uses its embedded engine (leave TB_ADDRESSES unset)."
  [[ -f "$TB_BIN" && -x "$TB_BIN" ]] || die "TB_BIN=$TB_BIN is not an executable file"
  [[ "$TB_CLUSTER_ID" =~ ^[0-9]+$ ]] || die "TB_CLUSTER_ID=$TB_CLUSTER_ID is not a decimal u128"
  [[ "$TB_BASE_PORT" =~ ^[0-9]+$ ]] || die "TB_BASE_PORT=$TB_BASE_PORT is not a port"
}

tb_port() { echo $((TB_BASE_PORT + $1)); }

# Every replica's address, in replica order: clients and replicas all take the same list.
tb_addresses() {
  local replica addresses=()
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    addresses+=("$BIND_HOST:$(tb_port "$replica")")
  done
  (
    IFS=,
    echo "${addresses[*]}"
  )
}

tb_data_file() { echo "$TB_DIR/${TB_CLUSTER_ID}_$1.tigerbeetle"; }
tb_pid_file() { echo "$TB_DIR/replica-$1.pid"; }
tb_log_file() { echo "$TB_DIR/replica-$1.log"; }
