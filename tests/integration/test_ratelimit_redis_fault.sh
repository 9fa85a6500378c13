#!/usr/bin/env bash
# Rate limits across a Redis failure and recovery (issue 19, item 9: with
# 20/60 s, 10 went through Redis, 20 more on the fallback after Redis died
# and 20 more after it came back empty: 50 in one window). A redis-server of
# this test's own (a free port, no persistence) is killed with SIGKILL and
# started again, empty, on the same port, within one window:
#   1. limit 20: 10 through Redis, Redis killed: exactly 10 more pass on the
#      fallback (it counts on from the last count it knew); Redis back
#      empty: the window stays refused (20 passed in all), and the Redis
#      counter is topped up to at least the limit all the same;
#   2. limit 20 (another window key): 5 through Redis, Redis killed, 5 on
#      the fallback, Redis back empty: the next claim tops the Redis counter
#      up to every count this gateway handed out, and a second gateway that
#      starts then gets only the rest: the two pass exactly 20 together.
# Requests carry no credentials: the per-IP limit runs before auth, so 401
# is a request the limit let through and 429 one it refused (no server
# needed behind the gateways).
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

RP=$(port)
RURL=redis://127.0.0.1:$RP
REDIS_PID=
start_redis() {
  redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    >>"$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for _ in $(seq 100); do
    redis-cli -p "$RP" ping >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "redis-server on $RP did not start"
}
kill_redis() {
  kill -9 "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null || true
}
rkey() { redis-cli -p "$RP" --scan --pattern "rl:ip:127.0.0.1:$1" | head -1; }
rget() { redis-cli -p "$RP" get "rl:ip:127.0.0.1:$1"; }

# the windows used here must not end during the test (at most ~2 min)
for w in 3600 7200; do
  left=$((w - $(date +%s) % w))
  [ "$left" -gt 150 ] || sleep "$((left + 1))"
done
W1=$(($(date +%s) / 3600))
W2=$(($(date +%s) / 7200))

# hits URL N: N requests, one at a time; prints "<passed> <refused>"
hits() {
  local url=$1 n=$2 pass=0 refused=0 code
  for _ in $(seq "$n"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")
    case $code in
    401) pass=$((pass + 1)) ;;
    429) refused=$((refused + 1)) ;;
    *) fail "$url -> $code, want 401 or 429" ;;
    esac
  done
  echo "$pass $refused"
}
L=/api/v1/analytics/country_distribution
NOSERVER=$(port) # nothing listens there: the limit and 401 need no server

start_redis

# --- 1. the fallback counts on from what Redis had ----------------------------
HP=$(port); G=http://127.0.0.1:$HP
start_gateway "$HP" "$NOSERVER" gw1 REDIS_URL="$RURL" TVMAZE_RATE_IP_LIMIT=20 \
  TVMAZE_RATE_IP_WINDOW=3600
[ "$(hits "$G$L" 10)" = "10 0" ] || fail "1: the first 10 did not all pass"
[ "$(rget "$W1")" = 10 ] || fail "1: Redis count $(rget "$W1"), want 10"
kill_redis
got=$(hits "$G$L" 30)
[ "$got" = "10 20" ] || fail "1: with Redis down, passed/refused $got, want 10 20"
[ "$(metric "$G" 'tvmaze_gateway_ratelimit_backend_total{backend="local"}')" -ge 10 ] ||
  fail "1: the fallback was not counted as local"
start_redis # empty
sleep 1.2   # past the gateway's 1 s Redis retry back-off
got=$(hits "$G$L" 20)
[ "$got" = "0 20" ] || fail "1: after Redis came back empty, passed/refused $got, want 0 20"
n=$(rget "$W1")
in_range "${n:-x}" 20 1000000 ||
  fail "1: Redis count '$n' after recovery: the refused window was not topped up (other replicas would pass)"

# --- 2. the Redis counter is topped up on recovery ---------------------------
HP=$(port); GB=http://127.0.0.1:$HP
start_gateway "$HP" "$NOSERVER" gwB REDIS_URL="$RURL" TVMAZE_RATE_IP_LIMIT=20 \
  TVMAZE_RATE_IP_WINDOW=7200
[ "$(hits "$GB$L" 5)" = "5 0" ] || fail "2: the first 5 did not all pass"
[ "$(rget "$W2")" = 5 ] || fail "2: Redis count $(rget "$W2"), want 5"
kill_redis
[ "$(hits "$GB$L" 5)" = "5 0" ] || fail "2: with Redis down, 5 more did not all pass"
start_redis # empty
# one request at a time until one is counted in Redis again (retried at
# most once a second); each counts, in Redis or on the fallback
passed_b=10
for _ in $(seq 50); do
  read -r p _ <<<"$(hits "$GB$L" 1)"
  passed_b=$((passed_b + p))
  [ -n "$(rkey "$W2")" ] && break
  sleep 0.1
done
[ -n "$(rkey "$W2")" ] || fail "2: the gateway never went back to Redis"
[ "$(rget "$W2")" = "$passed_b" ] ||
  fail "2: Redis count $(rget "$W2") after recovery, want $passed_b (every count the gateway handed out)"
[ "$(metric "$GB" 'tvmaze_gateway_ratelimit_backend_total{backend="redis"}')" -ge 6 ] ||
  fail "2: Redis not counted as the backend again"
HP=$(port); GC=http://127.0.0.1:$HP
start_gateway "$HP" "$NOSERVER" gwC REDIS_URL="$RURL" TVMAZE_RATE_IP_LIMIT=20 \
  TVMAZE_RATE_IP_WINDOW=7200
read -r passed_c _ <<<"$(hits "$GC$L" 25)"
read -r more_b _ <<<"$(hits "$GB$L" 5)"
total=$((passed_b + passed_c + more_b))
echo "2: gateway B passed $passed_b then $more_b, gateway C $passed_c: $total in the window"
[ "$total" = 20 ] || fail "2: $total requests passed in one window of limit 20"
echo "PASS test_ratelimit_redis_fault"
