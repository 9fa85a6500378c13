#!/usr/bin/env bash
# Hostile HTTP clients against tvmaze-gateway (issue 19), over raw sockets
# (python3) and curl: each case by name with the status it must get; never a
# 5xx, a hang or a crash. Cases: strict framing (each refusal closes the
# connection), NUL and double decoding in the target, the
# query parameter count, POST media type, an /up flood, a slowloris from one
# address.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

fresh_db gw_hostile_test
GP=$(port); HP=$(port)
LOG_LEVEL=debug start_server "$GP" # logs each health_check: the /up flood counts them
start_gateway "$HP" "$GP" gw TVMAZE_RATE_IP_LIMIT=100000 TVMAZE_RESPONSE_CACHE_TTL=0
G=http://127.0.0.1:$HP
wait_status 200 "$G/up"
GW_PID=${PIDS[-1]}
A=(-u admin:s3cret)
AUTH="Authorization: Basic $(printf admin:s3cret | base64)"

# raw NAME WANT REQUEST [close]: sends REQUEST (a python bytes literal body,
# without quotes; \r\n written out) on a fresh connection from 127.0.0.1 and
# wants the status line WANT within 5 s; with "close", also the connection
# closed by the gateway after that reply (within 5 s).
raw() {
  local name=$1 want=$2 req=$3 close=${4:-} got
  got=$(python3 - "$HP" "$req" "$close" <<'PY'
import socket, sys, ast
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(ast.literal_eval("b'" + sys.argv[2] + "'"))
buf = b""
eof = False
try:
    while b"\r\n" not in buf or sys.argv[3] == "close":
        d = s.recv(4096)
        if not d:
            eof = True
            break
        buf += d
except socket.timeout:
    if b"\r\n" not in buf:
        print("timeout")
        sys.exit(0)
except ConnectionResetError:
    eof = True
line = buf.split(b"\r\n", 1)[0].decode("latin-1")
status = line.split(" ")[1] if line.startswith("HTTP/") else "closed:" + line[:40]
if sys.argv[3] == "close" and not eof:
    status += "+open"
print(status)
PY
)
  [ "$got" = "$want" ] || fail "case $name: got $got, want $want${close:+ and closed}"
  echo "ok: $name -> $want${close:+ (closed)}"
}
alive() { kill -0 "$GW_PID" 2>/dev/null || fail "the gateway died"; }

# --- NUL and double decoding (finding 6) ---
req 400 "$G/api/v1/tv_shows%00/evil"; err_ok 3
req 400 "$G/up%00.json"; err_ok 3
req 400 "${A[@]}" "$G/api/v1/openapi.json%00"; err_ok 3
req 400 "${A[@]}" "$G/api/v1/tv_shows?q=a%00b"; err_ok 3
req 400 "${A[@]}" "$G/api/v1/tv_shows?q%00=a"; err_ok 3
# decoded once: the id is "%31", not 1
req 400 "${A[@]}" "$G/api/v1/tv_shows/%2531"; err_ok 3; grep -q '"id' "$TMP/body" || fail "%2531: name id"
req 404 "${A[@]}" "$G/api/v1/tv_shows/%31"; err_ok 5 # decoded once: show 1, absent here
raw nul_raw_in_path 400 'GET /up\x00.json HTTP/1.1\r\nHost: x\r\n\r\n'
raw nul_raw_in_query 400 "GET /api/v1/tv_shows?q=a\\x00b HTTP/1.1\\r\\nHost: x\\r\\n$AUTH\\r\\n\\r\\n"
alive

# --- query parameter count (finding 4): over the limit -> 400 at once, whatever the count ---
for n in 129 300 500 2000 4000; do
  qs=$(python3 -c "import sys; print('&'.join('a%d=1' % i if int(sys.argv[1]) < 2000 else 'a' for i in range(int(sys.argv[1]))))" "$n")
  raw "params_$n" 400 "GET /api/v1/tv_shows?$qs HTTP/1.1\\r\\nHost: x\\r\\n$AUTH\\r\\n\\r\\n"
done
alive

