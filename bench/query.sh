#!/usr/bin/env bash
# bench/query.sh: read-side benchmark (not a test; see docs/query.md "Benchmark").
#
# 1. Data: ../shared/anchors/gen_data.py (seed 20250602: 8,000 shows,
#    35,000 episodes 2025-06-02..2025-08-30), loaded into OUR schema by
#    bench/load_anchor_data.sql (COPY + INSERT ... SELECT conversion), and
#    into the anchors' schema (their sql/schema.sql, COPY) in a second
#    database of the same private PostgreSQL (scripts/services.sh: default
#    settings, like the anchors' cluster); bench/lib/anchor_data.sh, shared
#    with bench/http.sh.
# 2. pgbench (-c 4 -j 2, BENCH_T s each):
#      ours_listshows  our ListShows SQL exactly as the server prepares it
#                      (the text of store_shows.c's shows_page for the country
#                      filter and shows_episodes, printed by tvmaze-sql-of;
#                      one transaction = both statements), -M prepared;
#      anchor_q14_us   the anchors' sql/listing.sql with their bench-query.sh
#                      substitutions (q14_us: -M extended, bind variables).
#    Parameters: 14-day US window 2025-06-16..2025-06-29, 20 per page, page 1.
# 3. h2load against the real tvmaze-server (TVMAZE_WORKERS=4: 4 database
#    connections, as pgbench -c 4), 4 connections x
#    16 streams = 64 concurrent streams, BENCH_T s after a 256-request warm-up:
#      listshows_nocache  no REDIS_URL, ROUNDS times (default 3), each round
#                         followed by pgbench of our SQL again: a round's
#                         ratio is its rate over the mean of the pgbench runs
#                         before and after it, and the ratio reported is the
#                         median of the rounds' (the box is shared and drifts);
#      listshows_cached   REDIS_URL set
#                         (local layer + Redis, the default);
#      getshow            GetShow of the first show of that page (cached);
#      listshows_redis_only  REDIS_URL set, TVMAZE_LOCAL_CACHE_MB=0.
#    With observability on (issue 17): after those rounds, OTEL_PAIRS
#    (default 6) pairs of OTEL_T s (default 5) runs, in alternating order,
#    of the same uncached server (listshows_plain: its metrics listener on,
#    unscraped, no endpoint) and a second one traced the default way
#    (listshows_otel: OTEL_EXPORTER_OTLP_ENDPOINT set, parent-based 10 %) to
#    bench/lib/otlp_sink.sh's nginx, its /metrics scraped once a second.
#    Reported: the median of the pairs' traced/plain ratios, spans exported
#    and dropped, VmHWM of both (goal: within 5 %, memory within 4 MiB).
#    Time zones (issue 16): then as many pairs, in the same way, of the
#    plain listing and the same listing with tz=Asia/Tokyo (local dates: an
#    airstamp range) on the untraced server; goal: tz within 1.2x.
#    Request bodies are gRPC frames (5-byte prefix + serialized request).
#    Each run is checked: h2load's DATA bytes = succeeded x reply frame size
#    (the reply fetched once with nghttp -v, whose trailers must carry
#    grpc-status: 0). Server RSS: VmHWM of the process after its runs.
# Prints a summary table; raw logs stay in $BENCH_DIR (default mktemp).
# Knobs: BENCH_T (default 10), ROUNDS, OTEL_PAIRS, OTEL_T, ANCHORS (../shared/anchors), BUILD (build).
# shellcheck disable=SC2016  # sed patterns below match a literal $n
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="$(cd "${ANCHORS:-$root/../shared/anchors}" && pwd)"
BUILD="${BUILD:-$root/build}"
BENCH_T="${BENCH_T:-10}"
ROUNDS="${ROUNDS:-3}"
OTEL_PAIRS="${OTEL_PAIRS:-6}"
OTEL_T="${OTEL_T:-5}"
for knob in ROUNDS OTEL_PAIRS OTEL_T BENCH_T; do
  case "${!knob}" in ''|*[!0-9]*|0*) echo "bench/query.sh: $knob must be a positive integer, got \"${!knob}\"" >&2; exit 2 ;; esac
done
W="${BENCH_DIR:-$(mktemp -d /tmp/tvmaze-bench.XXXXXX)}"
SERVER="$BUILD/server/tvmaze-server"
D1=2025-06-16 D2=2025-06-29
chmod 755 "$W"
[ -x "$SERVER" ] || { echo "build first: $SERVER" >&2; exit 1; }

