#!/usr/bin/env bash
# TLS and mTLS on the gRPC port (rpc/rpc_tls.c), with certificates made
# here by openssl, and independent clients (buf curl, python3-grpcio,
# Python's ssl, openssl s_server) besides our CLI and gateway:
#   1. start-up: unreadable files, a key that does not match the
#      certificate, an expired certificate, half a pair, a client CA
#      without a pair: exit 2 with a message naming the variable and file
#      (server, gateway, CLI)
#   2. TLS only: buf curl --cacert and the CLI work; plaintext fails; a CA
#      that did not sign the server's certificate fails (verify failed)
#   3. self-signed, wrong-host and expired server certificates: the CLI
#      fails with the handshake's reason (the expired one served by
#      openssl s_server, since tvmaze-server refuses to start with it)
#   4. mTLS: no client certificate, or one from another CA: refused; the
#      right one works (buf curl, grpcio, CLI); the gateway over mTLS serves
#      REST; a gateway without a client certificate answers /up 503
#   5. renewal: a certificate replaced on disk (in place, non-atomically;
#      then by rename) is served to new connections while a loop of calls on
#      old and new connections sees no failure; garbage files are refused
#      (logged) and the previous certificate stays in use
#   6. the gateway picks up its renewed client certificate without a restart
set -euo pipefail
: "${TVMAZE_TEST_SERVICES_DIR:?TVMAZE_TEST_SERVICES_DIR must be set}"
: "${TVMAZE_TEST_REDIS_URL:?TVMAZE_TEST_REDIS_URL must be set}"
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

need_grpcio
command -v openssl >/dev/null || fail "openssl missing"
CLI="$B/client/tvmaze"
BUF=${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}
SRV="$B/server/tvmaze-server"
GW="$B/gateway/tvmaze-gateway"

