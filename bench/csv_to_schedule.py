#!/usr/bin/env python3
"""Converts the anchors' generated CSVs (shared/anchors/gen_data.py) into the
JSON TVMaze would serve for them, one file per schedule and day, for
tests/fake_tvmaze/fake_tvmaze.py --fixtures-flat:

  OUT/web-YYYY-MM-DD.json   /schedule/web?date=  web-channel episodes, show in _embedded.show
  OUT/CC-YYYY-MM-DD.json    /schedule?country=CC&date=  network episodes of country CC, show in show

or, with --full FILE, into one /schedule/full document (bench/world.sh):
every episode of every day, the show in _embedded.show, in an order
shuffled with a fixed seed (TVMaze promises none), so that days interleave.

Usage: csv_to_schedule.py DATA_DIR OUT_DIR   (prints the country codes, most episodes first)
       csv_to_schedule.py DATA_DIR --full FILE   (prints the items and bytes written)
"""
import csv
import json
import os
import random
import sys
from collections import defaultdict


def rows(data, name):
    with open(os.path.join(data, name + ".csv"), newline="") as f:
        for row in csv.DictReader(f):
            yield {k: (v if v != "" else None) for k, v in row.items()}


def num(v, conv=int):
    return None if v is None else conv(v)


def load_shows(data):
    """{CSV show id: (distributor kind or None, show JSON object)}"""
    countries = {r["id"]: {"name": r["name"], "code": r["code"], "timezone": r["timezone"]}
                 for r in rows(data, "countries")}
    networks = {}
    for r in rows(data, "networks"):
        networks[r["id"]] = (r["kind"], {
            "id": int(r["tvmaze_id"]), "name": r["name"],
            "country": countries.get(r["country_id"]) if r["country_id"] else None,
            "officialSite": r["official_site"]})
    genres = {r["id"]: r["name"] for r in rows(data, "genres")}
    show_genres = defaultdict(list)
    for r in rows(data, "show_genres"):
        show_genres[r["show_id"]].append(genres[r["genre_id"]])
    shows = {}
    for r in rows(data, "shows"):
        kind, dist = networks[r["network_id"]] if r["network_id"] else (None, None)
        shows[r["id"]] = (kind, {
            "id": int(r["tvmaze_id"]), "url": "https://www.tvmaze.com/shows/%s" % r["tvmaze_id"],
            "name": r["name"], "type": r["type"], "language": r["language"],
            "genres": show_genres[r["id"]], "status": r["status"],
            "runtime": num(r["runtime"]), "averageRuntime": num(r["runtime"]),
            "premiered": r["premiered"], "ended": None, "officialSite": None,
            "schedule": {"time": "", "days": []},
            "rating": {"average": num(r["rating"], float)}, "weight": num(r["weight"]),
            "network": dist if kind == "network" else None,
            "webChannel": dist if kind == "web_channel" else None,
            "dvdCountry": None, "externals": {"tvrage": None, "thetvdb": None, "imdb": None},
            "image": ({"medium": r["image_url"], "original": r["image_url"]}
                      if r["image_url"] else None),
            "summary": r["summary"], "updated": 1748822400,
            "_links": {"self": {"href": "https://api.tvmaze.com/shows/%s" % r["tvmaze_id"]}}})
    return shows


def episode(r):
    """The schedule item of episodes.csv row r, without its show."""
    stamp = r["airstamp"]  # "2025-06-01 15:35:00+00"
    return {
        "id": int(r["tvmaze_id"]), "url": "https://www.tvmaze.com/episodes/%s" % r["tvmaze_id"],
        "name": r["name"], "season": num(r["season"]), "number": num(r["number"]),
        "type": "regular" if r["number"] else "significant_special",
        "airdate": r["airdate"], "airtime": r["airtime"][:5] if r["airtime"] else "",
        "airstamp": stamp.replace(" ", "T") + ":00" if stamp else None,
        "runtime": num(r["runtime"]), "rating": {"average": num(r["rating"], float)},
        "image": None, "summary": r["summary"],
        "_links": {"self": {"href": "https://api.tvmaze.com/episodes/%s" % r["tvmaze_id"]}}}


def write_days(data, out, shows):
    os.makedirs(out, exist_ok=True)
    files = defaultdict(list)
    per_country = defaultdict(int)
    for r in rows(data, "episodes"):
        kind, show = shows[r["show_id"]]
        ep = episode(r)
        dist = show["network"] or show["webChannel"]
        if kind == "network" and dist["country"]:
            code = dist["country"]["code"]
            ep["show"] = show
            files["%s-%s" % (code, r["airdate"])].append(ep)
            per_country[code] += 1
        else:
            ep["_embedded"] = {"show": show}
            files["web-%s" % r["airdate"]].append(ep)
    for name, items in files.items():
        with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(items, f, ensure_ascii=False, separators=(",", ":"))
    for code, n in sorted(per_country.items(), key=lambda kv: -kv[1]):
        print(code, n)


def write_full(data, path, shows, seed=20250602):
    """One /schedule/full document: a show's JSON is encoded once and
    spliced into each of its items (the same bytes json.dump would give)."""
    show_json = {}
    eps = list(rows(data, "episodes"))
    random.Random(seed).shuffle(eps)
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        for r in eps:
            sid = r["show_id"]
            if sid not in show_json:
                show_json[sid] = json.dumps(shows[sid][1], ensure_ascii=False, separators=(",", ":"))
            item = json.dumps(episode(r), ensure_ascii=False, separators=(",", ":"))
            f.write(("," if n else "") + item[:-1] + ',"_embedded":{"show":' + show_json[sid] + "}}")
            n += 1
        f.write("]")
    print("items", n)
    print("bytes", os.path.getsize(path))


def main():
    if len(sys.argv) != 3 and not (len(sys.argv) == 4 and sys.argv[2] == "--full"):
        sys.exit(__doc__)
    data = sys.argv[1]
    shows = load_shows(data)
    if sys.argv[2] == "--full":
        write_full(data, sys.argv[3], shows)
    else:
        write_days(data, sys.argv[2], shows)


if __name__ == "__main__":
    main()
