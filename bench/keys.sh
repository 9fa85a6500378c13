#!/usr/bin/env bash
# bench/keys.sh: what the API-key check and TLS cost on the gRPC front (issue
# 15; not a test). Same data as bench/query.sh (bench/lib/anchor_data.sh), six
# tvmaze-servers on it at once (4 workers each):
#
#   on_nc   tvmaze-server, no Redis (the query cache off)     keys checked
#   off_nc  tvmaze-bench-server-nokeys, no Redis              gate compiled out
#   tls_nc  tvmaze-server, no Redis, TLS (self-signed cert)   keys checked
#   on_c / off_c / tls_c: the same with REDIS_URL (cache on, local layer)
#
# PAIRS (default 6) rounds; in each, every comparison below runs both of its
# sides back to back, in alternating order (drift on the shared box hits both
# sides of a pair); the ratio reported is the median of the pairs', both of
# the rates (on / off) and of the server's CPU time per reply (off / on, so
# both read "above 1: the first side is cheaper"; CPU per reply is what the
# rate is at saturation, and the other loads of a shared box disturb it far
# less than the rate):
#
#   ListShows uncached (BENCH_T s runs), relayed key    on_nc / off_nc
#     (the gateway acting for an HTTP Basic caller: its key as both x-api-key
#     and x-tvmaze-relay-key: one lookup + scope, no count)
#   ListShows uncached, own key, DIRECT_N requests      on_nc / off_nc
#     (lookup + scope + the per-key limit in Redis: a fresh premium key per
#     run, as 10,000 a minute is the highest tier)
#   GetShow cached (the trivial tvmaze.v1 call: an in-process cache hit),
#     relayed (BENCH_T s) and own key (DIRECT_RUNS x DIRECT_N)  on_c / off_c
#     (bench/grpc.sh's Health/Check is exempt from keys, so the trivial call
#     with a key is measured here)
#   TLS: ListShows uncached, GetShow cached, relayed    tls_* / on_*
#
# Goals (issue 15): keys on / off >= 0.95 uncached ListShows, >= 0.90 the
# trivial call; TLS reported. Knobs: PAIRS, BENCH_T (default 5), DIRECT_N
# (default 9000, at most 9000), DIRECT_RUNS (default 4: each own-key side is
# that many runs of DIRECT_N with a fresh key each, as a cached GetShow run
# of 9,000 lasts ~0.3 s; the server's CPU is read per thread in ns, see
# bench/lib/h2grpc.sh), ANCHORS
# (../shared/anchors), BUILD (build/release), BENCH_DIR.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
ANCHORS="$(cd "${ANCHORS:-$root/../shared/anchors}" && pwd)"
BUILD="${BUILD:-$root/build/release}"
BENCH_T="${BENCH_T:-5}"
PAIRS="${PAIRS:-6}"
DIRECT_N="${DIRECT_N:-9000}"
DIRECT_RUNS="${DIRECT_RUNS:-4}"
for knob in PAIRS BENCH_T DIRECT_N DIRECT_RUNS; do
  case "${!knob}" in '' | *[!0-9]* | 0*) echo "bench/keys.sh: $knob must be a positive integer, got \"${!knob}\"" >&2; exit 2 ;; esac
done
[ "$DIRECT_N" -le 9000 ] || { echo "bench/keys.sh: DIRECT_N must be <= 9000 (a premium key's minute, less the warm-up)" >&2; exit 2; }
W="${BENCH_DIR:-$(mktemp -d /tmp/tvmaze-bench.XXXXXX)}"
SERVER="$BUILD/server/tvmaze-server"
NOKEYS="$BUILD/bench/tvmaze-bench-server-nokeys"
D1=2025-06-16 D2=2025-06-29
chmod 755 "$W"
for b in "$SERVER" "$NOKEYS" "$BUILD/client/tvmaze"; do
  [ -x "$b" ] || { echo "build first: $b (cmake --build $BUILD)" >&2; exit 1; }
