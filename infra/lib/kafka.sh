# Apache Kafka 3.9 in KRaft mode: one node that is both broker and controller, run from the jars
# infra/setup.sh resolved into ~/.m2. Sourced by infra/stack.sh after lib/common.sh.

KAFKA_DIR="$RUN_DIR/kafka"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_LOGS="$KAFKA_DIR/logs"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DIR/cluster-id"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_STDOUT="$KAFKA_LOGS/stdout.log"
KAFKA_SERVER_LOG="$KAFKA_LOGS/server.log"
KAFKA_NODE_ID=1
# 2 cores and a shared box: a small heap is plenty for a development broker.
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# First start on a cold JVM and 2 busy cores can take a while; later starts take seconds.
KAFKA_START_TIMEOUT_S=120
# Controlled shutdown moves nothing on a single node, but flushes and closes the logs.
KAFKA_STOP_TIMEOUT_S=60

kafka_brokers() { echo "$BIND_HOST:$KAFKA_PORT"; }

kafka_pid() { live_pid "$KAFKA_PID"; }

kafka_classpath() {
  local pointer="$RUN_DIR/kafka-classpath-file" file
  [[ -f "$pointer" ]] || die "kafka: no classpath recorded: run 'bash infra/setup.sh' first"
  file="$(cat "$pointer")"
  [[ -s "$file" ]] || die "kafka: classpath file $file is missing: run 'bash infra/setup.sh'"
  cat "$file"
}

# The java command line shared by the formatter and the broker (the class and its args follow).
kafka_java_cmd() {
  local classpath
  classpath="$(kafka_classpath)"
  # shellcheck disable=SC2206 # KAFKA_HEAP_OPTS is a list of JVM flags on purpose.
  KAFKA_JAVA_CMD=(/usr/bin/java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$INFRA_DIR/kafka/log4j.properties"
    "-Dkafka.logs.dir=$KAFKA_LOGS" -cp "$classpath")
}

# A real broker round trip (Metadata + DescribeCluster through kafkajs), not just an open port.
kafka_healthy() {
  "$ROOT_DIR/node_modules/.bin/tsx" "$INFRA_DIR/kafka/ready.ts" "$(kafka_brokers)" "${1:-0}"
}

kafka_write_config() {
  cat >"$KAFKA_PROPS" <<EOF
# Written by infra/stack.sh on every start: edit infra/lib/kafka.sh instead.
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_NODE_ID@$BIND_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT,CONTROLLER://$BIND_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
# The application creates its topics explicitly, with the partitions it wants.
auto.create.topics.enable=false
num.partitions=1
# One node: every replication factor and ISR minimum is 1 (production runs 3 brokers).
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
# Development: consumer groups form at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
EOF
}

# A new cluster id as Kafka makes its Uuid: 16 random bytes, URL-safe base64 without padding,
# never starting with '-' (a command line would read it as an option). Also used by
# infra/containers/compose.sh and smoke-images.sh for the images' clusters.
kafka_new_cluster_id() {
  local id="-"
  while [[ "$id" == -* ]]; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  echo "$id"
}

kafka_cluster_id() {
  [[ -s "$KAFKA_CLUSTER_ID_FILE" ]] || kafka_new_cluster_id >"$KAFKA_CLUSTER_ID_FILE"
  cat "$KAFKA_CLUSTER_ID_FILE"
}

# Formats the KRaft storage once; meta.properties in the log dir marks it as done.
kafka_format() {
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  local id
  id="$(kafka_cluster_id)"
  say "kafka: formatting KRaft storage (cluster id $id)"
  "${KAFKA_JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$id" -c "$KAFKA_PROPS" \
    >"$KAFKA_LOGS/format.log" 2>&1 ||
    fail_with_log kafka "$KAFKA_LOGS/format.log" "StorageTool format failed"
}

# Starts the JVM in the background and returns at once; kafka_wait checks it became healthy.
kafka_launch() {
  local pid
  mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
  pid="$(kafka_pid)"
  if [[ -n "$pid" ]]; then
    KAFKA_ALREADY_RUNNING=1
    return 0
  fi
  KAFKA_ALREADY_RUNNING=0
  clean_stale_pid kafka "$KAFKA_PID"
  require_port_free kafka "$KAFKA_PORT"
  require_port_free kafka-controller "$KAFKA_CONTROLLER_PORT"
  kafka_write_config
  kafka_java_cmd
  kafka_format
  say "kafka: starting KRaft broker+controller on $BIND_HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)"
  # setsid + nohup: the broker outlives this shell and ignores the terminal's hang-up and ^C.
  # In a script (no job control) the background child is no group leader, so setsid does not
  # fork and $! is the JVM's pid.
  setsid nohup "${KAFKA_JAVA_CMD[@]}" kafka.Kafka "$KAFKA_PROPS" </dev/null \
    >>"$KAFKA_STDOUT" 2>&1 9>&- &
  echo $! >"$KAFKA_PID"
}

kafka_wait() {
  local pid
  pid="$(kafka_pid)"
  [[ -n "$pid" ]] || fail_with_log kafka "$KAFKA_STDOUT" "the JVM exited during start-up"
  # ready.ts polls inside one Node process until the broker answers or the time is up.
  if ! kafka_healthy "$((KAFKA_START_TIMEOUT_S * 1000))" >"$KAFKA_LOGS/ready.log" 2>&1; then
    show_log_tail kafka-stdout "$KAFKA_STDOUT"
    show_log_tail kafka-ready "$KAFKA_LOGS/ready.log"
    fail_with_log kafka "$KAFKA_SERVER_LOG" "broker not ready within ${KAFKA_START_TIMEOUT_S}s"
  fi
  if [[ "${KAFKA_ALREADY_RUNNING:-0}" == 1 ]]; then
    say "kafka: already running (pid $pid)"
  else
    say "kafka: healthy (pid $pid)"
  fi
}

kafka_down() {
  stop_daemon kafka "$(kafka_pid)" "$KAFKA_PID" "$KAFKA_STOP_TIMEOUT_S"
}

kafka_status() {
  local pid
  pid="$(kafka_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif kafka_healthy 0 >/dev/null 2>&1; then
    echo "running (pid $pid) $BIND_HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)"
  else
    echo "UNHEALTHY (pid $pid alive, broker not answering on $BIND_HOST:$KAFKA_PORT)"
  fi
}