server_pid="" other_pids=()
cleanup() {
  local p
  for p in $server_pid "${other_pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" || true
      wait "$p" 2>/dev/null || true
    fi
  done
  bash "$root/scripts/services.sh" stop "$W/svc" >/dev/null 2>&1 || true
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- data
# shellcheck source=bench/lib/h2grpc.sh
. "$root/bench/lib/h2grpc.sh"
# shellcheck source=bench/lib/anchor_data.sh
. "$root/bench/lib/anchor_data.sh"
bench_anchor_data "$root" "$ANCHORS" "$SERVER" "$W"

# ---------------------------------------------------------------- pgbench
SQL_OF="$BUILD/bench/tvmaze-sql-of"
page_sql="$("$SQL_OF" shows_page country)"
eps_sql="$("$SQL_OF" shows_episodes)"
# The ids of page 1 (what the server passes to the second statement).
ids="$("${PSQL[@]}" -At "$OURS" -c "PREPARE p AS $page_sql" \
  -c "EXECUTE p('$D1','$D2',20,0,'US')" | cut -d'|' -f3 | paste -sd, -)"
first_id="${ids%%,*}"
subst() { # $1..$5 of shows_page (country filter) -> pgbench variables
  sed -e 's/\$5/:country/g' -e 's/\$4/:off/g' -e 's/\$3/:lim/g' -e 's/\$2/:d2/g' -e 's/\$1/:d1/g'
}
{
  echo '\set lim 20'
  echo '\set off 0'
  echo "$page_sql;" | subst
  echo "$eps_sql;" | sed -e 's/\$3/:d2/g' -e 's/\$2/:d1/g' -e 's/\$1/:ids/g'
} >"$W/ours.sql"
{
  echo '\set lim 20'
  echo '\set off 0'
  grep -v '^--' "$ANCHORS/sql/listing.sql" |
    sed -e 's/\$1::date/:d1::date/g' -e 's/\$2::date/:d2::date/g' -e 's/\$3::text/:country::text/g' \
      -e 's/\$4::numeric/NULL::numeric/g' -e 's/\$5::text/NULL::text/g' \
      -e 's/\$6::int/:lim::int/g' -e 's/\$7::int/:off::int/g'
  echo ';'
} >"$W/anchor.sql"
PB=(pgbench -n -c 4 -j 2 -T "$BENCH_T" -D d1="$D1" -D d2="$D2" -D country=US)
tps() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1"; }
log "pgbench ours (-M prepared)"
pgbench -n -c 2 -j 2 -T 2 -M prepared -D d1="$D1" -D d2="$D2" -D country=US -D ids="{$ids}" \
  -f "$W/ours.sql" "$OURS" >/dev/null 2>&1 # warm-up
pgbench_ours() { "${PB[@]}" -M prepared -D ids="{$ids}" -f "$W/ours.sql" "$OURS" >"$W/$1" 2>&1; }
pgbench_ours pgbench_ours.log
log "pgbench anchor (-M extended, as bench-query.sh q14_us)"
pgbench -n -c 2 -j 2 -T 2 -M extended -D d1="$D1" -D d2="$D2" -D country=US \
  -f "$W/anchor.sql" "$ANCHOR" >/dev/null 2>&1
"${PB[@]}" -M extended -f "$W/anchor.sql" "$ANCHOR" >"$W/pgbench_anchor.log" 2>&1
ours_tps="$(tps "$W/pgbench_ours.log")"
anchor_tps="$(tps "$W/pgbench_anchor.log")"

# ---------------------------------------------------------------- h2load
grpc_bodies "$W" "$D1" "$D2" "$first_id"

# An ingest-scope key, sent also as the relay key: the server checks it on
# every call (the cost measured) but does not count it against a tier, as for
# the gateway's relayed calls (a premium key's 10,000 a minute would cut the
# run short).
KEY="$("$SERVER" --database-url "$OURS" keys create --name "bench-query-$$" --tier premium --scope ingest)"
H2=(-H 'content-type: application/grpc' -H 'te: trailers' -H "x-api-key: $KEY" -H "x-tvmaze-relay-key: $KEY")
# shellcheck source=bench/lib/stats.sh
. "$root/bench/lib/stats.sh"
median2() { printf '%.2f\n' "$(median "$@")"; } # two decimals, as printed
log "h2load ListShows, cache off: $ROUNDS rounds, each followed by pgbench ours"
start_server server_nocache ""
PB_TPS=("$ours_tps") NOCACHE=() RATIOS=()
for r in $(seq "$ROUNDS"); do
  h2load_run "listshows_nocache_$r" ListShows "$W/listshows.bin"
  NOCACHE+=("${RPS[listshows_nocache_$r]}")
  pgbench_ours "pgbench_ours_$r.log"
  PB_TPS+=("$(tps "$W/pgbench_ours_$r.log")")
  RATIOS+=("$(python3 -c "import sys; a, b, c = map(float, sys.argv[1:]); print('%.2f' % (a / ((b + c) / 2)))" \
    "${NOCACHE[-1]}" "${PB_TPS[-2]}" "${PB_TPS[-1]}")")
  log "round $r: ${NOCACHE[-1]} req/s vs pgbench ${PB_TPS[-2]} / ${PB_TPS[-1]} tps: ${RATIOS[-1]}"
done
RPS[listshows_nocache]="$(median2 "${NOCACHE[@]}")"
ours_median="$(median2 "${PB_TPS[@]}")"

# Tracing on against the same uncached server, in pairs of short runs in
# alternating order (drift on the shared box hits both sides of a pair).
# shellcheck source=bench/lib/otlp_sink.sh
. "$root/bench/lib/otlp_sink.sh"
otlp_sink_start "$W/otlp"
other_pids+=("$OTLP_PID")
plain_pid=$server_pid plain_target=$target plain_metrics=$metrics
start_server server_otel "" 16 OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT"
otel_pid=$server_pid otel_target=$target otel_metrics=$metrics
other_pids+=("$otel_pid")
scrape_every_second "http://$otel_metrics/metrics" "$otel_pid" "$W/scrapes" &
other_pids+=($!)
# pairs A TARGET_A BODY_A B TARGET_B BODY_B: OTEL_PAIRS pairs of OTEL_T s
# ListShows runs, A and B back to back in alternating order; their rates in
# PAIR_A and PAIR_B, B / A of each pair in PAIR_RATIOS.
pairs() {
  local r run_t=$BENCH_T
  PAIR_A=() PAIR_B=() PAIR_RATIOS=()
  BENCH_T=$OTEL_T
  for r in $(seq "$OTEL_PAIRS"); do
    if [ $((r % 2)) -eq 1 ]; then
      target=$2 h2load_run "listshows_${1}_$r" ListShows "$3"
      target=$5 h2load_run "listshows_${4}_$r" ListShows "$6"
    else
      target=$5 h2load_run "listshows_${4}_$r" ListShows "$6"
      target=$2 h2load_run "listshows_${1}_$r" ListShows "$3"
    fi
    PAIR_A+=("${RPS[listshows_${1}_$r]}")
    PAIR_B+=("${RPS[listshows_${4}_$r]}")
    PAIR_RATIOS+=("$(python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) / float(sys.argv[2])))" \
      "${PAIR_B[-1]}" "${PAIR_A[-1]}")")
  done
  BENCH_T=$run_t
}
log "h2load ListShows, cache off, plain and traced: $OTEL_PAIRS pairs of ${OTEL_T} s runs"
pairs plain "$plain_target" "$W/listshows.bin" otel "$otel_target" "$W/listshows.bin"
PLAIN=("${PAIR_A[@]}") OTEL=("${PAIR_B[@]}") OTEL_RATIOS=("${PAIR_RATIOS[@]}")
# A tz listing (local dates in Asia/Tokyo: the airstamp range) against the
# plain one, same uncached server, same pairing (issue 16: within 1.2x).
log "h2load ListShows, cache off, plain and tz=Asia/Tokyo: $OTEL_PAIRS pairs of ${OTEL_T} s runs"
pairs plaintz "$plain_target" "$W/listshows.bin" tz "$plain_target" "$W/listshows_tz.bin"
TZ_PLAIN=("${PAIR_A[@]}") TZ=("${PAIR_B[@]}") TZ_RATIOS=("${PAIR_RATIOS[@]}")
server_pid=$plain_pid metrics=$plain_metrics
stop_server
hwm_nocache="$hwm"
server_pid=$otel_pid metrics=$otel_metrics
stop_server
hwm_otel="$hwm"
sum_metric() { awk -v n="$1" 'index($1, n) == 1 {v += $2} END {printf "%d\n", v}' "$W/metrics_$otel_pid.txt"; }
spans_exported="$(sum_metric tvmaze_otel_spans_exported_total)"
spans_dropped="$(sum_metric tvmaze_otel_spans_dropped_total)"
posts="$(otlp_sink_posts "$W/otlp")"
scrapes="$(wc -l <"$W/scrapes" 2>/dev/null || echo 0)"
ours_median="$(median2 "${PB_TPS[@]}")"
log "h2load ListShows and GetShow, cache on"
start_server server_cached "$REDIS_URL"
h2load_run listshows_cached ListShows "$W/listshows.bin"
h2load_run getshow GetShow "$W/getshow.bin"
stop_server
hwm_cached="$hwm"
log "h2load ListShows, Redis only (local layer off)"
start_server server_redis_only "$REDIS_URL" 0
h2load_run listshows_redis_only ListShows "$W/listshows.bin"
stop_server

# ---------------------------------------------------------------- summary
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
{
  echo "## bench/query.sh $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) CPUs, ${BENCH_T}s runs; machine shared)"
  echo
  echo "| measurement | rate |"
  echo "|---|---|"
  echo "| pgbench our ListShows SQL (2 statements, -M prepared, -c 4), before and after each uncached round | $(printf '%s / ' "${PB_TPS[@]}" | sed 's| / $||') tps (median $ours_median) |"
  echo "| pgbench anchor listing.sql q14_us (-M extended, -c 4) | $anchor_tps tps |"
  echo "| h2load ListShows, cache off (64 streams), each round | $(printf '%s / ' "${NOCACHE[@]}" | sed 's| / $||') req/s (median ${RPS[listshows_nocache]}) |"
  echo "| h2load ListShows, cache off, plain, ${OTEL_T} s runs paired with the traced ones | $(printf '%s / ' "${PLAIN[@]}" | sed 's| / $||') req/s |"
  echo "| h2load ListShows, cache off, traced (parent-based 10 %) + scraped 1/s | $(printf '%s / ' "${OTEL[@]}" | sed 's| / $||') req/s; $spans_exported spans exported in $posts POSTs, $spans_dropped dropped, $scrapes scrapes |"
  echo "| h2load ListShows, cache off, plain / tz=Asia/Tokyo, ${OTEL_T} s runs in pairs | $(printf '%s / ' "${TZ_PLAIN[@]}" | sed 's| / $||') req/s; tz: $(printf '%s / ' "${TZ[@]}" | sed 's| / $||') req/s |"
  echo "| h2load ListShows, cache on (local layer + Redis, the default) | ${RPS[listshows_cached]} req/s |"
  echo "| h2load ListShows, Redis only (TVMAZE_LOCAL_CACHE_MB=0) | ${RPS[listshows_redis_only]} req/s |"
  echo "| h2load GetShow, cache on | ${RPS[getshow]} req/s |"
  echo
  echo "| ratio | value | goal |"
  echo "|---|---|---|"
  echo "| uncached / pgbench ours (median of the rounds: $(printf '%s ' "${RATIOS[@]}")) | $(median2 "${RATIOS[@]}") | >= 0.8 |"
  echo "| uncached / anchor statement | $(ratio "${RPS[listshows_nocache]}" "$anchor_tps") | >= 2 |"
  echo "| cached / uncached | $(ratio "${RPS[listshows_cached]}" "${RPS[listshows_nocache]}") | >= 20 |"
  echo "| traced / plain uncached (median of the pairs: $(printf '%s ' "${OTEL_RATIOS[@]}")) | $(printf "%.3f" "$(median "${OTEL_RATIOS[@]}")") | >= 0.95 |"
  echo "| tz / plain uncached (median of the pairs: $(printf '%s ' "${TZ_RATIOS[@]}")) | $(printf "%.3f" "$(median "${TZ_RATIOS[@]}")") | >= 0.83 (within 1.2x) |"
  echo "| server VmHWM, cache off / on | $((hwm_nocache / 1024)) / $((hwm_cached / 1024)) MiB | < 64 MiB |"
  echo "| server VmHWM, traced - plain (uncached) | $(((hwm_otel - hwm_nocache) / 1024)) MiB ($hwm_otel - $hwm_nocache KiB) | <= 4 MiB |"
  echo
  echo "raw logs: $W"
} | tee "$W/summary.md"
