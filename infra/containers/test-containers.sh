#!/usr/bin/env bash
# The containers tier (`npm run test:containers`): the integration suite against services started
# from the project's images with the npm `testcontainers` package, instead of the local stack.
#
#   bash infra/containers/test-containers.sh [JEST ARGS...]     e.g. test/integration/balances
#
#   1. starts the container engine (engine.sh start); when none can start (or not root), prints
#      "test:containers: SKIPPED — no container engine could start: <reason>" and exits 0;
#   2. builds the images it runs (build-image.sh: cached, seconds): postgres pgbouncer redis
#      rabbitmq kafka, and tigerbeetle from TB_BIN or `tigerbeetle` on PATH (without either, an
#      image built earlier is used);
#   3. runs jest with jest.containers.config.js: its globalSetup starts the services
#      (test/support/containers/), its globalTeardown removes them;
#   4. removes anything of this run still there (by its label and name: after a crash), and stops
#      the engine only if step 1 started it.
#
# Exit status: jest's. Ryuk (testcontainers' reaper) is disabled: its image cannot be pulled here.
set -euo pipefail
LOG_TAG=test:containers
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"

IMAGES=(postgres pgbouncer redis rabbitmq kafka)
RUN_ID="$$"
RUN_LABEL="org.ledger-bridge.containers-run=$RUN_ID"
NETWORK="ledger-bridge-tc-$RUN_ID"
SCRATCH=""

skip() {
  say "SKIPPED — no container engine could start: $*"
  exit 0
}

docker_() { "$(docker_cli)" "$@"; }

# Whatever this run left (jest killed, globalTeardown not reached): only its own label and name.
sweep() {
  local status=$? ids
  ids="$(docker_ ps -aq --filter "label=$RUN_LABEL" 2>/dev/null || true)"
  if [[ -n "$ids" ]]; then
    note "removing $(wc -w <<<"$ids") containers this run left"
    # shellcheck disable=SC2086 # one id per word
    docker_ rm -f -v $ids >/dev/null || warn "could not remove containers $ids"
  fi
  if docker_ network inspect "$NETWORK" >/dev/null 2>&1; then
    docker_ network rm "$NETWORK" >/dev/null || warn "could not remove network $NETWORK"
  fi
  [[ -z "$SCRATCH" ]] || rm -rf "$SCRATCH"
  engine_down_if_started
  return "$status"
}

build_images() {
  local -a names=("${IMAGES[@]}")
  if [[ -n "${TB_BIN:-}" ]] || command -v tigerbeetle >/dev/null; then
    names+=(tigerbeetle)
  elif docker_ image inspect ledger-bridge/tigerbeetle:latest >/dev/null 2>&1; then
    note "no TB_BIN and no tigerbeetle on PATH: using the TigerBeetle image built earlier"
  else
    die "no TigerBeetle image and no server to build it from: set TB_BIN"
  fi
  nice -n 10 bash "$CONTAINERS_DIR/build-image.sh" "${names[@]}" >/dev/null
}

main() {
  local started_ms build_ms status=0 err
  started_ms="$(now_ms)"
  ((EUID == 0)) || skip "not root (the engine is dockerd, run by infra/containers/engine.sh)"
  err="$(mktemp)"
  if ! assignments="$(bash "$CONTAINERS_DIR/engine.sh" start 2>"$err")"; then
    skip "$(grep -v '^$' "$err" | tail -n 1)"
  fi
  rm -f "$err"
  eval "$assignments"
  export DOCKER_HOST LEDGER_ENGINE_STARTED
  trap sweep EXIT
  SCRATCH="$(mktemp -d "$DOCKER_CACHE_DIR/test-containers.XXXXXX")"

  build_ms="$(now_ms)"
  build_images
  say "images built in $(($(now_ms) - build_ms)) ms"

  cd "$ROOT_DIR"
  # --forceExit, as `npm test`: a test may leave a handle open (a client of the ledger it stopped);
  # globalTeardown has run, and removed every container, by then.
  TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 \
    LEDGER_CONTAINERS_RUN="$RUN_ID" LEDGER_CONTAINERS_ENV_FILE="$SCRATCH/env.json" \
    nice -n 10 node_modules/.bin/jest --config jest.containers.config.js --runInBand \
    --forceExit "$@" ||
    status=$?
  say "jest exit $status; $(($(now_ms) - started_ms)) ms in all"
  return "$status"
}

main "$@"
