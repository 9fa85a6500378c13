#!/usr/bin/env bash
# bench/lib/h2grpc.sh: a real tvmaze-server under h2load, for the bench
# scripts (sourced by bench/query.sh and bench/keys.sh).
#
#   start_server LOG REDIS_URL|"" [LOCAL_CACHE_MB [VAR=VALUE...]]
#     starts $SERVER_BIN (default $SERVER) on a free port of 127.0.0.1 with
#     DATABASE_URL=$OURS, 4 workers, no ingest, the VAR=VALUEs; waits until
#     the CLI's health answers (over TLS when TVMAZE_GRPC_TLS_CERT is among
#     them: $BENCH_TLS_CA is trusted); sets target, metrics and server_pid.
#   stop_server: VmHWM of server_pid into hwm (KiB), its /metrics into
#     $W/metrics_<pid>.txt, then SIGTERM and wait.
#   h2load_run NAME METHOD BODY: one measured run of tvmaze.v1.Shows/METHOD
#     (BODY a gRPC frame file) at ${SCHEME:-http}://$target with the headers
#     of the H2 array: BENCH_T seconds, or H2_N requests when set; 4
#     connections x 16 streams after a 256-request warm-up. Checks the reply
#     (grpc-status 0 with nghttp, h2load's DATA bytes = succeeded x reply
#     size) and sets RPS[NAME]; with H2_PID set (the server's pid), also
#     CPU_US[NAME], the server's CPU time (user + system) per reply in us: a
#     figure that the other loads on a shared box disturb far less than the
#     rate. It is the sum over the server's threads of the time on CPU that
#     /proc/PID/task/TID/schedstat gives in ns (a cached GetShow run of
#     9,000 replies is only ~20 clock ticks of the utime + stime in
#     /proc/PID/stat, so those would be off by up to ~10 % a run); when a
#     thread ended during the run (its time is then only in those ticks),
#     the ticks are used instead and the log line says so.
# The caller provides log(), W, BUILD, SERVER, OURS, BENCH_T and H2.
# shellcheck disable=SC2034  # target, metrics, hwm: set for the caller

declare -A RPS CPU_US

# cpu_snap PID: "ticks T" (the process's user + system CPU time in clock
# ticks) and "TID NS" (each thread's time on CPU in ns), one a line.
cpu_snap() {
  local t ns
  echo "ticks $(awk '{print $14 + $15}' "/proc/$1/stat")"
  for t in /proc/"$1"/task/*; do
    read -r ns _ <"$t/schedstat" 2>/dev/null && echo "${t##*/} $ns"
  done
}

