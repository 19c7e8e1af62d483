#!/usr/bin/env bash
# Starts the 3 replicas of the local TigerBeetle cluster in the background (pid and log files
# under .run/tigerbeetle/) and prints the TB_ADDRESSES to export. Replicas already running are
# left alone. Format first with infra/tigerbeetle/format.sh (`infra/stack.sh up` does both, and waits
# for a client round trip).
#
#   [TB_BIN=/path/to/tigerbeetle] [TB_CLUSTER_ID=0] bash infra/tigerbeetle/start.sh
set -euo pipefail
LOG_TAG=tb-start
source "$(dirname "$0")/../lib/common.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"

tb_require_binary
tb_start
say "cluster $TB_CLUSTER_ID: $TB_REPLICA_COUNT replicas listening; logs in $TB_DIR"
echo "export TB_CLUSTER_ID=$TB_CLUSTER_ID TB_ADDRESSES=$(tb_addresses)"
