# nginx as the HTTP load balancer in front of the bridge API instances (never in front of
# TigerBeetle: its clients talk to every replica directly). Everything it writes is under .run/.
# Sourced by infra/stack.sh after lib/common.sh.

# NGINX_DIR and NGINX_PORT may be given: the chaos run (load/chaos) starts an nginx of its own.
NGINX_DIR="${NGINX_DIR:-$RUN_DIR/nginx}"
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
    # max_conns = HTTP_MAX_CONNECTIONS (1024): past it the bridge would close the connection.
    printf '    server %s max_fails=1 fail_timeout=2s max_conns=1024;\n' "$upstream"
  done
}

# nginx's own errors (no bridge instance answers, a body over the limit, a malformed request, ...)
# in the API's error shape, {"error":{"code","message"}}, with the codes the bridge itself uses
# for the same refusal (README "Error codes"). Answers from the bridge pass through untouched
# (proxy_intercept_errors is off). The pages are internal URIs, not named locations: a request
# nginx could not parse has no URI to redirect from. nginx answers no timeout: it closes a
# connection whose header or body stops arriving. infra/nginx/production.conf has the same pages.
nginx_error_pages() {
  cat <<'EOF'
    error_page 400 /.nginx-errors/bad_request;
    error_page 404 /.nginx-errors/route_not_found;
    error_page 413 /.nginx-errors/payload_too_large;
    error_page 414 494 =431 /.nginx-errors/headers_too_large;
    error_page 429 /.nginx-errors/client_rate_limited;
    error_page 500 /.nginx-errors/internal_error;
    error_page 502 503 =502 /.nginx-errors/bridge_unavailable;
    error_page 504 /.nginx-errors/bridge_timeout;

    location /.nginx-errors/ {
      internal;
      default_type "application/json; charset=utf-8";
      location = /.nginx-errors/bad_request {
        return 400 '{"error":{"code":"bad_request","message":"the request is not valid HTTP/1.1"}}';
      }
      location = /.nginx-errors/route_not_found {
        return 404 '{"error":{"code":"route_not_found","message":"no route has this path"}}';
      }
      location = /.nginx-errors/payload_too_large {
        return 413 '{"error":{"code":"payload_too_large","message":"the body is larger than the API accepts (8 MiB)"}}';
      }
      location = /.nginx-errors/headers_too_large {
        return 431 '{"error":{"code":"headers_too_large","message":"the request line and headers are larger than the server accepts"}}';
      }
      location = /.nginx-errors/client_rate_limited {
        add_header Retry-After 1 always;
        return 429 '{"error":{"code":"client_rate_limited","message":"too many requests from this address; retry the same request later"}}';
      }
      location = /.nginx-errors/internal_error {
        return 500 '{"error":{"code":"internal_error","message":"internal error"}}';
      }
      location = /.nginx-errors/bridge_unavailable {
        add_header Retry-After 1 always;
        return 502 '{"error":{"code":"bridge_unavailable","message":"no API instance answered; retry the same request"}}';
      }
      location = /.nginx-errors/bridge_timeout {
        add_header Retry-After 1 always;
        return 504 '{"error":{"code":"bridge_timeout","message":"the API instance did not answer in time; retry the same request"}}';
      }
    }
EOF
}

nginx_write_config() {
  local servers error_pages
  servers="$(nginx_upstream_servers)"
  error_pages="$(nginx_error_pages)"
  mkdir -p "$NGINX_DIR/tmp"
  cat >"$NGINX_CONF" <<EOF
# Written by infra/stack.sh on every start: edit infra/lib/nginx.sh instead.
# Every limit mirrors the bridge's (core/config.ts HTTP_* defaults, README "Configuration");
# infra/nginx/production.conf has the same ones, and test/unit/infra/nginx.test.ts compares them.
worker_processes 2;
pid $NGINX_PID;
error_log $NGINX_ERROR_LOG warn;

events {
  # Each proxied request holds two connections (client and bridge): with at most 1024 towards
  # the bridge (max_conns below), a worker still takes 3,000 clients.
  worker_connections 4096;
}

http {
  access_log $NGINX_DIR/access.log;
  client_body_temp_path $NGINX_DIR/tmp/client_body;
  proxy_temp_path $NGINX_DIR/tmp/proxy;
  fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
  uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
  scgi_temp_path $NGINX_DIR/tmp/scgi;
  # "Server: nginx", without the version.
  server_tokens off;
  # The API's largest body (8 MiB: bulk journals and transfer batches); smaller per-route limits
  # are the bridge's, which answers them itself.
  client_max_body_size 8m;
  # = HTTP_HEADERS_TIMEOUT_MS (10 s): the whole header must have arrived by then.
  client_header_timeout 10s;
  # Between two reads of a body (nginx has no whole-body timer): nginx reads a body whole before
  # it forwards it, so a slow client holds one cheap nginx connection, never a bridge connection.
  client_body_timeout 30s;
  # A client that stops reading its answer: between two writes.
  send_timeout 30s;
  # = HTTP_KEEP_ALIVE_TIMEOUT_MS (65 s): an idle client connection.
  keepalive_timeout 65s;
  # A request line or header line up to HTTP_MAX_HEADER_BYTES (16 KiB), the whole header up to
  # twice that (the bridge answers 431 itself above its own 16 KiB).
  large_client_header_buffers 2 16k;

  # Per client address, as in production (infra/nginx/production.conf says why these values).
  limit_req_zone \$binary_remote_addr zone=per_client:10m rate=20000r/s;
  limit_req_status 429;
  limit_req_log_level warn;

  upstream bridge {
    # Shared by the workers, so max_conns bounds the connections to an instance in all.
    zone bridge 64k;
$servers
    keepalive 64;
    # Below HTTP_KEEP_ALIVE_TIMEOUT_MS (65 s): nginx closes an idle connection before the bridge
    # does, so it never sends a request on one the bridge is closing (a 502).
    keepalive_timeout 60s;
  }

  server {
    listen $BIND_HOST:$NGINX_PORT;

    limit_req zone=per_client burst=40000 nodelay;

$error_pages

    location = /nginx-health {
      access_log off;
      default_type text/plain;
      return 200 "ok";
    }

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_hide_header X-Powered-By;
    proxy_connect_timeout 2s;
    # Between two writes of a request to the bridge.
    proxy_send_timeout 30s;
    # Above the bridge's own bounds (a journal is answered, or 503, within
    # LEDGER_REQUEST_TIMEOUT_MS = 5 s; a consistency wait is at most 10 s), so the bridge's
    # typed answer comes first; past it the instance is stuck: a JSON 504, and the client
    # retries with the same ids.
    proxy_read_timeout 30s;
    # Only failed connections move to the next instance; a POST that reached an instance is
    # never replayed by nginx (the client retries with the same journal id instead).
    proxy_next_upstream error timeout;

    # The public routes only, as in production: the operators' routes (/metrics, /slo,
    # /dashboard, /ready) are read from the instances directly (127.0.0.1:3000).
    location /api/ {
      proxy_pass http://bridge;
    }
    # Else nginx would answer /api with a redirect to /api/ (a prefix location with proxy_pass).
    location = /api {
      return 404;
    }
    location = /health {
      proxy_pass http://bridge;
    }
    location = /openapi.json {
      proxy_pass http://bridge;
    }
    location = /docs {
      proxy_pass http://bridge;
    }
    location /docs/ {
      proxy_pass http://bridge;
    }
    location / {
      return 404;
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
