#!/usr/bin/env bash
# bench/http.sh: REST gateway benchmark (not a test; see docs/gateway.md
# "Benchmark"). Runs the anchors' bench-http.sh (wrk -t2 -c32 --latency, 5 s
# warm-up, Node peer 1 and 2 workers, nginx serving the peer's body) with our
# gateway measured beside them in the same rounds (EXTRA_URLS/EXTRA_PIDS):
#   gw_warm     /api/v1/tv_shows (14-day US window, page 1, 20 per page)
#               through gateway (response cache on, default 5 s TTL) ->
#               server with REDIS_URL (query cache warm);
#   gw_nocache  the same through a second gateway (TVMAZE_RESPONSE_CACHE_TTL=0)
#               -> server without REDIS_URL: every request reaches PostgreSQL;
#   gw_up       GET /up of the first gateway (health check: one gRPC call);
#   gw_warm_otel  as gw_warm through a third stack traced the default way
#               (OTEL_EXPORTER_OTLP_ENDPOINT on server and gateway: parent-
#               based 10 %) to bench/lib/otlp_sink.sh's nginx, both /metrics
#               scraped once a second; ratio gw_warm_otel / gw_warm (median
#               of the rounds) and the gateways' VmHWM difference (issue 17:
#               within 5 %, memory within 4 MiB).
# Both gateways keep their Redis rate-limit counters (as in production, with
# a limit high enough not to trip), LOG_LEVEL=warn (nginx: access_log off).
# Data: the anchors' data set in our schema and theirs, one private
# PostgreSQL (bench/lib/anchor_data.sh) that the peer and our server share.
# wrk and curl reach the gateway with Basic credentials through PATH shims
# that add them only for the gateway's URLs (bench-http.sh sends none).
# Knobs: WRK_D (10s), ROUNDS (3), QUIET_MAX (15), ANCHORS, BUILD (build).
# Prints a summary (also in $W/summary.md); raw logs stay in $W.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="$(cd "${ANCHORS:-$root/../shared/anchors}" && pwd)"
BUILD="${BUILD:-$root/build}"
W="${BENCH_DIR:-$(mktemp -d /tmp/tvmaze-bench-http.XXXXXX)}"
SERVER="$BUILD/server/tvmaze-server" GATEWAY="$BUILD/gateway/tvmaze-gateway"
mkdir -p "$W"
chmod 755 "$W"
for b in "$SERVER" "$GATEWAY"; do [ -x "$b" ] || { echo "build first: $b" >&2; exit 1; }; done
for c in wrk nginx node curl jq bc; do
  command -v "$c" >/dev/null || { echo "missing $c (scripts/bootstrap.sh)" >&2; exit 1; }
done

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$root/scripts/services.sh" stop "$W/svc" >/dev/null 2>&1 || true
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- data
# shellcheck source=bench/lib/anchor_data.sh
. "$root/bench/lib/anchor_data.sh"
bench_anchor_data "$root" "$ANCHORS" "$SERVER" "$W"

