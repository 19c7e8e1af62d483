#!/usr/bin/env bash
# Stops the replicas that infra/tigerbeetle/start.sh or infra/stack.sh launched (by their pid files),
# SIGTERM first. Needs no TB_BIN: it only signals processes. The data files stay.
set -euo pipefail
LOG_TAG=tb-stop
source "$(dirname "$0")/../lib/common.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"

tb_stop
