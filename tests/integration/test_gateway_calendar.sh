#!/usr/bin/env bash
# Shows/GetCalendar and GET /api/v1/calendar.ics (issue 16), over the fake
# TVMaze's base fixtures plus one extra day (2030-01-04: a web special whose
# show name, episode name and summary hold ; , \ line breaks and a long
# multi-byte text) ingested by a real tvmaze-server:
#   - the document parsed by python3-icalendar and checked event by event
#     against ListEpisodes for the same filters (count = its total; UID,
#     DTSTAMP = the show's updated_at, DTSTART from the airstamp or all-day
#     from the airdate for web releases without an airtime, DURATION only for
#     timed events, SUMMARY with two-digit numbers and the Special form,
#     DESCRIPTION, CATEGORIES = the show's genres), unfiltered and filtered
#     (country, show_ids);
#   - the raw bytes: CRLF line ends, no line over 75 octets, each line whole
#     UTF-8 (folds never split a sequence), the long summary folded, the
#     escapes on the wire;
#   - REST: Content-Type text/calendar; charset=utf-8, ETag and 304 on
#     If-None-Match (cold and from the response cache), gzip decompressing
#     to the same bytes; the same bytes over gRPC (buf curl) and from
#     `tvmaze calendar`;
#   - ?key=: accepted on calendar.ics (a bad one is 401), 401 naming key on
#     every other credentialed route, even beside valid Basic credentials;
#   - the caps: 5001 events, and 2000 events of ~2 KiB (over 3 MiB), are 400
#     naming date_to;
#   - tz: the calendar of Asia/Tokyo and Pacific/Auckland windows checked
#     against ListEpisodes with the same tz;
#   - bad input: a 367-day window is 400 naming date_to, an unknown tz 400
#     naming tz, --page on the CLI is a usage error.
set -euo pipefail
# shellcheck source=tests/integration/gateway_lib.sh
. "$(dirname "$0")/gateway_lib.sh"

"$PY" -c 'import icalendar' 2>/dev/null || fail "python3-icalendar missing for $PY"
unset REDIS_URL
fresh_db gw_calendar_test
A=(-u admin:s3cret)
BUF="${TVMAZE_BUF:-$S/tools/node_modules/.bin/buf}"