# ---------------------------------------------------------------- our stack
USER_PW=bench:bench-secret
# the gateway's own key (scope ingest): Basic callers act with it on the server
GW_KEY="$("$SERVER" --database-url "$OURS" keys create --name "bench-gw-$$" --tier premium --scope ingest)"
start_bg() { # LOG cmd...: start in the background, pid appended to pids
  local logf=$1
  shift
  "$@" >"$W/$logf.log" 2>&1 &
  pids+=($!)
}
# start_stack NAME REDIS_URL|"" RESPONSE_CACHE_TTL [VAR=VALUE...]: server +
# gateway, the VAR=VALUEs given to both; sets STACK_PORT (the gateway's) and
# STACK_METRICS (the server's metrics address).
start_stack() {
  local name=$1 redis=$2 ttl=$3 gp hp
  gp="$(free_port)" hp="$(free_port)" STACK_METRICS="127.0.0.1:$(free_port)"
  local sr=(-u REDIS_URL)
  [ -n "$redis" ] && sr=(REDIS_URL="$redis")
  start_bg "server_$name" env "${sr[@]}" DATABASE_URL="$OURS" TVMAZE_INGEST_AT=off LOG_LEVEL=warn \
    TVMAZE_GRPC_ADDR="127.0.0.1:$gp" TVMAZE_METRICS_ADDR="$STACK_METRICS" "${@:4}" "$SERVER" serve
  start_bg "gateway_$name" env REDIS_URL="$REDIS_URL" API_USERNAME="${USER_PW%%:*}" \
    API_PASSWORD="${USER_PW#*:}" TVMAZE_HTTP_ADDR="127.0.0.1:$hp" TVMAZE_GRPC_TARGET="127.0.0.1:$gp" \
    TVMAZE_RATE_IP_LIMIT=100000000 TVMAZE_RESPONSE_CACHE_TTL="$ttl" TVMAZE_API_KEY="$GW_KEY" \
    LOG_LEVEL=warn "${@:4}" "$GATEWAY"
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$hp/up" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "http://127.0.0.1:$hp/up" || { echo "$name stack did not start" >&2; exit 1; }
  STACK_PORT=$hp
}
start_stack warm "$REDIS_URL" 5
port_warm=$STACK_PORT
start_stack nocache "" 0
port_nocache=$STACK_PORT
# shellcheck source=bench/lib/otlp_sink.sh
. "$root/bench/lib/otlp_sink.sh"
otlp_sink_start "$W/otlp"
pids+=("$OTLP_PID")
start_stack otel "$REDIS_URL" 5 OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT"
port_otel=$STACK_PORT
otel_server_pid=${pids[-2]} otel_gateway_pid=${pids[-1]}
otel_server_metrics="http://$STACK_METRICS/metrics"
scrape_every_second "http://127.0.0.1:$port_otel/metrics" "$otel_gateway_pid" "$W/scrapes_gateway" &
scrape_every_second "$otel_server_metrics" "$otel_server_pid" "$W/scrapes_server" &
Q="/api/v1/tv_shows?date_from=2025-06-16&date_to=2025-06-29&country=US&page=1&per_page=20"
WARM_URL="http://127.0.0.1:$port_warm$Q" NOCACHE_URL="http://127.0.0.1:$port_nocache$Q"
OTEL_URL="http://127.0.0.1:$port_otel$Q"
UP_URL="http://127.0.0.1:$port_warm/up"
GW_PREFIXES="http://127.0.0.1:$port_warm/api http://127.0.0.1:$port_nocache/api http://127.0.0.1:$port_otel/api"

# PATH shims: Basic credentials for the gateways' /api URLs only.
mkdir -p "$W/bin"
AUTH_B64="$(printf %s "$USER_PW" | base64)"
shim() { # TOOL CREDENTIAL-ARGS
  cat >"$W/bin/$1" <<SHIM
#!/usr/bin/env bash
for a in "\$@"; do
  for p in $GW_PREFIXES; do
    case "\$a" in "\$p"*) exec $(command -v "$1") $2 "\$@" ;; esac
  done
done
exec $(command -v "$1") "\$@"
SHIM
  chmod +x "$W/bin/$1"
}
shim wrk "-H 'Authorization: Basic $AUTH_B64'"
shim curl "-u '$USER_PW'"
PATH="$W/bin:$PATH" curl -sf -o "$W/gw_body.json" "$WARM_URL" || { echo "gateway listing failed" >&2; exit 1; }
PATH="$W/bin:$PATH" curl -sf -o /dev/null "$NOCACHE_URL" || { echo "gateway listing failed" >&2; exit 1; }
PATH="$W/bin:$PATH" curl -sf -o "$W/gw_body_otel.json" "$OTEL_URL" || { echo "gateway listing failed" >&2; exit 1; }
cmp -s "$W/gw_body.json" "$W/gw_body_otel.json" || { echo "traced gateway's body differs" >&2; exit 1; }
log "gateway body: $(stat -c %s "$W/gw_body.json") bytes, $(jq '.shows | length' "$W/gw_body.json") shows, pagination $(jq -c .pagination "$W/gw_body.json")"

# ---------------------------------------------------------------- anchors + ours
log "anchors' bench-http.sh with gw_warm, gw_warm_otel, gw_nocache, gw_up"
mkdir -p "$W/anchors"
# The peer reads ../sql/listing.sql next to its folder; its node_modules are
# kept across runs (npm ci once).
PEER_HOME="${PEER_HOME:-/tmp/tvmaze-bench-peer}"
mkdir -p "$PEER_HOME"
ln -sfn "$ANCHORS/sql" "$PEER_HOME/sql"
PATH="$W/bin:$PATH" WORK="$W/anchors" RESULTS="$W/results" PGPORT="$TVMAZE_PG_PORT" PGDATABASE=anchor \
  PGDATA_DIR="$W/svc/pg" NGINX_PORT="$(free_port)" PEER_PORT="$(free_port)" \
  PEER_DIR="$PEER_HOME/peer-node" \
  WRK_D="${WRK_D:-10s}" ROUNDS="${ROUNDS:-3}" QUIET_MAX="${QUIET_MAX:-15}" \
  EXTRA_URLS="gw_warm=$WARM_URL gw_warm_otel=$OTEL_URL gw_nocache=$NOCACHE_URL gw_up=$UP_URL" \
  EXTRA_PIDS="${pids[*]}" \
  bash "$ANCHORS/bench-http.sh"

