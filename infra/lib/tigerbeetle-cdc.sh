# The ledger's change feed: TigerBeetle's CDC job (`tigerbeetle amqp`, docs/operating/cdc.md)
# publishing every transfer change of the stack's cluster to RabbitMQ's `ledger.cdc` exchange,
# run under a supervisor (infra/tigerbeetle/cdc-supervise.sh) that restarts it with bounded
# backoff whenever it exits: the job exits non-zero on any AMQP or TigerBeetle trouble by design.
# Sourced by infra/stack.sh after lib/common.sh, lib/rabbitmq.sh and lib/tigerbeetle.sh.
#
# One job per cluster id: the job holds an exclusive "locker" queue in RabbitMQ, and a second
# one exits at once. Its progress (the last timestamp RabbitMQ confirmed) is a message in the
# queue `tigerbeetle.internal.progress.<cluster>`, so a restarted job resumes where it stopped.

TB_CDC_PID="$TB_DIR/cdc-supervisor.pid"
TB_CDC_JOB_PID="$TB_DIR/cdc.pid"
TB_CDC_LOG="$TB_DIR/cdc.log"
TB_CDC_STATE="$TB_DIR/cdc.state"
# Where the feed of this cluster began; see tb_cdc_start_point.
TB_CDC_START_FILE="$TB_DIR/cdc-start-timestamp"
TB_CDC_EXCHANGE="${AMQP_CDC_EXCHANGE:-ledger.cdc}"
# How long the job waits before asking the cluster again after an empty answer (ms). TigerBeetle's
# default, 1000, would add up to a second to the first event after a quiet spell, the whole p99
# budget of the projections' lag (SLO_PROJECTION_LAG_P99_MS). 50 bounds that at 50 ms for 20
# get_change_events requests/s while idle (each an op through the cluster's consensus); under load
# the job never waits. Measured idle cost: infra/README.md.
TB_CDC_IDLE_INTERVAL_MS="${TB_CDC_IDLE_INTERVAL_MS:-50}"
# Where a feed with no recorded progress starts: `now` (the moment it is first set up) or `all`
# (the cluster's whole history; a long-used local cluster holds millions of benchmark transfers).
TB_CDC_FROM="${TB_CDC_FROM:-now}"
# Extra flags for operators, e.g. TB_CDC_ARGS='--requests-per-second-limit=100'.
TB_CDC_ARGS="${TB_CDC_ARGS:-}"
# From launch until the job holds its lock queue, i.e. is connected to RabbitMQ.
TB_CDC_START_TIMEOUT_S=30
# The supervisor stops the job (SIGTERM) and waits for it; the job stops within a second.
TB_CDC_STOP_TIMEOUT_S=15

tb_cdc_supervisor_pid() { live_pid "$TB_CDC_PID"; }
tb_cdc_job_pid() { live_pid "$TB_CDC_JOB_PID"; }

tb_cdc_locker_queue() { echo "tigerbeetle.internal.locker.$TB_CLUSTER_ID"; }
tb_cdc_progress_queue() { echo "tigerbeetle.internal.progress.$TB_CLUSTER_ID"; }

# "name<TAB>messages" for every queue of the vhost whose name starts with tigerbeetle.internal.;
# fails when RabbitMQ does not answer.
tb_cdc_internal_queues() {
  local queues
  queues="$(rabbitmqctl_ list_queues -p "$RABBITMQ_VHOST" name messages --no-table-headers \
    2>/dev/null)" || return 1
  grep '^tigerbeetle\.internal\.' <<<"$queues" || true
}

# True once a job holds the cluster's lock queue: it is connected to RabbitMQ, alone, and past
# its checks of the exchange.
tb_cdc_locked() {
  tb_cdc_internal_queues | cut -f1 | grep -qx "$(tb_cdc_locker_queue)"
}

# Whether RabbitMQ holds the job's progress (it then resumes from there by itself): prints
# `recorded` or `none`; fails when RabbitMQ cannot be asked, which is neither: a job started
# with --timestamp-last then would override progress it could not see.
tb_cdc_progress_state() {
  local queues messages
  queues="$(tb_cdc_internal_queues)" || return 1
  messages="$(awk -F'\t' -v q="$(tb_cdc_progress_queue)" '$1 == q { print $2 }' <<<"$queues")"
  if [[ -n "$messages" && "$messages" -gt 0 ]]; then echo recorded; else echo none; fi
}

# The job's --timestamp-last when RabbitMQ has no progress for it (a new feed, or a broker whose
# data was deleted): the point recorded the first time, so a restart before the first published
# batch never skips the events between two "now"s. Prints nothing for "from the beginning".
tb_cdc_start_point() {
  if [[ ! -s "$TB_CDC_START_FILE" ]]; then
    case "$TB_CDC_FROM" in
      now) date +%s%N >"$TB_CDC_START_FILE" ;;
      all) echo all >"$TB_CDC_START_FILE" ;;
      *)
        [[ "$TB_CDC_FROM" =~ ^[0-9]+$ ]] ||
          die "TB_CDC_FROM=$TB_CDC_FROM is not 'now', 'all' or a TigerBeetle timestamp (ns)"
        echo "$TB_CDC_FROM" >"$TB_CDC_START_FILE"
        ;;
    esac
  fi
  local point
  point="$(cat "$TB_CDC_START_FILE")"
  [[ "$point" == all ]] || echo "$point"
}

