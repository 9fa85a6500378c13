#!/usr/bin/env bash
# Rate limits and client identity through real gateways (curl -> gateway ->
# server -> PostgreSQL, counters in Redis):
#   - the per-IP limit reaches 429 with Retry-After and RateLimit-* headers;
#   - limits of 200 and more are spent from blocks claimed in Redis, and two
#     gateways together still serve exactly the limit;
#   - a short window (TVMAZE_RATE_IP_WINDOW) resets the count;
#   - X-Forwarded-For is used only when the peer is a trusted proxy;
#   - Redis down: the in-process fallback still limits, counting on in the
#     same window, and Redis is used again once it is back, topped up with
#     the fallback's counts (Redis is restarted at exit whatever happens);
#   - a slow client is cut off by TVMAZE_HTTP_TIMEOUT and does not block
#     other clients;
#   - the response cache (TVMAZE_RESPONSE_CACHE_TTL) reuses 200 bodies of read
#     routes, never errors or ingest runs, and still runs auth and limits;
#     with the server gone (the change follower down) it is bypassed.
set -euo pipefail
: "${TVMAZE_TEST_REDIS_URL:?TVMAZE_TEST_REDIS_URL must be set}"
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"
SVC="$S/scripts/services.sh"

REDIS_STOPPED=0
restore_redis() {
  if [ "$REDIS_STOPPED" = 1 ]; then
    bash "$SVC" redis-start "$TVMAZE_TEST_SERVICES_DIR" >/dev/null
    REDIS_STOPPED=0
  fi
}
CLEANUP_HOOKS+=(restore_redis)

clear_rate_windows
fresh_db gw_limits_test
GP=$(port)
start_server "$GP"
SERVER_PID=${PIDS[-1]}
A=(-u admin:s3cret)
L=/api/v1/analytics/country_distribution

# --- per-IP limit: 429, Retry-After, RateLimit-* ----------------------------
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw_ip REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=5 \
  TVMAZE_RATE_IP_WINDOW=3600
wait_status 200 "$G/up" # /up is not limited
for i in 1 2 3 4 5; do
  req 200 "${A[@]}" "$G$L"
  [ "$(hval RateLimit-Limit)" = 5 ] || fail "RateLimit-Limit $(hval RateLimit-Limit)"
  [ "$(hval RateLimit-Remaining)" = $((5 - i)) ] || fail "request $i: RateLimit-Remaining $(hval RateLimit-Remaining)"
  reset=$(hval RateLimit-Reset)
  in_range "$reset" 1 3600 || fail "RateLimit-Reset $reset"
done
req 429 "${A[@]}" "$G$L"; err_ok 8
ra=$(hval Retry-After)
in_range "$ra" 1 3600 || fail "Retry-After $ra"
[ "$(hval RateLimit-Remaining)" = 0 ] || fail "429 RateLimit-Remaining"
[ "$(hval RateLimit-Limit)" = 5 ] || fail "429 RateLimit-Limit"
hdr RateLimit-Reset
# the IP limit comes before credentials: wrong or no credentials are 429 too
req 429 "$G$L"; err_ok 8
req 429 -u admin:wrong "$G$L"; err_ok 8
# routes outside /api/v1 are not limited
req 200 "$G/up"
req 200 "$G/metrics"
grep -q '^tvmaze_gateway_rate_limited_total{scope="ip"} 3$' "$TMP/body" || fail "metrics: ip rejections"
# the count lives in Redis (shared by replicas): a second gateway on the same
# Redis sees this client as over the limit at once
HP2=$(port)
start_gateway "$HP2" "$GP" gw_ip2 REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=5 \
  TVMAZE_RATE_IP_WINDOW=3600
req 429 "${A[@]}" "http://127.0.0.1:$HP2$L"; err_ok 8
[ -n "$(redis-cli -u "$TVMAZE_TEST_REDIS_URL" --scan --pattern 'rl:ip:127.0.0.1:*')" ] || fail "no rl:ip key in Redis"