# --- certificates ---------------------------------------------------------------
K=$TMP/pki
mkdir -p "$K"
ossl() { openssl "$@" >>"$TMP/openssl.out" 2>&1 || fail "openssl $*: $(tail -5 "$TMP/openssl.out")"; }
# ca NAME: a self-signed CA
ca() { ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/$1.key" \
  -out "$K/$1.crt" -days 3 -subj "/CN=$1"; }
# leaf NAME CA DAYS SAN [KEY]: a certificate for SAN signed by CA (key KEY.key
# if given, else a new NAME.key); DAYS -1 makes it expired
leaf() {
  local key=${5:-$1}
  [ -f "$K/$key.key" ] || ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/$key.key"
  ossl req -new -key "$K/$key.key" -out "$K/$1.csr" -subj "/CN=$1"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$4" >"$K/$1.ext"
  ossl x509 -req -in "$K/$1.csr" -CA "$K/$2.crt" -CAkey "$K/$2.key" -set_serial "0x$(openssl rand -hex 8)" \
    -out "$K/$1.crt" -days "$3" -extfile "$K/$1.ext"
}
ca ca
ca other
LOCAL=IP:127.0.0.1,DNS:localhost
leaf srv ca 2 "$LOCAL"
leaf srv2 ca 2 "$LOCAL" # the renewal of srv (its own key)
leaf client ca 2 DNS:client
leaf stranger other 2 DNS:stranger # a client certificate of another CA
leaf wronghost ca 2 DNS:wrong.example
leaf expired ca -1 "$LOCAL"
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$K/self.key" \
  -out "$K/self.crt" -days 2 -subj /CN=self -addext "subjectAltName=$LOCAL"
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

export REDIS_URL=$TVMAZE_TEST_REDIS_URL
fresh_db grpc_tls_test
KEY=$TVMAZE_API_KEY

# --- 1. start-up errors -----------------------------------------------------
# expect_exit2 WHAT PATTERN CMD...: CMD exits 2 and says PATTERN on stderr
expect_exit2() {
  local what=$1 pat=$2 rc=0
  shift 2
  timeout 20 "$@" >"$TMP/start.out" 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "$what: exit $rc, want 2: $(cat "$TMP/start.out")"
  grep -qF -- "$pat" "$TMP/start.out" || fail "$what: want \"$pat\" in: $(cat "$TMP/start.out")"
}
# $SRV_ENV VAR=VALUE...: tvmaze-server serve with those (a script: timeout runs it)
SRV_ENV=$TMP/srv_env
printf '#!/usr/bin/env bash\nexec env TVMAZE_GRPC_ADDR=127.0.0.1:0 TVMAZE_INGEST_AT=off TVMAZE_METRICS_ADDR=off "$@" %q serve\n' \
  "$SRV" >"$SRV_ENV"
chmod +x "$SRV_ENV"
cp "$K/client.key" "$K/unreadable.key"
chmod 000 "$K/unreadable.key"
expect_exit2 "missing cert" "TVMAZE_GRPC_TLS_CERT ($K/nope.crt): cannot read: No such file" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/nope.crt" TVMAZE_GRPC_TLS_KEY="$K/srv.key"
if [ "$(id -u)" != 0 ]; then # root reads a mode-000 file
  expect_exit2 "unreadable key" "TVMAZE_GRPC_TLS_KEY ($K/unreadable.key): cannot read: Permission denied" \
    "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/unreadable.key"
fi
expect_exit2 "a directory" "TVMAZE_GRPC_TLS_KEY ($K): cannot read" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K"
expect_exit2 "mismatched key" \
  "TVMAZE_GRPC_TLS_KEY ($K/client.key): the private key does not match the certificate of TVMAZE_GRPC_TLS_CERT ($K/srv.crt)" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/client.key"
expect_exit2 "key file as cert" "TVMAZE_GRPC_TLS_CERT ($K/srv.key): no PEM certificate in the file" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.key" TVMAZE_GRPC_TLS_KEY="$K/srv.key"
expect_exit2 "cert file as key" "TVMAZE_GRPC_TLS_KEY ($K/srv.crt): no unencrypted PEM private key" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/srv.crt"
expect_exit2 "expired cert" "TVMAZE_GRPC_TLS_CERT ($K/expired.crt): the certificate expired on" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/expired.crt" TVMAZE_GRPC_TLS_KEY="$K/expired.key"
expect_exit2 "cert without key" "TVMAZE_GRPC_TLS_CERT and TVMAZE_GRPC_TLS_KEY go together" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.crt"
expect_exit2 "client CA without a pair" "TVMAZE_GRPC_TLS_CLIENT_CA (mTLS) needs TVMAZE_GRPC_TLS_CERT" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CLIENT_CA="$K/ca.crt"
expect_exit2 "client CA not PEM" "TVMAZE_GRPC_TLS_CLIENT_CA ($K/srv.key): no PEM certificate" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/srv.key" TVMAZE_GRPC_TLS_CLIENT_CA="$K/srv.key"
expect_exit2 "empty cert variable" "TVMAZE_GRPC_TLS_CERT: must not be empty" \
  "$SRV_ENV" TVMAZE_GRPC_TLS_CERT= TVMAZE_GRPC_TLS_KEY="$K/srv.key"
expect_exit2 "gateway CA missing" "TVMAZE_GRPC_TLS_CA ($K/nope.crt): cannot read" \
  env TVMAZE_HTTP_ADDR=127.0.0.1:0 TVMAZE_GRPC_TLS_CA="$K/nope.crt" "$GW"
expect_exit2 "gateway client key mismatch" \
  "TVMAZE_GRPC_TLS_CLIENT_KEY ($K/srv.key): the private key does not match the certificate of TVMAZE_GRPC_TLS_CLIENT_CERT" \
  env TVMAZE_HTTP_ADDR=127.0.0.1:0 TVMAZE_GRPC_TLS_CA="$K/ca.crt" TVMAZE_GRPC_TLS_CLIENT_CERT="$K/client.crt" \
  TVMAZE_GRPC_TLS_CLIENT_KEY="$K/srv.key" "$GW"
expect_exit2 "gateway client cert without a CA" "TVMAZE_GRPC_TLS_CA is required" \
  env TVMAZE_HTTP_ADDR=127.0.0.1:0 TVMAZE_GRPC_TLS_CLIENT_CERT="$K/client.crt" \
  TVMAZE_GRPC_TLS_CLIENT_KEY="$K/client.key" "$GW"
expect_exit2 "CLI expired client cert" "--grpc-tls-client-cert ($K/expired.crt): the certificate expired" \
  "$CLI" --grpc-tls-ca "$K/ca.crt" --grpc-tls-client-cert "$K/expired.crt" --grpc-tls-client-key "$K/expired.key" health
expect_exit2 "CLI half a pair" "go together" "$CLI" --grpc-tls-ca "$K/ca.crt" --grpc-tls-client-cert "$K/client.crt" health
echo "ok: bad TLS files stop the server, the gateway and the CLI (exit 2, variable and file named)"

# --- 2. TLS only -------------------------------------------------------------
# Live certificate files of the TLS server: copies, replaced in step 5.
cp "$K/srv.crt" "$K/live.crt"
cp "$K/srv.key" "$K/live.key"
GP1=$(port)
TVMAZE_GRPC_TLS_CERT="$K/live.crt" TVMAZE_GRPC_TLS_KEY="$K/live.key" start_server "$GP1" tls
P1=${PIDS[-1]}
wait_started tls "$P1"
grep -q '"server_started".*"tls":"on"' "$TMP/tls.log" || fail "server_started does not say tls on"
bufc() { timeout 60 "$BUF" curl --protocol grpc "$@"; }
bufc --cacert "$K/ca.crt" -H "x-api-key: $KEY" -d '{}' "https://127.0.0.1:$GP1/tvmaze.v1.Shows/ListShows" \
  >"$TMP/buf.out" 2>&1 || fail "buf curl --cacert: $(cat "$TMP/buf.out")"
grep -q '"pagination"' "$TMP/buf.out" || fail "buf curl --cacert reply: $(cat "$TMP/buf.out")"
bufc --cacert "$K/ca.crt" --list-methods "https://127.0.0.1:$GP1" >"$TMP/methods" 2>&1 ||
  fail "reflection over TLS: $(cat "$TMP/methods")"
grep -q '^tvmaze.v1.Shows.ListShows$' "$TMP/methods" || fail "reflection over TLS: $(cat "$TMP/methods")"
rc=0
bufc --cacert "$K/ca.crt" -d '{}' "https://127.0.0.1:$GP1/tvmaze.v1.Shows/ListShows" >"$TMP/buf.out" 2>&1 || rc=$?
[ "$rc" = 128 ] || fail "TLS without a key: exit $rc, want UNAUTHENTICATED (128): $(cat "$TMP/buf.out")"
rc=0
bufc --http2-prior-knowledge -H "x-api-key: $KEY" -d '{}' \
  "http://127.0.0.1:$GP1/tvmaze.v1.Shows/ListShows" >"$TMP/buf.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "plaintext buf curl to a TLS server worked"
"$CLI" --target "127.0.0.1:$GP1" --api-key "$KEY" --grpc-tls-ca "$K/ca.crt" shows list >"$TMP/cli.out" 2>&1 ||
  fail "CLI over TLS: $(cat "$TMP/cli.out")"
# a DNS name (c-ares resolves it, and leaks 10 bytes doing so whatever the
# credentials: LeakSanitizer is off for this one call under ASan)
TVMAZE_GRPC_TLS_CA="$K/ca.crt" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
  "$CLI" --target "localhost:$GP1" --api-key "$KEY" health >"$TMP/cli.out" 2>&1 ||
  fail "CLI over TLS (TVMAZE_GRPC_TLS_CA, host localhost): $(cat "$TMP/cli.out")"
# cli_fails WHAT PATTERN ARGS...: the CLI exits 1 saying PATTERN
cli_fails() {
  local what=$1 pat=$2 rc=0
  shift 2
  timeout 30 "$CLI" --timeout 5000 "$@" health >"$TMP/cli.out" 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "CLI $what: exit $rc, want 1: $(cat "$TMP/cli.out")"
  grep -q -- "$pat" "$TMP/cli.out" || fail "CLI $what: want \"$pat\" in: $(cat "$TMP/cli.out")"
}
cli_fails "plaintext to TLS" "UNAVAILABLE" --target "127.0.0.1:$GP1"
cli_fails "trusting another CA" "certificate verify failed" --target "127.0.0.1:$GP1" --grpc-tls-ca "$K/other.crt"
# gRPC core's handshake errors come out as the server's JSON events
grep -q '"event":"grpc_core".*andshake' "$TMP/tls.log" || fail "no grpc_core handshake event in the server's log"
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/tls.log" ||
  fail "a line of the TLS server's log is not JSON"
echo "ok: TLS only: buf curl --cacert and the CLI work; plaintext and a foreign CA fail (logged as JSON events)"

# --- 3. self-signed, wrong-host and expired server certificates --------------------
GP2=$(port)
TVMAZE_GRPC_TLS_CERT="$K/self.crt" TVMAZE_GRPC_TLS_KEY="$K/self.key" start_server "$GP2" self
wait_started self "${PIDS[-1]}"
cli_fails "self-signed server" "certificate verify failed" --target "127.0.0.1:$GP2" --grpc-tls-ca "$K/ca.crt"
GP3=$(port)
TVMAZE_GRPC_TLS_CERT="$K/wronghost.crt" TVMAZE_GRPC_TLS_KEY="$K/wronghost.key" start_server "$GP3" wronghost
wait_started wronghost "${PIDS[-1]}"
cli_fails "wrong-host server" "UNAVAILABLE" --target "127.0.0.1:$GP3" --grpc-tls-ca "$K/ca.crt"
grep -q "Hostname Verification Check failed" "$TMP/cli.out" || fail "wrong host reason: $(cat "$TMP/cli.out")"
GP4=$(port)
openssl s_server -accept "127.0.0.1:$GP4" -cert "$K/expired.crt" -key "$K/expired.key" -alpn h2 -quiet \
  </dev/null >"$TMP/s_server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$GP4") 2>/dev/null && break
  sleep 0.1
