#!/usr/bin/env bash
# Builds one of the project's service images, FROM the project's Debian base image:
#
#   bash infra/containers/build-image.sh NAME        NAME: tigerbeetle
#
# Prints the image reference (ledger-bridge/NAME:TAG) on stdout, its messages on stderr. The
# build context is made under ~/.cache/ledger-bridge/docker/context/NAME from
# infra/containers/NAME/ plus what that image needs from outside the repository (TigerBeetle's
# server binary: TB_BIN, else `tigerbeetle` on PATH). The engine's layer cache makes a rebuild
# with nothing changed take a second or two. Starts the engine if none answers, and stops it at
# the end only if this script started it.
set -euo pipefail
LOG_TAG=build-image
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"
# shellcheck source=../lib/tigerbeetle.sh
source "$INFRA_DIR/lib/tigerbeetle.sh"

BASE_SUITE="${BASE_SUITE:-bookworm}"

usage() {
  echo "usage: bash infra/containers/build-image.sh tigerbeetle" >&2
  exit 2
}

# Fills the build context of the TigerBeetle image; prints the image's tag (the server release).
context_tigerbeetle() {
  local context="$1"
  tb_require_binary >&2
  install -m 0755 "$TB_BIN" "$context/tigerbeetle"
  "$TB_BIN" version | sed -n 's/^TigerBeetle version \([0-9.]*\).*/\1/p'
}

main() {
  (($# == 1)) || usage
  local name="$1" context tag image log started_ms
  [[ -f "$CONTAINERS_DIR/$name/Dockerfile" ]] || usage
  started_ms="$(now_ms)"
  engine_up
  trap engine_down_if_started EXIT
  bash "$CONTAINERS_DIR/base-image.sh" "$BASE_SUITE"
  context="$DOCKER_CACHE_DIR/context/$name"
  rm -rf "$context"
  mkdir -p "$context"
  cp -R "$CONTAINERS_DIR/$name/." "$context/"
  case "$name" in
    tigerbeetle) tag="$(context_tigerbeetle "$context")" ;;
    *) usage ;;
  esac
  [[ -n "$tag" ]] || die "$name: no tag for the image"
  image="ledger-bridge/$name:$tag"
  log="$DOCKER_CACHE_DIR/build-$name.log"
  note "$image: building FROM ledger-bridge/debian-base:$BASE_SUITE (log $log)"
  # --network host: the engine has no bridge network, and RUN steps fetch Debian packages.
  if ! low_priority "$(docker_cli)" build --network host --pull=false \
    --build-arg "BASE_IMAGE=ledger-bridge/debian-base:$BASE_SUITE" \
    --tag "$image" --tag "ledger-bridge/$name:latest" "$context" >"$log" 2>&1; then
    fail_with_log "docker build" "$log" "building $image failed"
  fi
  note "$image: built in $(($(now_ms) - started_ms)) ms" \
    "($("$(docker_cli)" image inspect --format '{{.Size}}' "$image" | numfmt --to=iec))"
  echo "$image"
}

main "$@"
