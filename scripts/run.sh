#!/usr/bin/env bash
# The main job on one machine: installs what is needed, builds, starts a local
# PostgreSQL and Redis, tvmaze-server and tvmaze-gateway, and ingests the next
# TVMAZE_INGEST_DAYS (default 90) days from TVMaze, showing progress.
#
#   scripts/run.sh          everything above; the services keep running
#   scripts/run.sh stop     stop the server, the gateway, Redis and PostgreSQL
#   scripts/run.sh status   what is running, and where
#
# State lives under var/ (data, logs, pids). Ports: gRPC 50051, HTTP 8080
# unless TVMAZE_GRPC_PORT / TVMAZE_HTTP_PORT say otherwise. The gateway's
# Basic credentials default to admin / a random password written to var/env;
# an API key of scope ingest (TVMAZE_API_KEY, used by the gateway and the CLI)
# is created on the first run and written there too.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
var="$root/var"
grpc_port="${TVMAZE_GRPC_PORT:-50051}"
http_port="${TVMAZE_HTTP_PORT:-8080}"

stop_pid() {
  local f="$1"
  if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
    kill -TERM "$(cat "$f")"
    for _ in $(seq 1 150); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
}

case "${1:-run}" in
stop)
  stop_pid "$var/gateway.pid"
  stop_pid "$var/server.pid"
  [ -d "$var/services" ] && scripts/services.sh stop "$var/services"
  echo "stopped"
  exit 0
  ;;
status)
  for p in server gateway; do
    if [ -f "$var/$p.pid" ] && kill -0 "$(cat "$var/$p.pid")" 2>/dev/null; then
      echo "$p: running (pid $(cat "$var/$p.pid"), log $var/$p.log)"
    else
      echo "$p: not running"
    fi
  done
  exit 0
  ;;
run) ;;
*)
  echo "usage: scripts/run.sh [run|stop|status]" >&2
  exit 2
  ;;
esac

echo "==> installing dependencies"
scripts/bootstrap.sh
echo "==> building"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j"$(nproc)"
bin="$root/build/release"

mkdir -p "$var"
chmod 755 "$var"
echo "==> starting PostgreSQL and Redis"
TVMAZE_PG_PORT="${TVMAZE_PG_PORT:-55433}" TVMAZE_REDIS_PORT="${TVMAZE_REDIS_PORT:-56380}" \
  scripts/services.sh start "$var/services" >/dev/null
set -a
# shellcheck disable=SC1091
. "$var/services/env"
set +a
if [ ! -f "$var/env" ]; then
  umask 077
  printf 'API_USERNAME=admin\nAPI_PASSWORD=%s\n' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >"$var/env"
  umask 022
fi
set -a
# shellcheck disable=SC1091
. "$var/env"
set +a
export TVMAZE_GRPC_ADDR="127.0.0.1:$grpc_port" TVMAZE_HTTP_ADDR="127.0.0.1:$http_port"
export TVMAZE_GRPC_TARGET="127.0.0.1:$grpc_port"

wait_for() { # wait_for SECONDS COMMAND...
  local n="$1"
  shift
  for _ in $(seq 1 $((n * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

echo "==> starting tvmaze-server on $TVMAZE_GRPC_ADDR (log: $var/server.log)"
stop_pid "$var/server.pid"
nohup "$bin/server/tvmaze-server" >>"$var/server.log" 2>&1 &
echo $! >"$var/server.pid"
wait_for 30 "$bin/client/tvmaze" health || { tail -20 "$var/server.log"; exit 1; }

# An API key of scope ingest for the local gateway and CLI (every tvmaze.v1
# call needs one), created once and kept in var/env with the Basic password.
if ! grep -q '^TVMAZE_API_KEY=' "$var/env"; then
  key_name="local-$(date +%Y%m%d%H%M%S)"
  key="$("$bin/server/tvmaze-server" keys create --name "$key_name" --tier premium --scope ingest)"
  umask 077
  printf 'TVMAZE_API_KEY=%s\n' "$key" >>"$var/env"
  umask 022
  echo "==> created API key $key_name (scope ingest) in var/env"
fi
set -a
# shellcheck disable=SC1091
. "$var/env"
set +a

if [ -x "$bin/gateway/tvmaze-gateway" ]; then
  echo "==> starting tvmaze-gateway on $TVMAZE_HTTP_ADDR (log: $var/gateway.log)"
  stop_pid "$var/gateway.pid"
  nohup "$bin/gateway/tvmaze-gateway" >>"$var/gateway.log" 2>&1 &
  echo $! >"$var/gateway.pid"
  wait_for 30 curl -fsS "http://127.0.0.1:$http_port/up" || { tail -20 "$var/gateway.log"; exit 1; }
fi

echo "==> ingesting ${TVMAZE_INGEST_DAYS:-90} days from ${TVMAZE_API_URL:-https://api.tvmaze.com}"
api_url="${TVMAZE_API_URL:-https://api.tvmaze.com}"
rc=0
"$bin/client/tvmaze" --timeout 30000 ingest start --days "${TVMAZE_INGEST_DAYS:-90}" --wait || rc=$?
if [ "$rc" -ne 0 ]; then
  # A run that never reached TVMaze ends FAILED "TVMaze unreachable: ..."
  # (docs/ingest.md): say so, and what to check.
  last_run="$("$bin/client/tvmaze" --json ingest list --per-page 1 2>/dev/null || true)"
  if [[ "$last_run" == *"TVMaze unreachable"* ]]; then
    cat >&2 <<MSG

TVMaze could not be reached at $api_url, so nothing was ingested.
Check:
  - the network and DNS of this machine: curl -sS -o /dev/null -w '%{http_code}\n' '$api_url/schedule/web?date=$(date -u +%F)'
  - TVMAZE_API_URL (now: $api_url)
  - a proxy, if this network needs one: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (libcurl reads them)
The server and gateway keep running; start the ingest again with
  $bin/client/tvmaze ingest start --wait   (or scripts/run.sh)
MSG
  fi
  exit "$rc"
fi

cat <<MSG

Running. Try:
  $bin/client/tvmaze shows list --country US --per-page 5
  curl -u "admin:\$(grep API_PASSWORD var/env | cut -d= -f2)" 'http://127.0.0.1:$http_port/api/v1/tv_shows?country=US&per_page=5'
  tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:$grpc_port
  tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \
    -H "authorization: Bearer \$(grep TVMAZE_API_KEY var/env | cut -d= -f2)" \
    -d '{"country":"US","per_page":5}' http://127.0.0.1:$grpc_port/tvmaze.v1.Shows/ListShows
  grpcurl -plaintext -H "x-api-key: \$(grep TVMAZE_API_KEY var/env | cut -d= -f2)" \
    -d '{"country":"US"}' 127.0.0.1:$grpc_port tvmaze.v1.Shows/ListShows
  (the CLI reads TVMAZE_API_KEY: set -a; . var/env; set +a)
Stop everything with: scripts/run.sh stop
MSG
