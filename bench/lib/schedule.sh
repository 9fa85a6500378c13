#!/usr/bin/env bash
# bench/lib/schedule.sh: the anchors' 90-day data set as TVMaze schedule JSON
# served as static files by nginx (gzip_static), for the benchmarks that
# ingest it (sourced by bench/ingest.sh, bench/changes.sh and bench/world.sh).
#
#   bench_schedule_data ROOT ANCHORS WORK
#     generates WORK/data (gen_data.py) and WORK/schedule (csv_to_schedule.py)
#     once, pre-compresses the files, and sets COUNTRIES (comma-separated),
#     EPISODES (rows of episodes.csv) and START (the first day).
#   bench_schedule_nginx WORK ROOTDIR
#     starts nginx on a free port serving ROOTDIR (a directory or a symlink
#     to one: a request follows the symlink as it is at that moment, so a
#     caller can swap the data set between runs; /schedule/full is
#     ROOTDIR/full.json, 404 without it; ETag and Last-Modified are nginx's
#     own for static files, so a conditional GET gets its 304); sets FAKE_PID and
#     FAKE_PORT. The caller stops it: kill -QUIT "$FAKE_PID".
# The caller provides log().

bench_schedule_data() {
  local root=$1 anchors=$2 work=$3
  if [ ! -f "$work/data/MANIFEST.txt" ]; then
    log "generating data"
    python3 "$anchors/gen_data.py" "$work/data" >/dev/null
  fi
  if [ ! -f "$work/countries.txt" ]; then
    log "converting CSV to schedule JSON"
    python3 "$root/bench/csv_to_schedule.py" "$work/data" "$work/schedule" >"$work/countries.txt"
  fi
  if [ ! -f "$work/schedule/empty.json.gz" ]; then
    log "pre-compressing the schedule files"
    printf '[]' >"$work/schedule/empty.json"
    find "$work/schedule" -name '*.json' -exec gzip -kf6 {} +
  fi
  # shellcheck disable=SC2034 # for the caller
  COUNTRIES="$(awk '{print $1}' "$work/countries.txt" | paste -sd, -)"
  # shellcheck disable=SC2034
  EPISODES="$(awk '$1=="rows" && $2=="episodes" {print $3}' "$work/data/MANIFEST.txt")"
  START="$(awk -F'[ =]' '{print $4}' "$work/data/MANIFEST.txt" | head -1)"
}

# The schedule is served as static files by nginx (the python fake server,
# which the tests use for fault injection, cannot serve 5,490 responses fast
# enough: it was the bottleneck of the benchmark). Same URLs and bodies as
# TVMaze; gzip_static serves the pre-compressed .gz when the client accepts
# gzip; a day/country without a file is [] (as the fake server answers).
bench_schedule_nginx() {
  local work=$1 rootdir=$2
  FAKE_PORT=$((20000 + RANDOM % 20000))
  mkdir -p "$work/nginx/tmp"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  default_type application/json;
  gzip_static on;
  gzip_vary on;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 127.0.0.1:$FAKE_PORT;
    root $rootdir;
    location = /schedule/web { try_files /web-\$arg_date.json /empty.json; }
    location = /schedule { try_files /\$arg_country-\$arg_date.json /empty.json; }
    location = /schedule/full { try_files /full.json =404; }
  }
}
CONF
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' 2>"$work/nginx/stderr.log" &
  # shellcheck disable=SC2034 # for the caller
  FAKE_PID=$!
  for _ in $(seq 50); do curl -fso /dev/null "http://127.0.0.1:$FAKE_PORT/schedule/web?date=$START" && break; sleep 0.1; done
}