# --- blocks: limits >= 200 are counted in blocks claimed from Redis ----------
# limit 300 -> blocks of 3 (ratelimit.c). A claims counts 1-3 and uses 1; B
# claims from 4 on and is served exactly up to 300; A then spends its 2 left
# and is refused at its next claim (303 > 300): never more than the limit.
clear_rate_windows
HPA=$(port); HPB=$(port)
start_gateway "$HPA" "$GP" gw_blk_a REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=300 \
  TVMAZE_RATE_IP_WINDOW=3600
start_gateway "$HPB" "$GP" gw_blk_b REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=300 \
  TVMAZE_RATE_IP_WINDOW=3600
python3 - "$HPA" "$HPB" "$L" <<'PY' || fail "rate-limit blocks"
import base64, http.client, sys
auth = {"Authorization": "Basic " + base64.b64encode(b"admin:s3cret").decode()}
def conn(port):
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=20)
def get(c):
    c.request("GET", sys.argv[3], headers=auth)
    r = c.getresponse()
    r.read()
    return r.status, r.getheader("RateLimit-Remaining")
a, b = conn(sys.argv[1]), conn(sys.argv[2])
assert get(a) == (200, "299"), "A first"
served = 0
while True:
    st, rem = get(b)
    if st != 200:
        break
    served += 1
    assert served < 400, "B never limited"
assert (st, rem) == (429, "0"), (st, rem)
assert served == 297, served
assert [get(a)[0] for _ in range(3)] == [200, 200, 429]
PY
[ "$(redis-cli -u "$TVMAZE_TEST_REDIS_URL" --scan --pattern 'rl:ip:127.0.0.1:*' | head -1 | xargs redis-cli -u "$TVMAZE_TEST_REDIS_URL" get)" = 303 ] ||
  fail "Redis count after the blocks: want 303 (101 claims of 3)"

# --- a short window resets --------------------------------------------------
clear_rate_windows
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw_win REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=2 \
  TVMAZE_RATE_IP_WINDOW=2
# fill a window; if it rolls over while doing so, try again (bounded)
limited=0
for _ in $(seq 10); do
  for _ in 1 2 3; do curl -s -o "$TMP/body" -D "$TMP/hdr" "${A[@]}" "$G$L"; done
  grep -q '^HTTP/1.1 429' "$TMP/hdr" && { limited=1; break; }
done
[ "$limited" = 1 ] || fail "limit 2 per 2 s never reached 429"
reset=$(hval RateLimit-Reset)
in_range "$reset" 1 2 || fail "RateLimit-Reset $reset for a 2 s window"
# once the window has passed the client is served again with a fresh count
sleep "$reset"
wait_status 200 "$G$L" "${A[@]}"
req 200 "${A[@]}" "$G$L"
rem=$(hval RateLimit-Remaining)
in_range "$rem" 0 1 || fail "RateLimit-Remaining $rem after reset"

# --- X-Forwarded-For only from trusted proxies ------------------------------
clear_rate_windows
HPT=$(port); GT=http://127.0.0.1:$HPT # trusts loopback as a proxy
start_gateway "$HPT" "$GP" gw_trust REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=3 \
  TVMAZE_RATE_IP_WINDOW=3600 TVMAZE_TRUSTED_PROXIES=10.9.0.0/16,127.0.0.1
HPU=$(port); GU=http://127.0.0.1:$HPU # trusts nobody
start_gateway "$HPU" "$GP" gw_untrust REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=3 \
  TVMAZE_RATE_IP_WINDOW=3600 TVMAZE_TRUSTED_PROXIES=10.9.0.0/16
# trusted peer: each forwarded client has its own count
for ip in 203.0.113.7 203.0.113.8 198.51.100.1; do
  req 200 "${A[@]}" -H "X-Forwarded-For: $ip" "$GT$L"
  [ "$(hval RateLimit-Remaining)" = 2 ] || fail "trusted: $ip should have a fresh count"