done

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" || true
      wait "$p" 2>/dev/null || true
    fi
  done
  bash "$root/scripts/services.sh" stop "$W/svc" >/dev/null 2>&1 || true
}
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# shellcheck source=bench/lib/h2grpc.sh
. "$root/bench/lib/h2grpc.sh"
# shellcheck source=bench/lib/stats.sh
. "$root/bench/lib/stats.sh"
# shellcheck source=bench/lib/anchor_data.sh
. "$root/bench/lib/anchor_data.sh"
bench_anchor_data "$root" "$ANCHORS" "$SERVER" "$W"

first_id="$("${PSQL[@]}" -At "$OURS" -c "SELECT id FROM shows ORDER BY id LIMIT 1")"
grpc_bodies "$W" "$D1" "$D2" "$first_id"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$W/tls.key" -out "$W/tls.crt" 2>/dev/null
BENCH_TLS_CA="$W/tls.crt"
TLS=(TVMAZE_GRPC_TLS_CERT="$W/tls.crt" TVMAZE_GRPC_TLS_KEY="$W/tls.key")

declare -A T PID
# serve NAME BINARY REDIS_URL|"" [VAR=VALUE...]
serve() {
  SERVER_BIN=$2 start_server "$1" "$3" 16 "${@:4}"
  T[$1]=$target PID[$1]=$server_pid
  pids+=("$server_pid")
}
serve on_nc "$SERVER" ""
serve off_nc "$NOKEYS" ""
serve tls_nc "$SERVER" "" "${TLS[@]}"
serve on_c "$SERVER" "$REDIS_URL"
serve off_c "$NOKEYS" "$REDIS_URL"
serve tls_c "$SERVER" "$REDIS_URL" "${TLS[@]}"
log "six servers up: ${T[*]}"

new_key() { "$SERVER" --database-url "$OURS" keys create --name "bench-keys-$$-$1" --tier premium --scope ingest; }
RELAY_KEY="$(new_key relay)"
relay_headers() { H2=(-H 'content-type: application/grpc' -H 'te: trailers' -H "x-api-key: $RELAY_KEY" -H "x-tvmaze-relay-key: $RELAY_KEY"); }
# run SERVER METHOD BODY LABEL [own]: one run; the rate in RPS[LABEL]
run() {
  local key
  target=${T[$1]} SCHEME=http H2_PID=${PID[$1]}
  case "$1" in tls_*) SCHEME=https ;; esac
  if [ "${5:-}" = own ]; then
    # DIRECT_RUNS runs of DIRECT_N (GetShow; one for the long ListShows runs),
    # a fresh key each (a premium key's minute holds one): the rate over
    # their total time, CPU per reply over all
    local i runs=$DIRECT_RUNS rates=() cpus=()
    [ "$2" != ListShows ] || runs=1
    for i in $(seq "$runs"); do
      key="$(new_key "$4_$i")"
      H2=(-H 'content-type: application/grpc' -H 'te: trailers' -H "x-api-key: $key")
      H2_N=$DIRECT_N h2load_run "$4_$i" "$2" "$3"
      rates+=("${RPS[$4_$i]}") cpus+=("${CPU_US[$4_$i]}")
    done
    RPS[$4]="$(python3 -c "import sys; r = [float(x) for x in sys.argv[1:]]; print('%.2f' % (len(r) / sum(1 / x for x in r)))" "${rates[@]}")"
    CPU_US[$4]="$(python3 -c "import sys; c = [float(x) for x in sys.argv[1:]]; print('%.2f' % (sum(c) / len(c)))" "${cpus[@]}")"
  else
    relay_headers
    H2_N="" h2load_run "$4" "$2" "$3"
  fi
}
# pair R NAME A B METHOD BODY [own]: A and B back to back (order by R);
# appends RPS[A]/RPS[B] to the list NAME
declare -A RATIOS
pair() {
  local r=$1 name=$2 a=$3 b=$4 first second
  first=$a second=$b
  [ $((r % 2)) -eq 1 ] || first=$b second=$a
  run "$first" "$5" "$6" "${name}_${first}_$r" "${7:-}"
  run "$second" "$5" "$6" "${name}_${second}_$r" "${7:-}"
  RATIOS[$name]+="$(python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) / float(sys.argv[2])))" \
    "${RPS[${name}_${a}_$r]}" "${RPS[${name}_${b}_$r]}") "
  RATES[$name]+="${RPS[${name}_${a}_$r]}/${RPS[${name}_${b}_$r]} "
  # CPU per reply, B / A: above 1 when A costs less (read like the rate ratio)
  CPURATIOS[$name]+="$(python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) / float(sys.argv[1])))" \
    "${CPU_US[${name}_${a}_$r]}" "${CPU_US[${name}_${b}_$r]}") "
  CPUS[$name]+="${CPU_US[${name}_${a}_$r]}/${CPU_US[${name}_${b}_$r]} "
}
declare -A RATES CPURATIOS CPUS
for r in $(seq "$PAIRS"); do
  log "round $r of $PAIRS"
  pair "$r" list_relay on_nc off_nc ListShows "$W/listshows.bin"
  pair "$r" list_own on_nc off_nc ListShows "$W/listshows.bin" own
  pair "$r" get_relay on_c off_c GetShow "$W/getshow.bin"
  pair "$r" get_own on_c off_c GetShow "$W/getshow.bin" own
  pair "$r" list_tls tls_nc on_nc ListShows "$W/listshows.bin"
  pair "$r" get_tls tls_c on_c GetShow "$W/getshow.bin"
