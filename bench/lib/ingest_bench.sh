#!/usr/bin/env bash
# bench/lib/ingest_bench.sh: the measuring pieces of the ingest benchmarks
# (sourced by bench/ingest.sh, daily mode, and bench/world.sh, full mode).
# shellcheck disable=SC2034 # TCS, TOS, BASE, DB: set for the caller
#
#   wait_quiet           as the anchors' scripts do (shared/anchors/env.sh):
#                        waits (up to QUIET_MAX s, default 60) until under
#                        QUIET_PCT % (default 10) of all cores were busy over 2 s
#   ingest_bench_databases
#                        starts PostgreSQL under $WORK/svc (scripts/services.sh),
#                        sources its env, (re)creates bench_ingest and
#                        bench_copy; sets BASE (the server's URI without a
#                        database) and DB (bench_ingest's URI)
#   ingest_bench_server LOG [VAR=VALUE...]
#                        starts tvmaze-server on DB against the schedule nginx
#                        ($FAKE_PORT), no daily schedule, the client rate limit
#                        lifted, LOG_LEVEL=warn, then the VAR=VALUEs (which may
#                        override those); waits for its health; creates an
#                        ingest-scope key; sets SERVER_PID, exports
#                        TVMAZE_GRPC_TARGET and TVMAZE_API_KEY; with
#                        HEAPTRACK_OUT=FILE the server runs under
#                        `heaptrack -o FILE` (an allocation profile: read it
#                        with heaptrack_print; its timings are not comparable)
#   ingest NAME          one `tvmaze ingest start --start-date $START --days 90
#                        --wait` after a CHECKPOINT and wait_quiet; its output in
#                        $WORK/run-NAME.txt; prints the run's seconds
#                        (started_at .. finished_at)
#   truncate_schedule [TABLE...]
#                        empties the schedule tables and the stored source
#                        hashes (and the TABLEs), as before a first load
#   writes               rows written to the schedule tables so far
#                        (n_tup_ins + n_tup_upd + n_tup_del, after the 11 s the
#                        server's session takes to report them)
#   perf_start FILE / perf_stop
#                        perf record (PERF_ARGS, default "-F 999 -g -a") into FILE
#   cpu_s PID / cpu_tree PID / cpu_pg / cpu_diff AFTER BEFORE
#                        CPU seconds (user + system) of a process; of it and its
#                        children (nginx workers); of every PostgreSQL backend;
#                        a difference ("?" when either is not a number)
#   anchor_copies DATA   the anchors' COPY of DATA's CSVs into their schema
#                        (shared/anchors/sql/schema.sql) in bench_copy, REPS
#                        times into truncated tables; sets TCS (each run's s)
#   own_copies           the rows of bench_ingest COPYed into our own schema
#                        (database bench_own, migrated: every index, constraint
#                        and trigger), REPS times; sets TOS
#   spread X...          "min-max" of the numbers, two decimals
#   ingest_bench_cleanup stops the server, nginx ($FAKE_PID) and the services
#                        (the callers' EXIT trap)
# The caller provides log(), ROOT, BUILD, WORK, ANCHORS, REPS, START, and sources
# bench/lib/stats.sh and bench/lib/schedule.sh.

FAKE_PID="" SERVER_PID="" PERF_PID="" WRAP_PID=""
ingest_bench_cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$WRAP_PID" ] && wait "$WRAP_PID" 2>/dev/null # heaptrack writes its file
  [ -n "$FAKE_PID" ] && kill -QUIT "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  "$ROOT/scripts/services.sh" stop "$WORK/svc" >/dev/null 2>&1
  return 0
}

now() { date +%s.%N; }

# Before each timed run, so that neither side is measured while autovacuum
# (after the previous run's truncate and load) or anything else still runs.
# Prints a line to stderr when it had to wait.
QUIET_MAX="${QUIET_MAX:-60}" QUIET_PCT="${QUIET_PCT:-10}"
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
wait_quiet() {
  local waited=0 b0 b1 pct hz ncpu
  hz="$(getconf CLK_TCK)" ncpu="$(nproc)"
  while :; do
    b0=$(busy_ticks); sleep 2; b1=$(busy_ticks)
    pct=$(((b1 - b0) * 100 / (2 * hz * ncpu)))
    if [ "$pct" -lt "$QUIET_PCT" ]; then
      [ "$waited" -gt 0 ] && log "machine quiet after ${waited}s"
      return 0
    fi
    if [ "$waited" -ge "$QUIET_MAX" ]; then
      log "WARNING: machine still ${pct}% busy after ${waited}s, measuring anyway"
      return 0
    fi
    waited=$((waited + 2))
  done
}