done
# right-most untrusted hop counts: the spoofable left part is ignored, the
# trusted 10.9.x proxy hop is skipped
req 200 "${A[@]}" -H "X-Forwarded-For: 192.0.2.66, 203.0.113.7, 10.9.1.1" "$GT$L"
[ "$(hval RateLimit-Remaining)" = 1 ] || fail "trusted chain: 203.0.113.7 should be counted"
grep -q '"client":"203.0.113.7"' "$TMP/gw_trust.log" || fail "log: client 203.0.113.7"
grep -q '"client":"192.0.2.66"' "$TMP/gw_trust.log" && fail "log: spoofed left-most hop used"
req 200 "${A[@]}" -H "X-Forwarded-For: 203.0.113.7" "$GT$L"
req 429 "${A[@]}" -H "X-Forwarded-For: 203.0.113.7" "$GT$L"; err_ok 8
req 200 "${A[@]}" -H "X-Forwarded-For: 203.0.113.8" "$GT$L" # others unaffected
# garbage in the header: the peer is the client
req 200 "${A[@]}" -H "X-Forwarded-For: not-an-ip" "$GT$L"
grep -q '"client":"127.0.0.1"' "$TMP/gw_trust.log" || fail "log: garbage XFF should fall back to the peer"
# untrusted peer: the header is ignored, every request counts for 127.0.0.1
clear_rate_windows
for i in 1 2 3; do
  req 200 "${A[@]}" -H "X-Forwarded-For: 203.0.113.$((20 + i))" "$GU$L"
  [ "$(hval RateLimit-Remaining)" = $((3 - i)) ] || fail "untrusted: XFF must not reset the count"
done
req 429 "${A[@]}" -H "X-Forwarded-For: 203.0.113.99" "$GU$L"; err_ok 8
grep -q '"client":"203.0.113' "$TMP/gw_untrust.log" && fail "untrusted gateway used X-Forwarded-For"

# --- Redis down: in-process fallback, then Redis again ----------------------
clear_rate_windows
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw_redis REDIS_URL="$TVMAZE_TEST_REDIS_URL" TVMAZE_RATE_IP_LIMIT=4 \
  TVMAZE_RATE_IP_WINDOW=3600
req 200 "${A[@]}" "$G$L"
[ "$(metric "$G" 'tvmaze_gateway_ratelimit_backend_total{backend="redis"}')" -ge 1 ] || fail "redis backend not used"
REDIS_STOPPED=1
bash "$SVC" redis-stop "$TVMAZE_TEST_SERVICES_DIR" >/dev/null
# the fallback counts on in the same window, from the count Redis had (1)
for i in 2 3; do
  req 200 "${A[@]}" "$G$L"
  [ "$(hval RateLimit-Remaining)" = $((4 - i)) ] || fail "fallback: RateLimit-Remaining $(hval RateLimit-Remaining) at $i"
done
[ "$(metric "$G" 'tvmaze_gateway_ratelimit_backend_total{backend="local"}')" -ge 2 ] || fail "local backend not counted"
restore_redis
# Redis is retried at most once a second: poll until a request counts there;
# the claim tops the fresh (empty) Redis up with the fallback's counts, so
# the window's 4th request is its last
back=0
for _ in $(seq 100); do
  curl -s -o /dev/null "${A[@]}" "$G$L"
  [ -n "$(redis-cli -u "$TVMAZE_TEST_REDIS_URL" --scan --pattern 'rl:ip:127.0.0.1:*')" ] && { back=1; break; }
  sleep 0.2
done
[ "$back" = 1 ] || fail "gateway did not go back to Redis"
n=$(redis-cli -u "$TVMAZE_TEST_REDIS_URL" --scan --pattern 'rl:ip:127.0.0.1:*' | head -1 | xargs redis-cli -u "$TVMAZE_TEST_REDIS_URL" get)
[ "$n" -ge 4 ] || fail "Redis count $n after recovery: the fallback's counts were not added"
req 429 "${A[@]}" "$G$L"; err_ok 8; hdr Retry-After
# (test_ratelimit_redis_fault.sh: the limit across a Redis kill and restart)

# --- slow client: cut off, others still served ------------------------------
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw_slow TVMAZE_HTTP_TIMEOUT=1 TVMAZE_RATE_IP_LIMIT=100000
python3 - "$HP" "$G" <<'PY' || fail "slow client"
import socket, sys, urllib.request
port, base = int(sys.argv[1]), sys.argv[2]
slow = []
for _ in range(3):  # a few trickling clients: half a request line, then nothing
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /api/v1/tv_shows HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
# another client is served meanwhile
with urllib.request.urlopen(base + "/metrics", timeout=20) as r:
    assert r.status == 200, r.status
