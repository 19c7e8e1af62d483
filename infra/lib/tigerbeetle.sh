# A local 3-replica TigerBeetle cluster, the bridge's ledger, from an operator-provided server
# binary: TB_BIN, else `tigerbeetle` on PATH. No package registry ships TigerBeetle's server; users
# install the official release binary (or run its container image). Sourced by infra/stack.sh and
# infra/tigerbeetle/{format,start,stop}.sh after lib/common.sh. Flags follow TigerBeetle's operating docs.
#
# The cluster's settings for its clients go to $TB_DIR/cluster.env once it answers a client round
# trip; `npm start`, the tests and the load runner read them from there (infra/tigerbeetle/local.ts).

TB_REPLICA_COUNT=3
TB_CLUSTER_ID="${TB_CLUSTER_ID:-0}"
# Replica i listens on TB_BASE_PORT + i: 3001, 3002, 3003 (3000 is the bridge API).
TB_BASE_PORT="${TB_BASE_PORT:-3001}"
TB_DIR="${TB_RUN_DIR:-$RUN_DIR/tigerbeetle}"
# Sized for one 2-core, 24 GiB machine that also runs PostgreSQL, Kafka, Redis and the bridge:
# a 256 MiB grid cache keeps each replica near 2.4 GiB resident (measured: 2.2-2.4 GiB, idle
# CPU about 4% of a core each), so three replicas take about 7 GiB. A dedicated host should give
# the grid cache all the memory it can (TigerBeetle's guidance: RAM - 3 GiB - 1 GiB).
TB_CACHE_GRID="${TB_CACHE_GRID:-256MiB}"
# Extra flags for operators, e.g. TB_START_ARGS='--cache-accounts=256MiB'.
TB_FORMAT_ARGS="${TB_FORMAT_ARGS:-}"
TB_START_ARGS="${TB_START_ARGS:-}"
TB_START_TIMEOUT_S=60
TB_STOP_TIMEOUT_S=15
# The first client round trip on a fresh cluster waits for the replicas to elect a primary.
TB_HEALTH_TIMEOUT_MS=30000

# Sets TB_BIN from TB_BIN or PATH; returns 1 when there is no TigerBeetle server to run.
tb_find_binary() {
  if [[ -z "${TB_BIN:-}" ]]; then
    TB_BIN="$(command -v tigerbeetle 2>/dev/null || true)"
    [[ -n "$TB_BIN" ]] || return 1
  fi
  [[ -f "$TB_BIN" && -x "$TB_BIN" ]] || die "TB_BIN=$TB_BIN is not an executable file"
  TB_BIN="$(cd "$(dirname "$TB_BIN")" && pwd)/$(basename "$TB_BIN")"
}

tb_require_binary() {
  tb_find_binary ||
    die "no TigerBeetle server: set TB_BIN to a tigerbeetle $(tb_client_release) binary" \
      "or put 'tigerbeetle' on PATH (the official release binary; see README," \
      "'Running on a real TigerBeetle cluster')."
  [[ "$TB_CLUSTER_ID" =~ ^[0-9]+$ ]] || die "TB_CLUSTER_ID=$TB_CLUSTER_ID is not a decimal u128"
  [[ "$TB_BASE_PORT" =~ ^[0-9]+$ ]] || die "TB_BASE_PORT=$TB_BASE_PORT is not a port"
  tb_check_release
}

# The release of tigerbeetle-node the bridge is built with (package.json pins it exactly).
tb_client_release() {
  sed -n 's/.*"tigerbeetle-node": *"\([0-9.]*\)".*/\1/p' "$ROOT_DIR/package.json"
}