done
cli_fails "expired server certificate" "certificate verify failed" --target "127.0.0.1:$GP4" --grpc-tls-ca "$K/ca.crt"
echo "ok: self-signed, wrong-host and expired server certificates fail with the handshake's reason"

# --- 4. mTLS -----------------------------------------------------------------
GPM=$(port)
TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/srv.key" TVMAZE_GRPC_TLS_CLIENT_CA="$K/ca.crt" \
  start_server "$GPM" mtls
PM=${PIDS[-1]}
wait_started mtls "$PM"
grep -q '"server_started".*"tls":"mtls"' "$TMP/mtls.log" || fail "server_started does not say mtls"
M="https://127.0.0.1:$GPM/tvmaze.v1.Shows/ListShows"
rc=0
bufc --cacert "$K/ca.crt" -H "x-api-key: $KEY" -d '{}' "$M" >"$TMP/buf.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "mTLS without a client certificate worked"
rc=0
bufc --cacert "$K/ca.crt" --cert "$K/stranger.crt" --key "$K/stranger.key" -H "x-api-key: $KEY" -d '{}' "$M" \
  >"$TMP/buf.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "mTLS with another CA's client certificate worked"
bufc --cacert "$K/ca.crt" --cert "$K/client.crt" --key "$K/client.key" -H "x-api-key: $KEY" -d '{}' "$M" \
  >"$TMP/buf.out" 2>&1 || fail "mTLS with the client certificate: $(cat "$TMP/buf.out")"
