#!/usr/bin/env bash
# API keys on every tvmaze.v1 call (server/auth/auth_gate.h), with
# independent clients (python3-grpcio, buf curl, curl speaking gRPC) and our
# CLI, against two server replicas and a gateway sharing PostgreSQL and Redis:
#   1. no key, an unknown key, a revoked key: UNAUTHENTICATED on every
#      tvmaze.v1 method (the list comes from reflection); Health and
#      reflection answer without a key
#   2. scope: a read key gets PERMISSION_DENIED on StartIngest (gRPC, the CLI
#      and REST 403) and reads; an ingest key starts a run
#   3. limits shared by REST and gRPC in the same Redis counters: a free key's
#      60 a minute spent on REST is refused on gRPC (RESOURCE_EXHAUSTED with
#      google.rpc.RetryInfo), and the other way round; with Redis away a
#      replica counts in process
#   4. a key revoked in the database stops working on both replicas (the
#      NOTIFY clears their caches; the caches would keep it 60 s otherwise)
#   5. bad keys: 0 bytes, 5 KB, 10 KB, non-ASCII, a NUL (raw HTTP/2), two
#      authorization headers, Bearer with no key; 10,000 wrong guesses are
#      limited (RESOURCE_EXHAUSTED) and the right key still works
#   6. no secret appears in any log line (servers at LOG_LEVEL=debug)
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
: "${TVMAZE_TEST_REDIS_URL:?TVMAZE_TEST_REDIS_URL must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

need_grpcio
CLI="$B/client/tvmaze"
BUF=${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}
SRV="$B/server/tvmaze-server"

export REDIS_URL=$TVMAZE_TEST_REDIS_URL LOG_LEVEL=debug
fresh_db grpc_auth_test
clear_rate_windows
CLEANUP_HOOKS+=(clear_rate_windows) # the guesses' lookup count must not reach later tests
HARNESS=$TVMAZE_API_KEY
newkey() { "$SRV" keys create --name "$1" --tier "$2" ${3:+--scope "$3"} || fail "keys create $1"; }
READ=$(newkey reader premium)
ING=$(newkey ingester premium ingest)
FREE1=$(newkey free-rest free)
FREE2=$(newkey free-grpc free)
REV=$(newkey to-revoke premium)
GONE=$(newkey gone premium)
"$SRV" keys revoke gone >/dev/null
"$SRV" keys list >"$TMP/keys.txt"
grep -Eq '^reader +premium +read ' "$TMP/keys.txt" || fail "keys list: $(cat "$TMP/keys.txt")"
grep -Eq '^ingester +premium +ingest ' "$TMP/keys.txt" || fail "keys list: $(cat "$TMP/keys.txt")"
rc=0; "$SRV" keys create --name bad --tier free --scope write 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "--scope write: exit $rc, want 2"

GP1=$(port)
GP2=$(port)
HP=$(port)
start_server "$GP1" s1
P1=${PIDS[-1]}
start_server "$GP2" s2
P2=${PIDS[-1]}
wait_started s1 "$P1"
wait_started s2 "$P2"
start_gateway "$HP" "$GP1" gw "REDIS_URL=$REDIS_URL" "TVMAZE_API_KEY=$HARNESS"
G=http://127.0.0.1:$HP
unset TVMAZE_API_KEY # from here each call says which key it uses

bufc() { timeout 60 "$BUF" curl --protocol grpc --http2-prior-knowledge "$@"; }
# code PORT METHOD JSON [buf-args]: buf curl's exit status (gRPC code x 8)
code() {
  local p=$1 m=$2 d=$3
  shift 3
  local rc=0
  bufc "$@" -d "$d" "http://127.0.0.1:$p/$m" >"$TMP/buf.out" 2>&1 || rc=$?
  echo "$rc"
}

