# nginx as the HTTP load balancer in front of the bridge API instances (never in front of
# TigerBeetle: its clients talk to every replica directly). Everything it writes is under .run/.
# Sourced by infra/stack.sh after lib/common.sh.

NGINX_DIR="$RUN_DIR/nginx"
NGINX_CONF="$NGINX_DIR/nginx.conf"
NGINX_PID="$NGINX_DIR/nginx.pid"
NGINX_ERROR_LOG="$NGINX_DIR/error.log"
# The bridge instances to balance over: comma-separated HOST:PORT. The bridge need not be
# running; nginx starts anyway and answers 502 until one is.
NGINX_UPSTREAMS="${NGINX_UPSTREAMS:-127.0.0.1:3000}"
NGINX_START_TIMEOUT_S=10
NGINX_STOP_TIMEOUT_S=15

nginx_url() { echo "http://$BIND_HOST:$NGINX_PORT"; }

nginx_pid() { live_pid "$NGINX_PID"; }

# nginx's own health endpoint: answers without any upstream being up.
nginx_healthy() {
  [[ "$(curl -fsS --max-time 2 "$(nginx_url)/nginx-health" 2>/dev/null)" == ok ]]
}

nginx_upstream_servers() {
  local upstream upstreams
  IFS=',' read -r -a upstreams <<<"$NGINX_UPSTREAMS"
  for upstream in "${upstreams[@]}"; do
    [[ "$upstream" =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] ||
      die "nginx: NGINX_UPSTREAMS entry '$upstream' is not HOST:PORT"
    printf '    server %s max_fails=1 fail_timeout=2s;\n' "$upstream"
  done
}

nginx_write_config() {
  local servers
  servers="$(nginx_upstream_servers)"
  mkdir -p "$NGINX_DIR/tmp"
  cat >"$NGINX_CONF" <<EOF
# Written by infra/stack.sh on every start: edit infra/lib/nginx.sh instead.
worker_processes 2;
pid $NGINX_PID;
error_log $NGINX_ERROR_LOG warn;

events {
  worker_connections 4096;
}

http {
  access_log $NGINX_DIR/access.log;
  client_body_temp_path $NGINX_DIR/tmp/client_body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  client_max_body_size 1m;

  upstream bridge {
$servers
    keepalive 64;
  }

  server {
    listen $BIND_HOST:$NGINX_PORT;

    location = /nginx-health {
      access_log off;
      default_type text/plain;
      return 200 "ok";
    }

    location / {
      proxy_pass http://bridge;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
      # Only failed connections move to the next instance; a POST that reached an instance is
      # never replayed by nginx (the client retries with the same journal id instead).
      proxy_next_upstream error timeout;
    }
  }
}
EOF
}

nginx_cmd() {
  /usr/sbin/nginx -p "$NGINX_DIR" -e "$NGINX_ERROR_LOG" -c "$NGINX_CONF" "$@"
}

nginx_up() {
  local pid
  mkdir -p "$NGINX_DIR"
  pid="$(nginx_pid)"
  if [[ -n "$pid" ]]; then
    wait_until 5 nginx_healthy ||
      fail_with_log nginx "$NGINX_ERROR_LOG" "running (pid $pid) but /nginx-health fails"
    say "nginx: already running (pid $pid)"
    return 0
  fi
  clean_stale_pid nginx "$NGINX_PID"
  require_port_free nginx "$NGINX_PORT"
  nginx_write_config
  nginx_cmd -t -q >>"$NGINX_ERROR_LOG" 2>&1 ||
    fail_with_log nginx "$NGINX_ERROR_LOG" "generated $NGINX_CONF is invalid"
  say "nginx: starting on $BIND_HOST:$NGINX_PORT -> $NGINX_UPSTREAMS"
  nginx_cmd >>"$NGINX_ERROR_LOG" 2>&1 9>&- || fail_with_log nginx "$NGINX_ERROR_LOG" "nginx failed"
  wait_until "$NGINX_START_TIMEOUT_S" nginx_healthy ||
    fail_with_log nginx "$NGINX_ERROR_LOG" "/nginx-health not answering in ${NGINX_START_TIMEOUT_S}s"
  say "nginx: healthy (pid $(nginx_pid))"
}

nginx_down() {
  local pid
  pid="$(nginx_pid)"
  # SIGQUIT first: graceful, workers finish the requests in flight; SIGTERM only if that stalls.
  if [[ -n "$pid" ]]; then
    kill -QUIT "$pid" 2>/dev/null || true
    wait_until "$NGINX_STOP_TIMEOUT_S" pid_gone "$pid" || true
    pid_gone "$pid" && pid=""
    [[ -z "$pid" ]] && rm -f "$NGINX_PID" && say "nginx: stopped" && return 0
  fi
  stop_daemon nginx "$pid" "$NGINX_PID" 5
}

nginx_status() {
  local pid
  pid="$(nginx_pid)"
  if [[ -z "$pid" ]]; then
    echo "stopped"
  elif nginx_healthy; then
    echo "running (pid $pid) $BIND_HOST:$NGINX_PORT -> $NGINX_UPSTREAMS"
  else
    echo "UNHEALTHY (pid $pid alive, /nginx-health fails on $BIND_HOST:$NGINX_PORT)"
  fi
}
