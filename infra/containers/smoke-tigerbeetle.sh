#!/usr/bin/env bash
# Proves the TigerBeetle image end to end, on the project's own container engine:
#   1. builds ledger-bridge/tigerbeetle (infra/containers/build-image.sh; cached: seconds),
#   2. `tigerbeetle version` in a container,
#   3. formats a one-replica cluster into a fresh volume and starts it in a container on the host
#      network, on 127.0.0.1:$SMOKE_TB_PORT (default 3041: clear of the local stack's 3001-3003),
#   4. a client round trip from another container (`tigerbeetle repl`: two accounts, a transfer,
#      a lookup that must show it), and one from this host with the bridge's own client
#      (tigerbeetle-node, when node_modules has it): a second transfer, both balances checked,
#   5. removes the container and the volume; stops the engine only if this script started it.
#
#   TB_BIN=/path/to/tigerbeetle bash infra/containers/smoke-tigerbeetle.sh
#
# Exit 0 when every step passed; the last line says so, with each step's time.
set -euo pipefail
LOG_TAG=smoke-tigerbeetle
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"

SMOKE_TB_PORT="${SMOKE_TB_PORT:-3041}"
# Enough for a replica that holds four accounts; the local stack's replicas take 256MiB too.
SMOKE_TB_CACHE_GRID=256MiB
SMOKE_READY_TIMEOUT_S=60
SMOKE_CLIENT_TIMEOUT_S=60
SMOKE_NAME="ledger-bridge-smoke-tigerbeetle-$$"
SMOKE_CLUSTER_ID=0
# io_uring is blocked by the default seccomp profile, and TigerBeetle locks its memory: the
# compose file's TigerBeetle settings (init: true included), less `ulimits: memlock: -1`: this
# machine's hard limit is 8 MiB and raising it is refused ("error setting rlimit type 8:
# operation not permitted"), so the container keeps the engine's limit, as the native replicas do.
TB_RUN_FLAGS=(--init --security-opt seccomp=unconfined --cap-add IPC_LOCK)

STEP_TIMES=()
step_started_ms=0
step() {
  step_started_ms="$(now_ms)"
  note "$*"
}
step_done() {
  STEP_TIMES+=("$1 $(($(now_ms) - step_started_ms)) ms")
}

docker_() { "$(docker_cli)" "$@"; }

cleanup() {
  local status=$?
  if docker_ container inspect "$SMOKE_NAME" >/dev/null 2>&1; then
    ((status == 0)) || {
      note "the replica's last lines:"
      docker_ logs --tail 30 "$SMOKE_NAME" >&2 || true
    }
    docker_ rm -f "$SMOKE_NAME" >/dev/null || warn "could not remove container $SMOKE_NAME"
  fi
  if docker_ volume inspect "$SMOKE_NAME" >/dev/null 2>&1; then
    docker_ volume rm "$SMOKE_NAME" >/dev/null || warn "could not remove volume $SMOKE_NAME"
  fi
  engine_down_if_started
  ((status == 0)) || note "FAILED (exit $status)"
}

# One REPL statement (`--command` runs the first statement only) in a second container on the
# host network; prints its output.
repl() {
  local image="$1" statement="$2"
  timeout "$SMOKE_CLIENT_TIMEOUT_S" "$(docker_cli)" run --rm --network host "$image" repl \
    --cluster="$SMOKE_CLUSTER_ID" --addresses="127.0.0.1:$SMOKE_TB_PORT" --command="$statement" \
    2>&1 || die "tigerbeetle repl failed on: $statement"
}

# Creates accounts 1 and 2 and transfer 1 (10 units from 1 to 2) through the REPL, then reads both
# accounts back.
repl_round_trip() {
  local image="$1" output
  repl "$image" "create_accounts id=1 code=10 ledger=700, id=2 code=10 ledger=700;" >&2
  repl "$image" "create_transfers id=1 debit_account_id=1 credit_account_id=2 amount=10 \
ledger=700 code=10;" >&2
  output="$(repl "$image" "lookup_accounts id=1, id=2;")"
  printf '%s\n' "$output" >&2
  if ! grep -q '"debits_posted": "10"' <<<"$output" ||
    ! grep -q '"credits_posted": "10"' <<<"$output"; then
    die "the REPL's lookup does not show transfer 1 (10 from account 1 to account 2)"
  fi
}