# --- 1. every tvmaze.v1 method needs a key; Health and reflection do not ----
bufc --list-methods "http://127.0.0.1:$GP1" >"$TMP/methods" || fail "reflection without a key"
grep '^tvmaze\.v1\.' "$TMP/methods" >"$TMP/v1methods" || true
[ "$(wc -l <"$TMP/v1methods")" -ge 15 ] || fail "reflection lists $(wc -l <"$TMP/v1methods") tvmaze.v1 methods"
[ "$(code "$GP1" grpc.health.v1.Health/Check '{}')" = 0 ] || fail "Health/Check without a key: $(cat "$TMP/buf.out")"
[ "$(code "$GP1" tvmaze.v1.Shows/ListShows '{}')" = 128 ] || fail "no key: $(cat "$TMP/buf.out")"
grep -q "API key required" "$TMP/buf.out" || fail "no key message: $(cat "$TMP/buf.out")"
[ "$(code "$GP1" tvmaze.v1.Shows/ListShows '{}' -H "authorization: Bearer $READ")" = 0 ] ||
  fail "read key on ListShows: $(cat "$TMP/buf.out")"

cat >"$TMP/matrix.py" <<'EOF'
# every method x (no key, unknown, revoked): UNAUTHENTICATED, on both replicas
import sys, grpc
methods = [l.strip() for l in open(sys.argv[1]) if l.strip()]
gone = sys.argv[2]
bad = 0
for port in sys.argv[3:]:
    ch = grpc.insecure_channel("127.0.0.1:" + port)
    for m in methods:
        stream = m.endswith("WatchChanges")
        f = ch.unary_stream("/" + m) if stream else ch.unary_unary("/" + m)
        for md in ((), (("x-api-key", "tvm_" + "0" * 40),), (("authorization", "Bearer " + gone),)):
            try:
                r = f(b"", timeout=10, metadata=md)
                if stream:
                    next(iter(r))
                print("NOT REFUSED", port, m, md and md[0][0]); bad += 1
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.UNAUTHENTICATED:
                    print("WRONG", port, m, e.code(), e.details()); bad += 1
print("matrix: %d methods x 3 keys x %d replicas, %d wrong" % (len(methods), len(sys.argv) - 3, bad))
sys.exit(1 if bad else 0)
EOF
"$PY" "$TMP/matrix.py" "$TMP/v1methods" "$GONE" "$GP1" "$GP2" >"$TMP/matrix.out" 2>&1 ||
  fail "UNAUTHENTICATED matrix: $(cat "$TMP/matrix.out")"
echo "ok: $(tail -1 "$TMP/matrix.out"); Health and reflection open"

# --- 2. scopes -----------------------------------------------------------------
[ "$(code "$GP2" tvmaze.v1.Ingest/StartIngest '{"days":1}' -H "x-api-key: $READ")" = 56 ] ||
  fail "read key on StartIngest: $(cat "$TMP/buf.out")"
grep -q "needs a key with scope ingest" "$TMP/buf.out" || fail "scope message: $(cat "$TMP/buf.out")"
[ "$(code "$GP2" tvmaze.v1.Ingest/ListIngestRuns '{}' -H "x-api-key: $READ")" = 0 ] ||
  fail "read key on ListIngestRuns: $(cat "$TMP/buf.out")"