cli_fails "mTLS without a client certificate" "UNAVAILABLE" --target "127.0.0.1:$GPM" --grpc-tls-ca "$K/ca.crt"
"$CLI" --target "127.0.0.1:$GPM" --api-key "$KEY" --grpc-tls-ca "$K/ca.crt" --grpc-tls-client-cert "$K/client.crt" \
  --grpc-tls-client-key "$K/client.key" shows list >"$TMP/cli.out" 2>&1 || fail "CLI over mTLS: $(cat "$TMP/cli.out")"
cat >"$TMP/mtls.py" <<'EOF'
# mtls.py PORT DIR KEY: grpcio over mTLS: no client cert / a stranger's are
# refused (UNAVAILABLE), the right one works
import sys, grpc
port, d, key = sys.argv[1], sys.argv[2], sys.argv[3]
rd = lambda n: open(d + "/" + n, "rb").read()
def call(cert, keyf):
    creds = grpc.ssl_channel_credentials(rd("ca.crt"), rd(keyf) if keyf else None, rd(cert) if cert else None)
    ch = grpc.secure_channel("127.0.0.1:" + port, creds)
    try:
        ch.unary_unary("/tvmaze.v1.Shows/ListShows")(b"", timeout=10, metadata=(("x-api-key", key),))
        return "OK"
    except grpc.RpcError as e:
        return e.code().name
    finally:
        ch.close()
