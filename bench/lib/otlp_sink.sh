#!/usr/bin/env bash
# bench/lib/otlp_sink.sh: an OTLP/HTTP trace collector that costs next to
# nothing, for the benchmarks with tracing on (sourced by bench/query.sh and
# bench/http.sh): nginx answering every POST /v1/traces with 200 and an empty
# body (an empty ExportTraceServiceResponse), its access log counting the
# POSTs. Spans are not decoded here: tests/fake_otlp/otlp_receiver.py does
# that in the tests; the exporters' own counters say what was accepted.
#
#   otlp_sink_start DIR  starts it under DIR; sets OTLP_PORT and OTLP_PID
#   otlp_sink_posts DIR  prints the number of POSTs it answered
# The caller provides free_port() and stops OTLP_PID.
# shellcheck disable=SC2034  # OTLP_PORT and OTLP_PID are for the caller

otlp_sink_start() {
  local d=$1
  mkdir -p "$d/logs"
  OTLP_PORT="$(free_port)"
  cat >"$d/nginx.conf" <<EOF
worker_processes 1;
error_log $d/logs/error.log;
pid $d/nginx.pid;
events { worker_connections 256; }
http {
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d;
  uwsgi_temp_path $d; scgi_temp_path $d;
  client_max_body_size 16m;
  access_log $d/logs/access.log;
  server { listen 127.0.0.1:$OTLP_PORT; location = /v1/traces { return 200; } }
}
EOF
  nginx -c "$d/nginx.conf" -p "$d" -g 'daemon off;' 2>"$d/stderr.log" &
  OTLP_PID=$!
  for _ in $(seq 50); do
    curl -sf -o /dev/null -X POST --data-binary '' "http://127.0.0.1:$OTLP_PORT/v1/traces" && break
    sleep 0.1
  done
  : >"$d/logs/access.log" # the readiness probe is not a POST of ours
}

otlp_sink_posts() { grep -c 'POST /v1/traces' "$1/logs/access.log" || true; }

# scrape_every_second URL PID FILE: GETs URL once a second while process
# $2 lives, one line per successful scrape appended to $3; run it in the
# background.
scrape_every_second() {
  while kill -0 "$2" 2>/dev/null; do
    curl -s -o /dev/null "$1" && echo >>"$3"
    sleep 1
  done
}
