#!/usr/bin/env bash
# Local PostgreSQL and Redis for tests, benchmarks and the local run, each a
# private instance on a free loopback port with its data under DIR.
#
#   scripts/services.sh start DIR [--no-redis]   start both; writes DIR/env
#   scripts/services.sh stop DIR                 stop both (by pid)
#   scripts/services.sh pg-stop|pg-start DIR     stop/start PostgreSQL only
#   scripts/services.sh redis-stop|redis-start DIR
#
# DIR/env holds shell assignments: TVMAZE_PG_PORT, TVMAZE_REDIS_PORT,
# DATABASE_URL, REDIS_URL (source it). PostgreSQL refuses to run as root, so
# as root the cluster runs as the `postgres` user of Debian's package.
set -euo pipefail

cmd="${1:?usage: services.sh start|stop|pg-stop|pg-start|redis-stop|redis-start DIR}"
dir="${2:?missing DIR}"
PG_BIN="${PG_BIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)}"
PG_OS_USER="${PG_OS_USER:-postgres}"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$PG_OS_USER" -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pg_start() {
  # shellcheck disable=SC1091
  . "$dir/env"
  as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 60 \
    -o "-p $TVMAZE_PG_PORT -k $dir/pgsock -c listen_addresses=127.0.0.1" start >/dev/null
}

pg_stop() {
  as_pg "$PG_BIN/pg_ctl" -D "$dir/pg" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

redis_start() {
  # shellcheck disable=SC1091
  . "$dir/env"
  [ -n "${TVMAZE_REDIS_PORT:-}" ] || return 0
  redis-server --port "$TVMAZE_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  for _ in $(seq 1 50); do
    redis-cli -p "$TVMAZE_REDIS_PORT" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "services.sh: redis did not start (see $dir/redis.log)" >&2
  return 1
}

redis_stop() {
  local pid
  if [ -f "$dir/redis.pid" ]; then
    pid="$(cat "$dir/redis.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$dir/redis.pid"
  fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  with_redis=1
  [ "${3:-}" = "--no-redis" ] && with_redis=0
  pg_port="${TVMAZE_PG_PORT:-$(free_port)}"
  redis_port=""
  [ "$with_redis" -eq 1 ] && redis_port="${TVMAZE_REDIS_PORT:-$(free_port)}"
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    mkdir -p "$dir/pg" "$dir/pgsock"
    [ "$(id -u)" -eq 0 ] && chown -R "$PG_OS_USER" "$dir/pg" "$dir/pgsock" && chmod 755 "$dir"
    as_pg "$PG_BIN/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    {
      echo "timezone = 'UTC'"
      echo "fsync = ${TVMAZE_PG_FSYNC:-on}"
      echo "max_connections = 200"
    } >>"$dir/pg/postgresql.conf"
  fi
  [ "$(id -u)" -eq 0 ] && touch "$dir/pg.log" && chown "$PG_OS_USER" "$dir/pg.log"
  cat >"$dir/env" <<ENV
TVMAZE_SERVICES_DIR=$dir
TVMAZE_PG_PORT=$pg_port
TVMAZE_REDIS_PORT=$redis_port
DATABASE_URL=postgresql://postgres@127.0.0.1:$pg_port/tvmaze
REDIS_URL=${redis_port:+redis://127.0.0.1:$redis_port}
ENV
  pg_start
  as_pg "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -tc "SELECT 1 FROM pg_database WHERE datname = 'tvmaze'" | grep -q 1 ||
    as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres tvmaze
  [ "$with_redis" -eq 1 ] && redis_start
  cat "$dir/env"
  ;;
stop)
  redis_stop
  pg_stop
  ;;
pg-stop) pg_stop ;;
pg-start) pg_start ;;
redis-stop) redis_stop ;;
redis-start) redis_start ;;
*)
  echo "services.sh: unknown command $cmd" >&2
  exit 2
  ;;
esac