got = (call(None, None), call("stranger.crt", "stranger.key"), call("client.crt", "client.key"))
print("none=%s stranger=%s client=%s" % got)
sys.exit(0 if got == ("UNAVAILABLE", "UNAVAILABLE", "OK") else 1)
EOF
"$PY" "$TMP/mtls.py" "$GPM" "$K" "$KEY" >"$TMP/mtls.out" 2>&1 || fail "grpcio mTLS: $(cat "$TMP/mtls.out")"
HP=$(port)
start_gateway "$HP" "$GPM" gw "TVMAZE_API_KEY=$KEY" "TVMAZE_GRPC_TLS_CA=$K/ca.crt" \
  "TVMAZE_GRPC_TLS_CLIENT_CERT=$K/client.crt" "TVMAZE_GRPC_TLS_CLIENT_KEY=$K/client.key"
G=http://127.0.0.1:$HP
grep -q '"upstream_tls":true' "$TMP/gw.log" || fail "gateway_started does not say upstream_tls"
wait_status 200 "$G/up"
req 200 -u admin:s3cret "$G/api/v1/tv_shows"
json_ok
req 200 -H "X-API-Key: $KEY" "$G/api/v1/ingest/runs"
HP2=$(port)
start_gateway "$HP2" "$GPM" gw-nocert "TVMAZE_API_KEY=$KEY" "TVMAZE_GRPC_TLS_CA=$K/ca.crt"
wait_status 503 "http://127.0.0.1:$HP2/up"
echo "ok: mTLS: $(cat "$TMP/mtls.out"); the gateway over mTLS serves REST; without a client cert /up is 503"

# --- 5. renewal under load ------------------------------------------------------
cat >"$TMP/renew.py" <<'EOF'
# renew.py PORT DIR KEY STEPS: calls in a loop on one long-lived channel and
# on a new channel (a new connection) each time, while the steps replace
# the server's files; after each step, waits (10 s at most) until a new TLS
# connection is served the expected certificate. Prints the calls and
# failures; exits 1 on any failed call or a certificate never served.
import os, shutil, socket, ssl, sys, threading, time, grpc
port, d, key = sys.argv[1], sys.argv[2], sys.argv[3]
rd = lambda n: open(os.path.join(d, n), "rb").read()
creds = grpc.ssl_channel_credentials(rd("ca.crt"))
md = (("x-api-key", key),)
stop = threading.Event()
counts = {"old": 0, "new": 0, "failed": 0}
errors = []
def loop(fresh):
    ch = None
    while not stop.is_set():
        if ch is None or fresh:
            if ch is not None:
                ch.close()
            # a subchannel pool of its own: a new connection, not the process's shared one
            ch = grpc.secure_channel("127.0.0.1:" + port, creds,
                                     options=(("grpc.use_local_subchannel_pool", 1),))
        try:
            ch.unary_unary("/tvmaze.v1.Shows/ListShows")(b"", timeout=10, metadata=md)
            counts["new" if fresh else "old"] += 1
        except grpc.RpcError as e:
            counts["failed"] += 1
            errors.append("%s %s" % (e.code().name, e.details()))
    ch.close()
def served():  # the DER of the certificate a new connection is served
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.getpeercert(binary_form=True)
der = lambda n: ssl.PEM_cert_to_DER_cert(rd(n).decode())
def in_place(src, dst):  # rewrite dst's bytes (same inode), in small pieces
    data = rd(src)
    with open(os.path.join(d, dst), "r+b") as f:
        f.truncate(0)
        for i in range(0, len(data), 64):
            f.write(data[i:i + 64]); f.flush(); time.sleep(0.01)
def by_rename(src, dst):
    shutil.copy(os.path.join(d, src), os.path.join(d, dst + ".tmp"))
    os.rename(os.path.join(d, dst + ".tmp"), os.path.join(d, dst))
threads = [threading.Thread(target=loop, args=(f,)) for f in (False, True)]
for t in threads:
    t.start()
