#!/usr/bin/env bash
# The gateway is back within 1 s of its server (issue 19, "Faults"): the
# server under a running gateway is killed (SIGKILL), stays down for 10 s
# (long enough for gRPC's default reconnect backoff, 1 s growing by 1.6x to
# 120 s, to leave a multi-second gap), and is started again on the same
# port. A python3-grpcio client polls the new server's Health/Check on
# fresh channels (no backoff of its own) while a thread polls an
# authenticated REST route through the gateway; the first REST 200 must come
# within 1 s of the first SERVING answer (docs/operations.md "Faults").
# While the server is down the gateway answers 503 JSON, never a hang.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"
need_grpcio

unset REDIS_URL
fresh_db gw_reconnect_test
GP=$(port); HP=$(port); G=http://127.0.0.1:$HP
L=/api/v1/analytics/country_distribution
start_server "$GP" server1
wait_started server1 "${PIDS[-1]}"
SERVER_PID=${PIDS[-1]}
start_gateway "$HP" "$GP" gw TVMAZE_RATE_IP_LIMIT=100000
wait_status 200 "$G/up"
req 200 -u admin:s3cret "$G$L"; json_ok

kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
t_end=$((SECONDS + 10))
while [ "$SECONDS" -lt "$t_end" ]; do
  got=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 5 -u admin:s3cret "$G$L") || true
  [ "$got" = 503 ] || fail "server down: $L -> $got, want 503"
  err_ok 14
  sleep 0.5
done
wait_status 503 "$G/up"

start_server "$GP" server2
"$PY" - "127.0.0.1:$GP" "$G$L" <<'PY' || fail "the gateway was not back within 1 s of its server"
import base64, sys, threading, time, urllib.request, urllib.error
import grpc

target, url = sys.argv[1], sys.argv[2]
auth = "Basic " + base64.b64encode(b"admin:s3cret").decode()
first_ok = []
stop = threading.Event()

def rest():
    while not stop.is_set():
        r = urllib.request.Request(url, headers={"Authorization": auth})
        try:
            with urllib.request.urlopen(r, timeout=5) as resp:
                resp.read()
                if resp.status == 200:
                    first_ok.append(time.monotonic())
                    return
        except urllib.error.HTTPError as e:
            assert e.code == 503, e.code
        time.sleep(0.02)

t = threading.Thread(target=rest, daemon=True)
t.start()
serving = None
deadline = time.monotonic() + 60
while serving is None and time.monotonic() < deadline:
    with grpc.insecure_channel(target) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check")
        try:
            if check(b"", timeout=0.5) == b"\x08\x01":
                serving = time.monotonic()
        except grpc.RpcError:
            pass
    if serving is None:
        time.sleep(0.02)
assert serving is not None, "the restarted server never answered SERVING"
t.join(timeout=10)
stop.set()
assert first_ok, "no REST 200 within 10 s of the server answering health"
lag = first_ok[0] - serving
print("gateway back %.3f s after the server answered health" % lag)
assert lag < 1.0, lag
PY
wait_status 200 "$G/up"
cp "$TMP/gw.log" /tmp/gwfault-lastgw.log 2>/dev/null || true
echo "PASS test_gateway_reconnect"