# --- CSRF (finding 8): a POST must say application/json, else 415 JSON ---
J=(-H 'Content-Type: application/json')
req 415 "${A[@]}" -X POST -H 'Content-Type: text/plain' -d '{"days":1}' "$G/api/v1/ingest/runs"; err_ok 3
grep -q "Content-Type" "$TMP/body" || fail "415: the message must name Content-Type"
hdr "X-Content-Type-Options: nosniff"
req 415 "${A[@]}" -X POST -d '{"days":1}' "$G/api/v1/ingest/runs"; err_ok 3 # curl's form type
req 415 "${A[@]}" -X POST -H 'Content-Type: application/jsonp' -d '{}' "$G/api/v1/ingest/runs"; err_ok 3
req 415 "${A[@]}" -X POST "$G/api/v1/ingest/runs"; err_ok 3 # no body, no type
# the right type gets through to validation (days=0 -> 400)
req 400 "${A[@]}" "${J[@]}" -d '{"days":0}' "$G/api/v1/ingest/runs"; err_ok 3
req 400 "${A[@]}" -H 'Content-Type: Application/JSON; charset=utf-8' -d '{"days":0}' "$G/api/v1/ingest/runs"; err_ok 3
alive

# --- Expect: 100-continue (finding 10): "100 Continue" only once the checks passed ---
P="POST /api/v1/ingest/runs HTTP/1.1\\r\\n${H:-Host: x\\r\\n}Content-Type: application/json\\r\\nContent-Length: 10\\r\\nExpect: 100-continue\\r\\n"
raw expect_no_credentials 401 "$P\\r\\n" close
raw expect_wrong_password 401 "${P}Authorization: Basic $(printf admin:wrong | base64)\\r\\n\\r\\n" close
raw expect_unknown_key 401 "${P}X-API-Key: tvm_no_such_key_0123456789\\r\\n\\r\\n" close # checked upstream: the suspended path
raw expect_wrong_type 415 "${P/application\/json/text\/plain}$AUTH\\r\\n\\r\\n" close
raw expect_good_credentials 100 "$P$AUTH\\r\\n\\r\\n"
# and the body sent after the 100 is read and handled (days=0 -> 400 naming days)
curl -s -o "$TMP/body" -w '%{http_code}' -v --expect100-timeout 10 "${A[@]}" "${J[@]}" -H 'Expect: 100-continue' \
  -d '{"days":0}' "$G/api/v1/ingest/runs" >"$TMP/code" 2>"$TMP/verbose"
[ "$(cat "$TMP/code")" = 400 ] || fail "expect with body: got $(cat "$TMP/code"), want 400"
grep -q '^< HTTP/1.1 100 Continue' "$TMP/verbose" || fail "expect with body: no 100 Continue"
grep -q days "$TMP/body" || fail "expect with body: the 400 must name days: $(cat "$TMP/body")"
echo "ok: expect_then_body -> 100, 400 naming days"
alive

# --- strict framing (findings 3 and 7): refused before any handler, connection closed ---
H='Host: x\r\n'
raw framing_baseline 200 "GET /up HTTP/1.1\\r\\n$H\\r\\n"
raw framing_http10_without_host 200 'GET /up HTTP/1.0\r\n\r\n'
raw cl_duplicate_differing 400 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n$H$AUTH\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nContent-Length: 41\\r\\n\\r\\n{}" close
raw cl_duplicate_equal 400 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n$H$AUTH\\r\\nContent-Type: application/json\\r\\nContent-Length: 2\\r\\nContent-Length: 2\\r\\n\\r\\n{}" close
raw cl_space_before_colon 400 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n$H$AUTH\\r\\nContent-Type: application/json\\r\\nContent-Length : 2\\r\\n\\r\\n{}" close
raw cl_not_digits 400 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n${H}Content-Length: +2\\r\\n\\r\\n{}" close
raw cl_with_chunked 400 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n${H}Content-Length: 5\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n" close
raw te_chunked_identity 501 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked, identity\\r\\n\\r\\n" close
raw te_xchunked 501 "POST /api/v1/ingest/runs HTTP/1.1\\r\\n${H}Transfer-Encoding: xchunked\\r\\n\\r\\n" close
raw host_missing 400 'GET /up HTTP/1.1\r\n\r\n' close
raw host_double 400 "GET /up HTTP/1.1\\r\\n$H$H\\r\\n" close
raw space_in_header_name 400 "GET /up HTTP/1.1\\r\\n${H}X Bad: 1\\r\\n\\r\\n" close
raw version_1_2 505 "GET /up HTTP/1.2\\r\\n$H\\r\\n" close
alive