tb_cdc_state() { cat "$TB_CDC_STATE" 2>/dev/null || true; }

# Starts the supervisor unless one runs; the topology must have been declared (the exchange
# must exist before the job starts, or it exits at once).
tb_cdc_launch() {
  clean_stale_pid "tigerbeetle cdc supervisor" "$TB_CDC_PID"
  local orphan
  orphan="$(tb_cdc_job_pid)"
  if [[ -n "$orphan" ]]; then
    warn "tigerbeetle cdc: stopping a job left without its supervisor (pid $orphan)"
    stop_pid "tigerbeetle cdc" "$orphan" "$TB_CDC_STOP_TIMEOUT_S"
  fi
  rm -f "$TB_CDC_JOB_PID" "$TB_CDC_STATE"
  say "tigerbeetle cdc: starting the supervised job -> exchange $TB_CDC_EXCHANGE" \
    "(idle interval ${TB_CDC_IDLE_INTERVAL_MS} ms)"
  TB_BIN="$TB_BIN" TB_CLUSTER_ID="$TB_CLUSTER_ID" TB_RUN_DIR="$TB_DIR" \
    TB_BASE_PORT="$TB_BASE_PORT" setsid nohup bash "$INFRA_DIR/tigerbeetle/cdc-supervise.sh" \
    </dev/null >>"$TB_CDC_LOG" 2>&1 9>&- &
  echo $! >"$TB_CDC_PID"
}

tb_cdc_wait() {
  # A supervisor between two runs of the job (backoff) gets the same time to bring it back.
  if ! wait_until "$TB_CDC_START_TIMEOUT_S" tb_cdc_locked; then
    fail_with_log "tigerbeetle cdc" "$TB_CDC_LOG" \
      "the job did not take its lock queue $(tb_cdc_locker_queue) within ${TB_CDC_START_TIMEOUT_S}s"
  fi
  say "tigerbeetle cdc: publishing (supervisor pid $(tb_cdc_supervisor_pid), job pid" \
    "$(tb_cdc_job_pid))"
}

# The binary the running replicas were started from: the CDC job must not be newer than the
# cluster (TigerBeetle's upgrade rule), and the same binary is the surest way to honour that.
# Falls back to TB_BIN / PATH when it cannot be read (replaced on disk, another user's process).
tb_cdc_binary() {
  local pid exe
  pid="$(live_pid "$(tb_pid_file 0)")"
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  if [[ -n "$pid" && -x "$exe" ]]; then
    TB_BIN="$exe"
    return 0
  fi
  tb_find_binary
}

# After the cluster and RabbitMQ are healthy and the topology is declared.
tigerbeetle_cdc_up() {
  if [[ -n "$(tb_cdc_supervisor_pid)" ]]; then
    tb_cdc_wait
    return 0
  fi
  if ! tb_all_running; then
    warn "no TigerBeetle cluster, so no 'tigerbeetle amqp' job: the change feed comes from the" \
      "embedded engine's server (npm start runs it with its CDC job, ENGINE_CHANGE_FEED=on)."
    return 0
  fi
  tb_cdc_binary || die "tigerbeetle cdc: the cluster runs but no TigerBeetle binary is found" \
    "(TB_BIN or PATH) to run 'tigerbeetle amqp'"
  tb_cdc_launch
  tb_cdc_wait
}

tigerbeetle_cdc_down() {
  local pid job
  pid="$(tb_cdc_supervisor_pid)"
  # The supervisor stops its job on SIGTERM and exits when the job has.
  stop_daemon "tigerbeetle cdc supervisor" "$pid" "$TB_CDC_PID" "$TB_CDC_STOP_TIMEOUT_S"
  job="$(tb_cdc_job_pid)"
  if [[ -n "$job" ]]; then
    stop_pid "tigerbeetle cdc" "$job" "$TB_CDC_STOP_TIMEOUT_S"
  fi
  rm -f "$TB_CDC_JOB_PID"
}

tigerbeetle_cdc_status() {
  local pid job
  pid="$(tb_cdc_supervisor_pid)"
  job="$(tb_cdc_job_pid)"
  if [[ -z "$pid" ]]; then
    if [[ -z "$(tb_cdc_job_pid)" ]] && ! tb_all_running; then
      echo "not configured (no TigerBeetle cluster)"
    else
      echo "stopped"
    fi
  elif [[ -n "$job" ]] && tb_cdc_locked; then
    echo "running (supervisor pid $pid, job pid $job) -> $TB_CDC_EXCHANGE; $(tb_cdc_state)"
  else
    echo "UNHEALTHY (supervisor pid $pid, job ${job:-restarting}; $(tb_cdc_state))" \
      "see $TB_CDC_LOG"
  fi
}
