#!/usr/bin/env bash
# bench/lib/anchor_data.sh: the anchors' data set (gen_data.py, seed 20250602:
# 8,000 shows, 35,000 episodes 2025-06-02..2025-08-30) in a private PostgreSQL
# (+ Redis) of scripts/services.sh, twice: in OUR schema (database `tvmaze`,
# migrated by tvmaze-server, loaded by bench/load_anchor_data.sql) and in the
# anchors' schema (database `anchor`: their sql/schema.sql + COPY, as their
# bench-load.sh leaves it). Sourced by bench/query.sh and bench/http.sh.
#
#   bench_anchor_data ROOT ANCHORS SERVER WORKDIR
#     starts the services under WORKDIR/svc (the caller stops them:
#     scripts/services.sh stop WORKDIR/svc), generates WORKDIR/data, loads both
#     databases, sources WORKDIR/svc/env (DATABASE_URL, REDIS_URL,
#     TVMAZE_PG_PORT, ...) and sets OURS and ANCHOR (libpq URIs) and PSQL.
# The caller provides log().

bench_anchor_data() {
  local root=$1 anchors=$2 server=$3 w=$4 base t cols
  log "generating data"
  python3 "$anchors/gen_data.py" "$w/data" >/dev/null
  chmod -R a+rX "$w/data"
  bash "$root/scripts/services.sh" start "$w/svc" >/dev/null
  # shellcheck disable=SC1091
  . "$w/svc/env"
  PSQL=(psql -X -q -v ON_ERROR_STOP=1)
  base="${DATABASE_URL%/*}"
  "${PSQL[@]}" "$base/postgres" -c "DROP DATABASE IF EXISTS tvmaze" -c "CREATE DATABASE tvmaze" \
    -c "CREATE DATABASE anchor" 2>/dev/null
  OURS="$base/tvmaze" ANCHOR="$base/anchor"
  "$server" --database-url "$OURS" migrate >"$w/migrate.log" 2>&1
  log "loading into our schema (bench/load_anchor_data.sql)"
  "${PSQL[@]}" "$OURS" -v data="$w/data" -f "$root/bench/load_anchor_data.sql"
  log "loading into the anchors' schema"
  "${PSQL[@]}" "$ANCHOR" -f "$anchors/sql/schema.sql" >/dev/null
  for t in countries networks genres shows show_genres episodes; do
    cols="$(head -1 "$w/data/$t.csv")"
    "${PSQL[@]}" "$ANCHOR" -c "COPY $t ($cols) FROM '$w/data/$t.csv' WITH (FORMAT csv, HEADER true)"
  done
  "${PSQL[@]}" "$ANCHOR" -c "VACUUM ANALYZE"
  "${PSQL[@]}" -At "$OURS" -c "SELECT 'ours: ' || (SELECT count(*) FROM shows) || ' shows, ' ||
    (SELECT count(*) FROM episodes) || ' episodes'" >&2
}
