#!/usr/bin/env bash
# A quick check of each service image, on the project's own container engine: builds it
# (infra/containers/build-image.sh; cached: seconds), starts it, asks it to answer, removes it.
#
#   bash infra/containers/smoke-images.sh [NAME...]
#
#   NAME: postgres  pgbouncer  redis  nginx  rabbitmq  kafka  prometheus  app   (default: all of
#         them; TigerBeetle
#         has its own, smoke-tigerbeetle.sh). pgbouncer and app talk to the postgres container,
#         so asking for either checks postgres first.
#
# Each server runs on the host network, listening on 127.0.0.1 only, on ports clear of the local
# stack's (infra/lib/common.sh) and of the bridge's 3000-3003:
#
#   postgres   SMOKE_PG_PORT (55442): the primary as the compose file runs it (its environment,
#              infra/postgres/primary-init.sh as an init script, a volume); pg_isready, then the
#              application's role logs in over TCP with SCRAM. Then the streaming replica role
#              (infra/postgres/replica-entrypoint.sh) on a network of its own, as in the compose
#              file: a second primary and a replica that clones it; a row written on the primary
#              must be read on the replica, which must be in recovery. SMOKE_PG_REPLICA=0 skips it.
#   pgbouncer  SMOKE_PGBOUNCER_PORT (56442): infra/pgbouncer/production.ini with the smoke's
#              address and database; the compose health check (`select 1` as ledger) through it.
#   redis      SMOKE_REDIS_PORT (56389): the compose file's command; ping, a write and a read,
#              protected mode off and the append-only file in the volume.
#   nginx      SMOKE_NGINX_PORT (58090): infra/nginx/production.conf, its upstreams pointed at
#              127.0.0.1:SMOKE_NGINX_UPSTREAM_PORT (58091, where nothing listens); the compose
#              health check (/nginx-health), and the JSON answers for a bridge that is down (502)
#              and an unknown route (404).
#   rabbitmq   SMOKE_RABBITMQ_PORT (55690; its Erlang distribution 55691, epmd 54379, its CLI's
#              55692-55699): rabbitmq-diagnostics ping and check_running, the compose health
#              check (check_port_connectivity), then the application's user opens an AMQP
#              channel on its vhost (infra/rabbitmq/ready.ts, from this host).
#   kafka      SMOKE_KAFKA_PORT (59192; its controller SMOKE_KAFKA_CONTROLLER_PORT, 59193): one
#              combined broker+controller configured by the compose file's KAFKA_* environment
#              (loopback listeners, replication factors of 1), its KRaft storage formatted by the
#              entrypoint into a volume; the compose health check (kafka-broker-api-versions.sh),
#              then from this host with kafkajs a topic is created and one message produced
#              (acks=all) and consumed back (infra/kafka/roundtrip.ts); after a restart it
#              answers again on the same storage.
#   prometheus SMOKE_PROMETHEUS_PORT (59190): the compose file's command and volume, a test
#              monitor_key secret; promtool checks the baked-in infra/prometheus/ files, the
#              compose health check (/-/ready); the loaded configuration has the four scrape
#              jobs, the static ones have targets (the DNS ones resolve only on the compose
#              network), the alert rules are loaded and the classic UI's scripts are served.
#   app        node loads the services' main dependencies (tigerbeetle-node's native client
#              and the librdkafka client included), tsx runs, and `ledger-bridge migrate up` then `migrate status` run in
#              the image against the postgres container.
#
# Everything it creates is named ledger-bridge-smoke-*-<pid> and removed at the end, pass or
# fail; the engine is stopped only if this script started it. Exit 0 when every check passed; the
# last line says so, with each step's time.
set -euo pipefail
LOG_TAG=smoke-images
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"
# shellcheck source=../lib/kafka.sh
source "$INFRA_DIR/lib/kafka.sh" # kafka_new_cluster_id

