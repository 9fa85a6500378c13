#!/usr/bin/env bash
# bench/grpc.sh: trivial-RPC throughput of the binding (grpc.health.v1.Health/
# Check on tvmaze-bench-server, 2 workers) beside the C++ callback-API server
# of the reference anchor (demo.v1.Greeter/SayHello), same run, same h2load
# settings. Prints req/s of both and the ratio (goal: ours >= 1.3x).
#
#   bench/grpc.sh [BUILD_DIR]     (default build/release; built if needed)
# Env: GRPC_CPP_REF (default ../shared/anchors/grpc-cpp-ref
# from the repository root), N (200000),
# ROUNDS (2: the servers alternate, ours first in odd rounds).
# h2load counts gRPC errors (HTTP 200 + grpc-status != 0) as successes, so
# the script checks data bytes = N x reply frame size and spot-checks
# grpc-status: 0 with nghttp. Relative figures only: h2load shares the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
ref="$(cd "${GRPC_CPP_REF:-../shared/anchors/grpc-cpp-ref}" && pwd)"
n="${N:-200000}"
rounds="${ROUNDS:-2}"
jobs=2

tmp="$(mktemp -d /tmp/tvmaze-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target tvmaze-bench-server >/dev/null
echo "building the C++ reference server in $tmp/cpp (not kept)" >&2
cmake -S "$ref" -B "$tmp/cpp" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/cpp" -j"$jobs" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  return 1
}

ours_port="$(free_port)"
"$build/bench/tvmaze-bench-server" "127.0.0.1:$ours_port" 2 2>/dev/null &
pids+=($!)
cpp_port="$(free_port)"
"$tmp/cpp/cpp_server" "127.0.0.1:$cpp_port" cb 2>/dev/null &
pids+=($!)
wait_port "$ours_port"
wait_port "$cpp_port"

# Request bodies: 5-byte gRPC frame prefix + serialized request.
printf '\x00\x00\x00\x00\x00' >"$tmp/health.bin"  # HealthCheckRequest{} (0 bytes)
cp "$ref/body.bin" "$tmp/hello.bin"              # HelloRequest{name:"world"}
# Reply frame sizes: HealthCheckResponse{status:SERVING} = 2 bytes + 5;
# HelloReply{message:"Hello, world!"} = 15 bytes + 5.
ours_reply=7
cpp_reply=20

spot_check() { # url body
  nghttp -v -d "$2" -H ':method: POST' -H 'content-type: application/grpc' \
    -H 'te: trailers' "$1" 2>&1 | grep -q 'grpc-status: 0' ||
    { echo "spot check failed: $1 did not answer grpc-status: 0" >&2; exit 1; }
}
spot_check "http://127.0.0.1:$ours_port/grpc.health.v1.Health/Check" "$tmp/health.bin"
spot_check "http://127.0.0.1:$cpp_port/demo.v1.Greeter/SayHello" "$tmp/hello.bin"

run() { # name url body reply_size -> prints req/s
  local out rps data ok
  out="$(timeout 300 h2load -n "$n" -c 16 -m 32 -t 2 -d "$3" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$2" 2>&1)"
  rps="$(grep -E '^finished' <<<"$out" | grep -oE '[0-9.]+ req/s' | grep -oE '^[0-9.]+')"
  ok="$(grep -oE '[0-9]+ succeeded' <<<"$out" | grep -oE '^[0-9]+')"
  data="$(grep -E '^traffic' <<<"$out" | grep -oE '\([0-9]+\) data' | grep -oE '[0-9]+')"
  echo "$1: $rps req/s, $ok succeeded, $data data bytes (want $((n * $4)))" >&2
  [ "$ok" = "$n" ] || { echo "$1: not every request succeeded" >&2; exit 1; }
  [ "$data" = "$((n * $4))" ] || { echo "$1: data bytes mismatch (gRPC errors?)" >&2; exit 1; }
  echo "$rps"
}

# Warm both servers up (thread pools, arenas, allocator) with an uncounted run.
for url_body in "http://127.0.0.1:$ours_port/grpc.health.v1.Health/Check $tmp/health.bin" \
  "http://127.0.0.1:$cpp_port/demo.v1.Greeter/SayHello $tmp/hello.bin"; do
  read -r url body <<<"$url_body"
  timeout 120 h2load -n $((n / 10)) -c 16 -m 32 -t 2 -d "$body" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$url" >/dev/null 2>&1
done

# Alternate the two servers ROUNDS times (order bias and other load on the
# shared cores), then compare the sums.
sum_ours=0
sum_cpp=0
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then
    ours="$(run "round $round: tvmaze binding (Health/Check)" "http://127.0.0.1:$ours_port/grpc.health.v1.Health/Check" "$tmp/health.bin" "$ours_reply")"
    cpp="$(run "round $round: C++ callback API (SayHello)" "http://127.0.0.1:$cpp_port/demo.v1.Greeter/SayHello" "$tmp/hello.bin" "$cpp_reply")"
  else
    cpp="$(run "round $round: C++ callback API (SayHello)" "http://127.0.0.1:$cpp_port/demo.v1.Greeter/SayHello" "$tmp/hello.bin" "$cpp_reply")"
    ours="$(run "round $round: tvmaze binding (Health/Check)" "http://127.0.0.1:$ours_port/grpc.health.v1.Health/Check" "$tmp/health.bin" "$ours_reply")"
  fi
  sum_ours="$(awk -v a="$sum_ours" -v b="$ours" 'BEGIN { print a + b }')"
  sum_cpp="$(awk -v a="$sum_cpp" -v b="$cpp" 'BEGIN { print a + b }')"
done
awk -v a="$sum_ours" -v b="$sum_cpp" -v r="$rounds" 'BEGIN { printf "ours %.0f req/s, C++ callback %.0f req/s (mean of %d rounds), ratio %.2fx (goal >= 1.30x)\n", a / r, b / r, r, a / b }'