ingest_bench_databases() {
  log "starting PostgreSQL"
  "$ROOT/scripts/services.sh" start "$WORK/svc" >/dev/null
  # shellcheck disable=SC1091
  . "$WORK/svc/env"
  BASE="${DATABASE_URL%/*}"
  psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS bench_ingest" -c "CREATE DATABASE bench_ingest" \
    -c "DROP DATABASE IF EXISTS bench_copy" -c "CREATE DATABASE bench_copy"
  DB="$BASE/bench_ingest"
  if [ -n "${PROFILE_SQL:-}" ]; then # statement durations in $WORK/svc/pg.log
    psql "$BASE/postgres" -qXc "ALTER DATABASE bench_ingest SET log_min_duration_statement = 0"
  fi
}

ingest_bench_server() {
  local log_file=$1 port=$((20000 + RANDOM % 20000))
  shift
  env DATABASE_URL="$DB" REDIS_URL="" TVMAZE_API_URL="http://127.0.0.1:$FAKE_PORT" \
    TVMAZE_INGEST_AT=off TVMAZE_RATE_LIMIT=100000/1 TVMAZE_GRPC_ADDR="127.0.0.1:$port" LOG_LEVEL=warn \
    "$@" ${HEAPTRACK_OUT:+heaptrack -o "$HEAPTRACK_OUT"} "$BUILD/server/tvmaze-server" >"$log_file" 2>&1 &
  SERVER_PID=$!
  export TVMAZE_GRPC_TARGET="127.0.0.1:$port"
  for _ in $(seq 100); do "$BUILD/client/tvmaze" health >/dev/null 2>&1 && break; sleep 0.1; done
  if [ -n "${HEAPTRACK_OUT:-}" ]; then # the server is heaptrack's child
    WRAP_PID=$SERVER_PID
    SERVER_PID=$(pgrep -n -f "^$BUILD/server/tvmaze-server")
  fi
  # Every tvmaze.v1 call needs a key (docs/api.md "Keys"): an ingest-scope one
  # for the CLI, created once the server has migrated the database.
  TVMAZE_API_KEY="$("$BUILD/server/tvmaze-server" --database-url "$DB" keys create --name "bench-ingest-$$" --tier premium --scope ingest)"
  export TVMAZE_API_KEY
}

ingest() {
  psql "$DB" -XqAtc "CHECKPOINT" >/dev/null
  wait_quiet
  "$BUILD/client/tvmaze" --timeout 60000 ingest start --start-date "$START" --days 90 --wait >"$WORK/run-$1.txt"
  psql "$DB" -XAtc "SELECT extract(epoch FROM finished_at - started_at) FROM ingest_runs ORDER BY id DESC LIMIT 1"
}

# shellcheck disable=SC2120 # the TABLEs are optional
truncate_schedule() {
  local extra="" t
  for t in "$@"; do extra="$extra, $t"; done
  psql "$DB" -XqAtc "TRUNCATE show_genres, episodes, shows, distributors, genres, countries, ingest_source_hashes$extra RESTART IDENTITY CASCADE"
}

# The server's session reports its statistics when idle for
# PGSTAT_IDLE_INTERVAL (10 s): wait for that first.
writes() {
  sleep 11
  psql "$DB" -XAtc "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE relname IN ('countries','distributors','genres','shows','show_genres','episodes')"
}

perf_start() {
  # shellcheck disable=SC2086 # PERF_ARGS: e.g. "-F 999 --call-graph dwarf -a" for stacks through libc
  perf record ${PERF_ARGS:--F 999 -g -a} -o "$1" 2>/dev/null & # system-wide by default: the writer thread starts with the run
  PERF_PID=$!
}
perf_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID"
  wait "$PERF_PID" || true
  PERF_PID=""
}