# --- /up (finding 2): answered from the health state, not one gRPC call each ---
# 200 rapid /up (4 connections x 50, keep-alive): all 200, and the server sees
# at most one probe per second (+2 for the edges) from this gateway meanwhile.
checks() { grep -c '"event":"health_check"' "$TMP/server.log" || true; }
before=$(checks)
python3 - "$HP" <<'PY' >"$TMP/flood" || fail "/up flood: $(cat "$TMP/flood")"
import http.client, sys, threading, time
port = int(sys.argv[1]); bad = []
def run():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for _ in range(50):
        c.request("GET", "/up"); r = c.getresponse(); r.read()
        if r.status != 200: bad.append(r.status)
t0 = time.time()
ts = [threading.Thread(target=run) for _ in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print("%.3f" % (time.time() - t0))
sys.exit("non-200: %s" % bad[:5] if bad else 0)
PY
after=$(checks)
[ "$after" -ge 1 ] || fail "no health_check in the server log (its probes must show at debug)"
secs=$(head -1 "$TMP/flood")
probes=$((after - before))
max=$(python3 -c "import math,sys; print(math.ceil(float(sys.argv[1])) + 2)" "$secs")
echo "up flood: 200 x /up in ${secs} s, $probes server health checks (at most $max)"
[ "$probes" -le "$max" ] || fail "/up flood made $probes health checks in $secs s"
alive

# --- connections (finding 1): slowloris from one address ---
# A second gateway with a per-IP cap of 50 and a 3 s head deadline (the idle
# timeout, 60 s, would never fire: each connection sends a byte every 0.5 s).
# 200 slow connections from 127.0.0.1: at most 50 held; /up from 127.0.0.2
# answers 200 in < 1 s meanwhile; every slow connection is closed within 8 s.
HP2=$(port)
start_gateway "$HP2" "$GP" gw2 TVMAZE_HTTP_PER_IP_CONNECTIONS=50 TVMAZE_HTTP_HEAD_TIMEOUT=3 \
  TVMAZE_HTTP_TIMEOUT=60
wait_status 200 "http://127.0.0.1:$HP2/up"
python3 - "$HP2" <<'PY' || fail "slowloris"
import socket, subprocess, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(200):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /up HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    except OSError:
        continue
    s.setblocking(False)
    socks.append(s)
start = time.time()
def is_open(s):
    try:
        return s.recv(1) != b"" and True
    except BlockingIOError:
        return True
    except OSError:
        return False
def dribble():
    for s in socks:
        try:
            s.send(b"a")
        except OSError:
            pass
time.sleep(0.3)
held = sum(1 for s in socks if is_open(s))
print("slowloris: %d connected, %d held (cap 50)" % (len(socks), held))
if held > 50:
    sys.exit("more than 50 held from one address")
worst = 0.0
for _ in range(5):
    t = time.time()
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2",
                           "--interface", "127.0.0.2", "http://127.0.0.1:%d/up" % port],
                          capture_output=True, text=True).stdout
    worst = max(worst, time.time() - t)
    if code != "200":
        sys.exit("/up from 127.0.0.2 during the slowloris: %s" % code)
    dribble()
    time.sleep(0.4)
print("slowloris: /up from 127.0.0.2 200, slowest %.0f ms" % (worst * 1000))
if worst >= 1.0:
    sys.exit("/up took %.2f s" % worst)
while time.time() - start < 8:
    left = [s for s in socks if is_open(s)]
    if not left:
        break
    dribble()
    time.sleep(0.5)
left = sum(1 for s in socks if is_open(s))
print("slowloris: %d still open after %.1f s" % (left, time.time() - start))
if left:
    sys.exit("the head deadline did not close them")
PY
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HP2/up" | grep -q 200 || fail "gw2 /up after"
alive

echo "ok: hostile"
