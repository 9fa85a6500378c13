#!/usr/bin/env bash
# bench/changes.sh: change-feed benchmark (issue 14; not a test; see
# docs/benchmarks.md and docs/api.md "Following").
#
# Data: the anchors' 90-day data set as TVMaze schedule JSON served by nginx
# (bench/lib/schedule.sh, as bench/ingest.sh), first loaded by the real
# tvmaze-server (`tvmaze ingest start --wait`), then nginx is switched to a
# second version of the files (bench/schedule_bump.py: every episode of the
# first BUMP_DAYS days one minute longer, ~10,000 episodes) and re-ingested
# the same way, while these subscribers follow from the version before it:
#   GRPC_STREAMS  Changes/WatchChanges streams on the server (one process,
#                 one completion queue, GRPC_CHANNELS connections;
#                 bench/feed_grpc.c)
#   SSE_STREAMS   GET /api/v1/changes/stream readers on one tvmaze-gateway
#                 (one curl multi loop; bench/feed_sse.c)
#   LISTENERS     the anchor: libpq connections doing LISTEN
#                 tvmaze_generation on the same PostgreSQL (one poll loop;
#                 bench/feed_listen.c); each notification's payload is the
#                 transaction's last version
# Each subscriber must get every change with a version above the start
# version once, in order (count = rows of `changes` above it); the anchor's
# listeners every notified version once, in order. Latency is receive time
# minus the change's changed_at for all three (the anchor: changed_at of the
# notified version, looked up after the run). RSS (VmRSS/VmHWM) of server
# and gateway before the subscribers, with them connected and idle, and
# after the delivery. The gateway's /up is probed every second from the
# streams' connection to the end of the delivery (up.txt: one status a line).
# Prints a markdown summary (also $WORK/summary.md); raw logs stay in $WORK.
#
# Usage: bench/changes.sh [BUILD_DIR]   (default: build)
# Knobs: WORK (mktemp), ANCHORS (../shared/anchors), GRPC_STREAMS (1000),
#        GRPC_CHANNELS (10), SSE_STREAMS (1000), LISTENERS (100),
#        BUMP_DAYS (26), TIMEOUT (900 s: the clients give up and report who
#        is short), READY_TIMEOUT (180 s).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
WORK="${WORK:-$(mktemp -d /tmp/tvmaze-bench-changes.XXXXXX)}"
ANCHORS="$(cd "${ANCHORS:-$ROOT/../shared/anchors}" && pwd)"
GRPC_STREAMS="${GRPC_STREAMS:-1000}" GRPC_CHANNELS="${GRPC_CHANNELS:-10}"
SSE_STREAMS="${SSE_STREAMS:-1000}" LISTENERS="${LISTENERS:-100}"
BUMP_DAYS="${BUMP_DAYS:-26}" TIMEOUT="${TIMEOUT:-900}" READY_TIMEOUT="${READY_TIMEOUT:-180}"
for v in GRPC_STREAMS GRPC_CHANNELS SSE_STREAMS LISTENERS BUMP_DAYS TIMEOUT READY_TIMEOUT; do
  case "${!v}" in '' | *[!0-9]* | 0*) echo "bench/changes.sh: $v must be a positive integer, got \"${!v}\"" >&2; exit 2 ;; esac
done
SERVER="$BUILD/server/tvmaze-server" GATEWAY="$BUILD/gateway/tvmaze-gateway" CLI="$BUILD/client/tvmaze"
for b in "$SERVER" "$GATEWAY" "$CLI" "$BUILD"/bench/tvmaze-feed-{grpc,sse,listen}; do
  [ -x "$b" ] || { echo "build first: $b" >&2; exit 1; }
done
mkdir -p "$WORK"
chmod 755 "$WORK"