# each slow connection is closed by the gateway (the 20 s bound only keeps a
# broken gateway from hanging the test; the configured timeout is 1 s)
for s in slow:
    s.settimeout(20)
    try:
        data = s.recv(4096)
    except socket.timeout:
        sys.exit("slow connection was not closed")
    except ConnectionResetError:
        data = b""
    assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:100]
    s.close()
# an idle keep-alive connection is closed too
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(20)
buf = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
except socket.timeout:
    sys.exit("idle keep-alive connection was not closed")
assert buf.startswith(b"HTTP/1.1 200"), buf[:100]
PY

# --- response cache ----------------------------------------------------------
# (last: it stops the server)
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$GP" gw_cache TVMAZE_RESPONSE_CACHE_TTL=3600 TVMAZE_RATE_IP_LIMIT=100000
HPN=$(port); GN=http://127.0.0.1:$HPN
start_gateway "$HPN" "$GP" gw_nocache TVMAZE_RESPONSE_CACHE_TTL=0 TVMAZE_RATE_IP_LIMIT=100000
wait_follower "$G"
HIT='tvmaze_gateway_response_cache_total{result="hit"}'
MISS='tvmaze_gateway_response_cache_total{result="miss"}'
U="/api/v1/tv_shows?date_from=2025-06-16&date_to=2025-06-29&country=US"
req 200 "${A[@]}" "$G$U"; cp "$TMP/body" "$TMP/first"; ET1=$(hval ETag)
[ "$(metric "$G" "$MISS")" = 1 ] || fail "first request: one miss"
[ "$(metric "$G" "$HIT")" = 0 ] || fail "first request: no hit"
req 200 "${A[@]}" -H 'X-Request-Id: second' "$G$U"
[ "$(metric "$G" "$HIT")" = 1 ] || fail "second request: a hit"
cmp -s "$TMP/first" "$TMP/body" || fail "cached body differs"
[ "$(hval ETag)" = "$ET1" ] || fail "cached ETag differs"
[ "$(hval X-Request-Id)" = second ] || fail "per-request headers must not be cached"
hdr "RateLimit-Remaining"
req 304 "${A[@]}" -H "If-None-Match: $ET1" "$G$U"
req 401 "$G$U"; err_ok 16 # auth still runs on a cached route
# errors are not stored
req 400 "${A[@]}" "$G/api/v1/tv_shows?per_page=0"; err_ok 3
req 400 "${A[@]}" "$G/api/v1/tv_shows?per_page=0"; err_ok 3
[ "$(metric "$G" "$HIT")" = 2 ] || fail "an error reply was served from the cache"
# the uncached gateway never counts hits
req 200 "${A[@]}" "$GN$U"; req 200 "${A[@]}" "$GN$U"
[ "$(metric "$GN" "$HIT")" = 0 ] || fail "TTL 0 must not cache"
[ "$(metric "$GN" "$MISS")" = 0 ] || fail "TTL 0 must not count lookups"
# with the server gone the change follower is down, so the cache is bypassed:
# the cached listing is not served (it could be older than the data), 503
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
for _ in $(seq 300); do
  [ "$(metric "$G" tvmaze_gateway_follower_up)" = 0 ] && break
  sleep 0.1
done
[ "$(metric "$G" tvmaze_gateway_follower_up)" = 0 ] || fail "follower still up with the server gone"
BYPASS='tvmaze_gateway_response_cache_total{result="bypass"}'
b=$(metric "$G" "$BYPASS")
req 503 "${A[@]}" "$G$U"; err_ok 14
[ "$(metric "$G" "$BYPASS")" = $((b + 1)) ] || fail "the cache was not bypassed while the follower is down"
req 503 "${A[@]}" "$G$U&page=2"; err_ok 14
req 503 "${A[@]}" "$GN$U"; err_ok 14

echo "PASS test_gateway_limits"
