#!/usr/bin/env bash
# Builds the project's service images, FROM the project's Debian base image:
#
#   bash infra/containers/build-image.sh [--context-only] NAME...
#
#   NAME: tigerbeetle  postgres  pgbouncer  redis  nginx  rabbitmq  kafka  prometheus  app
#         (or `all`)
#
# Prints each image's reference (ledger-bridge/NAME:TAG, also tagged :latest) on stdout, one a
# line; its messages go to stderr. Each build context is made in IMAGE_CONTEXTS/NAME (default
# .run/images/NAME in the clone, where docker-compose.production.yml's `build:` finds it) from
# infra/containers/NAME/ plus what that image needs from outside that folder, put into the
# context's rootfs/ at its path in the image (or, for the app, runtime/ and app/; see
# app/Dockerfile). --context-only makes the contexts and builds nothing (no engine needed): for
# `docker compose build` elsewhere, FROM the official debian:bookworm-slim.
#
#   tigerbeetle  the server binary: TB_BIN, else `tigerbeetle` on PATH
#   pgbouncer    infra/pgbouncer/production.ini and entrypoint.sh
#   nginx        infra/nginx/production.conf
#   rabbitmq     infra/rabbitmq/entrypoint.sh
#   kafka        Kafka's jars, from this machine's Maven cache (~/.m2) as infra/setup.sh resolves
#                them from Maven Central (infra/kafka/pom.xml): never downloaded here
#   prometheus   infra/prometheus/prometheus.yml and alerts.yml
#   app          Node.js 20 from this machine (NODE_BIN, else `node` on PATH, with the npm beside
#                it), the production node_modules (cached by package.json and package-lock.json)
#                and the repository's files
#
# The engine's layer cache makes a rebuild with nothing changed take seconds; the image a rebuild
# replaces is removed (one image per NAME). Starts the engine if none answers, and stops it at the
# end only if this script started it.
set -euo pipefail
LOG_TAG=build-image
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source=lib.sh
source "$INFRA_DIR/containers/lib.sh"
# shellcheck source=../lib/tigerbeetle.sh
source "$INFRA_DIR/lib/tigerbeetle.sh"

BASE_SUITE="${BASE_SUITE:-bookworm}"
ALL_IMAGES=(tigerbeetle postgres pgbouncer redis nginx rabbitmq kafka prometheus app)
# The Node.js major release the services run on (infra/Dockerfile: node:20-bookworm-slim).
APP_NODE_MAJOR=20
# Production dependencies installed for the app image, by the hash of the package files.
NPM_CACHE_DIR="$DOCKER_CACHE_DIR/npm"
# The build contexts: in the clone (each clone its own), where the compose file's `build:` looks.
IMAGE_CONTEXTS="${IMAGE_CONTEXTS:-$ROOT_DIR/.run/images}"

usage() {
  echo "usage: bash infra/containers/build-image.sh [--context-only] NAME... (${ALL_IMAGES[*]}, or all)" >&2
  exit 2
}

# Fills the build context of the TigerBeetle image; prints the image's tag (the server release).
context_tigerbeetle() {
  local context="$1"
  tb_require_binary >&2
  install -m 0755 "$TB_BIN" "$context/tigerbeetle"
  "$TB_BIN" version | sed -n 's/^TigerBeetle version \([0-9.]*\).*/\1/p'
}

context_pgbouncer() {
  local context="$1"
  install -D -m 0644 "$INFRA_DIR/pgbouncer/production.ini" "$context/rootfs/etc/pgbouncer/pgbouncer.ini"
  install -D -m 0755 "$INFRA_DIR/pgbouncer/entrypoint.sh" \
    "$context/rootfs/usr/local/bin/pgbouncer-entrypoint"
  echo 1.18
}

context_nginx() {
  local context="$1"
  install -D -m 0644 "$INFRA_DIR/nginx/production.conf" "$context/rootfs/etc/nginx/nginx.conf"
  echo 1.22
}

context_rabbitmq() {
  local context="$1"
  install -D -m 0755 "$INFRA_DIR/rabbitmq/entrypoint.sh" \
    "$context/rootfs/usr/local/bin/rabbitmq-entrypoint"
  echo 3.10
}

