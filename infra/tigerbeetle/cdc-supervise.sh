#!/usr/bin/env bash
# Runs TigerBeetle's CDC job (`tigerbeetle amqp`) for the local cluster and restarts it whenever it
# exits. The job is stateless (its progress is in RabbitMQ) and exits non-zero on any AMQP or
# TigerBeetle trouble on purpose, so restarting is the whole of its recovery. Started in the
# background by `infra/stack.sh up` (infra/lib/tigerbeetle-cdc.sh), which records this script's
# pid; SIGTERM stops the job, then this script.
#
# Backoff between restarts: 1 s, doubling to 30 s while the job keeps failing fast; a job that ran
# for a minute or more counts as healthy again and is restarted after 1 s. The log
# (.run/tigerbeetle/cdc.log) has the job's output and one line per exit; .run/tigerbeetle/cdc.state
# one line for `stack.sh status`.
set -uo pipefail
LOG_TAG=cdc-supervisor
source "$(dirname "$0")/../lib/common.sh"
source "$INFRA_DIR/lib/rabbitmq.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"
source "$INFRA_DIR/lib/tigerbeetle-cdc.sh"

BACKOFF_MIN_S=1
BACKOFF_MAX_S=30
# A run at least this long resets the backoff: the failure was not at start-up.
HEALTHY_RUN_S=60

stopping=0
job=""
sleeper=""

log() { printf '%s [%s] %s\n' "$(date -u +%FT%T.%3NZ)" "$LOG_TAG" "$*"; }

on_signal() {
  stopping=1
  [[ -n "$job" ]] && kill -TERM "$job" 2>/dev/null
  [[ -n "$sleeper" ]] && kill -TERM "$sleeper" 2>/dev/null
  return 0
}
trap on_signal TERM INT HUP

# The job's arguments; --timestamp-last only when RabbitMQ holds no progress (tb_cdc_start_point).
# Fails when RabbitMQ cannot say whether it holds progress.
job_args() {
  local point state
  state="$(tb_cdc_progress_state)" || return 1
  JOB_ARGS=(amqp "--addresses=$(tb_addresses)" "--cluster=$TB_CLUSTER_ID"
    "--host=$BIND_HOST:$RABBITMQ_PORT" "--vhost=$RABBITMQ_VHOST" "--user=$RABBITMQ_USER"
    "--password=$RABBITMQ_PASSWORD" "--publish-exchange=$TB_CDC_EXCHANGE"
    "--idle-interval-ms=$TB_CDC_IDLE_INTERVAL_MS")
  # shellcheck disable=SC2206 # TB_CDC_ARGS is a list of flags on purpose.
  JOB_ARGS+=($TB_CDC_ARGS)
  [[ "$state" == none ]] || return 0
  point="$(tb_cdc_start_point)"
  if [[ -n "$point" ]]; then
    JOB_ARGS+=("--timestamp-last=$point")
    log "no progress recorded in RabbitMQ: starting after timestamp $point ($TB_CDC_START_FILE)"
  else
    log "no progress recorded in RabbitMQ: publishing the cluster's whole history"
  fi
}

# Runs the job once; sets `status` and `ran_s`. Without an answer from RabbitMQ the job is not
# started (it could not publish anyway): status "no-rabbitmq", and the caller backs off.
run_job() {
  local started=$SECONDS
  if ! job_args; then
    status=no-rabbitmq
    ran_s=0
    return 0
  fi
  log "starting: $TB_BIN ${JOB_ARGS[*]//--password=*/--password=…}"
  "$TB_BIN" "${JOB_ARGS[@]}" &
  job=$!
  echo "$job" >"$TB_CDC_JOB_PID"
  echo "up since $(date -u +%FT%TZ), $restarts restarts" >"$TB_CDC_STATE"
  # `wait` returns early when a trapped signal arrives: wait again until the job is gone.
  while true; do
    wait "$job"
    status=$?
    pid_alive "$job" || break
  done
  job=""
  rm -f "$TB_CDC_JOB_PID"
  ran_s=$((SECONDS - started))
}

main() {
  local backoff=$BACKOFF_MIN_S status ran_s
  restarts=0
  log "supervising tigerbeetle amqp for cluster $TB_CLUSTER_ID (pid $$)"
  while ((!stopping)); do
    run_job
    ((stopping)) && break
    ((ran_s >= HEALTHY_RUN_S)) && backoff=$BACKOFF_MIN_S
    restarts=$((restarts + 1))
    if [[ "$status" == no-rabbitmq ]]; then
      log "RabbitMQ does not answer: the job is not started; next try in ${backoff}s"
    else
      log "tigerbeetle amqp exited with status $status after ${ran_s}s;" \
        "restart $restarts in ${backoff}s"
    fi
    echo "$restarts restarts, last exit $status at $(date -u +%FT%TZ)" >"$TB_CDC_STATE"
    sleep "$backoff" &
    sleeper=$!
    wait "$sleeper"
    sleeper=""
    backoff=$((backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2))
  done
  log "stopped"
}

# On one line: bash reads a script as it runs it, so an edit of this file while a supervisor runs
# must not make that supervisor read new commands after main returns.
main; exit
