#!/usr/bin/env bash
# docker-compose.production.yml brought up on this machine, with the override compose.machine.yml
# (one 2-core machine), from the images build-image.sh builds here:
#
#   bash infra/containers/compose.sh up       # engine, images, the cluster (--wait: every health
#                                             # check green), API keys; prints the settings
#   bash infra/containers/compose.sh down     # containers, networks and volumes removed, checked;
#                                             # the engine stopped if `up` started it
#   bash infra/containers/compose.sh status   # the services and their health
#   bash infra/containers/compose.sh settings # LB_URL, API_KEY_FILE, COMPOSE_PROJECT of a cluster up
#   bash infra/containers/compose.sh health   # exits 1, with each one's log tail, when a container
#                                             # is not running, not healthy, or has restarted
#   bash infra/containers/compose.sh compose ARGS...   # Compose itself, with the project's files
#
# `npm run compose:up` / `compose:down` run the first two. State (generated secrets and cluster
# ids, the API keys, whether `up` started the engine) is kept in .run/compose/ until `down`: the
# volumes hold data made with those secrets, so both go together. Compose is built from its Go
# module (github.com/docker/compose/v5) into the machine-level cache, once.
set -euo pipefail
LOG_TAG=compose
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"
# shellcheck source=../lib/kafka.sh
source "$INFRA_DIR/lib/kafka.sh" # kafka_new_cluster_id

COMPOSE_VERSION=v5.6.0
COMPOSE_BIN="$CACHE_DIR/compose-$COMPOSE_VERSION/docker-compose"
COMPOSE_FILES=(-f "$ROOT_DIR/docker-compose.production.yml" -f "$CONTAINERS_DIR/compose.machine.yml")
STATE_DIR="$RUN_DIR/compose"
ENV_FILE="$STATE_DIR/compose.env"
ENGINE_FILE="$STATE_DIR/engine.env"
# One composed cluster per clone: the project name carries a hash of the clone's path. Its network
# is the production file's fixed 172.28.0.0/24, so one engine runs one such cluster at a time.
PROJECT="ledger-bridge-compose-$(printf '%s' "$ROOT_DIR" | sha256sum | cut -c1-8)"
# The label Compose puts on everything of the project.
PROJECT_LABEL="com.docker.compose.project=$PROJECT"
COMPOSE_HTTP_PORT="${COMPOSE_HTTP_PORT:-58180}"
WAIT_TIMEOUT_S="${COMPOSE_WAIT_TIMEOUT_S:-900}"
# Every service but Prometheus, which needs the monitor key the bridges make (and Grafana: not
# built here, behind its profile).
FIRST_WAVE=(tigerbeetle-0 tigerbeetle-1 tigerbeetle-2 postgres-primary postgres-replica-1
  postgres-replica-2 pgbouncer redis kafka-1 kafka-2 kafka-3 rabbitmq relay tigerbeetle-cdc
  bridge-1 bridge-2 bridge-3 projections nginx)

usage() {
  echo "usage: bash infra/containers/compose.sh up|down|status|settings|health|compose ARGS..." >&2
  exit 2
}

# Compose v2 and later are one Go binary; built once per machine, from the module's own go.mod
# (its replace and exclude directives hold only when it is the main module).
ensure_compose() {
  [[ -x "$COMPOSE_BIN" ]] && return 0
  with_lock "$CACHE_DIR/compose-build.lock" build_compose
}

build_compose() {
  local go_bin src log="$CACHE_DIR/compose-build.log"
  [[ -x "$COMPOSE_BIN" ]] && return 0
  go_bin="$(go_binary)"
  [[ -x "$go_bin" ]] || die "Go is not installed (it is part of this machine image)"
  note "compose $COMPOSE_VERSION: building from its Go module (about 2 minutes the first time)"
  src="$(mktemp -d)"
  (
    dir="$("$go_bin" mod download -json "github.com/docker/compose/v5@$COMPOSE_VERSION" |
      node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).Dir)')"
    cp -R "$dir/." "$src/"
    chmod -R u+w "$src"
    cd "$src"
    low_priority "$go_bin" build -trimpath -buildvcs=false \
      -ldflags "-X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
      -o "$COMPOSE_BIN.tmp" ./cmd
  ) >"$log" 2>&1 || {
    rm -rf "$src"
    fail_with_log go "$log" "building Compose failed"
  }
  rm -rf "$src"
  mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
  note "compose $COMPOSE_VERSION: built ($COMPOSE_BIN)"
}