FAKE_PID="" pids=()
cleanup() {
  local p
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$FAKE_PID" ] && kill -QUIT "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  "$ROOT/scripts/services.sh" stop "$WORK/svc" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# kB of VmRSS or VmHWM of a process
kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# CPU seconds (user + system, all threads) of a process; of PostgreSQL (the
# postmaster and every backend)
HZ="$(getconf CLK_TCK)"
cpu_s() { awk -v hz="$HZ" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
cpu_pg() {
  local pm
  pm="$(head -1 "$WORK/svc/pg/postmaster.pid")"
  # shellcheck disable=SC2046
  (cd /proc && cat $(printf '%s/stat ' "$pm" $(cat "/proc/$pm/task/$pm/children"))) 2>/dev/null |
    awk -v hz="$HZ" '{t += $14 + $15} END {printf "%.1f", t / hz}'
}

# ---------------------------------------------------------------- data
# shellcheck source=bench/lib/schedule.sh
. "$ROOT/bench/lib/schedule.sh"
bench_schedule_data "$ROOT" "$ANCHORS" "$WORK"
if [ ! -f "$WORK/bumped.txt" ]; then
  log "second version of the files: runtime + 1 for every episode of $BUMP_DAYS days"
  python3 "$ROOT/bench/schedule_bump.py" "$WORK/schedule" "$WORK/schedule2" "$START" "$BUMP_DAYS" >"$WORK/bumped.txt"
fi
ln -sfn "$WORK/schedule" "$WORK/served"

log "starting PostgreSQL, Redis, nginx"
"$ROOT/scripts/services.sh" start "$WORK/svc" >/dev/null
# shellcheck disable=SC1091
. "$WORK/svc/env"
BASE="${DATABASE_URL%/*}"
# Commit times of the change rows (pg_xact_commit_timestamp), the second
# reference of the latencies: a restart-only setting.
if [ "$(psql "$BASE/postgres" -XAtc "SHOW track_commit_timestamp")" != on ]; then
  psql "$BASE/postgres" -qXc "ALTER SYSTEM SET track_commit_timestamp = on"
  "$ROOT/scripts/services.sh" pg-stop "$WORK/svc"
  "$ROOT/scripts/services.sh" pg-start "$WORK/svc"
fi
psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS bench_changes" -c "CREATE DATABASE bench_changes"
DB="$BASE/bench_changes"
bench_schedule_nginx "$WORK" "$WORK/served"
pids+=("$FAKE_PID")
FAKE_PID=""

# ---------------------------------------------------------------- server
GRPC_PORT="$(free_port)" HTTP_PORT="$(free_port)"
DATABASE_URL="$DB" REDIS_URL="$REDIS_URL" TVMAZE_API_URL="http://127.0.0.1:$FAKE_PORT" \
  TVMAZE_COUNTRIES="$COUNTRIES" TVMAZE_INGEST_AT=off TVMAZE_RATE_LIMIT=100000/1 \
  TVMAZE_GRPC_ADDR="127.0.0.1:$GRPC_PORT" LOG_LEVEL=warn \
  "$SERVER" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
pids+=("$SERVER_PID")
export TVMAZE_GRPC_TARGET="127.0.0.1:$GRPC_PORT"
for _ in $(seq 100); do "$CLI" health >/dev/null 2>&1 && break; sleep 0.1; done
# Keys (docs/api.md "Keys"): ingest scope for the CLI and the gateway's own
# key; read scope for the subscribers (their WatchChanges calls and the
# gateway's calls on their behalf).
TVMAZE_API_KEY="$("$SERVER" --database-url "$DB" keys create --name "bench-changes-ingest-$$" --tier premium --scope ingest)"
export TVMAZE_API_KEY
READ_KEY="$("$SERVER" --database-url "$DB" keys create --name "bench-changes-read-$$" --tier premium --scope read)"

ingest() { # NAME: one run of all 90 days; prints its seconds (started_at .. finished_at)
  "$CLI" --timeout 60000 ingest start --start-date "$START" --days 90 --wait >"$WORK/run-$1.txt"
  psql "$DB" -XAtc "SELECT extract(epoch FROM finished_at - started_at) FROM ingest_runs ORDER BY id DESC LIMIT 1"
}
log "first load ($EPISODES episodes)"
T_FIRST="$(ingest first)"

# ---------------------------------------------------------------- gateway
env REDIS_URL="$REDIS_URL" API_USERNAME=bench API_PASSWORD=bench-secret \
  TVMAZE_HTTP_ADDR="127.0.0.1:$HTTP_PORT" TVMAZE_GRPC_TARGET="127.0.0.1:$GRPC_PORT" \
  TVMAZE_RATE_IP_LIMIT=100000000 TVMAZE_HTTP_PER_IP_CONNECTIONS=0 TVMAZE_API_KEY="$TVMAZE_API_KEY" \
  LOG_LEVEL=warn "$GATEWAY" >"$WORK/gateway.log" 2>&1 &
GATEWAY_PID=$!
pids+=("$GATEWAY_PID")
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/up" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/up" || { echo "gateway did not start" >&2; exit 1; }
sleep 2
S_RSS0=$(kb "$SERVER_PID" VmRSS) S_HWM0=$(kb "$SERVER_PID" VmHWM)
G_RSS0=$(kb "$GATEWAY_PID" VmRSS) G_HWM0=$(kb "$GATEWAY_PID" VmHWM)

# ---------------------------------------------------------------- subscribers
V0="$(psql "$DB" -XAtc "SELECT coalesce(max(version), 0) FROM changes")"
STOP="$WORK/stop.txt"
rm -f "$STOP" "$WORK"/ready-*
log "subscribers from version $V0: $GRPC_STREAMS gRPC ($GRPC_CHANNELS channels), $SSE_STREAMS SSE, $LISTENERS LISTEN"
"$BUILD/bench/tvmaze-feed-listen" --db "$DB" --listeners "$LISTENERS" --after "$V0" --stop "$STOP" \
  --ready "$WORK/ready-listen" --timeout "$TIMEOUT" >"$WORK/listen.out" 2>"$WORK/listen.err" &
L_PID=$!
"$BUILD/bench/tvmaze-feed-grpc" --target "127.0.0.1:$GRPC_PORT" --key "$READ_KEY" --streams "$GRPC_STREAMS" \
  --channels "$GRPC_CHANNELS" --after "$V0" --stop "$STOP" --ready "$WORK/ready-grpc" \
  --commits "$WORK/commits.txt" --timeout "$TIMEOUT" >"$WORK/grpc.out" 2>"$WORK/grpc.err" &
G_PID=$!
"$BUILD/bench/tvmaze-feed-sse" --url "http://127.0.0.1:$HTTP_PORT" --key "$READ_KEY" --streams "$SSE_STREAMS" \
  --after "$V0" --stop "$STOP" --ready "$WORK/ready-sse" --commits "$WORK/commits.txt" --timeout "$TIMEOUT" >"$WORK/sse.out" 2>"$WORK/sse.err" &
E_PID=$!
pids+=("$L_PID" "$G_PID" "$E_PID")
t_ready=0
until [ -f "$WORK/ready-listen" ] && [ -f "$WORK/ready-grpc" ] && [ -f "$WORK/ready-sse" ]; do
  if [ "$t_ready" -ge $((READY_TIMEOUT * 10)) ]; then
    echo "subscribers not all connected after ${READY_TIMEOUT}s: $(cd "$WORK" && find . -maxdepth 1 -name 'ready-*' -printf '%f ')" >&2
    cat "$WORK"/*.err >&2
    exit 1
  fi
  sleep 0.1
  t_ready=$((t_ready + 1))
done
log "all subscribers connected after $((t_ready / 10)) s"
sleep 3 # let every stream settle (first heartbeats, gateway catch-up pages)
S_RSS1=$(kb "$SERVER_PID" VmRSS) G_RSS1=$(kb "$GATEWAY_PID" VmRSS)
# the load balancer's view while the streams are open: /up every second
# until the delivery ends, one status a line (000: no answer within 5 s)
up_probe() {
  while :; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 "http://127.0.0.1:$HTTP_PORT/up" || true
    sleep 1
  done
}
up_probe >"$WORK/up.txt" 2>/dev/null &
UP_PID=$!
pids+=("$UP_PID")

# ---------------------------------------------------------------- re-ingest
ln -sfn "$WORK/schedule2" "$WORK/served"
C_S0=$(cpu_s "$SERVER_PID") C_G0=$(cpu_s "$GATEWAY_PID") C_P0=$(cpu_pg)
log "re-ingest with $(cat "$WORK/bumped.txt") episodes changed"
RE_START="$(date +%s.%N)"
T_RE="$(ingest rerun)"
FINAL="$(psql "$DB" -XAtc "SELECT coalesce(max(version), 0) FROM changes")"
# transactions by xmin: since migration 015 every record has its own
# changed_at (clock_timestamp()), so changed_at no longer groups them
read -r EXPECTED TXNS < <(psql "$DB" -XAtF' ' -c "SELECT count(*), count(DISTINCT xmin::text) FROM changes WHERE version > $V0")
# each record's changed_at and its transaction's commit time (µs), for the clients
psql "$DB" -XAtF' ' -c "SELECT DISTINCT (extract(epoch FROM changed_at) * 1000000)::bigint,
  (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint FROM changes WHERE version > $V0" >"$WORK/commits.txt"
COMMIT_LAG="$(psql "$DB" -XAtc "SELECT round(avg(ms)::numeric, 1) || ' / ' || round(max(ms)::numeric, 1) FROM (SELECT DISTINCT changed_at,
  extract(epoch FROM pg_xact_commit_timestamp(xmin) - changed_at) * 1000 AS ms FROM changes WHERE version > $V0) t")"
printf '%s %s\n' "$FINAL" "$EXPECTED" >"$STOP.tmp"
mv "$STOP.tmp" "$STOP"
log "re-ingest done in $T_RE s: $EXPECTED changes in $TXNS transactions, final version $FINAL; waiting for the subscribers"
for p in "$L_PID" "$G_PID" "$E_PID"; do wait "$p" || true; done
kill "$UP_PID" 2>/dev/null || true
# one snapshot of the complete lines: a curl still running may append one more
UP_ALL=$(wc -l <"$WORK/up.txt")
UP_OK=$(head -n "$UP_ALL" "$WORK/up.txt" | grep -cx 200 || true)
S_RSS2=$(kb "$SERVER_PID" VmRSS) S_HWM2=$(kb "$SERVER_PID" VmHWM)
G_RSS2=$(kb "$GATEWAY_PID" VmRSS) G_HWM2=$(kb "$GATEWAY_PID" VmHWM)
DELIVERED_AT="$(date +%s.%N)"
C_S=$(awk -v a="$(cpu_s "$SERVER_PID")" -v b="$C_S0" 'BEGIN {printf "%.1f", a - b}')
C_G=$(awk -v a="$(cpu_s "$GATEWAY_PID")" -v b="$C_G0" 'BEGIN {printf "%.1f", a - b}')
C_P=$(awk -v a="$(cpu_pg)" -v b="$C_P0" 'BEGIN {printf "%.1f", a - b}')
RUN_END="$(psql "$DB" -XAtc "SELECT extract(epoch FROM finished_at) FROM ingest_runs ORDER BY id DESC LIMIT 1")"

# ---------------------------------------------------------------- summary
f() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" "$WORK/$1.out"; } # FILE FIELD
row() { # NAME FILE
  echo "| $1 | $(f "$2" subscribers) | $(f "$2" complete) | $(f "$2" messages) | $(f "$2" expected) | $(f "$2" disorder) / $(f "$2" dups) | $(f "$2" reconnects) | $(f "$2" p50_ms) | $(f "$2" p99_ms) | $(f "$2" max_ms) | $(f "$2" c_p50_ms) | $(f "$2" c_p99_ms) | $(f "$2" c_max_ms) | $(f "$2" timed_out) |"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else printf "?"}'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN {print (a + 0 <= b + 0) ? "met" : "MISSED"}'; }
per_sub() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (a - b) / n}'; } # KiB per subscriber
mib() { awk -v a="$1" 'BEGIN {printf "%.1f", a / 1024}'; }
delivered() { # every subscriber complete, none timed out
  [ "$(f "$1" complete)" = "$(f "$1" subscribers)" ] && [ "$(f "$1" timed_out)" = 0 ] && echo yes || echo NO
}
GP99="$(f grpc p99_ms)" EP99="$(f sse p99_ms)" LP99="$(f listen p99_ms)"
GC99="$(f grpc c_p99_ms)" EC99="$(f sse c_p99_ms)" LC99="$(f listen c_p99_ms)"
S_PER="$(per_sub "$S_RSS1" "$S_RSS0" "$GRPC_STREAMS")" G_PER="$(per_sub "$G_RSS1" "$G_RSS0" "$SSE_STREAMS")"
{
  echo "## bench/changes.sh $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) CPUs shared with other work)"
  echo
  echo "first load $T_FIRST s; re-ingest $T_RE s: $(cat "$WORK/bumped.txt") episodes bumped, $EXPECTED changes above version $V0 in $TXNS transactions (final $FINAL)."
  echo "Last subscriber done $(awk -v a="$DELIVERED_AT" -v b="$RUN_END" 'BEGIN {printf "%.1f", a - b}') s after the run's finished_at."
  echo
  echo "| subscribers | n | complete | messages | expected each | disorder / dups | reconnects | p50 ms | p99 ms | max ms | from commit: p50 ms | p99 ms | max ms | timed out |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  row "gRPC WatchChanges (server)" grpc
  row "SSE /api/v1/changes/stream (gateway)" sse
  row "anchor: LISTEN tvmaze_generation (one per transaction)" listen
  echo
  echo "Latency = receive time - changed_at. changed_at is clock_timestamp() of the writer's last"
  echo "statement before COMMIT (migration 015), so each figure includes that COMMIT, the anchor's"
  echo "the same way (its reference is changed_at of the notified version). Commit - changed_at of"
  echo "the run's records, mean / max: $COMMIT_LAG ms."
  echo "\"from commit\": receive time - pg_xact_commit_timestamp of the change's row"
  echo "(track_commit_timestamp = on), the delivery itself."
  echo
  echo "| process | VmRSS before | VmRSS connected (idle) | per subscriber | VmRSS / VmHWM after delivery |"
  echo "|---|---:|---:|---:|---:|"
  echo "| tvmaze-server ($GRPC_STREAMS gRPC streams + the gateway's follower) | $(mib "$S_RSS0") MiB (HWM $(mib "$S_HWM0"), first load) | $(mib "$S_RSS1") MiB | $S_PER KiB | $(mib "$S_RSS2") / $(mib "$S_HWM2") MiB |"
  echo "| tvmaze-gateway ($SSE_STREAMS SSE streams) | $(mib "$G_RSS0") MiB (HWM $(mib "$G_HWM0")) | $(mib "$G_RSS1") MiB | $G_PER KiB | $(mib "$G_RSS2") / $(mib "$G_HWM2") MiB |"
  echo
  echo "CPU seconds from the re-ingest's start to the last delivery: tvmaze-server $C_S, tvmaze-gateway $C_G,"
  echo "PostgreSQL $C_P, clients (whole run) gRPC $(f grpc cpu_s), SSE $(f sse cpu_s), LISTEN $(f listen cpu_s);"
  echo "wall $(awk -v a="$DELIVERED_AT" -v b="$RE_START" 'BEGIN {printf "%.1f", a - b}') s."
  echo
  echo "| goal | value | verdict |"
  echo "|---|---|---|"
  echo "| every gRPC subscriber got every change once, in order | $(f grpc complete) of $(f grpc subscribers) | $(delivered grpc) |"
  echo "| every SSE subscriber got every change once, in order | $(f sse complete) of $(f sse subscribers) | $(delivered sse) |"
  echo "| every listener got every notification once, in order | $(f listen complete) of $(f listen subscribers) | $(delivered listen) |"
  echo "| gRPC p99 / anchor p99 <= 1 | $GP99 / $LP99 ms = $(ratio "$GP99" "$LP99") | $(verdict "$GP99" "$LP99") |"
  echo "| SSE p99 / anchor p99 <= 1 | $EP99 / $LP99 ms = $(ratio "$EP99" "$LP99") | $(verdict "$EP99" "$LP99") |"
  echo "| gRPC p99 / anchor p99 from commit <= 1 | $GC99 / $LC99 ms = $(ratio "$GC99" "$LC99") | $(verdict "$GC99" "$LC99") |"
  echo "| SSE p99 / anchor p99 from commit <= 1 | $EC99 / $LC99 ms = $(ratio "$EC99" "$LC99") | $(verdict "$EC99" "$LC99") |"
  echo "| gateway /up answers 200 while the streams are open (every second) | $UP_OK of $UP_ALL | $([ "$UP_OK" = "$UP_ALL" ] && [ "$UP_ALL" -gt 0 ] && echo met || echo MISSED) |"
  echo "| server growth < 16 KiB per subscriber | $S_PER KiB | $(verdict "$S_PER" 16) |"
  echo "| gateway growth < 16 KiB per subscriber | $G_PER KiB | $(verdict "$G_PER" 16) |"
  echo "| server VmHWM < 64 MiB | $(mib "$S_HWM2") MiB | $(verdict "$(mib "$S_HWM2")" 64) |"
  echo "| gateway VmHWM < 64 MiB | $(mib "$G_HWM2") MiB | $(verdict "$(mib "$G_HWM2")" 64) |"
  echo
  echo "raw logs: $WORK (grpc/sse/listen .out/.err, server.log, gateway.log, run-*.txt)"
} | tee "$WORK/summary.md"