# grpc_bodies W D1 D2 SHOW_ID: W/listshows.bin (ListShows D1..D2, US, 20 per
# page), W/listshows_tz.bin (the same with tz Asia/Tokyo: local dates) and
# W/getshow.bin (GetShow SHOW_ID), as gRPC frames.
grpc_bodies() {
  # gRPC frames: 0x00 + 4-byte big-endian length + protobuf bytes (hand-encoded:
  # strings = tag, length, bytes; Int32Value per_page = field 9 {1: 20}).
  python3 - "$@" <<'PY'
import struct, sys
w, d1, d2, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def s(field, v):
    b = v.encode()
    return bytes([field << 3 | 2, len(b)]) + b
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out
list_req = s(1, d1) + s(2, d2) + s(3, "US") + bytes([9 << 3 | 2, 2, 0x08, 20])
get_req = bytes([1 << 3]) + varint(first)
tz_req = list_req + s(11, "Asia/Tokyo")
for name, msg in (("listshows", list_req), ("listshows_tz", tz_req), ("getshow", get_req)):
    open(f"{w}/{name}.bin", "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
PY
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {
  local redis=() tls=() v
  target="127.0.0.1:$(free_port)" metrics="127.0.0.1:$(free_port)"
  if [ -n "$2" ]; then redis=(REDIS_URL="$2"); else redis=(-u REDIS_URL); fi
  for v in "${@:4}"; do
    case "$v" in TVMAZE_GRPC_TLS_CERT=*) tls=(--grpc-tls-ca "$BENCH_TLS_CA") ;; esac
  done
  env "${redis[@]}" DATABASE_URL="$OURS" TVMAZE_INGEST_AT=off TVMAZE_WORKERS=4 LOG_LEVEL=warn \
    TVMAZE_LOCAL_CACHE_MB="${3:-16}" TVMAZE_METRICS_ADDR="$metrics" "${@:4}" \
    "${SERVER_BIN:-$SERVER}" --grpc-addr "$target" >"$W/$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    "$BUILD/client/tvmaze" --target "$target" "${tls[@]}" health >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not start: $(tail -3 "$W/$1.log")" >&2
  exit 1
}

stop_server() {
  hwm="$(awk '/VmHWM/{print $2}' "/proc/$server_pid/status")"
  curl -s "http://$metrics/metrics" >"$W/metrics_$server_pid.txt" || true
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

h2load_run() {
  local name=$1 url="${SCHEME:-http}://$target/tvmaze.v1.Shows/$2" body=$3 size ok data
  local how=(-D "$BENCH_T")
  [ -z "${H2_N:-}" ] || how=(-n "$H2_N")
  nghttp -v "${H2[@]}" -d "$body" "$url" >"$W/$name.nghttp" 2>&1
  grep -q 'grpc-status: 0' "$W/$name.nghttp" || {
    echo "$name: no grpc-status 0" >&2
    cat "$W/$name.nghttp" >&2
    exit 1
  }
  nghttp "${H2[@]}" -d "$body" "$url" >"$W/$name.reply"
  size="$(stat -c %s "$W/$name.reply")"
  # Warm-up as its own run: h2load's --warm-up-time counts warm-up DATA bytes
  # in the totals, which would break the bytes check below.
  h2load -c 4 -m 16 -t 1 -n 256 "${H2[@]}" -d "$body" "$url" >/dev/null 2>&1
  [ -z "${H2_PID:-}" ] || cpu_snap "$H2_PID" >"$W/$name.cpu0"
  h2load -c 4 -m 16 -t 1 "${how[@]}" "${H2[@]}" -d "$body" "$url" >"$W/$name.h2load" 2>&1
  [ -z "${H2_PID:-}" ] || cpu_snap "$H2_PID" >"$W/$name.cpu1"
  RPS[$name]="$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$W/$name.h2load")"
  ok="$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$W/$name.h2load")"
  data="$(sed -n 's/^traffic: .*(\([0-9]*\)) data.*/\1/p' "$W/$name.h2load")"
  if [ "$data" -ne $((ok * size)) ]; then
    echo "$name: data $data bytes != $ok x $size (not every reply is the full answer)" >&2
    exit 1
  fi
  local how_cpu=""
  if [ -n "${H2_PID:-}" ]; then
    read -r "CPU_US[$name]" how_cpu < <(python3 - "$W/$name.cpu0" "$W/$name.cpu1" "$ok" <<'PY'
import os, sys
def snap(path):
    return dict(line.split() for line in open(path))
a, b, ok = snap(sys.argv[1]), snap(sys.argv[2]), int(sys.argv[3])
if all(t in b for t in a):  # no thread ended: per-thread ns (new threads from 0)
    ns = sum(int(v) - int(a.get(t, 0)) for t, v in b.items() if t != "ticks")
    print("%.2f schedstat" % (ns / 1e3 / ok))
else:
    ticks = int(b["ticks"]) - int(a["ticks"])
    print("%.2f ticks(a-thread-ended)" % (ticks * 1e6 / os.sysconf("SC_CLK_TCK") / ok))
PY
    )
  fi
  log "$name: ${RPS[$name]} req/s, $ok replies x $size bytes, grpc-status 0${H2_PID:+, server CPU ${CPU_US[$name]} us a reply ($how_cpu)}"
}
