#!/usr/bin/env bash
# Installs every Debian package that building, testing and running tvmaze-ingest
# needs, plus the npm dev tools (buf) and the benchmarks' tools (wrk; nginx and
# bc for the anchors' bench-http.sh), and prometheus for promtool (the chart's
# alert-rule tests; the daemon it brings is not used), python3-protobuf for the
# test OTLP receiver (tests/fake_otlp), python3-icalendar for the calendar
# test (tests/integration/test_gateway_calendar.sh). Idempotent; run as root
# on Debian 12.
#   scripts/bootstrap.sh            packages + dev tools
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake pkg-config git ca-certificates
  clang clang-format clang-tidy cppcheck libclang-rt-14-dev
  libgrpc-dev libgrpc++-dev protobuf-compiler libprotobuf-dev
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler-grpc grpc-proto
  libpq-dev libhiredis-dev libcurl4-openssl-dev libjansson-dev libssl-dev
  libmicrohttpd-dev libcmocka-dev zlib1g-dev
  postgresql postgresql-contrib redis-server
  python3 python3-grpcio python3-grpc-tools python3-protobuf python3-icalendar
  nghttp2-client curl jq shellcheck yamllint
  wrk nginx-light bc
  prometheus
  tzdata # the zone data test_query_tz (localtime_r) and test_gateway_tz (zoneinfo) check tz against
)
# Node.js for the npm dev tools, unless the machine already has one (npm ships
# inside some nodejs builds and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Dev tools from npm (buf, OpenAPI and Kubernetes validators), reinstalled
# whenever tools/package-lock.json changes.
lock_hash="$(sha256sum tools/package-lock.json | cut -d' ' -f1)"
if [ "$(cat tools/node_modules/.lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  echo "bootstrap: installing npm dev tools into tools/" >&2
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >tools/node_modules/.lock-hash
fi
echo "bootstrap: ok" >&2