[ "$(code "$GP2" tvmaze.v1.Auth/CheckApiKey "{\"key\":\"$READ\"}" -H "x-api-key: $READ")" = 56 ] ||
  fail "read key on CheckApiKey (the key oracle needs scope ingest): $(cat "$TMP/buf.out")"
[ "$(code "$GP2" tvmaze.v1.Ingest/StartIngest '{"days":1}' -H "x-api-key: $ING")" = 0 ] ||
  fail "ingest key on StartIngest: $(cat "$TMP/buf.out")"
rc=0; "$CLI" --target "127.0.0.1:$GP1" --api-key "$READ" ingest start --days 1 >"$TMP/cli.out" 2>&1 || rc=$?
if [ "$rc" = 0 ] || ! grep -q "scope ingest" "$TMP/cli.out"; then
  fail "CLI read key ingest start: exit $rc $(cat "$TMP/cli.out")"
fi
rc=0; "$CLI" --target "127.0.0.1:$GP1" shows list >"$TMP/cli.out" 2>&1 || rc=$?
if [ "$rc" = 0 ] || ! grep -q "UNAUTHENTICATED" "$TMP/cli.out"; then
  fail "CLI without a key: exit $rc $(cat "$TMP/cli.out")"
fi
TVMAZE_API_KEY=$READ "$CLI" --target "127.0.0.1:$GP1" shows list >/dev/null 2>"$TMP/cli.out" ||
  fail "CLI with TVMAZE_API_KEY: $(cat "$TMP/cli.out")"
req 403 -X POST -H 'Content-Type: application/json' -H "X-API-Key: $READ" -d '{"days":1}' "$G/api/v1/ingest/runs"
err_ok 7
req 202 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $ING" -d '{"days":1}' \
  "$G/api/v1/ingest/runs"
req 202 -X POST -H 'Content-Type: application/json' -u admin:s3cret -d '{"days":1}' "$G/api/v1/ingest/runs"
req 200 -H "X-API-Key: $READ" "$G/api/v1/tv_shows"
echo "ok: scopes (gRPC, CLI, REST 403 for a read key, Basic acts with the gateway's key)"

# --- 3. one limit for REST and gRPC ------------------------------------------
# A fixed one-minute window: start a spend early in a minute so it fits.
fresh_minute() {
  local s
  s=$(date +%S)
  if [ $((10#$s)) -ge 40 ]; then sleep $((61 - 10#$s)); fi
}
cat >"$TMP/spend.py" <<'EOF'
# spend.py KEY N PORT...: N ListShows calls, round robin over the replicas;
# prints the codes seen
import collections, sys, grpc
key, n, ports = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
chs = [grpc.insecure_channel("127.0.0.1:" + p).unary_unary("/tvmaze.v1.Shows/ListShows") for p in ports]
seen = collections.Counter()
for i in range(n):
    try:
        chs[i % len(chs)](b"", timeout=10, metadata=(("x-api-key", key),)); seen["OK"] += 1
    except grpc.RpcError as e:
        seen[e.code().name] += 1
        if e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            # google.rpc.Status{code: 8, ..., details: [RetryInfo]} in the trailer
            det = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin", b"")
            if not det.startswith(b"\x08\x08") or b"type.googleapis.com/google.rpc.RetryInfo" not in det:
                seen["NO_RETRY_INFO"] += 1
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
EOF
fresh_minute
for i in $(seq 60); do
  st=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $FREE1" "$G/api/v1/analytics/country_distribution")
  [ "$st" = 200 ] || fail "REST request $i of 60 with a free key: $st"
done
out=$("$PY" "$TMP/spend.py" "$FREE1" 2 "$GP1" "$GP2")
[ "$out" = "RESOURCE_EXHAUSTED=2" ] || fail "gRPC after 60 REST requests: $out"
[ "$(code "$GP2" tvmaze.v1.Shows/ListShows '{}' -H "x-api-key: $FREE1")" = 64 ] ||
  fail "buf curl after the budget: $(cat "$TMP/buf.out")"
grep -q "rate limit exceeded for key free-rest" "$TMP/buf.out" || fail "limit message: $(cat "$TMP/buf.out")"
fresh_minute
out=$("$PY" "$TMP/spend.py" "$FREE2" 60 "$GP1" "$GP2")
[ "$out" = "OK=60" ] || fail "60 gRPC calls with a free key: $out"
req 429 -H "X-API-Key: $FREE2" "$G/api/v1/tv_shows"
err_ok 8
echo "ok: a free key's 60 a minute spent on REST is refused on gRPC, and the other way round"
# Redis away: a replica counts in process (its own budget) and still refuses
GP3=$(port)
REDIS_URL=redis://127.0.0.1:9 start_server "$GP3" s3
P3=${PIDS[-1]}
wait_started s3 "$P3"
FREE3=$(newkey free-noredis free)
fresh_minute
out=$("$PY" "$TMP/spend.py" "$FREE3" 62 "$GP3")
[ "$out" = "OK=60 RESOURCE_EXHAUSTED=2" ] || fail "61st and 62nd call with Redis away: $out"
echo "ok: with Redis away the limit holds in process ($out)"

# --- 4. revocation reaches every replica -------------------------------------
cat >"$TMP/revoked.py" <<'EOF'
# revoked.py KEY NAME SERVER PORT...: with both replicas' caches warm, runs
# `keys revoke NAME`, then polls the replicas (10 s at most; the caches' TTL
# is 60 s) until each refuses the key; prints the time from the revoke's
# commit (the command's exit) to the last refusal
import subprocess, sys, time, grpc
key, name, server, ports = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
left = {p: grpc.insecure_channel("127.0.0.1:" + p).unary_unary("/tvmaze.v1.Shows/ListShows") for p in ports}
for f in left.values():
    f(b"", timeout=5, metadata=(("x-api-key", key),))
subprocess.run([server, "keys", "revoke", name], check=True, stdout=subprocess.DEVNULL)
t0 = time.time()
while left and time.time() < t0 + 10:
    for p, f in list(left.items()):
        try:
            f(b"", timeout=5, metadata=(("x-api-key", key),))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAUTHENTICATED:
                del left[p]
print("%d ms" % ((time.time() - t0) * 1000))
sys.exit(1 if left else 0)
EOF
out=$("$PY" "$TMP/revoked.py" "$REV" to-revoke "$SRV" "$GP1" "$GP2") || fail "a revoked key still works after 10 s"
echo "ok: revoked key refused by both replicas $out after the revoke committed (printed, not asserted)"

# --- 5. bad keys ---------------------------------------------------------------
cat >"$TMP/bad.py" <<'EOF'
import sys, grpc
port, good = sys.argv[1], sys.argv[2]
# a channel per case: gRPC may close a connection after headers over its limit
def stub():
    return grpc.insecure_channel("127.0.0.1:" + port).unary_unary("/tvmaze.v1.Shows/ListShows")
U, R = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED
cases = [
    ("0 bytes", (("x-api-key", ""),), U),
    ("5 KB", (("x-api-key", "k" * 5120),), U),
    ("10 KB (over gRPC's header limit)", (("x-api-key", "k" * 10240),), R),
    ("Bearer, no key", (("authorization", "Bearer"),), U),
    ("Bearer and spaces", (("authorization", "Bearer   "),), U),
    ("Basic scheme", (("authorization", "Basic YTpi"),), U),
    ("two authorization", (("authorization", "Bearer " + good), ("authorization", "Bearer x")), U),
    ("both headers", (("authorization", "Bearer " + good), ("x-api-key", good)), U),
    ("key with a space", (("x-api-key", good[:10] + " " + good[10:]),), U),
]
bad = 0
for name, md, want in cases:
    try:
        stub()(b"", timeout=10, metadata=md); got = "OK"
    except grpc.RpcError as e:
        got = e.code()
        if good in e.details():
            print("ECHOED THE KEY", name); bad += 1
    if got != want:
        print("WRONG", name, got, "want", want); bad += 1
stub()(b"", timeout=10, metadata=(("x-api-key", good),))
print("bad keys: %d cases, %d wrong" % (len(cases), bad))
sys.exit(1 if bad else 0)
EOF
"$PY" "$TMP/bad.py" "$GP1" "$ING" >"$TMP/bad.out" 2>&1 || fail "bad keys: $(cat "$TMP/bad.out")"
# non-ASCII bytes (grpcio refuses to send them; curl speaks gRPC here)
printf '\0\0\0\0\0' >"$TMP/empty.grpc"
curl -s --http2-prior-knowledge -o /dev/null -D "$TMP/nonascii.hdr" -H 'content-type: application/grpc' \
  -H 'te: trailers' -H "$(printf 'x-api-key: tvm_caf\303\251')" --data-binary @"$TMP/empty.grpc" \
  "http://127.0.0.1:$GP1/tvmaze.v1.Shows/ListShows" || true
grep -qi '^grpc-status: 16' "$TMP/nonascii.hdr" || fail "non-ASCII key: $(cat "$TMP/nonascii.hdr")"
# a NUL inside the key (raw HTTP/2: every client library refuses to send it)
cat >"$TMP/nul.py" <<'EOF'
import socket, struct, sys
def frame(t, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload
def lit(name, value):  # HPACK literal header field without indexing, no Huffman
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
port, key = int(sys.argv[1]), sys.argv[2].encode()
hdrs = (lit(b":method", b"POST") + lit(b":scheme", b"http") + lit(b":path", b"/tvmaze.v1.Shows/ListShows") +
        lit(b":authority", b"127.0.0.1") + lit(b"content-type", b"application/grpc") +
        lit(b"te", b"trailers") + lit(b"x-api-key", key[:10] + b"\x00" + key[10:]))
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 4, 1, hdrs) +
          frame(0, 1, 1, b"\x00\x00\x00\x00\x00"))
got = b""
try:
    while len(got) < 65536:
        b = s.recv(4096)
        if not b:
            break
        got += b
except socket.timeout:
    pass
# the reply must not be a successful ListShows: no DATA frame with a message
i = 24 if got.startswith(b"PRI") else 0
ok = True
while i + 9 <= len(got):
    n = int.from_bytes(got[i:i + 3], "big"); t = got[i + 3]
    if t == 0 and n > 5:
        ok = False
    i += 9 + n
print("NUL key: %d bytes back, %s" % (len(got), "refused" if ok else "SERVED"))
sys.exit(0 if ok else 1)
EOF
"$PY" "$TMP/nul.py" "$GP1" "$ING" >"$TMP/nul.out" 2>&1 || fail "NUL key: $(cat "$TMP/nul.out")"
[ "$(code "$GP1" tvmaze.v1.Shows/ListShows '{}' -H "x-api-key: $ING")" = 0 ] || fail "server after the NUL key"
cat >"$TMP/guess.py" <<'EOF'
# 10,000 wrong guesses from one client: limited; the right key still works
import collections, os, sys, grpc
port, good = sys.argv[1], sys.argv[2]
f = grpc.insecure_channel("127.0.0.1:" + port).unary_unary("/tvmaze.v1.Shows/ListShows")
f(b"", timeout=10, metadata=(("x-api-key", good),))
seen = collections.Counter()
for i in range(10000):
    try:
        f(b"", timeout=10, metadata=(("x-api-key", "tvm_" + os.urandom(20).hex()),)); seen["OK"] += 1
    except grpc.RpcError as e:
        seen[e.code().name] += 1
f(b"", timeout=10, metadata=(("x-api-key", good),))
print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
assert seen["OK"] == 0 and seen["UNAUTHENTICATED"] <= 300 and seen["RESOURCE_EXHAUSTED"] >= 9700, seen
EOF
"$PY" "$TMP/guess.py" "$GP2" "$READ" >"$TMP/guess.out" 2>&1 || fail "guesses: $(cat "$TMP/guess.out")"
[ "$(code "$GP2" tvmaze.v1.Shows/ListShows '{}' -H "x-api-key: $READ")" = 0 ] ||
  fail "the right key after 10,000 guesses: $(cat "$TMP/buf.out")"
echo "ok: $(tail -1 "$TMP/bad.out"); non-ASCII and NUL refused; 10,000 guesses: $(cat "$TMP/guess.out")"

# --- 6. no secret in any log line --------------------------------------------
kill -0 "$P1" || fail "server s1 died"
kill -0 "$P2" || fail "server s2 died"
for k in "$HARNESS" "$READ" "$ING" "$FREE1" "$FREE2" "$FREE3" "$REV" "$GONE"; do
  if grep -l -- "$k" "$TMP"/*.log; then fail "a key in a log line"; fi
done
echo "ok: no key in $(cat "$TMP"/*.log | wc -l) log lines"