rss() { awk -v k="$2:" '$1 == k {print int($2 / 1024)}' "/proc/$1/status"; }
gw_rss_warm="$(rss "${pids[1]}" VmRSS)/$(rss "${pids[1]}" VmHWM)"
gw_rss_nocache="$(rss "${pids[3]}" VmRSS)/$(rss "${pids[3]}" VmHWM)"
srv_rss="$(rss "${pids[0]}" VmHWM)/$(rss "${pids[2]}" VmHWM)"
gw_hwm_warm_kib="$(awk '$1 == "VmHWM:" {print $2}' "/proc/${pids[1]}/status")"
gw_hwm_otel_kib="$(awk '$1 == "VmHWM:" {print $2}' "/proc/$otel_gateway_pid/status")"
srv_hwm_otel="$(rss "$otel_server_pid" VmHWM)"
# spans the traced stack's exporters had accepted (sum over the sample lines)
spans() { awk -v n="tvmaze_otel_spans_$2_total" 'index($1, n) == 1 {v += $2} END {printf "%d\n", v}' <(curl -s "$1"); }
spans_gw="$(spans "http://127.0.0.1:$port_otel/metrics" exported)/$(spans "http://127.0.0.1:$port_otel/metrics" dropped)"
spans_srv="$(spans "$otel_server_metrics" exported)/$(spans "$otel_server_metrics" dropped)"

# ---------------------------------------------------------------- summary
# field RUN KEY [ROUND]: one figure of bench-http.sh's results (round 1 by default)
field() { sed -n "s/.*[[:space:]]$2=\([0-9.]*\).*/\1/p" <(grep "^$1_r${3:-1}[[:space:]]" "$W/results/http.tsv"); }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
# shellcheck source=bench/lib/stats.sh
. "$root/bench/lib/stats.sh"
median2() { printf '%.3f\n' "$(median "$@")"; }
OTEL_RATIOS=()
for r in $(seq "${ROUNDS:-3}"); do
  OTEL_RATIOS+=("$(python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) / float(sys.argv[2])))" \
    "$(field gw_warm_otel req_s "$r")" "$(field gw_warm req_s "$r")")")
done
{
  echo "## bench/http.sh $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) CPUs shared with other work; wrk -t2 -c32 -d${WRK_D:-10s}, ${ROUNDS:-3} rounds; the table shows round 1)"
  echo
  echo "| run | req/s | p50 ms | p99 ms | non-2xx |"
  echo "|---|---:|---:|---:|---:|"
  for n in peer1 peer2 nginx gw_warm gw_warm_otel gw_nocache gw_up; do
    echo "| $n | $(field $n req_s) | $(field $n p50_ms) | $(field $n p99_ms) | $(field $n non2xx) |"
  done
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| gw_warm / nginx | $(ratio "$(field gw_warm req_s)" "$(field nginx req_s)") | >= 0.5 (p99 < 10 ms) |"
  echo "| gw_nocache / peer1 | $(ratio "$(field gw_nocache req_s)" "$(field peer1 req_s)") | >= 2 |"
  echo "| gw_nocache / peer2 | $(ratio "$(field gw_nocache req_s)" "$(field peer2 req_s)") | |"
  echo "| gw_warm_otel / gw_warm (median of the rounds: ${OTEL_RATIOS[*]}) | $(median2 "${OTEL_RATIOS[@]}") | >= 0.95 |"
  echo "| gateway VmHWM, traced - plain (warm) | $(((gw_hwm_otel_kib - gw_hwm_warm_kib) / 1024)) MiB ($gw_hwm_otel_kib - $gw_hwm_warm_kib KiB) | <= 4 MiB |"
  echo
  echo "gateway RSS/HWM MiB: warm $gw_rss_warm, nocache $gw_rss_nocache (goal < 32); server HWM MiB warm/nocache: $srv_rss"
  echo "traced stack: server HWM $srv_hwm_otel MiB; spans exported/dropped: gateway $spans_gw, server $spans_srv; $(otlp_sink_posts "$W/otlp") POSTs; scrapes gateway/server $(wc -l <"$W/scrapes_gateway")/$(wc -l <"$W/scrapes_server")"
  echo "gateway body $(stat -c %s "$W/gw_body.json") bytes (peer: $(sed -n 's/^body_bytes: //p' "$W/results/response.txt"))"
  echo
  echo "CPU (s) per run (server = our 2 gateways + 2 servers for gw_*):"
  echo
  echo "| run | wall | server | pg | wrk | foreign | busy% | foreign% |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  grep -v warmup "$W/results/cpu.tsv" | awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n",$1,$2,$3,$4,$5,$6,$7,$8}'
  echo
  echo "raw logs: $W"
} | tee "$W/summary.md"
