#!/usr/bin/env bash
# Installs what the local stack and the tests need, idempotently: Debian packages (PostgreSQL 15,
# PgBouncer, Redis, nginx, RabbitMQ, Java 17, Maven, Chromium for the dashboard's browser test,
# the C toolchain and libraries librdkafka builds with), the npm packages, Apache Kafka's jars
# from Maven Central, the Compose validator (.tools/compose-check, Go), k6 (.tools/k6, built from
# its Go module) and @confluentinc/kafka-javascript with its librdkafka, built from source. A
# re-run on a machine that has everything only checks, and takes well under a second.
set -euo pipefail
LOG_TAG=setup
source "$(dirname "$0")/lib/common.sh"

# Debian packages and a file each one installs: the file is the quick "is it there" check.
APT_PACKAGES=(
  "postgresql-15:$PG_BIN/initdb"
  "postgresql-client-15:/usr/lib/postgresql/15/bin/psql"
  "pgbouncer:/usr/sbin/pgbouncer"
  "redis-server:/usr/bin/redis-server"
  "redis-tools:/usr/bin/redis-cli"
  "nginx:/usr/sbin/nginx"
  "openjdk-17-jre-headless:/usr/lib/jvm/java-17-openjdk-amd64/bin/java"
  "maven:/usr/bin/mvn"
  # The ledger's change feed: `tigerbeetle amqp` publishes to it (infra/lib/rabbitmq.sh runs a
  # node of its own, never the package's system service).
  "rabbitmq-server:/usr/lib/rabbitmq/bin/rabbitmq-server"
  "curl:/usr/bin/curl"
  # The dashboard's end-to-end test drives Debian's Chromium through playwright-core
  # (test/e2e/monitor/dashboard.e2e.test.ts); a test tool's own browser download cannot work here.
  "chromium:/usr/bin/chromium"
  # @confluentinc/kafka-javascript's bundled librdkafka, built from source (build_confluent_kafka):
  # a C/C++ toolchain and the libraries its configure looks for. Without --install-deps it
  # downloads nothing and links these (TLS, SASL, zstd/lz4/gzip, OIDC over curl), as Debian's
  # own librdkafka1 does. Debian's librdkafka-dev (2.0) is too old for any release of the package.
  "g++:/usr/bin/g++"
  "make:/usr/bin/make"
  "pkg-config:/usr/bin/pkg-config"
  "libssl-dev:/usr/include/openssl/ssl.h"
  "zlib1g-dev:/usr/include/zlib.h"
  "libzstd-dev:/usr/include/zstd.h"
  "liblz4-dev:/usr/include/lz4.h"
  "libsasl2-dev:/usr/include/sasl/sasl.h"
  "libcurl4-openssl-dev:/usr/include/x86_64-linux-gnu/curl/curl.h"
)

NPM_STAMP="$ROOT_DIR/node_modules/.ledger-bridge-lock-hash"
NPM_LOG="$RUN_DIR/npm-install.log"
KAFKA_POM="$INFRA_DIR/kafka/pom.xml"
COMPOSE_CHECK_SRC="$INFRA_DIR/compose-check"
COMPOSE_CHECK_BIN="$ROOT_DIR/.tools/compose-check"