# ---- fixtures: the base set plus 2030-01-04 ----------------------------
mkdir -p "$TMP/fx"
cp "$S"/tests/fake_tvmaze/fixtures/base/*.json "$TMP/fx/"
"$PY" - "$TMP/fx" <<'EOF'
import json, os, sys
web = json.load(open(os.path.join(sys.argv[1], "web-2030-01-02.json")))[0]
show = dict(web["_embedded"]["show"])
show.update(id=701, name="Ciné; Club, 日本 \\ Night", genres=["Comedy", "Talk, Show"],
            updated=1893456701,
            summary="<p>Show summary</p>")
long = "長い説明文です。" * 30 + " ünïcödé 🚀"
ep = dict(web)
ep.update(id=3001, name="Backslash \\ semi; comma, end", season=3, number=None,
          type="significant_special", airdate="2030-01-04", airtime="",
          airstamp="2030-01-04T08:00:00+00:00", runtime=40,
          summary="<p>First, line; here<br>" + long + "</p>")
ep["_links"] = {"self": {"href": "https://api.tvmaze.com/episodes/3001"}}
ep["_embedded"] = {"show": show}
json.dump([ep], open(os.path.join(sys.argv[1], "web-2030-01-04.json"), "w"), ensure_ascii=False)
EOF

start_fake "$TMP/fx" --fixtures-flat

GP=$(port)
start_server "$GP"
wait_started server "${PIDS[-1]}"
HP=$(port)
start_gateway "$HP" "$GP" gw TVMAZE_RATE_IP_LIMIT=100000
G=http://127.0.0.1:$HP
export TVMAZE_GRPC_TARGET=127.0.0.1:$GP
"$B/client/tvmaze" ingest start --start-date 2030-01-01 --days 4 --wait >"$TMP/run.log" 2>&1 ||
  fail "ingest run: $(cat "$TMP/run.log")"
USER_KEY=$("$B/server/tvmaze-server" keys create --name calendar-app --tier premium) ||
  fail "keys create calendar-app"

W="date_from=2030-01-01&date_to=2030-01-04"

# verify ICS EPISODES_JSON SHOWS_JSON: the calendar against ListEpisodes
# (one page holding every episode) and the shows of ListShows
verify() {
  "$PY" - "$@" <<'EOF' || fail "calendar check failed for $1"
import datetime, json, sys
import icalendar

raw = open(sys.argv[1], "rb").read()
eps = json.load(open(sys.argv[2]))
shows = {s["id"]: s for s in json.load(open(sys.argv[3]))["shows"]}
# raw form: CRLF only, lines of at most 75 octets, each valid UTF-8 alone
assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""), "line ends"
for line in raw.split(b"\r\n")[:-1]:
    assert len(line) <= 75, (len(line), line)
    line.decode("utf-8")  # a fold splitting a sequence fails here
cal = icalendar.Calendar.from_ical(raw)
assert str(cal["VERSION"]) == "2.0" and str(cal["CALSCALE"]) == "GREGORIAN", cal
assert str(cal["PRODID"]).startswith("-//tvmaze-ingest"), cal["PRODID"]
events = [c for c in cal.walk() if c.name == "VEVENT"]
total = eps["pagination"].get("total", 0)
assert len(events) == total == len(eps.get("episodes", [])), (len(events), total)
by_uid = {str(ev["UID"]): ev for ev in events}
assert len(by_uid) == total, "UIDs not unique"
raw_categories = {}
uid = None
for line in raw.decode("utf-8").replace("\r\n ", "").split("\r\n"):
    if line.startswith("UID:"):
        uid = line[4:]
    elif line.startswith("CATEGORIES:"):
        items, cur, esc = [], "", False
        for ch in line[len("CATEGORIES:"):]:
            if esc:
                cur += {"n": "\n", "N": "\n"}.get(ch, ch)
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == ",":
                items.append(cur)
                cur = ""
            else:
                cur += ch
        raw_categories[uid] = items + [cur]
for e in eps.get("episodes", []):
    ev = by_uid[f'{e["id"]}@tvmaze-ingest']
    sh = shows[e["show_id"]]
    upd = datetime.datetime.fromisoformat(sh["updated_at"].replace("Z", "+00:00"))
    assert ev.decoded("DTSTAMP") == upd, (e["id"], ev.decoded("DTSTAMP"), upd)
    start = ev.decoded("DTSTART")
    if not e.get("airtime"):
        assert type(start) is datetime.date, (e["id"], start)
        assert start.isoformat() == e["airdate"], (e["id"], start)
        assert "DURATION" not in ev and "DTEND" not in ev, e["id"]
    else:
        want = datetime.datetime.fromisoformat(e["airstamp"].replace("Z", "+00:00"))
        assert start == want and start.tzinfo is not None, (e["id"], start, want)
        assert start.utcoffset() == datetime.timedelta(0), start
        if e.get("runtime"):
            assert ev.decoded("DURATION") == datetime.timedelta(minutes=e["runtime"]), e["id"]
        else:
            assert "DURATION" not in ev, e["id"]
    name = (" " + e["name"]) if e.get("name") else ""
    if e.get("number") is not None:
        summary = f'{sh["name"]} S{e.get("season", 0):02d}E{e["number"]:02d}{name}'
    else:
        summary = f'{sh["name"]} Special{name}'
    assert str(ev["SUMMARY"]) == summary, (str(ev["SUMMARY"]), summary)
    if e.get("summary"):
        assert str(ev["DESCRIPTION"]) == e["summary"], (str(ev["DESCRIPTION"]), e["summary"])
    else:
        assert "DESCRIPTION" not in ev, e["id"]
    if sh.get("genres"):
        # icalendar 4.0.3 splits CATEGORIES at escaped commas too ("Talk\, Show"):
        # read the list from the unfolded line, RFC 5545 3.3.11 / 3.8.1.2
        got = raw_categories[f'{e["id"]}@tvmaze-ingest']
        assert got == sh["genres"], (got, sh["genres"])
        if not any("," in g for g in got):
            cats = ev["CATEGORIES"]
            parsed = [str(c) for c in (cats.cats if hasattr(cats, "cats") else cats)]
            assert parsed == got, (parsed, got)
    else:
        assert "CATEGORIES" not in ev, e["id"]
print(len(events))
EOF
}

# cal_check QUERY: REST calendar.ics vs REST episodes for the same filters
cal_check() {
  req 200 "${A[@]}" "$G/api/v1/episodes?$1&per_page=100"
  cp "$TMP/body" "$TMP/eps.json"
  req 200 "${A[@]}" "$G/api/v1/tv_shows?date_from=2030-01-01&date_to=2030-01-04&per_page=100"
  cp "$TMP/body" "$TMP/shows.json"
  req 200 "${A[@]}" "$G/api/v1/calendar.ics?$1"
  cp "$TMP/body" "$TMP/cal.ics"
  [ "$(hval Content-Type)" = "text/calendar; charset=utf-8" ] || fail "Content-Type: $(hval Content-Type)"
  verify "$TMP/cal.ics" "$TMP/eps.json" "$TMP/shows.json" >"$TMP/n"
  echo "calendar $1: $(cat "$TMP/n") events"
}

# ---- event by event ------------------------------------------------------
cal_check "$W"
[ "$(cat "$TMP/n")" = 9 ] || fail "want the 9 fixture episodes, got $(cat "$TMP/n")"
cp "$TMP/cal.ics" "$TMP/all.ics"
grep -q $'^DTSTART;VALUE=DATE:20300101\r$' "$TMP/all.ics" || fail "no all-day web release"
grep -q $'^DTSTART:20300101T233000Z\r$' "$TMP/all.ics" || fail "no timed network episode"
# escapes on the wire, and the long multi-byte summary folded
"$PY" - "$TMP/all.ics" <<'EOF' || fail "escaping / folding on the wire"
import sys
raw = open(sys.argv[1], "rb").read().decode("utf-8")
unfolded = raw.replace("\r\n ", "")
assert "SUMMARY:Ciné\\; Club\\, 日本 \\\\ Night Special Backslash \\\\ semi\\; comma\\, end\r\n" in unfolded, unfolded
assert "DESCRIPTION:First\\, line\\; here\\n長い説明文です。" in unfolded
assert "CATEGORIES:Comedy,Talk\\, Show\r\n" in unfolded
desc = raw[raw.index("DESCRIPTION:First"):]
desc = desc[:desc.index("\r\nCATEGORIES")]
assert desc.count("\r\n ") >= 8, desc  # ~720 octets of text
assert "SUMMARY:Doctor Who: 時空 🚀 S14E01 Regeneration\r\n" in unfolded
assert "SUMMARY:Stranger Things Special The Upside Down\r\n" in unfolded
EOF
cal_check "$W&country=US"
[ "$(cat "$TMP/n")" = 4 ] || fail "country=US: want 4 events, got $(cat "$TMP/n")"
cal_check "$W&show_ids=501,701"
[ "$(cat "$TMP/n")" = 3 ] || fail "show_ids=501,701: want 3 events, got $(cat "$TMP/n")"
cal_check "$W&show_ids=501&show_ids=701"
[ "$(cat "$TMP/n")" = 3 ] || fail "repeated show_ids: want 3 events"
# tz: the window's dates local there (airstamps), as ListEpisodes reads them
cal_check "date_from=2030-01-02&date_to=2030-01-03&tz=Asia/Tokyo"
[ "$(cat "$TMP/n")" -gt 0 ] || fail "tz=Asia/Tokyo: no event"
cal_check "date_from=2030-01-02&date_to=2030-01-02&tz=Pacific/Auckland"
cal_check "date_from=2031-01-01&date_to=2031-01-02"
[ "$(cat "$TMP/n")" = 0 ] || fail "an empty window: want no event"

# ---- ETag / 304 / gzip -----------------------------------------------------
req 200 "${A[@]}" "$G/api/v1/calendar.ics?$W"
ETAG=$(hval ETag)
[ -n "$ETAG" ] || fail "no ETag on calendar.ics"
cmp -s "$TMP/body" "$TMP/all.ics" || fail "a second read differs"
rm -f "$TMP/body"
req 304 "${A[@]}" -H "If-None-Match: $ETAG" "$G/api/v1/calendar.ics?$W"
[ ! -s "$TMP/body" ] || fail "a 304 with a body"
req 200 "${A[@]}" -H 'If-None-Match: "other"' "$G/api/v1/calendar.ics?$W"
req 200 "${A[@]}" -H 'Accept-Encoding: gzip' "$G/api/v1/calendar.ics?$W"
[ "$(hval Content-Encoding)" = gzip ] || fail "calendar.ics not gzipped"
[ "$(hval Content-Type)" = "text/calendar; charset=utf-8" ] || fail "gzip Content-Type: $(hval Content-Type)"
gzip -dc <"$TMP/body" | cmp -s - "$TMP/all.ics" || fail "gzip form differs from the plain bytes"
# a cached gateway serves the same bytes and type from its response cache
HP2=$(port)
start_gateway "$HP2" "$GP" gwc TVMAZE_RATE_IP_LIMIT=100000 TVMAZE_RESPONSE_CACHE_TTL=60
wait_follower "http://127.0.0.1:$HP2"
for _ in 1 2; do
  req 200 "${A[@]}" "http://127.0.0.1:$HP2/api/v1/calendar.ics?$W"
  [ "$(hval Content-Type)" = "text/calendar; charset=utf-8" ] || fail "cached Content-Type: $(hval Content-Type)"
  cmp -s "$TMP/body" "$TMP/all.ics" || fail "cached calendar differs"
done
[ "$(metric "http://127.0.0.1:$HP2" 'tvmaze_gateway_response_cache_total{result="hit"}')" -ge 1 ] ||
  fail "the second read was no response-cache hit"
req 304 "${A[@]}" -H "If-None-Match: $ETAG" "http://127.0.0.1:$HP2/api/v1/calendar.ics?$W"

# ---- ?key= ---------------------------------------------------------------
req 200 "$G/api/v1/calendar.ics?$W&key=$USER_KEY"
cmp -s "$TMP/body" "$TMP/all.ics" || fail "?key= calendar differs"
req 401 "$G/api/v1/calendar.ics?$W&key=not-a-key"
err_ok 16
req 401 "$G/api/v1/calendar.ics?$W"
for path in "/api/v1/episodes?$W" "/api/v1/tv_shows" "/api/v1/tv_shows/501" \
  "/api/v1/analytics/monthly_trends" "/api/v1/openapi.json" "/api/v1/changes"; do
  sep='?'
  case "$path" in *\?*) sep='&' ;; esac
  req 401 "$G$path${sep}key=$USER_KEY"
  err_ok 16
  grep -q '"message":"key: ' "$TMP/body" || fail "$path?key=: message does not name key: $(cat "$TMP/body")"
  req 401 "${A[@]}" "$G$path${sep}key=$USER_KEY" # even beside valid credentials
done
req 200 -H "X-API-Key: $USER_KEY" "$G/api/v1/episodes?$W" # the header still works

# ---- bad input -------------------------------------------------------------
req 400 "${A[@]}" "$G/api/v1/calendar.ics?date_from=2030-01-01&date_to=2031-01-02"
err_ok 3
err_fields date_to
req 200 "${A[@]}" "$G/api/v1/calendar.ics?date_from=2030-01-01&date_to=2031-01-01"
req 400 "${A[@]}" "$G/api/v1/calendar.ics?$W&tz=Mars/Olympus"
err_fields tz
req 400 "${A[@]}" "$G/api/v1/calendar.ics?$W&page=2"
err_ok 3
req 400 "${A[@]}" "$G/api/v1/calendar.ics?$W&show_ids=abc"
err_ok 3

# ---- the caps: 5001 events, or 2000 events of ~2 KiB (over 3 MiB) -----------
psql -q "$DATABASE_URL" -c "INSERT INTO episodes (id, show_id, name, season, number, type,
    airdate, airtime, airstamp, runtime)
  SELECT 100000 + g, 701, 'Bulk ' || g, 1, g, 'regular', '2030-02-01', '', '2030-02-01T12:00Z', 30
  FROM generate_series(1, 5001) g" \
  -c "INSERT INTO episodes (id, show_id, name, season, number, type, airdate, airtime, airstamp,
    runtime, summary)
  SELECT 200000 + g, 701, 'Long ' || g, 1, g, 'regular', '2030-03-01', '20:00',
    '2030-03-01T20:00Z', 30, repeat('ä', 1000)
  FROM generate_series(1, 2000) g" >/dev/null || fail "insert the bulk episodes"
req 200 "${A[@]}" "$G/api/v1/episodes?date_from=2030-02-01&date_to=2030-02-01"
check_total() { "$PY" -c 'import json,sys; assert json.load(open(sys.argv[1]))["pagination"]["total"] == int(sys.argv[2])' "$TMP/body" "$1" || fail "ListEpisodes total, want $1: $(head -c 300 "$TMP/body")"; }
check_total 5001
req 400 "${A[@]}" "$G/api/v1/calendar.ics?date_from=2030-02-01&date_to=2030-02-01"
err_fields date_to
grep -q '5001 events, at most 5000' "$TMP/body" || fail "event cap message: $(cat "$TMP/body")"
req 200 "${A[@]}" "$G/api/v1/calendar.ics?date_from=2030-02-01&date_to=2030-02-01&q=nothing-matches"
req 200 "${A[@]}" "$G/api/v1/episodes?date_from=2030-03-01&date_to=2030-03-01"
check_total 2000
req 400 "${A[@]}" "$G/api/v1/calendar.ics?date_from=2030-03-01&date_to=2030-03-01"
err_fields date_to
grep -q 'bytes, at most 3145728' "$TMP/body" || fail "byte cap message: $(cat "$TMP/body")"

# ---- gRPC and the CLI --------------------------------------------------------
timeout 60 "$BUF" curl --protocol grpc --http2-prior-knowledge -H "$KEY_HDR" \
  -d '{"date_from": "2030-01-01", "date_to": "2030-01-04"}' \
  "http://127.0.0.1:$GP/tvmaze.v1.Shows/GetCalendar" >"$TMP/grpc.json" || fail "buf curl GetCalendar"
"$PY" - "$TMP/grpc.json" "$TMP/all.ics" <<'EOF' || fail "gRPC reply differs from REST"
import base64, json, sys
r = json.load(open(sys.argv[1]))
assert r["contentType"] == "text/calendar; charset=utf-8", r["contentType"]
assert base64.b64decode(r["data"]) == open(sys.argv[2], "rb").read()
EOF
"$B/client/tvmaze" calendar --date-from 2030-01-01 --date-to 2030-01-04 >"$TMP/cli.ics" ||
  fail "tvmaze calendar"
cmp -s "$TMP/cli.ics" "$TMP/all.ics" || fail "tvmaze calendar differs from REST"
set +e
"$B/client/tvmaze" calendar --page 2 >/dev/null 2>"$TMP/cli.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "tvmaze calendar --page: exit $rc, want 2"
grep -q 'page' "$TMP/cli.err" || fail "tvmaze calendar --page: $(cat "$TMP/cli.err")"
set +e
"$B/client/tvmaze" calendar --date-from 2030-01-01 --date-to 2031-01-02 >/dev/null 2>"$TMP/cli.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "tvmaze calendar 367 days: exit $rc, want 1"
grep -q 'date_to' "$TMP/cli.err" || fail "tvmaze calendar 367 days: $(cat "$TMP/cli.err")"
"$B/client/tvmaze" calendar --help >"$TMP/help" || fail "tvmaze calendar --help"
grep -q -- '--date-from' "$TMP/help" || fail "calendar --help lacks the filters"
! grep -q -- '--per-page N' "$TMP/help" || fail "calendar --help offers paging"
echo "test_gateway_calendar: ok"