time.sleep(1)
ok = served() == der("srv.crt")
steps = [  # (what, actions, certificate then served)
    ("in place: key, then cert", [(in_place, "srv2.key", "live.key"), (in_place, "srv2.crt", "live.crt")], "srv2.crt"),
    ("garbage cert", [(in_place, "srv2.key", "live.crt")], "srv2.crt"),
    ("by rename: key, then cert", [(by_rename, "srv.key", "live.key"), (by_rename, "srv.crt", "live.crt")], "srv.crt"),
]
for what, actions, want in steps:
    for f, src, dst in actions:
        f(src, dst)
    deadline = time.time() + 10
    while served() != der(want) and time.time() < deadline:
        time.sleep(0.1)
    good = served() == der(want)
    print("%s: %s served" % (what, want if good else "NOT " + want))
    ok = ok and good
    time.sleep(0.5)
stop.set()
for t in threads:
    t.join()
print("calls: %(old)d on the old connection, %(new)d on new ones, %(failed)d failed" % counts)
for e in errors[:5]:
    print("  ", e)
sys.exit(0 if ok and counts["failed"] == 0 and counts["old"] > 0 and counts["new"] > 0 else 1)
EOF
"$PY" "$TMP/renew.py" "$GP1" "$K" "$KEY" >"$TMP/renew.out" 2>&1 || fail "renewal: $(cat "$TMP/renew.out")"
grep -q '"tls_reloaded"' "$TMP/tls.log" || fail "no tls_reloaded in the server's log"
grep -q '"tls_reload_failed".*no PEM certificate' "$TMP/tls.log" || fail "the garbage cert was not reported"
kill -0 "$P1" || fail "the TLS server died"
echo "ok: renewal: $(tr '\n' ';' <"$TMP/renew.out")"
# --- 6. the gateway's renewed client certificate, without a restart ----------
# The gateway's files are replaced by a certificate of another CA; the server
# then restarts trusting only that CA: the gateway's new connection must
# present the new certificate (its file watcher looks every 10 s).
leaf gw ca 2 DNS:gateway
leaf gw2 other 2 DNS:gateway
mkdir -p "$K/gw"
cp "$K/gw.crt" "$K/gw/tls.crt"
cp "$K/gw.key" "$K/gw/tls.key"
cp "$K/ca.crt" "$K/gw/ca.crt"
GPR=$(port)
TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/srv.key" TVMAZE_GRPC_TLS_CLIENT_CA="$K/ca.crt" \
  start_server "$GPR" renew1
PR=${PIDS[-1]}
wait_started renew1 "$PR"
HPR=$(port)
start_gateway "$HPR" "$GPR" gw-renew "TVMAZE_API_KEY=$KEY" "TVMAZE_GRPC_TLS_CA=$K/gw/ca.crt" \
  "TVMAZE_GRPC_TLS_CLIENT_CERT=$K/gw/tls.crt" "TVMAZE_GRPC_TLS_CLIENT_KEY=$K/gw/tls.key"
wait_status 200 "http://127.0.0.1:$HPR/up"
cp "$K/gw2.key" "$K/gw/tls.key.new" && mv "$K/gw/tls.key.new" "$K/gw/tls.key"
cp "$K/gw2.crt" "$K/gw/tls.crt.new" && mv "$K/gw/tls.crt.new" "$K/gw/tls.crt"
sleep 12
kill "$PR"
wait "$PR" 2>/dev/null || true
wait_status 503 "http://127.0.0.1:$HPR/up" # the gateway saw the server go
TVMAZE_GRPC_TLS_CERT="$K/srv.crt" TVMAZE_GRPC_TLS_KEY="$K/srv.key" TVMAZE_GRPC_TLS_CLIENT_CA="$K/other.crt" \
  start_server "$GPR" renew2
wait_started renew2 "${PIDS[-1]}"
wait_status 200 "http://127.0.0.1:$HPR/up"
req 200 -u admin:s3cret "http://127.0.0.1:$HPR/api/v1/tv_shows"
echo "ok: the gateway presented its renewed client certificate to a restarted server, without a restart of its own"

# no secret in any log line
for f in "$K"/*.key; do
  k=$(sed -n 2p "$f")
  if grep -lF -- "$k" "$TMP"/*.log; then fail "a private key in a log line"; fi
done
echo "ok: no key material in $(cat "$TMP"/*.log | wc -l) log lines"