# Kafka's jars into rootfs/opt/kafka/libs: those on the classpath infra/setup.sh resolved into
# ~/.m2 for this infra/kafka/pom.xml (the file is named by the pom's hash, as setup.sh names it).
context_kafka() {
  local context="$1" classpath jar count=0
  classpath="$CACHE_DIR/kafka-$KAFKA_VERSION-$(sha256sum "$INFRA_DIR/kafka/pom.xml" | cut -c1-12).classpath"
  [[ -s "$classpath" ]] ||
    die "kafka: no resolved classpath $classpath: run 'bash infra/setup.sh' (Maven Central into ~/.m2)"
  mkdir -p "$context/rootfs/opt/kafka/libs"
  while IFS= read -r -d ':' jar; do
    [[ -f "$jar" ]] || die "kafka: $jar (on $classpath) is missing: run 'bash infra/setup.sh'"
    install -m 0644 "$jar" "$context/rootfs/opt/kafka/libs/"
    count=$((count + 1))
  done < <(tr -d '\n' <"$classpath" && printf ':')
  note "kafka: $count jars from $classpath"
  echo "$KAFKA_VERSION"
}

context_prometheus() {
  local context="$1"
  install -D -m 0644 "$INFRA_DIR/prometheus/prometheus.yml" "$context/rootfs/etc/prometheus/prometheus.yml"
  install -D -m 0644 "$INFRA_DIR/prometheus/alerts.yml" "$context/rootfs/etc/prometheus/alerts.yml"
  echo 2.42
}

# Node.js from this machine into runtime/usr/local: the node binary, and npm (npx runs the
# services' `npx tsx …`) from the lib/node_modules beside it, linked as the official image does.
app_runtime() {
  local runtime="$1/runtime/usr/local" node prefix version
  node="$(readlink -f "${NODE_BIN:-$(command -v node || true)}")"
  [[ -x "$node" ]] || die "no Node.js: set NODE_BIN to a Node $APP_NODE_MAJOR binary"
  version="$("$node" --version)"
  [[ "$version" == "v$APP_NODE_MAJOR."* ]] ||
    die "$node is Node $version; the app image needs Node $APP_NODE_MAJOR (set NODE_BIN)"
  prefix="$(dirname "$(dirname "$node")")"
  [[ -f "$prefix/lib/node_modules/npm/bin/npm-cli.js" ]] ||
    die "no npm beside $node (looked in $prefix/lib/node_modules/npm)"
  install -D -m 0755 "$node" "$runtime/bin/node"
  mkdir -p "$runtime/lib/node_modules"
  cp -R "$prefix/lib/node_modules/npm" "$runtime/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$runtime/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$runtime/bin/npx"
  note "app: Node.js $version from $node"
}

# Prints the folder holding node_modules with the production dependencies of package-lock.json
# plus tsx (a dev dependency the services run on), installing it once per package-file hash. tsx
# is moved to `dependencies` in a copy of package.json, so that `npm install --omit=dev` keeps
# every locked version (the check below) and leaves the dev tooling out.
app_node_modules() {
  local key dir tmp log
  key="$(cat "$ROOT_DIR/package.json" "$ROOT_DIR/package-lock.json" | sha256sum | cut -c1-16)"
  dir="$NPM_CACHE_DIR/$key"
  if [[ ! -d "$dir/node_modules" ]]; then
    mkdir -p "$NPM_CACHE_DIR"
    tmp="$(mktemp -d "$NPM_CACHE_DIR/.install.XXXXXX")"
    log="$DOCKER_CACHE_DIR/build-app-npm.log"
    cp "$ROOT_DIR/package.json" "$ROOT_DIR/package-lock.json" "$tmp/"
    note "app: installing the production dependencies (npm, log $log)"
    # shellcheck disable=SC2016 # JavaScript, not shell: its ${...} are template literals.
    (
      cd "$tmp"
      node -e '
        const fs = require("fs");
        const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
        if (!pkg.devDependencies?.tsx) throw new Error("package.json: no tsx in devDependencies");
        pkg.dependencies.tsx = pkg.devDependencies.tsx;
        pkg.devDependencies = {};
        fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2));'
      low_priority npm install --omit=dev --no-audit --no-fund --prefer-offline
      # Every installed package at the version package-lock.json names.
      node -e '
        const locked = require(process.argv[1]).packages;
        const got = require("./package-lock.json").packages;
        const wrong = Object.keys(got).filter((k) => k && locked[k]?.version !== got[k].version);
        if (wrong.length) throw new Error(`not the locked versions: ${wrong.join(", ")}`);' \
        "$ROOT_DIR/package-lock.json"
    ) >"$log" 2>&1 || {
      rm -rf "$tmp"
      fail_with_log "npm install" "$log" "installing the app's dependencies failed"
    }
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  echo "$dir"
}