done

declare -A HWM
for s in on_nc off_nc tls_nc on_c off_c tls_c; do
  HWM[$s]="$(awk '/VmHWM/{print $2}' "/proc/${PID[$s]}/status")"
done
row() { # NAME WHAT GOAL
  # shellcheck disable=SC2086  # the lists are space-separated on purpose
  printf '| %s | %s | %s | %s | %s | %s |\n' "$2" "$(printf '%.3f' "$(median ${RATIOS[$1]})")" "${RATIOS[$1]% }" \
    "$(printf '%.3f' "$(median ${CPURATIOS[$1]})")" "${CPURATIOS[$1]% }" "$3"
}
{
  echo "## bench/keys.sh $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) CPUs; ${BENCH_T} s runs, own-key runs of $DIRECT_N requests; machine shared)"
  echo
  echo "| ratio | rate median | rate pairs | CPU/reply median | CPU pairs | goal |"
  echo "|---|---|---|---|---|---|"
  row list_relay "keys on / off, ListShows uncached, relayed key" ">= 0.95"
  row list_own "keys on / off, ListShows uncached, own key (limit counted in Redis)" ">= 0.95"
  row get_relay "keys on / off, GetShow cached (trivial call), relayed key" ">= 0.90"
  row get_own "keys on / off, GetShow cached (trivial call), own key" ">= 0.90"
  row list_tls "TLS / plaintext, ListShows uncached" "reported"
  row get_tls "TLS / plaintext, GetShow cached" "reported"
  echo
  echo "| rates (req/s, keys on / off, or TLS / plaintext, each pair) | |"
  echo "|---|---|"
  for n in list_relay list_own get_relay get_own list_tls get_tls; do
    echo "| $n | ${RATES[$n]% } |"
  done
  echo
  echo "| server CPU per reply (us, A / B of each pair) | |"
  echo "|---|---|"
  for n in list_relay list_own get_relay get_own list_tls get_tls; do
    echo "| $n | ${CPUS[$n]% } |"
  done
  echo
  echo "VmHWM (KiB): $(for s in on_nc off_nc tls_nc on_c off_c tls_c; do printf '%s %s, ' "$s" "${HWM[$s]}"; done | sed 's/, $//')"
  echo
  echo "raw logs: $W"
} | tee "$W/summary.md"
