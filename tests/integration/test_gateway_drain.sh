#!/usr/bin/env bash
# A draining gateway (SIGTERM; issue 19, "Faults"):
#   - it stops accepting at once: a new connection is refused (ECONNREFUSED
#     within 1 s), it does not wait in the backlog and then get reset;
#   - a request on a connection opened before the signal is answered 503
#     UNAVAILABLE "the gateway is shutting down" with Connection: close and
#     the JSON error body (not "too many upstream calls waiting"), and the
#     connection is then closed;
#   - a request in flight (parked on an upstream worker while the server is
#     stopped with SIGSTOP) finishes with 200 once the server runs again,
#     and the gateway then exits 0;
#   - under load (4 curl loops, each request a new connection), SIGTERM
#     never hangs a client: every request ends 200, 503 with
#     Connection: close, or connection refused, and the gateway exits 0.
# The server is continued at exit whatever happens.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

unset REDIS_URL
fresh_db gw_drain_test
GP=$(port)
L=/api/v1/analytics/country_distribution
start_server "$GP"
wait_started server "${PIDS[-1]}"
SERVER_PID=${PIDS[-1]}
STOPPED=0
continue_server() { [ "$STOPPED" = 0 ] || kill -CONT "$SERVER_PID" 2>/dev/null || true; }
CLEANUP_HOOKS+=(continue_server)

# wait_exit PID SECONDS: PID exits within SECONDS with status 0
wait_exit() {
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && fail "gateway $1 still running ${2} s after SIGTERM"
  wait "$1" || fail "gateway $1 exited with status $?"
}

# --- one request in flight, one open connection, one new connection ---------
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw1 TVMAZE_UPSTREAM_WORKERS=2 TVMAZE_UPSTREAM_TIMEOUT_MS=60000 \
  TVMAZE_RATE_IP_LIMIT=100000
GW=${PIDS[-1]}
wait_status 200 "$G/up"
kill -STOP "$SERVER_PID"; STOPPED=1
curl -s -o "$TMP/inflight.body" -w '%{http_code}' --max-time 60 -u admin:s3cret "$G$L" \
  >"$TMP/inflight.code" &
INFLIGHT=$!
for _ in $(seq 100); do
  grep -q '^tvmaze_gateway_upstream_workers{state="busy"} [1-9]' <(curl -s "$G/metrics") && break
  sleep 0.1
done
grep -q '^tvmaze_gateway_upstream_workers{state="busy"} [1-9]' <(curl -s "$G/metrics") ||
  fail "the in-flight request never reached a worker"
"$PY" - "$HP" "$GW" <<'PY' || fail "drain: open and new connections"
import errno, json, os, signal, socket, sys, time
port, gw = int(sys.argv[1]), int(sys.argv[2])

def request(s):
    s.sendall(b"GET /api/v1/analytics/country_distribution HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Basic YWRtaW46czNjcmV0\r\n\r\n")

def read_reply(s):
    data = b""
    s.settimeout(5)
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, "connection closed before a reply head: %r" % data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(hdrs.get("content-length", "0"))
    while len(body) < n:
        chunk = s.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return int(lines[0].split()[1]), hdrs, body[:n]

# a keep-alive connection opened before the signal (a 401 needs no worker)
k = socket.create_connection(("127.0.0.1", port))
k.sendall(b"GET /api/v1/analytics/country_distribution HTTP/1.1\r\nHost: x\r\n\r\n")
st, _, _ = read_reply(k)
assert st == 401, st
os.kill(gw, signal.SIGTERM)
time.sleep(0.3)
# a new connection: refused at once
t0 = time.monotonic()
try:
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\n\r\n")
    c.settimeout(5)
    got = c.recv(100)
    raise AssertionError("new connection accepted while draining: %r" % got)
except ConnectionRefusedError:
    pass
assert time.monotonic() - t0 < 1.0, "refusal took %.2f s" % (time.monotonic() - t0)
# the open connection: 503, Connection: close, JSON error, then EOF
request(k)
st, hdrs, body = read_reply(k)
assert st == 503, (st, body)
assert hdrs.get("connection", "").lower() == "close", hdrs
assert hdrs.get("content-type", "").startswith("application/json"), hdrs
assert "retry-after" in hdrs, hdrs
d = json.loads(body)
assert d["code"] == 14 and "shutting down" in d["message"], d
k.settimeout(5)
assert k.recv(100) == b"", "the connection stayed open after Connection: close"
PY
kill -0 "$GW" 2>/dev/null || fail "the gateway exited with a request in flight"
kill -CONT "$SERVER_PID"; STOPPED=0
wait "$INFLIGHT" || fail "in-flight curl failed"
[ "$(cat "$TMP/inflight.code")" = 200 ] || fail "in-flight request -> $(cat "$TMP/inflight.code"), want 200"
wait_exit "$GW" 20

# --- SIGTERM under load ------------------------------------------------------
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw2 TVMAZE_RATE_IP_LIMIT=100000
GW=${PIDS[-1]}
wait_status 200 "$G/up"
LOOPS=()
for n in 1 2 3 4; do
  (
    while :; do
      rc=0
      out=$(curl -s -o /dev/null -D - -w 'STATUS %{http_code}\n' --max-time 5 \
        -u admin:s3cret "$G$L") || rc=$?
      code=$(sed -n 's/^STATUS //p' <<<"$out")
      close=$(grep -ci '^connection: close' <<<"$out" || true)
      echo "$rc $code $close"
      [ "$rc" = 7 ] && break # refused: the gateway is gone or draining
    done >"$TMP/loop$n.out"
  ) &
  LOOPS+=($!)
done
sleep 1.5
kill -TERM "$GW"
for p in "${LOOPS[@]}"; do wait "$p"; done
wait_exit "$GW" 20
cat "$TMP"/loop*.out >"$TMP/all.out"
total=$(wc -l <"$TMP/all.out")
ok=$(grep -c '^0 200 ' "$TMP/all.out" || true)
closed=$(grep -c '^0 503 1$' "$TMP/all.out" || true)
refused=$(grep -c '^7 ' "$TMP/all.out" || true)
echo "under load: $total requests, $ok 200, $closed 503+close, $refused refused"
[ "$ok" -ge 4 ] || fail "under load: only $ok requests answered 200 before SIGTERM"
[ "$refused" = 4 ] || fail "under load: $refused loops ended refused, want 4"
[ $((ok + closed + refused)) = "$total" ] ||
  fail "under load: other outcomes: $(grep -v -e '^0 200 ' -e '^0 503 1$' -e '^7 ' "$TMP/all.out" | sort | uniq -c)"
echo "PASS test_gateway_drain"