SMOKE_PG_PORT="${SMOKE_PG_PORT:-55442}"
SMOKE_PGBOUNCER_PORT="${SMOKE_PGBOUNCER_PORT:-56442}"
SMOKE_REDIS_PORT="${SMOKE_REDIS_PORT:-56389}"
SMOKE_NGINX_PORT="${SMOKE_NGINX_PORT:-58090}"
SMOKE_NGINX_UPSTREAM_PORT="${SMOKE_NGINX_UPSTREAM_PORT:-58091}"
SMOKE_RABBITMQ_PORT="${SMOKE_RABBITMQ_PORT:-55690}"
SMOKE_RABBITMQ_DIST_PORT="${SMOKE_RABBITMQ_DIST_PORT:-55691}"
SMOKE_RABBITMQ_EPMD_PORT="${SMOKE_RABBITMQ_EPMD_PORT:-54379}"
SMOKE_RABBITMQ_CTL_PORT_MIN="${SMOKE_RABBITMQ_CTL_PORT_MIN:-55692}"
SMOKE_RABBITMQ_CTL_PORT_MAX="${SMOKE_RABBITMQ_CTL_PORT_MAX:-55699}"
SMOKE_KAFKA_PORT="${SMOKE_KAFKA_PORT:-59192}"
SMOKE_KAFKA_CONTROLLER_PORT="${SMOKE_KAFKA_CONTROLLER_PORT:-59193}"
SMOKE_PROMETHEUS_PORT="${SMOKE_PROMETHEUS_PORT:-59190}"
SMOKE_PG_REPLICA="${SMOKE_PG_REPLICA:-1}"
# Containers are slow to create with vfs (each copies its image), and RabbitMQ boots Erlang.
SMOKE_READY_TIMEOUT_S=120
# The compose file's shared_buffers (1GB) is sized for a production host, not for this check.
SMOKE_PG_SHARED_BUFFERS=128MB
# Test credentials of throwaway containers, never used anywhere else.
SMOKE_POSTGRES_PASSWORD=smoke-postgres
SMOKE_LEDGER_PASSWORD=smoke-ledger
SMOKE_REPLICATION_PASSWORD=smoke-replication
SMOKE_RABBITMQ_PASSWORD=smoke-rabbitmq
SMOKE_MONITOR_KEY=smoke-monitor-key
# A broker for a check: a small heap (the entrypoint's default is the official 1 GB).
SMOKE_KAFKA_HEAP_OPTS="-Xms128m -Xmx384m"
SMOKE_ID="$$"
SMOKE_PREFIX="ledger-bridge-smoke"
ALL_CHECKS=(postgres pgbouncer redis nginx rabbitmq kafka prometheus app)

CONTAINERS=()
VOLUMES=()
NETWORKS=()
SCRATCH=""
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

# The name of a container, volume or network of this run, recorded for the cleanup.
smoke_name() { echo "$SMOKE_PREFIX-$1-$SMOKE_ID"; }

# Starts a detached container on the host network (or the network given as --network in the
# options); records it for the cleanup. Usage: run_detached NAME [docker run options] IMAGE [ARG...]
run_detached() {
  local name="$1"
  shift
  CONTAINERS+=("$name")
  # On a user-defined network the client warns that IPv4 forwarding is off (the engine runs with
  # --ip-forward=false): containers on the same network reach each other regardless.
  if ! docker_ run -d --name "$name" "$@" >/dev/null 2>"$SCRATCH/run.err"; then
    cat "$SCRATCH/run.err" >&2
    die "$name: docker run failed"
  fi
}

new_volume() {
  VOLUMES+=("$1")
  docker_ volume create "$1" >/dev/null
}

