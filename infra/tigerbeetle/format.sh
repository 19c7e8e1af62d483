#!/usr/bin/env bash
# Formats the data files of a local 3-replica TigerBeetle cluster under .run/tigerbeetle/, once:
# an existing data file is never touched (formatting again would erase a ledger).
# `infra/stack.sh up` does this itself; this script is for operating the cluster alone.
#
#   [TB_BIN=/path/to/tigerbeetle] [TB_CLUSTER_ID=0] bash infra/tigerbeetle/format.sh
set -euo pipefail
LOG_TAG=tb-format
source "$(dirname "$0")/../lib/common.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"

tb_require_binary
tb_format
say "cluster $TB_CLUSTER_ID: $TB_REPLICA_COUNT data files ready; start with: npm run tb:start"