# True when release $1 <= release $2 (dotted numbers).
tb_release_le() { [[ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$1" ]]; }

# A server older than our client evicts it (client release too high), and so does one whose
# oldest accepted client is newer than ours (too low): both only show once the cluster is up, as
# requests that never answer. Refuse such a server before formatting anything, naming both.
tb_check_release() {
  local client server client_min verbose
  client="$(tb_client_release)"
  verbose="$("$TB_BIN" version --verbose 2>/dev/null || true)"
  server="$(sed -n 's/^process.release=\([0-9.]*\)$/\1/p' <<<"$verbose")"
  client_min="$(sed -n 's/^process.release_client_min=\([0-9.]*\)$/\1/p' <<<"$verbose")"
  if [[ -z "$server" ]]; then
    server="$("$TB_BIN" version 2>/dev/null | sed -n 's/^TigerBeetle version \([0-9.]*\).*/\1/p' || true)"
  fi
  [[ -n "$server" ]] || die "TB_BIN=$TB_BIN does not answer 'version' as a TigerBeetle server does"
  if ! tb_release_le "$client" "$server" || ! tb_release_le "${client_min:-0}" "$client"; then
    die "TB_BIN=$TB_BIN is TigerBeetle $server, but the bridge's client is tigerbeetle-node" \
      "$client: use a server of release $client or newer that still accepts $client clients" \
      "(the official $client release binary)"
  fi
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
tb_env_file() { echo "$TB_DIR/cluster.env"; }

tb_format_replica() {
  local replica="$1" file partial log
  file="$(tb_data_file "$replica")"
  log="$(tb_log_file "$replica")"
  if [[ -e "$file" ]]; then
    say "tigerbeetle replica $replica: $file exists, not formatted again"
    return 0
  fi
  # Format under a temporary name and rename on success, so that an interrupted format never
  # leaves a file that the next run would take for a formatted replica.
  partial="$file.formatting"
  rm -f "$partial"
  say "tigerbeetle replica $replica: formatting $file"
  # shellcheck disable=SC2086 # TB_FORMAT_ARGS is a list of flags on purpose.
  "$TB_BIN" format --cluster="$TB_CLUSTER_ID" --replica="$replica" \
    --replica-count="$TB_REPLICA_COUNT" $TB_FORMAT_ARGS "$partial" >>"$log" 2>&1 ||
    fail_with_log "tigerbeetle replica $replica" "$log" "tigerbeetle format failed"
  mv "$partial" "$file"
}

tb_format() {
  local replica
  mkdir -p "$TB_DIR"
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    tb_format_replica "$replica"
  done
}

# A data file records its cluster id and replica count; a replica started on a file of another
# cluster drops every client of ours ("invalid header_cluster" in its log) and the ledger just
# never answers. Read the superblock first and say which file belongs to which cluster.
tb_check_data_file() {
  local replica="$1" file superblock cluster count
  file="$(tb_data_file "$replica")"
  superblock="$("$TB_BIN" inspect superblock "$file" 2>/dev/null)" ||
    die "tigerbeetle replica $replica: $file is not a TigerBeetle data file this release can read"
  cluster="$(sed -n 's/^|||| cluster=0x\([0-9a-f]*\)$/\1/p' <<<"$superblock")"
  count="$(sed -n 's/^|||| vsr_state.replica_count=\([0-9]*\)$/\1/p' <<<"$superblock")"
  [[ -n "$cluster" ]] || die "tigerbeetle replica $replica: no cluster id in $file's superblock"
  [[ "$(tb_hex_to_decimal "$cluster")" == "$TB_CLUSTER_ID" ]] ||
    die "tigerbeetle replica $replica: $file was formatted for cluster" \
      "$(tb_hex_to_decimal "$cluster"), not TB_CLUSTER_ID=$TB_CLUSTER_ID: use that cluster id," \
      "or another TB_RUN_DIR for a new cluster (never re-format a ledger's data files)"
  [[ "$count" == "$TB_REPLICA_COUNT" ]] ||
    die "tigerbeetle replica $replica: $file is one of $count replicas, not $TB_REPLICA_COUNT"
}

# u128 hex (32 digits) to decimal, for cluster ids; python3 is on every machine of this kind.
tb_hex_to_decimal() { python3 -c "print(int('$1', 16))"; }

# Everything that can refuse a replica, checked for all three before any starts: two replicas
# of three are a quorum, so a refusal after the first launches would leave a cluster half up.
tb_check_replica() {
  local replica="$1" file pid_file
  file="$(tb_data_file "$replica")"
  pid_file="$(tb_pid_file "$replica")"
  [[ -f "$file" ]] || die "tigerbeetle replica $replica: no data file $file: format it first"
  [[ -z "$(live_pid "$pid_file")" ]] || return 0
  clean_stale_pid "tigerbeetle replica $replica" "$pid_file"
  require_port_free "tigerbeetle replica $replica" "$(tb_port "$replica")"
  tb_check_data_file "$replica"
}

tb_launch_replica() {
  local replica="$1" addresses="$2" file pid_file log port
  file="$(tb_data_file "$replica")"
  pid_file="$(tb_pid_file "$replica")"
  log="$(tb_log_file "$replica")"
  port="$(tb_port "$replica")"
  if [[ -n "$(live_pid "$pid_file")" ]]; then
    say "tigerbeetle replica $replica: already running (pid $(live_pid "$pid_file"))"
    return 0
  fi
  say "tigerbeetle replica $replica: starting on $BIND_HOST:$port"
  # Each replica takes the full address list and finds its own entry by its replica index,
  # which format stored in the data file. setsid + nohup: it outlives this shell; 9>&- so it
  # does not hold the stack's lock.
  # shellcheck disable=SC2086 # TB_START_ARGS is a list of flags on purpose.
  setsid nohup "$TB_BIN" start --addresses="$addresses" --cache-grid="$TB_CACHE_GRID" \
    $TB_START_ARGS "$file" </dev/null >>"$log" 2>&1 9>&- &
  echo $! >"$pid_file"
}

tb_wait_replica() {
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

tb_start() {
  local replica addresses
  mkdir -p "$TB_DIR"
  addresses="$(tb_addresses)"
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    tb_check_replica "$replica"
  done
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    tb_launch_replica "$replica" "$addresses"
  done
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    tb_wait_replica "$replica"
  done
}

# Healthy means a client round trip through the cluster (infra/tigerbeetle/status.ts): listening
# replicas may still lack a primary, or belong to another cluster.
tb_healthy() {
  TB_ADDRESSES="$(tb_addresses)" TB_CLUSTER_ID="$TB_CLUSTER_ID" TB_RUN_DIR="$TB_DIR" \
    LEDGER_REQUEST_TIMEOUT_MS="${1:-3000}" "$ROOT_DIR/node_modules/.bin/tsx" \
    "$ROOT_DIR/infra/tigerbeetle/status.ts" 9>&-
}

tb_write_env() {
  printf 'TB_CLUSTER_ID=%s\nTB_ADDRESSES=%s\n' "$TB_CLUSTER_ID" "$(tb_addresses)" \
    >"$(tb_env_file).tmp"
  mv "$(tb_env_file).tmp" "$(tb_env_file)"
}

tb_stop() {
  local replica pid_file pid
  rm -f "$(tb_env_file)"
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    pid_file="$(tb_pid_file "$replica")"
    pid="$(live_pid "$pid_file")"
    if [[ -z "$pid" ]]; then
      clean_stale_pid "tigerbeetle replica $replica" "$pid_file"
      continue
    fi
    stop_pid "tigerbeetle replica $replica" "$pid" "$TB_STOP_TIMEOUT_S"
    rm -f "$pid_file"
    say "tigerbeetle replica $replica: stopped"
  done
}

# The stack's cluster: formatted once, started, answering a client. With no binary the stack
# comes up without it and says, once and loudly, that the bridge will use its embedded engine.
tigerbeetle_up() {
  if tb_all_running; then
    # Running replicas need no binary: a later `up` without TB_BIN keeps using them.
    tb_answering
    return 0
  fi
  if ! tb_find_binary; then
    rm -f "$(tb_env_file)"
    warn "NO TIGERBEETLE SERVER: set TB_BIN or put 'tigerbeetle' on PATH to run the real" \
      "3-replica cluster; until then the bridge falls back to its embedded engine (a stand-in," \
      "not TigerBeetle). README: 'Running on a real TigerBeetle cluster'."
    return 0
  fi
  tb_require_binary
  tb_format
  tb_start
  tb_answering
}

tb_all_running() {
  local replica
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    [[ -n "$(live_pid "$(tb_pid_file "$replica")")" ]] || return 1
  done
}

tb_answering() {
  local output
  output="$(tb_healthy "$TB_HEALTH_TIMEOUT_MS" 2>&1)" ||
    fail_with_log "tigerbeetle replica 0" "$(tb_log_file 0)" "no client round trip: $output"
  tb_write_env
  say "tigerbeetle: $output"
}

tigerbeetle_down() { tb_stop; }

tigerbeetle_status() {
  local replica pids=() pid
  for ((replica = 0; replica < TB_REPLICA_COUNT; replica++)); do
    pid="$(live_pid "$(tb_pid_file "$replica")")"
    [[ -n "$pid" ]] && pids+=("$pid")
  done
  if ((${#pids[@]} == 0)); then
    if tb_find_binary; then echo "stopped"; else echo "not configured (no TB_BIN): engine"; fi
  elif tb_healthy 3000 >/dev/null 2>&1; then
    echo "running (pids ${pids[*]}) cluster $TB_CLUSTER_ID at $(tb_addresses)"
  else
    echo "UNHEALTHY (${#pids[@]} of $TB_REPLICA_COUNT replicas alive, no client round trip)"
  fi
}
