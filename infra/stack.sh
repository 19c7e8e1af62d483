#!/usr/bin/env bash
# The native local stack: a 3-replica TigerBeetle cluster (when a server binary is found: TB_BIN,
# else `tigerbeetle` on PATH) with its change feed (`tigerbeetle amqp`, supervised) into RabbitMQ,
# PostgreSQL primary + one streaming replica, PgBouncer, Redis, Kafka (KRaft) and nginx, each on a
# fixed 127.0.0.1 port with its data, logs and pid file under .run/. See infra/README.md.
#
#   bash infra/stack.sh up       start what is not running, wait until every service is healthy
#   bash infra/stack.sh down     stop everything cleanly
#   bash infra/stack.sh status   one line per service
#   bash infra/stack.sh restart  down, then up (applies edited configuration)
#   bash infra/stack.sh start|stop|kill SERVICE
#                                one service of a running stack (`kill` is SIGKILL, as a crash:
#                                the chaos run's faults, load/chaos): postgres, replica,
#                                pgbouncer, redis, kafka, rabbitmq, nginx, cdc (`kill cdc` kills
#                                the `tigerbeetle amqp` job: its supervisor starts it again)
set -euo pipefail
LOG_TAG=stack
source "$(dirname "$0")/lib/common.sh"
source "$INFRA_DIR/lib/postgres.sh"
source "$INFRA_DIR/lib/postgres-replica.sh"
source "$INFRA_DIR/lib/pgbouncer.sh"
source "$INFRA_DIR/lib/redis.sh"
source "$INFRA_DIR/lib/kafka.sh"
source "$INFRA_DIR/lib/nginx.sh"
source "$INFRA_DIR/lib/tigerbeetle.sh"
source "$INFRA_DIR/lib/rabbitmq.sh"
source "$INFRA_DIR/lib/tigerbeetle-cdc.sh"

STACK_LOCK="$RUN_DIR/stack.lock"

check_installed() {
  local file
  for file in "$PG_BIN/pg_ctl" /usr/sbin/pgbouncer /usr/bin/redis-server /usr/sbin/nginx \
    /usr/bin/java "$RABBITMQ_SBIN/rabbitmq-server" "$ROOT_DIR/node_modules/.bin/tsx"; do
    [[ -x "$file" ]] || die "$file is missing: run 'bash infra/setup.sh' (npm run setup) first"
  done
}

prepare_run_dir() {
  mkdir -p "$RUN_DIR"
  chmod 0755 "$RUN_DIR"
  if [[ $EUID -eq 0 ]]; then
    getent passwd postgres >/dev/null || die "no 'postgres' account: run 'bash infra/setup.sh'"
    getent passwd redis >/dev/null || die "no 'redis' account: run 'bash infra/setup.sh'"
    ensure_traversable postgres "$RUN_DIR"
    ensure_traversable redis "$RUN_DIR"
  fi
}

print_connection_settings() {
  say "connection settings:"
  if [[ -f "$(tb_env_file)" ]]; then
    printf '  ledger     TB_CLUSTER_ID=%s TB_ADDRESSES=%s\n' "$TB_CLUSTER_ID" "$(tb_addresses)"
  else
    printf '  ledger     (no TigerBeetle server: the embedded engine)\n'
  fi
  printf '  postgres   DATABASE_DIRECT_URL=%s\n' "$(postgres_url)"
  printf '  replica    DATABASE_REPLICA_URLS=%s\n' "$(postgres_replica_url)"
  printf '  pgbouncer  DATABASE_URL=%s\n' "$(pgbouncer_url)"
  printf '  redis      REDIS_URL=%s\n' "$(redis_url)"
  printf '  kafka      KAFKA_BROKERS=%s\n' "$(kafka_brokers)"
  printf '  rabbitmq   AMQP_URL=%s\n' "$(rabbitmq_amqp_url)"
  printf '  nginx      LB_URL=%s (-> %s)\n' "$(nginx_url)" "$NGINX_UPSTREAMS"
}