# Removes what this run made, pass or fail. One `docker rm` for every container: the client
# removes them in parallel, and with vfs each removal deletes a full copy of its image.
cleanup() {
  local status=$? name
  local -a present=()
  for name in "${CONTAINERS[@]}"; do
    docker_ container inspect "$name" >/dev/null 2>&1 || continue
    present+=("$name")
    if ((status != 0)); then
      note "$name: its last lines:"
      docker_ logs --tail 20 "$name" >&2 2>&1 || true
    fi
  done
  if ((${#present[@]} > 0)); then
    docker_ rm -f "${present[@]}" >/dev/null || warn "could not remove containers ${present[*]}"
  fi
  for name in "${VOLUMES[@]}"; do
    docker_ volume inspect "$name" >/dev/null 2>&1 || continue
    docker_ volume rm "$name" >/dev/null || warn "could not remove volume $name"
  done
  for name in "${NETWORKS[@]}"; do
    docker_ network inspect "$name" >/dev/null 2>&1 || continue
    docker_ network rm "$name" >/dev/null || warn "could not remove network $name"
  done
  [[ -z "$SCRATCH" ]] || rm -rf "$SCRATCH"
  engine_down_if_started
  ((status == 0)) || note "FAILED (exit $status)"
}

container_running() {
  [[ "$(docker_ container inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" == true ]]
}

# True once `docker exec CONTAINER CMD...` succeeds, or once the container has exited (so that a
# server that failed is reported at once, not after the time-out).
exec_ok_or_exited() {
  local container="$1"
  shift
  container_running "$container" || return 0
  docker_ exec "$container" "$@" >/dev/null 2>&1
}

wait_exec() {
  local container="$1"
  shift
  wait_until "$SMOKE_READY_TIMEOUT_S" exec_ok_or_exited "$container" "$@" ||
    die "$container: '$*' did not succeed within ${SMOKE_READY_TIMEOUT_S}s"
  container_running "$container" || die "$container exited (its last lines follow)"
}

# Prints what `docker exec CONTAINER CMD...` prints; dies (with it) when it fails.
exec_out() {
  local container="$1" out
  shift
  out="$(docker_ exec "$container" "$@" 2>&1)" || die "$container: '$*' failed: $out"
  printf '%s\n' "$out"
}

expect_eq() {
  local what="$1" got="$2" want="$3"
  [[ "$got" == "$want" ]] || die "$what: got '$got', want '$want'"
  note "$what: $got"
}

# --- postgres ---------------------------------------------------------------------------------

# The compose file's primary environment and init script.
PG_PRIMARY_FLAGS=(
  -e "POSTGRES_PASSWORD=$SMOKE_POSTGRES_PASSWORD"
  -e "POSTGRES_INITDB_ARGS=--encoding=UTF8 --auth-host=scram-sha-256"
  -e POSTGRES_HOST_AUTH_METHOD=scram-sha-256
  -e "LEDGER_DB_PASSWORD=$SMOKE_LEDGER_PASSWORD"
  -e "REPLICATION_PASSWORD=$SMOKE_REPLICATION_PASSWORD"
  -v "$INFRA_DIR/postgres/primary-init.sh:/docker-entrypoint-initdb.d/10-ledger-bridge.sh:ro"
)
# The compose file's primary command, less its production-sized shared_buffers.
PG_PRIMARY_ARGS=(postgres -c wal_level=replica -c max_wal_senders=10 -c max_replication_slots=10
  -c synchronous_commit=on -c fsync=on -c "shared_buffers=$SMOKE_PG_SHARED_BUFFERS")

check_postgres() {
  local image="$1" name volume
  name="$(smoke_name postgres)"
  volume="$name"
  step "$image: the primary on 127.0.0.1:$SMOKE_PG_PORT"
  new_volume "$volume"
  run_detached "$name" --network host "${PG_PRIMARY_FLAGS[@]}" \
    -v "$volume:/var/lib/postgresql/data" "$image" "${PG_PRIMARY_ARGS[@]}" \
    -c listen_addresses=127.0.0.1 -c "port=$SMOKE_PG_PORT"
  # The compose file's health check, on the smoke's port.
  wait_exec "$name" pg_isready -q -h 127.0.0.1 -p "$SMOKE_PG_PORT" -U postgres -d ledger
  expect_eq "postgres: ledger over TCP (SCRAM)" "$(exec_out "$name" env \
    PGPASSWORD="$SMOKE_LEDGER_PASSWORD" psql -h 127.0.0.1 -p "$SMOKE_PG_PORT" -U ledger \
    -d ledger -Atc "select current_user || ' ' || current_setting('server_version_num')::int / 10000")" \
    "ledger 15"
  step_done postgres
  if [[ "$SMOKE_PG_REPLICA" == 1 ]]; then
    check_postgres_replica "$image"
  fi
}

# The streaming replica as the compose file runs it: its own entrypoint, as user postgres,
# cloning postgres-primary:5432 (the script's fixed port), so on a network of its own.
check_postgres_replica() {
  local image="$1" network primary replica
  network="$(smoke_name pg-network)"
  primary="$(smoke_name pg-primary)"
  replica="$(smoke_name pg-replica)"
  step "$image: a streaming replica of a second primary, on network $network"
  NETWORKS+=("$network")
  docker_ network create "$network" >/dev/null
  new_volume "$primary"
  new_volume "$replica"
  run_detached "$primary" --network "$network" --network-alias postgres-primary \
    "${PG_PRIMARY_FLAGS[@]}" -v "$primary:/var/lib/postgresql/data" "$image" "${PG_PRIMARY_ARGS[@]}"
  run_detached "$replica" --network "$network" --user postgres \
    --entrypoint /usr/local/bin/replica-entrypoint.sh \
    -e PRIMARY_HOST=postgres-primary -e REPLICA_SLOT=replica_1 \
    -e "REPLICATION_PASSWORD=$SMOKE_REPLICATION_PASSWORD" \
    -v "$replica:/var/lib/postgresql/data" \
    -v "$INFRA_DIR/postgres/replica-entrypoint.sh:/usr/local/bin/replica-entrypoint.sh:ro" "$image"
  wait_exec "$replica" pg_isready -q -h 127.0.0.1 -U postgres
  exec_out "$primary" psql -v ON_ERROR_STOP=1 -U postgres -d ledger -qc \
    "create table smoke (note text); insert into smoke values ('written on the primary')" >/dev/null
  wait_exec "$replica" psql -U postgres -d ledger -Atc "select 1 from smoke"
  expect_eq "replica: in recovery, reads the primary's row" "$(exec_out "$replica" psql \
    -U postgres -d ledger -Atc "select pg_is_in_recovery() || ' ' || note from smoke")" \
    "true written on the primary"
  expect_eq "primary: replication slot replica_1" "$(exec_out "$primary" psql -U postgres \
    -Atc "select slot_name || ' ' || active from pg_replication_slots")" "replica_1 true"
  step_done postgres-replica
}

# --- pgbouncer --------------------------------------------------------------------------------

check_pgbouncer() {
  local image="$1" name ini
  name="$(smoke_name pgbouncer)"
  ini="$SCRATCH/pgbouncer.ini"
  step "$image: in front of the primary, on 127.0.0.1:$SMOKE_PGBOUNCER_PORT"
  sed -e "s/^listen_addr = .*/listen_addr = 127.0.0.1/" \
    -e "s/^listen_port = .*/listen_port = $SMOKE_PGBOUNCER_PORT/" \
    -e "s/^ledger = host=postgres-primary port=5432/ledger = host=127.0.0.1 port=$SMOKE_PG_PORT/" \
    "$INFRA_DIR/pgbouncer/production.ini" >"$ini"
  grep -q "port=$SMOKE_PG_PORT" "$ini" || die "production.ini: its [databases] line has changed"
  chmod 0644 "$ini"
  run_detached "$name" --network host -e "LEDGER_DB_PASSWORD=$SMOKE_LEDGER_PASSWORD" \
    -v "$ini:/etc/pgbouncer/pgbouncer.ini:ro" "$image"
  # The compose file's health check, on the smoke's port.
  wait_exec "$name" env PGPASSWORD="$SMOKE_LEDGER_PASSWORD" \
    psql -h 127.0.0.1 -p "$SMOKE_PGBOUNCER_PORT" -U ledger -d ledger -Atc 'select 1'
  expect_eq "pgbouncer: select through it" "$(exec_out "$name" env \
    PGPASSWORD="$SMOKE_LEDGER_PASSWORD" psql -h 127.0.0.1 -p "$SMOKE_PGBOUNCER_PORT" \
    -U ledger -d ledger -Atc "select current_user || ' ' || current_database()")" "ledger ledger"
  step_done pgbouncer
}

# --- redis ------------------------------------------------------------------------------------

check_redis() {
  local image="$1" name cli
  name="$(smoke_name redis)"
  step "$image: on 127.0.0.1:$SMOKE_REDIS_PORT"
  new_volume "$name"
  run_detached "$name" --network host -v "$name:/data" "$image" \
    redis-server --appendonly yes --appendfsync everysec \
    --bind 127.0.0.1 --port "$SMOKE_REDIS_PORT"
  cli=(redis-cli -h 127.0.0.1 -p "$SMOKE_REDIS_PORT")
  wait_exec "$name" "${cli[@]}" ping
  expect_eq "redis: ping" "$(exec_out "$name" "${cli[@]}" ping)" PONG
  exec_out "$name" "${cli[@]}" set smoke:key written >/dev/null
  expect_eq "redis: a write read back" "$(exec_out "$name" "${cli[@]}" get smoke:key)" written
  expect_eq "redis: protected mode" \
    "$(exec_out "$name" "${cli[@]}" config get protected-mode | tail -n 1)" no
  expect_eq "redis: append-only file in /data" \
    "$(exec_out "$name" sh -c 'ls /data | tr "\n" " "')" "appendonlydir "
  step_done redis
}

# --- nginx ------------------------------------------------------------------------------------

check_nginx() {
  local image="$1" name conf base
  name="$(smoke_name nginx)"
  conf="$SCRATCH/nginx.conf"
  base="http://127.0.0.1:$SMOKE_NGINX_PORT"
  step "$image: infra/nginx/production.conf on 127.0.0.1:$SMOKE_NGINX_PORT"
  sed -e "s/^\(\s*\)listen 80;/\1listen 127.0.0.1:$SMOKE_NGINX_PORT;/" \
    -e "s/server \(bridge-[0-9]\):3000 /server \1:$SMOKE_NGINX_UPSTREAM_PORT /" \
    "$INFRA_DIR/nginx/production.conf" >"$conf"
  if ! grep -q "listen 127.0.0.1:$SMOKE_NGINX_PORT;" "$conf" ||
    (($(grep -c ":$SMOKE_NGINX_UPSTREAM_PORT " "$conf") != 3)); then
    die "production.conf: its listen line or its three upstream servers have changed"
  fi
  chmod 0644 "$conf"
  port_open "$SMOKE_NGINX_UPSTREAM_PORT" &&
    die "127.0.0.1:$SMOKE_NGINX_UPSTREAM_PORT is in use: nginx's upstream must be down here"
  run_detached "$name" --network host --add-host bridge-1:127.0.0.1 \
    --add-host bridge-2:127.0.0.1 --add-host bridge-3:127.0.0.1 \
    -v "$conf:/etc/nginx/nginx.conf:ro" "$image"
  # The compose file's health check, on the smoke's port.
  wait_exec "$name" curl -fsS "$base/nginx-health"
  expect_eq "nginx: /nginx-health" "$(exec_out "$name" curl -fsS "$base/nginx-health")" ok
  expect_eq "nginx: /health with every bridge down" \
    "$(curl -sS -o /dev/null -w '%{http_code}' "$base/health")" 502
  curl -sS "$base/health" | grep -q '"code":"bridge_unavailable"' ||
    die "nginx: /health did not answer the bridge_unavailable JSON"
  expect_eq "nginx: an unknown route" "$(curl -sS -o /dev/null -w '%{http_code}' "$base/nope")" 404
  step_done nginx
}

# --- rabbitmq ---------------------------------------------------------------------------------

check_rabbitmq() {
  local image="$1" name loopback='-kernel inet_dist_use_interface {127,0,0,1}'
  name="$(smoke_name rabbitmq)"
  step "$image: on 127.0.0.1:$SMOKE_RABBITMQ_PORT"
  new_volume "$name"
  # Loopback only, with an epmd and distribution ports of its own: the host network is shared
  # with the local stack's RabbitMQ (its epmd on 54369).
  run_detached "$name" --network host -v "$name:/var/lib/rabbitmq" \
    -e "RABBITMQ_PASSWORD=$SMOKE_RABBITMQ_PASSWORD" \
    -e "RABBITMQ_AMQP_LISTENER=127.0.0.1:$SMOKE_RABBITMQ_PORT" \
    -e RABBITMQ_NODENAME=smoke@localhost \
    -e "ERL_EPMD_PORT=$SMOKE_RABBITMQ_EPMD_PORT" -e ERL_EPMD_ADDRESS=127.0.0.1 \
    -e "RABBITMQ_DIST_PORT=$SMOKE_RABBITMQ_DIST_PORT" \
    -e "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=$loopback" -e "RABBITMQ_CTL_ERL_ARGS=$loopback" \
    -e "RABBITMQ_CTL_DIST_PORT_MIN=$SMOKE_RABBITMQ_CTL_PORT_MIN" \
    -e "RABBITMQ_CTL_DIST_PORT_MAX=$SMOKE_RABBITMQ_CTL_PORT_MAX" "$image"
  # ping answers once the Erlang node is up; check_running once RabbitMQ itself has booted.
  wait_exec "$name" rabbitmq-diagnostics -q ping
  wait_exec "$name" rabbitmq-diagnostics -q check_running
  # The compose file's health check.
  exec_out "$name" rabbitmq-diagnostics -q check_port_connectivity >&2
  wait_until "$SMOKE_READY_TIMEOUT_S" port_open "$SMOKE_RABBITMQ_PORT" ||
    die "rabbitmq: nothing listens on 127.0.0.1:$SMOKE_RABBITMQ_PORT"
  [[ -x "$ROOT_DIR/node_modules/.bin/tsx" ]] ||
    die "node_modules/.bin/tsx is missing (npm run setup): the AMQP check needs it"
  "$ROOT_DIR/node_modules/.bin/tsx" "$INFRA_DIR/rabbitmq/ready.ts" \
    "amqp://ledger:$SMOKE_RABBITMQ_PASSWORD@127.0.0.1:$SMOKE_RABBITMQ_PORT/ledger" >&2 ||
    die "rabbitmq: the ledger user could not open a channel on vhost ledger"
  step_done rabbitmq
}

# --- kafka ------------------------------------------------------------------------------------

check_kafka() {
  local image="$1" name cluster_id bootstrap="127.0.0.1:$SMOKE_KAFKA_PORT"
  name="$(smoke_name kafka)"
  cluster_id="$(kafka_new_cluster_id)"
  step "$image: one broker+controller on $bootstrap (controller :$SMOKE_KAFKA_CONTROLLER_PORT)"
  new_volume "$name"
  # The compose file's environment (x-kafka-env), for one node on loopback: its listeners and
  # voters on the smoke's ports, every replication factor and ISR minimum 1.
  run_detached "$name" --network host -v "$name:/var/lib/kafka/data" \
    -e "CLUSTER_ID=$cluster_id" -e KAFKA_NODE_ID=1 -e KAFKA_PROCESS_ROLES=broker,controller \
    -e "KAFKA_CONTROLLER_QUORUM_VOTERS=1@127.0.0.1:$SMOKE_KAFKA_CONTROLLER_PORT" \
    -e "KAFKA_LISTENERS=PLAINTEXT://$bootstrap,CONTROLLER://127.0.0.1:$SMOKE_KAFKA_CONTROLLER_PORT" \
    -e "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://$bootstrap" \
    -e KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER -e KAFKA_INTER_BROKER_LISTENER_NAME=PLAINTEXT \
    -e KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT \
    -e KAFKA_LOG_DIRS=/var/lib/kafka/data \
    -e KAFKA_DEFAULT_REPLICATION_FACTOR=1 -e KAFKA_MIN_INSYNC_REPLICAS=1 \
    -e KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=1 -e KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=1 \
    -e KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=1 -e KAFKA_AUTO_CREATE_TOPICS_ENABLE=false \
    -e KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE=false -e KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0 \
    -e "KAFKA_HEAP_OPTS=$SMOKE_KAFKA_HEAP_OPTS" "$image"
  # The compose file's health check, on the smoke's port.
  wait_exec "$name" /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server "$bootstrap"
  expect_eq "kafka: KRaft storage formatted in the volume" "$(exec_out "$name" \
    sed -n 's/^cluster.id=//p' /var/lib/kafka/data/meta.properties)" "$cluster_id"
  expect_eq "kafka: properties from the environment" "$(exec_out "$name" \
    grep -c -E '^(node\.id=1|process\.roles=broker,controller|auto\.create\.topics\.enable=false)$' \
    /etc/kafka/server.properties)" 3
  [[ -x "$ROOT_DIR/node_modules/.bin/tsx" ]] ||
    die "node_modules/.bin/tsx is missing (npm run setup): the Kafka round trip needs it"
  # The local stack's readiness check: the broker lists itself and grants a producer id.
  "$ROOT_DIR/node_modules/.bin/tsx" "$INFRA_DIR/kafka/ready.ts" "$bootstrap" 60000 >&2 ||
    die "kafka: not ready for clients on $bootstrap (infra/kafka/ready.ts)"
  "$ROOT_DIR/node_modules/.bin/tsx" "$INFRA_DIR/kafka/roundtrip.ts" "$bootstrap" \
    "ledger-bridge-smoke-$SMOKE_ID" 60000 >&2 ||
    die "kafka: the round trip (create a topic, produce, consume) failed"
  # A restart (the compose file's restart policy) keeps the formatted storage and the topic.
  docker_ restart "$name" >/dev/null
  wait_exec "$name" /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server "$bootstrap"
  expect_eq "kafka: after a restart, the topic is still there" "$(exec_out "$name" sh -c \
    "ls -d /var/lib/kafka/data/ledger-bridge-smoke-$SMOKE_ID-0 | wc -l")" 1
  step_done kafka
}

# --- prometheus -------------------------------------------------------------------------------

# The scrape jobs that have active targets, sorted, each followed by a space.
prometheus_target_jobs() {
  curl -fsS "$1/api/v1/targets?state=active" | grep -o '"scrapePool":"[a-z]*"' | sort -u |
    sed 's/.*:"\(.*\)"/\1/' | tr '\n' ' '
}

prometheus_targets_are() {
  [[ "$(prometheus_target_jobs "$1")" == "$2" ]]
}

check_prometheus() {
  local image="$1" name key base="http://127.0.0.1:$SMOKE_PROMETHEUS_PORT" body
  name="$(smoke_name prometheus)"
  key="$SCRATCH/monitor_key"
  step "$image: infra/prometheus/ on 127.0.0.1:$SMOKE_PROMETHEUS_PORT"
  printf '%s\n' "$SMOKE_MONITOR_KEY" >"$key"
  chmod 0644 "$key"
  new_volume "$name"
  # The compose file's command, volume and secret; listening on the smoke's loopback port.
  run_detached "$name" --network host -v "$name:/prometheus" \
    -v "$key:/run/secrets/monitor_key:ro" "$image" \
    --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \
    --storage.tsdb.retention.time=15d --web.listen-address="127.0.0.1:$SMOKE_PROMETHEUS_PORT"
  exec_out "$name" promtool check config /etc/prometheus/prometheus.yml >&2
  # The compose file's health check, on the smoke's port.
  wait_exec "$name" wget -q -O /dev/null "$base/-/ready"
  expect_eq "prometheus: /-/ready" "$(curl -sS -o /dev/null -w '%{http_code}' "$base/-/ready")" 200
  expect_eq "prometheus: scrape jobs configured" "$(curl -fsS "$base/api/v1/status/config" |
    grep -o 'job_name: [a-z]*' | cut -d' ' -f2 | tr '\n' ' ')" "bridge projections relay prometheus "
  # Targets appear once service discovery has sent its first update (a few seconds after start).
  wait_until 30 prometheus_targets_are "$base" "bridge prometheus " ||
    die "prometheus: jobs with targets: got '$(prometheus_target_jobs "$base")'," \
      "want 'bridge prometheus '"
  note "prometheus: jobs with targets: $(prometheus_target_jobs "$base")"
  body="$(curl -fsS "$base/api/v1/rules")"
  grep -q '"name":"ledger-bridge-recordings"' <<<"$body" ||
    die "prometheus: the rule group ledger-bridge-recordings is not loaded"
  note "prometheus: $(grep -o '"type":"alerting"' <<<"$body" | wc -l) alerting rules loaded"
  # The one time zone file the image keeps of libjs-moment-timezone (its Dockerfile).
  expect_eq "prometheus: the classic UI's time zone script" "$(curl -sS -o /dev/null \
    -w '%{http_code}' "$base/classic/static/moment-timezone/moment-timezone-with-data.min.js")" 200
  step_done prometheus
}

# --- app --------------------------------------------------------------------------------------

# The services' main dependencies, as the services load them (tigerbeetle-node: its native
# client for linux-x64-gnu; @confluentinc/kafka-javascript: its binding and librdkafka).
# shellcheck disable=SC2016 # JavaScript, not shell: its ${...} are template literals.
APP_REQUIRE_JS='
for (const name of ["tigerbeetle-node", "pg", "ioredis", "kafkajs", "amqplib", "express",
  "pino", "prom-client", "zod", "lru-cache"]) require(name);
const rdkafka = require("@confluentinc/kafka-javascript");
console.log(`node ${process.version}: 11 modules loaded, librdkafka ${rdkafka.librdkafkaVersion}`);'

check_app() {
  local image="$1" db_url
  db_url="postgres://ledger:$SMOKE_LEDGER_PASSWORD@127.0.0.1:$SMOKE_PG_PORT/ledger"
  step "$image: dependencies, tsx, and migrations against 127.0.0.1:$SMOKE_PG_PORT"
  docker_ run --rm --network none "$image" node -e "$APP_REQUIRE_JS" >&2 ||
    die "app: node could not load the services' dependencies"
  docker_ run --rm --network none "$image" npx tsx --version >&2 || die "app: npx tsx failed"
  # migrate reads DATABASE_DIRECT_URL; set both so that nothing falls back to the local stack's.
  docker_ run --rm --network host -e "DATABASE_DIRECT_URL=$db_url" -e "DATABASE_URL=$db_url" \
    "$image" npx tsx cli/main.ts migrate up >&2 || die "app: migrate up failed"
  docker_ run --rm --network host -e "DATABASE_DIRECT_URL=$db_url" -e "DATABASE_URL=$db_url" \
    "$image" npx tsx cli/main.ts migrate status >&2 || die "app: migrate status failed"
  step_done app
}

# --- main -------------------------------------------------------------------------------------

main() {
  local -a wanted=() checks=() ports=()
  local name image started_ms times port
  started_ms="$(now_ms)"
  if (($# > 0)); then wanted=("$@"); else wanted=("${ALL_CHECKS[@]}"); fi
  for name in "${wanted[@]}"; do
    [[ " ${ALL_CHECKS[*]} " == *" $name "* ]] ||
      die "unknown image '$name' (${ALL_CHECKS[*]}; TigerBeetle: smoke-tigerbeetle.sh)"
  done
  # In ALL_CHECKS' order, postgres first when pgbouncer or app needs it.
  for name in "${ALL_CHECKS[@]}"; do
    if [[ " ${wanted[*]} " == *" $name "* ]] ||
      { [[ "$name" == postgres ]] && [[ " ${wanted[*]} " =~ \ (pgbouncer|app)\  ]]; }; then
      checks+=("$name")
    fi
  done
  ports=("$SMOKE_PG_PORT" "$SMOKE_PGBOUNCER_PORT" "$SMOKE_REDIS_PORT" "$SMOKE_NGINX_PORT"
    "$SMOKE_RABBITMQ_PORT" "$SMOKE_RABBITMQ_DIST_PORT" "$SMOKE_RABBITMQ_EPMD_PORT"
    "$SMOKE_KAFKA_PORT" "$SMOKE_KAFKA_CONTROLLER_PORT" "$SMOKE_PROMETHEUS_PORT")
  for port in "${ports[@]}"; do
    port_open "$port" && die "127.0.0.1:$port is in use: set its SMOKE_*_PORT to a free port"
  done
  engine_up
  trap cleanup EXIT
  SCRATCH="$(mktemp -d "$DOCKER_CACHE_DIR/smoke.XXXXXX")"

  step "building ${checks[*]}"
  bash "$CONTAINERS_DIR/build-image.sh" "${checks[@]}" >/dev/null
  step_done build

  for name in "${checks[@]}"; do
    image="ledger-bridge/$name:latest"
    "check_$name" "$image"
  done

  step "removing the containers, volumes and network"
  trap - EXIT
  cleanup
  step_done remove

  times="$(printf '%s, ' "${STEP_TIMES[@]}")"
  say "OK: ${checks[*]} passed in $(($(now_ms) - started_ms)) ms (${times%, })"
}

main "$@"