apt_missing_packages() {
  local entry pkg file
  for entry in "${APT_PACKAGES[@]}"; do
    pkg="${entry%%:*}"
    file="${entry#*:}"
    [[ -e "$file" ]] || echo "$pkg"
  done
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(apt_missing_packages)
  if ((${#missing[@]} == 0)); then
    say "debian packages: present (postgresql 15, pgbouncer, redis, nginx, rabbitmq, java 17," \
      "maven, chromium)"
    return 0
  fi
  [[ $EUID -eq 0 ]] || die "debian packages missing (${missing[*]}): run this script as root"
  say "debian packages: installing ${missing[*]}"
  # The package index is refreshed only when something is missing: it costs seconds and network.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    die "apt-get update failed (see above)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" \
    >"$CACHE_DIR/apt-install.log" 2>&1 ||
    fail_with_log apt "$CACHE_DIR/apt-install.log" "apt-get install ${missing[*]} failed"
  mapfile -t missing < <(apt_missing_packages)
  ((${#missing[@]} == 0)) || die "apt-get reported success but ${missing[*]} is still missing"
  say "debian packages: installed"
}

# The lock file's hash plus the Node.js version: native modules (SWC, tigerbeetle-node) are built
# for one Node ABI, so a Node upgrade also calls for a clean install.
npm_lock_hash() {
  { cat "$ROOT_DIR/package-lock.json" && node --version; } | sha256sum | cut -d' ' -f1
}

# True when node_modules was installed from exactly this lock file by some earlier `npm ci` or
# `npm install` (before this script stamped it): npm's own record of the installed tree,
# node_modules/.package-lock.json, then lists the same versions. Saves a needless reinstall.
npm_tree_matches_lock() {
  [[ -f "$ROOT_DIR/node_modules/.package-lock.json" ]] || return 1
  node -e '
    const want = require(process.argv[1]).packages;
    const have = require(process.argv[2]).packages;
    for (const [path, meta] of Object.entries(want)) {
      if (path === "") continue;
      const got = have[path];
      if (!got ? !meta.optional : got.version !== meta.version) process.exit(1);
    }
    for (const path of Object.keys(have)) if (!(path in want)) process.exit(1);
  ' "$ROOT_DIR/package-lock.json" "$ROOT_DIR/node_modules/.package-lock.json"
}

install_npm_packages() {
  command -v node >/dev/null || die "node is not installed (Node.js 20 is part of this machine image)"
  local want
  want="$(npm_lock_hash)"
  if [[ -f "$NPM_STAMP" && "$(cat "$NPM_STAMP")" == "$want" ]]; then
    say "npm packages: up to date with package-lock.json"
    return 0
  fi
  if [[ ! -f "$NPM_STAMP" ]] && npm_tree_matches_lock; then
    echo "$want" >"$NPM_STAMP"
    say "npm packages: existing node_modules matches package-lock.json (stamped)"
    return 0
  fi
  say "npm packages: npm ci (package-lock.json changed or node_modules missing)"
  if ! (cd "$ROOT_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$NPM_LOG" 2>&1; then
    npm_ci_failed_only_on_foreign_optionals || fail_with_log npm "$NPM_LOG" "npm ci failed"
    # The registry reachable here serves only this platform's builds of packages such as
    # @swc/core-<os>-<cpu>, so the lock file cannot list the others, and npm 11's `npm ci`
    # refuses it. `npm install --no-save` installs the same locked versions without them and
    # leaves package-lock.json untouched.
    say "npm packages: npm ci refused the lock file only for other platforms' optional" \
      "packages; installing the locked versions with npm install --no-save"
    (cd "$ROOT_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error) \
      >"$NPM_LOG" 2>&1 || fail_with_log npm "$NPM_LOG" "npm install --no-save failed"
  fi
  echo "$want" >"$NPM_STAMP"
  say "npm packages: installed"
}

# True when npm ci failed only because the lock lacks optional dependencies (other platforms'
# native builds); any other failure, such as a package.json out of step with its lock, is real.
npm_ci_failed_only_on_foreign_optionals() {
  grep -q 'can only install packages when your package.json and package-lock.json' "$NPM_LOG" ||
    return 1
  grep -o 'Missing: [^ ]* from lock file' "$NPM_LOG" | sed -E 's/^Missing: (@?[^@]+)@.*/\1/' |
    node -e '
      const lock = require(process.argv[1]).packages;
      const optional = new Set(
        Object.values(lock).flatMap((meta) => Object.keys(meta.optionalDependencies ?? {})),
      );
      const missing = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
      process.exit(missing.length > 0 && missing.every((name) => optional.has(name)) ? 0 : 1);
    ' "$ROOT_DIR/package-lock.json"
}

# The classpath file is named after the pom's hash, so editing the pom resolves again.
kafka_classpath_file() {
  local pom_hash
  pom_hash="$(sha256sum "$KAFKA_POM" | cut -c1-12)"
  echo "$CACHE_DIR/kafka-$KAFKA_VERSION-$pom_hash.classpath"
}

# True when the cached classpath exists and every jar on it is still in ~/.m2.
kafka_classpath_complete() {
  local file="$1" jar
  [[ -s "$file" ]] || return 1
  while IFS= read -r -d ':' jar; do
    [[ -f "$jar" ]] || return 1
  done < <(tr -d '\n' <"$file" && printf ':')
}

resolve_kafka_jars() {
  local file
  file="$(kafka_classpath_file)"
  if kafka_classpath_complete "$file"; then
    say "kafka $KAFKA_VERSION: jars present ($file)"
  else
    say "kafka $KAFKA_VERSION: resolving jars from Maven Central into ~/.m2"
    mvn -B -q -f "$KAFKA_POM" dependency:build-classpath -Dmdep.outputFile="$file.tmp" \
      >"$CACHE_DIR/kafka-mvn.log" 2>&1 ||
      fail_with_log maven "$CACHE_DIR/kafka-mvn.log" "resolving Kafka's jars failed"
    mv "$file.tmp" "$file"
    kafka_classpath_complete "$file" || die "Maven wrote an incomplete classpath to $file"
    say "kafka $KAFKA_VERSION: $(tr ':' '\n' <"$file" | wc -l) jars resolved"
  fi
  # stack.sh reads the classpath through this stable, project-local pointer.
  mkdir -p "$RUN_DIR"
  echo "$file" >"$RUN_DIR/kafka-classpath-file"
}

# The Go toolchain is part of this machine image, not always on a non-login PATH.
# .tools/compose-check validates docker-compose.production.yml with compose-go, the loader that
# `docker compose` uses: the docker CLI here has no Compose plugin (and no engine).
build_compose_check() {
  local go_bin want
  go_bin="$(go_binary)"
  [[ -x "$go_bin" ]] || die "Go is not installed (it is part of this machine image)"
  want="$(cat "$COMPOSE_CHECK_SRC"/{go.mod,go.sum,main.go} <("$go_bin" version) | sha256sum |
    cut -d' ' -f1)"
  if [[ -x "$COMPOSE_CHECK_BIN" && "$(cat "$COMPOSE_CHECK_BIN.hash" 2>/dev/null)" == "$want" ]]; then
    say "compose-check: up to date (.tools/compose-check)"
    return 0
  fi
  say "compose-check: building from its Go module (compose-go) into .tools/"
  mkdir -p "$(dirname "$COMPOSE_CHECK_BIN")"
  (cd "$COMPOSE_CHECK_SRC" &&
    "$go_bin" build -mod=readonly -buildvcs=false -o "$COMPOSE_CHECK_BIN" .) \
    >"$CACHE_DIR/compose-check-build.log" 2>&1 ||
    fail_with_log go "$CACHE_DIR/compose-check-build.log" "building compose-check failed"
  echo "$want" >"$COMPOSE_CHECK_BIN.hash"
  say "compose-check: built"
}

# k6, pinned, built from its Go module (never a downloaded binary). The build lives in the
# machine-level cache, so every clone reuses it; .tools/k6 links to it.
K6_VERSION="v1.4.2"
build_k6() {
  local go_bin cached="$CACHE_DIR/k6-$K6_VERSION/k6"
  go_bin="$(go_binary)"
  if [[ ! -x "$cached" ]]; then
    [[ -x "$go_bin" ]] || die "Go is not installed (it is part of this machine image)"
    say "k6 $K6_VERSION: building from its Go module (about a minute the first time)"
    GOBIN="$(dirname "$cached")" "$go_bin" install "go.k6.io/k6@$K6_VERSION" \
      >"$CACHE_DIR/k6-build.log" 2>&1 ||
      fail_with_log go "$CACHE_DIR/k6-build.log" "building k6 failed"
    say "k6 $K6_VERSION: built"
  else
    say "k6 $K6_VERSION: present ($cached)"
  fi
  mkdir -p "$ROOT_DIR/.tools"
  ln -sfn "$cached" "$ROOT_DIR/.tools/k6"
}

# Schemathesis (PyPI) and its dependencies, pinned in load/fuzz/requirements.txt, in a venv in
# the machine-level cache (every clone reuses it), named by the file's hash so an edit installs
# afresh: it fuzzes the running API from its contract (load/fuzz/). .run/schemathesis-bin names it.
SCHEMATHESIS_REQUIREMENTS="$ROOT_DIR/load/fuzz/requirements.txt"
install_schemathesis() {
  local python venv
  venv="$CACHE_DIR/schemathesis-$(sha256sum "$SCHEMATHESIS_REQUIREMENTS" | cut -c1-12)"
  python="$(command -v python3 || echo /usr/bin/python3)"
  # The marker is written last: a venv without it is an interrupted install, made again.
  if [[ -f "$venv/.installed" ]]; then
    say "schemathesis: present ($venv)"
  else
    [[ -x "$python" ]] || die "python3 is not installed (it is part of this machine image)"
    say "schemathesis: installing from PyPI into $venv (load/fuzz/requirements.txt)"
    rm -rf "$venv"
    if ! { "$python" -m venv "$venv" &&
      "$venv/bin/pip" install -q --disable-pip-version-check -r "$SCHEMATHESIS_REQUIREMENTS"; } \
      >"$CACHE_DIR/schemathesis-install.log" 2>&1; then
      rm -rf "$venv"
      fail_with_log pip "$CACHE_DIR/schemathesis-install.log" "installing schemathesis failed"
    fi
    touch "$venv/.installed"
    say "schemathesis: installed, $("$venv/bin/schemathesis" --version)"
  fi
  mkdir -p "$RUN_DIR"
  echo "$venv/bin/schemathesis" >"$RUN_DIR/schemathesis-bin"
}

# @confluentinc/kafka-javascript (librdkafka under N-API), pinned: the outcome publisher's
# producer (events/rdkafka.ts, KAFKA_PRODUCER) and the client comparison
# (load/bench/kafka-clients.ts). Its install script fetches a prebuilt binary from GitHub, which is
# not reachable here, and its fallback build downloads zlib, OpenSSL, zstd and curl; so it is built
# from source instead: the bundled librdkafka (CKJS_LINKING=dynamic: linked against the Debian
# libraries above, nothing downloaded) and the addon, with node-gyp against this Node's own
# headers. About 2 minutes on 2 cores, once per machine and Node ABI: the result lives in the
# machine-level cache (every clone reuses it), .run/confluent-kafka-javascript-dir names it and
# node_modules links to it. It is not an npm dependency, so `npm ci` never builds or fetches it.
# Optional: a failed build is a warning (the publisher then uses kafkajs, the benchmark measures
# kafkajs alone) and is not retried until its .failed marker is removed.
CONFLUENT_KAFKA_VERSION="1.10.1"
CONFLUENT_KAFKA_POINTER="$RUN_DIR/confluent-kafka-javascript-dir"

# Unpacks the package into $1, installs its runtime dependencies and builds librdkafka and the
# addon; then removes the sources and objects (about 270 MB) the addon does not load.
confluent_kafka_build_into() {
  local work="$1" nodedir="$2" node_gyp="$3"
  # Called as an `if` condition, where errexit does not apply: every step says `|| return 1`.
  rm -rf "$work" && mkdir -p "$work" || return 1
  (cd "$work" && npm pack --silent "@confluentinc/kafka-javascript@$CONFLUENT_KAFKA_VERSION") ||
    return 1
  tar -xzf "$work"/confluentinc-kafka-javascript-*.tgz -C "$work" --strip-components=1 &&
    rm "$work"/confluentinc-kafka-javascript-*.tgz || return 1
  (cd "$work" && npm install --omit=dev --ignore-scripts --no-package-lock --no-audit --no-fund) ||
    return 1
  # --jobs 1 for the addon: with more, make may compile it before librdkafka's configure wrote
  # config.h (seen). librdkafka itself is built by its own `make -j`.
  (cd "$work" && BUILD_LIBRDKAFKA=1 CKJS_LINKING=dynamic \
    node "$node_gyp" rebuild --nodedir="$nodedir" --jobs 1) || return 1
  # The addon finds build/deps/librdkafka*.so.1 through its rpath ($ORIGIN/../deps).
  rm -rf "$work/deps/librdkafka" "$work/build/Release/obj.target" "$work/build/Release/.deps" \
    "$work/build/deps/include" "$work/build/deps"/*.a || return 1
  node -e 'console.log("librdkafka", require(process.argv[1]).librdkafkaVersion)' "$work"
}

# The outcome publisher's librdkafka producer (KAFKA_PRODUCER=librdkafka, events/rdkafka.ts)
# requires the package by name: node_modules links to the machine's build (npm ci removes the
# link with node_modules; the next setup puts it back).
CONFLUENT_KAFKA_LINK="$ROOT_DIR/node_modules/@confluentinc/kafka-javascript"

link_confluent_kafka() {
  mkdir -p "$(dirname "$CONFLUENT_KAFKA_LINK")"
  ln -sfn "$1" "$CONFLUENT_KAFKA_LINK"
}

build_confluent_kafka() {
  local abi dir nodedir node_gyp log started_ms
  abi="$(node -p 'process.versions.modules')"
  dir="$CACHE_DIR/confluent-kafka-javascript-$CONFLUENT_KAFKA_VERSION-node$abi"
  log="$CACHE_DIR/confluent-kafka-javascript-build.log"
  mkdir -p "$RUN_DIR"
  if [[ -f "$dir/.installed" ]]; then
    say "confluent-kafka-javascript $CONFLUENT_KAFKA_VERSION: present ($dir)"
    echo "$dir" >"$CONFLUENT_KAFKA_POINTER"
    link_confluent_kafka "$dir"
    return 0
  fi
  rm -f "$CONFLUENT_KAFKA_POINTER" "$CONFLUENT_KAFKA_LINK"
  if [[ -f "$dir.failed" ]]; then
    warn "confluent-kafka-javascript $CONFLUENT_KAFKA_VERSION: its build failed before ($log);" \
      "not retried until $dir.failed is removed. bench:kafka-clients measures kafkajs alone"
    return 0
  fi
  # node-gyp would download Node's headers from nodejs.org; this Node ships them beside itself.
  nodedir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
  node_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  say "confluent-kafka-javascript $CONFLUENT_KAFKA_VERSION: building librdkafka and the addon" \
    "from source into $dir (about 2 minutes the first time)"
  started_ms="$(now_ms)"
  if [[ -f "$nodedir/include/node/node.h" && -f "$node_gyp" ]] &&
    confluent_kafka_build_into "$dir.tmp" "$nodedir" "$node_gyp" >"$log" 2>&1; then
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    touch "$dir/.installed"
    echo "$dir" >"$CONFLUENT_KAFKA_POINTER"
    link_confluent_kafka "$dir"
    say "confluent-kafka-javascript $CONFLUENT_KAFKA_VERSION: built in" \
      "$((($(now_ms) - started_ms) / 1000)) s, $(tail -n 1 "$log")"
  else
    show_log_tail confluent-kafka-javascript "$log"
    rm -rf "$dir.tmp"
    touch "$dir.failed"
    warn "confluent-kafka-javascript $CONFLUENT_KAFKA_VERSION: build failed (headers in" \
      "$nodedir/include/node, node-gyp at $node_gyp; log $log); bench:kafka-clients" \
      "measures kafkajs alone"
  fi
}

check_java() {
  local version
  version="$(/usr/bin/java -version 2>&1 | head -n 1)"
  [[ "$version" == *'"17.'* ]] || die "Kafka is run with Java 17 at /usr/bin/java; found: $version"
}

main() {
  local started_ms
  started_ms="$(now_ms)"
  mkdir -p "$CACHE_DIR" "$RUN_DIR"
  # Machine-wide steps (apt, ~/.m2) are serialised across clones; npm is per clone.
  with_lock "$CACHE_DIR/setup.lock" install_apt_packages
  check_java
  with_lock "$RUN_DIR/setup-npm.lock" install_npm_packages
  with_lock "$CACHE_DIR/setup.lock" resolve_kafka_jars
  with_lock "$RUN_DIR/setup-tools.lock" build_compose_check
  with_lock "$CACHE_DIR/setup.lock" build_k6
  with_lock "$CACHE_DIR/setup.lock" install_schemathesis
  with_lock "$CACHE_DIR/setup.lock" build_confluent_kafka
  say "done in $(($(now_ms) - started_ms)) ms"
}

main "$@"