# The bridge's own client, from this host: transfer 2 (5 more from 1 to 2), then both balances.
node_round_trip() {
  # shellcheck disable=SC2016 # JavaScript, not shell: its ${...} are template literals.
  (cd "$ROOT_DIR" && timeout "$SMOKE_CLIENT_TIMEOUT_S" node -e '
    const { createClient, CreateTransferStatus } = require("tigerbeetle-node");
    const [clusterId, address] = process.argv.slice(1);
    const client = createClient({ cluster_id: BigInt(clusterId), replica_addresses: [address] });
    (async () => {
      // 0.17: one {timestamp, status} result per event; CreateTransferStatus.created is success.
      const results = await client.createTransfers([{
        id: 2n, debit_account_id: 1n, credit_account_id: 2n, amount: 5n, pending_id: 0n,
        user_data_128: 0n, user_data_64: 0n, user_data_32: 0, timeout: 0, ledger: 700, code: 10,
        flags: 0, timestamp: 0n,
      }]);
      if (results.length !== 1 || results[0].status !== CreateTransferStatus.created) {
        throw new Error(`create_transfers: ${JSON.stringify(results, (_, v) => String(v))}`);
      }
      const [a, b] = await client.lookupAccounts([1n, 2n]);
      if (a?.debits_posted !== 15n || b?.credits_posted !== 15n) {
        throw new Error(`balances ${a?.debits_posted} / ${b?.credits_posted}, want 15 / 15`);
      }
      console.log("tigerbeetle-node: transfer 2 posted; account 1 debits 15, account 2 credits 15");
      client.destroy();
    })().catch((error) => { console.error(error); process.exit(1); });
  ' "$SMOKE_CLUSTER_ID" "127.0.0.1:$SMOKE_TB_PORT") >&2
}

main() {
  local image version started_ms times
  started_ms="$(now_ms)"
  engine_up
  trap cleanup EXIT
  port_open "$SMOKE_TB_PORT" &&
    die "127.0.0.1:$SMOKE_TB_PORT is in use: set SMOKE_TB_PORT to a free port (not 3000-3003)"

  step "building the image"
  image="$(bash "$CONTAINERS_DIR/build-image.sh" tigerbeetle)"
  step_done build

  step "$image: tigerbeetle version"
  version="$(docker_ run --rm --network none "$image" version)"
  [[ "$version" == "TigerBeetle version "* ]] || die "unexpected 'version' output: $version"
  note "$version"
  step_done version

  step "formatting a one-replica cluster into volume $SMOKE_NAME"
  docker_ volume create "$SMOKE_NAME" >/dev/null
  docker_ run --rm --network none "${TB_RUN_FLAGS[@]}" -v "$SMOKE_NAME:/data" "$image" format \
    --cluster="$SMOKE_CLUSTER_ID" --replica=0 --replica-count=1 /data/0_0.tigerbeetle >&2
  step_done format

  step "starting the replica on 127.0.0.1:$SMOKE_TB_PORT (host network)"
  docker_ run -d --name "$SMOKE_NAME" --network host "${TB_RUN_FLAGS[@]}" \
    -v "$SMOKE_NAME:/data" "$image" start --addresses="127.0.0.1:$SMOKE_TB_PORT" \
    --cache-grid="$SMOKE_TB_CACHE_GRID" /data/0_0.tigerbeetle >/dev/null
  wait_until "$SMOKE_READY_TIMEOUT_S" port_open "$SMOKE_TB_PORT" ||
    die "the replica did not listen on 127.0.0.1:$SMOKE_TB_PORT within ${SMOKE_READY_TIMEOUT_S}s"
  step_done start

  step "client round trip: tigerbeetle repl in a second container"
  repl_round_trip "$image"
  step_done repl

  if [[ -d "$ROOT_DIR/node_modules/tigerbeetle-node" ]]; then
    step "client round trip: tigerbeetle-node from the host"
    node_round_trip
    step_done tigerbeetle-node
  else
    warn "node_modules/tigerbeetle-node is missing (npm run setup): the host client check skipped"
  fi

  step "removing the replica"
  docker_ rm -f "$SMOKE_NAME" >/dev/null
  docker_ volume rm "$SMOKE_NAME" >/dev/null
  step_done remove

  times="$(printf '%s, ' "${STEP_TIMES[@]}")"
  say "OK: $image passed in $(($(now_ms) - started_ms)) ms (${times%, })"
}

main "$@"