HZ="$(getconf CLK_TCK)"
cpu_s() { awk -v hz="$HZ" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
cpu_tree() {
  local pids
  pids="$1 $(cat "/proc/$1/task/$1/children" 2>/dev/null || true)"
  # shellcheck disable=SC2086,SC2046
  (cd /proc && cat $(printf '%s/stat ' $pids)) | awk -v hz="$HZ" '{t += $14 + $15} END {printf "%.1f", t / hz}'
}
cpu_pg() {
  local pm
  pm="$(head -1 "$WORK/svc/pg/postmaster.pid" 2>/dev/null || true)"
  if [ -z "$pm" ]; then echo "?"; else cpu_tree "$pm"; fi
}
cpu_diff() { awk -v a="$1" -v b="$2" 'BEGIN {if (a b ~ /^[0-9.]+$/) printf "%.1f", a - b; else printf "?"}' </dev/null; }

# timed_copies DB TRUNCATE SCRIPT: REPS times, each into emptied tables after
# a CHECKPOINT, runs the \copy SCRIPT; prints each run's seconds, a line each.
timed_copies() {
  local t0
  for _ in $(seq "$REPS"); do
    psql "$1" -XqAtc "$2" -c "CHECKPOINT" >/dev/null
    wait_quiet
    t0=$(now)
    psql "$1" -Xq -v ON_ERROR_STOP=1 -f "$3" >/dev/null
    echo "$(now) - $t0" | bc -l
  done
}

anchor_copies() {
  local data=$1 copy_db="$BASE/bench_copy"
  log "anchor: COPY of the same rows (shared/anchors/sql/schema.sql)"
  psql "$copy_db" -Xq -f "$ANCHORS/sql/schema.sql" >/dev/null 2>&1
  {
    echo "\\copy countries (id, code, name, timezone) FROM '$data/countries.csv' WITH (FORMAT csv, HEADER true)"
    echo "\\copy networks (id, kind, tvmaze_id, name, country_id, official_site) FROM '$data/networks.csv' WITH (FORMAT csv, HEADER true)"
    echo "\\copy genres (id, name) FROM '$data/genres.csv' WITH (FORMAT csv, HEADER true)"
    echo "\\copy shows (id, tvmaze_id, name, type, language, status, runtime, premiered, rating, weight, summary, image_url, network_id) FROM '$data/shows.csv' WITH (FORMAT csv, HEADER true)"
    echo "\\copy show_genres (show_id, genre_id) FROM '$data/show_genres.csv' WITH (FORMAT csv, HEADER true)"
    echo "\\copy episodes (tvmaze_id, show_id, name, season, number, airdate, airtime, airstamp, runtime, rating, summary) FROM '$data/episodes.csv' WITH (FORMAT csv, HEADER true)"
  } >"$WORK/copy_all.sql"
  mapfile -t TCS < <(timed_copies "$copy_db" \
    "TRUNCATE show_genres, episodes, shows, networks, genres, countries RESTART IDENTITY" "$WORK/copy_all.sql")
}

# Our own rows COPYed into our own schema: what this schema costs to fill
# however the rows arrive, so the first load's overhead over it is the
# pipeline's own. Run it after the anchor's COPY so that the anchor is
# measured as before this step existed (the one run of bench/ingest.sh that
# had it first saw the anchor's COPY at 0.98-1.32 s, against 1.48-1.90 s in
# every other run).
own_copies() {
  local own_db="$BASE/bench_own" t tables="countries distributors genres shows show_genres episodes"
  log "COPY of our rows into our schema (same indexes, constraints, triggers)"
  psql "$BASE/postgres" -qXc "DROP DATABASE IF EXISTS bench_own" -c "CREATE DATABASE bench_own"
  DATABASE_URL="$own_db" "$BUILD/server/tvmaze-server" migrate >/dev/null 2>&1
  mkdir -p "$WORK/own"
  echo "SET tvmaze.episode_country_supplied = on;" >"$WORK/own/copy.sql" # as the ingest
  for t in $tables; do
    psql "$DB" -XqAtc "\\copy $t TO '$WORK/own/$t.copy'"
    echo "\\copy $t FROM '$WORK/own/$t.copy'" >>"$WORK/own/copy.sql"
  done
  mapfile -t TOS < <(timed_copies "$own_db" \
    "TRUNCATE $(echo "$tables" | tr ' ' ',') RESTART IDENTITY CASCADE" "$WORK/own/copy.sql")
}

spread() {
  printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}'
}