compose() {
  "$COMPOSE_BIN" --project-name "$PROJECT" --project-directory "$ROOT_DIR" \
    --env-file "$ENV_FILE" "${COMPOSE_FILES[@]}" "$@"
}

# The settings the compose file requires, made once per cluster: a TigerBeetle cluster id (a
# random u128; 0 is for tests), a Kafka cluster id (16 random bytes, base64url), passwords.
write_env_file() {
  [[ -s "$ENV_FILE" ]] && return 0
  install -d -m 0700 "$STATE_DIR"
  # Prometheus runs as nobody and reads the secret through a bind mount: the file is readable, the
  # folder holding it is not.
  install -m 0644 /dev/null "$STATE_DIR/monitor_key"
  # shellcheck disable=SC2016 # JavaScript, not shell: its ${...} are template literals.
  node -e '
    const { randomBytes } = require("node:crypto");
    const hex = (n) => randomBytes(n).toString("hex");
    let cluster = 0n;
    while (cluster === 0n) cluster = BigInt("0x" + hex(16));
    const lines = [
      `TB_CLUSTER_ID=${cluster}`,
      `POSTGRES_PASSWORD=${hex(16)}`,
      `LEDGER_DB_PASSWORD=${hex(16)}`,
      `REPLICATION_PASSWORD=${hex(16)}`,
      `RABBITMQ_PASSWORD=${hex(16)}`,
      `GRAFANA_ADMIN_PASSWORD=${hex(16)}`,
    ];
    process.stdout.write(lines.join("\n") + "\n");' >"$ENV_FILE.tmp"
  {
    echo "KAFKA_CLUSTER_ID=$(kafka_new_cluster_id)"
    echo "MONITOR_KEY_FILE=$STATE_DIR/monitor_key"
    echo "BASE_IMAGE=ledger-bridge/debian-base:${BASE_SUITE:-bookworm}"
    echo "COMPOSE_HTTP_PORT=$COMPOSE_HTTP_PORT"
  } >>"$ENV_FILE.tmp"
  chmod 0600 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# Sets a KEY=value line of the env file (the app image's tag changes with every commit).
set_env() {
  local key="$1" value="$2"
  sed -i "/^$key=/d" "$ENV_FILE"
  echo "$key=$value" >>"$ENV_FILE"
}

app_image_id() {
  "$(docker_cli)" image inspect --format '{{.Id}}' ledger-bridge/app:latest 2>/dev/null || true
}

# An API key made by the ledger's own CLI in a bridge container; its text into FILE.
make_key() {
  local name="$1" scopes="$2" file="$3" json
  [[ -s "$file" ]] && return 0
  json="$(compose exec -T bridge-1 npx tsx cli/main.ts keys create --name "$name" \
    --scopes "$scopes" --json)" || die "keys create ($name) failed in bridge-1"
  node -e 'process.stdout.write(JSON.parse(process.argv[1]).key)' "$json" >"$file.tmp"
  chmod 0644 "$file.tmp"
  # In place: the file is already bind-mounted (Prometheus's secret) when it is replaced.
  cat "$file.tmp" >"$file"
  rm -f "$file.tmp"
}

cmd_up() {
  local started_ms image previous_app
  started_ms="$(now_ms)"
  # A cluster already up from this clone holds the port itself: `up` again only updates it.
  [[ -s "$ENV_FILE" ]] ||
    require_port_free "the composed cluster's nginx (COMPOSE_HTTP_PORT)" "$COMPOSE_HTTP_PORT"
  ensure_compose
  install -d -m 0700 "$STATE_DIR"
  if [[ ! -s "$ENGINE_FILE" ]]; then
    bash "$CONTAINERS_DIR/engine.sh" start >"$ENGINE_FILE" || die "the container engine did not start"
  fi
  # shellcheck disable=SC1090 # written above: DOCKER_HOST and LEDGER_ENGINE_STARTED.
  source "$ENGINE_FILE"
  export DOCKER_HOST
  write_env_file
  note "images: building (cached: seconds when nothing changed)"
  previous_app="$(app_image_id)"
  image="$(bash "$CONTAINERS_DIR/build-image.sh" all | grep '^ledger-bridge/app:')"
  set_env APP_IMAGE_TAG "${image#ledger-bridge/app:}"
  note "up: ${FIRST_WAVE[*]} (project $PROJECT; waiting for every health check, up to ${WAIT_TIMEOUT_S} s)"
  compose up --detach --no-build --pull never --wait --wait-timeout "$WAIT_TIMEOUT_S" \
    "${FIRST_WAVE[@]}" || { cmd_health || true; die "the cluster did not come up healthy"; }
  make_key prometheus monitor:read "$STATE_DIR/monitor_key"
  make_key compose-operator all "$STATE_DIR/api_key"
  compose up --detach --no-build --pull never --wait --wait-timeout "$WAIT_TIMEOUT_S" prometheus ||
    { cmd_health || true; die "prometheus did not come up healthy"; }
  # The app image the containers ran before this `up` (build-image.sh keeps one in use): with vfs
  # each is a full copy.
  if [[ -n "$previous_app" && "$previous_app" != "$(app_image_id)" ]]; then
    "$(docker_cli)" image rm "$previous_app" >/dev/null 2>&1 || true
  fi
  note "up in $(($(now_ms) - started_ms)) ms"
  print_settings
}

# What a client of the composed cluster needs, as KEY=value lines.
print_settings() {
  echo "LB_URL=http://$BIND_HOST:$COMPOSE_HTTP_PORT"
  echo "API_KEY_FILE=$STATE_DIR/api_key"
  echo "COMPOSE_PROJECT=$PROJECT"
}

# Each container of the project that is not running, not healthy, or has restarted, with the
# tail of its log (to stderr): a crash on start that a restart hides is still a crash. Exits 1
# when there is one.
cmd_health() {
  local cli line name state health restarts sick=0
  cli="$(docker_cli)"
  while read -r line; do
    read -r name state health restarts <<<"$line"
    [[ "$state" == running && "$health" =~ ^(healthy|none)$ && "$restarts" == 0 ]] && continue
    sick=1
    if [[ "$state" == created ]]; then
      warn "${name#/}: never started (a dependency was not healthy)"
      continue
    fi
    warn "${name#/}: $state, health $health, restarted $restarts time(s); its log's tail:"
    "$cli" logs --tail 40 "${name#/}" 2>&1 | cut -c1-600 | sed 's/^/    /' >&2
  done < <("$cli" ps --all --quiet --filter "label=$PROJECT_LABEL" |
    xargs -r "$cli" inspect --format \
      '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}}')
  ((sick == 0)) || return 1
  note "health: every container running, healthy, never restarted"
}

# What of the project is still in the engine: containers, volumes, networks (one a line).
leftovers() {
  local cli
  cli="$(docker_cli)"
  "$cli" ps --all --quiet --filter "label=$PROJECT_LABEL" | sed 's/^/container /'
  "$cli" volume ls --quiet --filter "label=$PROJECT_LABEL" | sed 's/^/volume /'
  "$cli" network ls --quiet --filter "label=$PROJECT_LABEL" | sed 's/^/network /'
}

cmd_down() {
  local started_ms left
  started_ms="$(now_ms)"
  if [[ ! -s "$ENGINE_FILE" ]]; then
    note "down: nothing was brought up from this clone (no $ENGINE_FILE)"
    return 0
  fi
  # shellcheck disable=SC1090
  source "$ENGINE_FILE"
  export DOCKER_HOST
  ensure_compose
  if [[ -s "$ENV_FILE" ]]; then
    compose --profile grafana down --volumes --remove-orphans --timeout 20
  fi
  left="$(leftovers)"
  [[ -z "$left" ]] || die "down left behind: $(echo "$left" | tr '\n' ' ')"
  if [[ "${LEDGER_ENGINE_STARTED:-0}" == 1 ]]; then
    bash "$CONTAINERS_DIR/engine.sh" stop >&2
  else
    note "engine: left running (it was running before compose.sh up)"
  fi
  rm -rf "$STATE_DIR"
  note "down in $(($(now_ms) - started_ms)) ms: no container, volume or network of $PROJECT left"
}

with_engine_state() {
  [[ -s "$ENGINE_FILE" && -s "$ENV_FILE" ]] || die "no composed cluster from this clone (compose.sh up)"
  # shellcheck disable=SC1090
  source "$ENGINE_FILE"
  export DOCKER_HOST
  ensure_compose
}

main() {
  (($# >= 1)) || usage
  local command="$1"
  shift
  case "$command" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) with_engine_state && compose ps --all ;;
    settings) with_engine_state && print_settings ;;
    health) with_engine_state && cmd_health ;;
    compose) with_engine_state && compose "$@" ;;
    *) usage ;;
  esac
}

main "$@"
