#!/usr/bin/env bash
# Runs every test of tvmaze-ingest on this machine, from a fresh clone:
# installs what is needed (scripts/bootstrap.sh), starts a private PostgreSQL
# and Redis, then
#   1. lint: buf lint/format, clang-format, shellcheck, (helm/yaml when present,
#      with the alert rules' promtool tests: scripts/lint-deploy.sh)
#   2. release build (warnings are errors) + every ctest test
#   3. ASan+UBSan build + every ctest test
#   4. libFuzzer targets, a bounded time each (FUZZ_SECONDS, default 30)
# and stops the services. Exit status 0 only if all of it passed.
#   TVMAZE_TEST_STAGES="lint build sanitize fuzz"  to run a subset
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
stages="${TVMAZE_TEST_STAGES:-lint build sanitize fuzz}"
jobs="$(nproc)"

scripts/bootstrap.sh

work="$(mktemp -d /tmp/tvmaze-test.XXXXXX)"
chmod 755 "$work"
cleanup() {
  scripts/services.sh stop "$work/services" || true
  rm -rf "$work"
}
trap cleanup EXIT

scripts/services.sh start "$work/services" >/dev/null
set -a
# shellcheck disable=SC1091
. "$work/services/env"
set +a
export TVMAZE_TEST_DATABASE_URL="$DATABASE_URL" TVMAZE_TEST_REDIS_URL="$REDIS_URL"
export TVMAZE_TEST_SERVICES_DIR="$work/services" TVMAZE_TEST_ROOT="$root"
export TVMAZE_BUF="$root/tools/node_modules/.bin/buf"
unset DATABASE_URL REDIS_URL

stage() { case " $stages " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
banner() { printf '\n==== %s ====\n' "$*"; }

if stage lint; then
  banner "lint"
  scripts/lint.sh
fi

run_ctest() {
  local dir="$1"
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j1)
}

if stage build; then
  banner "build (release, -Werror) + tests"
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build/release -j"$jobs"
  run_ctest build/release
fi

if stage sanitize; then
  banner "build (ASan+UBSan) + tests"
  CC=clang cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DTVMAZE_SANITIZE=ON >/dev/null
  cmake --build build/asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest build/asan
fi

if stage fuzz; then
  banner "fuzz (libFuzzer, ${FUZZ_SECONDS:-30}s per target)"
  CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=Debug -DTVMAZE_FUZZ=ON >/dev/null
  cmake --build build/fuzz -j"$jobs"
  found=0
  for t in build/fuzz/tests/fuzz_*; do
    [ -x "$t" ] || continue
    found=1
    name="$(basename "$t")"
    corpus="$work/corpus-$name"
    mkdir -p "$corpus"
    seeds="tests/fuzz/corpus/${name#fuzz_}"
    [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
    echo "fuzzing $name"
    "$t" -max_total_time="${FUZZ_SECONDS:-30}" -rss_limit_mb=2048 -print_final_stats=1 \
      "$corpus" 2>"$work/$name.log" || { tail -50 "$work/$name.log"; exit 1; }
    grep -E "stat::number_of_executed_units" "$work/$name.log" || true
  done
  [ "$found" -eq 1 ] || { echo "no fuzz targets were built" >&2; exit 1; }
fi

banner "all stages passed: $stages"