# The change feed's exchange and queues (changefeed/topology.ts): the CDC job's exchange must
# exist before the job starts.
changefeed_declare() {
  local output
  output="$(AMQP_URL="$(rabbitmq_amqp_url)" "$ROOT_DIR/node_modules/.bin/tsx" \
    "$ROOT_DIR/changefeed/declare.ts" 2>&1 9>&-)" ||
    fail_with_log rabbitmq "$RABBITMQ_LOG_DIR/rabbit.log" "$output"
  say "rabbitmq: $output"
}

stack_up() {
  local started_ms
  started_ms="$(now_ms)"
  check_installed
  prepare_run_dir
  # Kafka's JVM and RabbitMQ's Erlang VM are the slowest to become ready: launch them first,
  # wait for them last.
  kafka_launch
  rabbitmq_launch
  tigerbeetle_up
  postgres_up
  postgres_replica_up
  pgbouncer_up
  redis_up
  nginx_up
  rabbitmq_wait
  changefeed_declare
  # The CDC job needs the cluster, RabbitMQ and the exchange; not Kafka (the relay does).
  tigerbeetle_cdc_up
  kafka_wait
  say "up in $(($(now_ms) - started_ms)) ms"
  print_connection_settings
}

stack_down() {
  local started_ms
  started_ms="$(now_ms)"
  # Clients first, storage last; the change feed's publisher before its broker and its cluster.
  tigerbeetle_cdc_down
  nginx_down
  kafka_down
  rabbitmq_down
  redis_down
  pgbouncer_down
  postgres_replica_down
  postgres_down
  tigerbeetle_down
  say "down in $(($(now_ms) - started_ms)) ms"
}

stack_status() {
  local service unhealthy=0 state
  for service in tigerbeetle tigerbeetle_cdc postgres replica pgbouncer redis kafka rabbitmq \
    nginx; do
    state="$("${service}_status")"
    printf '%-11s %s\n' "${service/tigerbeetle_cdc/cdc}" "$state"
    [[ "$state" == running* || "$state" == "not configured"* ]] || unhealthy=1
  done
  return "$unhealthy"
}

# One service's functions by the name the commands take.
service_functions() {
  case "$1" in
    postgres) echo "postgres_up postgres_down postgres_pid" ;;
    replica) echo "postgres_replica_up postgres_replica_down postgres_replica_pid" ;;
    pgbouncer) echo "pgbouncer_up pgbouncer_down pgbouncer_pid" ;;
    redis) echo "redis_up redis_down redis_pid" ;;
    kafka) echo "kafka_up kafka_down kafka_pid" ;;
    rabbitmq) echo "rabbitmq_up rabbitmq_down rabbitmq_pid" ;;
    nginx) echo "nginx_up nginx_down nginx_pid" ;;
    cdc) echo "tigerbeetle_cdc_up tigerbeetle_cdc_down tb_cdc_job_pid" ;;
    *) return 1 ;;
  esac
}

kafka_up() {
  kafka_launch
  kafka_wait
}

# start|stop|kill SERVICE: one service, the others left as they are.
service_command() {
  local command="$1" service="${2:-}" functions up down pid_of pid
  functions="$(service_functions "$service")" ||
    die "unknown service '$service' (postgres, replica, pgbouncer, redis, kafka, rabbitmq, nginx, cdc)"
  read -r up down pid_of <<<"$functions"
  case "$command" in
    start) "$up" ;;
    stop) "$down" ;;
    kill)
      pid="$("$pid_of")"
      [[ -n "$pid" ]] || die "$service: not running"
      kill -KILL "$pid"
      wait_until 10 pid_gone "$pid" || die "$service (pid $pid) survived SIGKILL"
      say "$service: killed (pid $pid)"
      ;;
  esac
}

main() {
  local command="${1:-}"
  case "$command" in
    start | stop) with_lock "$STACK_LOCK" service_command "$command" "${2:-}" ;;
    kill) service_command kill "${2:-}" ;;
    up) with_lock "$STACK_LOCK" stack_up ;;
    down) with_lock "$STACK_LOCK" stack_down ;;
    restart) with_lock "$STACK_LOCK" stack_down && with_lock "$STACK_LOCK" stack_up ;;
    status) stack_status ;;
    *)
      echo "usage: bash infra/stack.sh up|down|status|restart, or start|stop|kill SERVICE" >&2
      exit 2
      ;;
  esac
}

main "$@"