# The librdkafka client infra/setup.sh built and linked into the clone's node_modules (the
# outcome publisher's producer), copied in: the compose file asks for it by name.
app_librdkafka() {
  local modules="$1" built
  built="$(readlink -f "$ROOT_DIR/node_modules/@confluentinc/kafka-javascript" || true)"
  [[ -f "$built/build/Release/confluent-kafka-javascript.node" ]] ||
    die "app: no librdkafka client in node_modules/@confluentinc: run 'bash infra/setup.sh'"
  mkdir -p "$modules/@confluentinc"
  cp -a "$built" "$modules/@confluentinc/kafka-javascript"
  note "app: librdkafka client from $built"
}

# The app image: runtime/ (Node.js) and app/ (the repository's files, tracked and untracked less
# what .gitignore ignores, and node_modules). Prints the tag: the commit, `-dirty` when the working
# tree differs from it.
context_app() {
  local context="$1" modules tag
  app_runtime "$context"
  modules="$(app_node_modules)"
  mkdir -p "$context/app"
  # --ignore-failed-read: a tracked file deleted in the working tree is left out.
  git -C "$ROOT_DIR" ls-files -z --cached --others --exclude-standard |
    tar -C "$ROOT_DIR" --null --ignore-failed-read -T - -cf - 2>/dev/null |
    tar -C "$context/app" -xf -
  # Hard links where the cache and the clone share a file system; a copy where they do not.
  cp -al "$modules/node_modules" "$context/app/node_modules" 2>/dev/null ||
    cp -a "$modules/node_modules" "$context/app/node_modules"
  app_librdkafka "$context/app/node_modules"
  tag="$(git -C "$ROOT_DIR" rev-parse --short=12 HEAD)"
  [[ -z "$(git -C "$ROOT_DIR" status --porcelain)" ]] || tag+="-dirty"
  echo "$tag"
}

# Makes NAME's build context; prints the image's tag.
make_context() {
  local name="$1" context="$2"
  rm -rf "$context"
  mkdir -p "$context"
  cp -R "$CONTAINERS_DIR/$name/." "$context/"
  case "$name" in
    tigerbeetle) context_tigerbeetle "$context" ;;
    postgres) echo 15 ;;
    pgbouncer) context_pgbouncer "$context" ;;
    redis) echo 7.0 ;;
    nginx) context_nginx "$context" ;;
    rabbitmq) context_rabbitmq "$context" ;;
    kafka) context_kafka "$context" ;;
    prometheus) context_prometheus "$context" ;;
    app) context_app "$context" ;;
    *) usage ;;
  esac
}

# Removes the image that ledger-bridge/NAME:latest was before this build (all its tags), when the
# build made a new one: with vfs every image is a full copy, and the app's tag (its commit) changes
# with every commit. An image a container still uses stays, with a warning.
remove_previous() {
  local name="$1" old_id="$2" new_id
  [[ -n "$old_id" ]] || return 0
  new_id="$("$(docker_cli)" image inspect --format '{{.Id}}' "ledger-bridge/$name:latest")"
  [[ "$old_id" != "$new_id" ]] || return 0
  "$(docker_cli)" image rm -f "$old_id" >/dev/null 2>&1 ||
    warn "$name: the previous image ${old_id#sha256:} is still in use; left in place"
}

build_one() {
  local name="$1" context tag image log started_ms old_id
  started_ms="$(now_ms)"
  old_id="$("$(docker_cli)" image inspect --format '{{.Id}}' "ledger-bridge/$name:latest" \
    2>/dev/null || true)"
  context="$IMAGE_CONTEXTS/$name"
  tag="$(make_context "$name" "$context")"
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
  remove_previous "$name" "$old_id"
  note "$image: built in $(($(now_ms) - started_ms)) ms" \
    "($("$(docker_cli)" image inspect --format '{{.Size}}' "$image" | numfmt --to=iec))"
  echo "$image"
}

main() {
  local -a names=()
  local name context_only=0
  if [[ "${1:-}" == --context-only ]]; then
    context_only=1
    shift
  fi
  (($# >= 1)) || usage
  for name in "$@"; do
    if [[ "$name" == all ]]; then
      names+=("${ALL_IMAGES[@]}")
    elif [[ -f "$CONTAINERS_DIR/$name/Dockerfile" ]]; then
      names+=("$name")
    else
      usage
    fi
  done
  if ((context_only)); then
    for name in "${names[@]}"; do
      note "$name: build context $IMAGE_CONTEXTS/$name (tag $(make_context "$name" "$IMAGE_CONTEXTS/$name"))"
    done
    return 0
  fi
  engine_up
  trap engine_down_if_started EXIT
  bash "$CONTAINERS_DIR/base-image.sh" "$BASE_SUITE"
  for name in "${names[@]}"; do
    build_one "$name"
  done
}

main "$@"
