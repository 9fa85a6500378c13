#!/usr/bin/env python3
"""Writes the fake TVMaze fixtures: fixtures/base/ and fixtures/changed/.

Files are named <schedule>-<date>.json (schedule "web" or a country code) and
hold exactly what TVMaze answers for /schedule/web?date= and
/schedule?country=&date=. Traps of shared/TVMAZE.md covered:
  * network 1 (NBC) and web channel 1 (Netflix) are different distributors
  * a global web channel (country null), a show with neither network nor channel
  * the same show on several days and in both schedules
  * nulls everywhere: number (special), rating, image, runtime, summary, airtime ""
  * summaries with tags, <br>, named and numeric entities, any script and emoji
  * genres empty and repeated
"changed/" differs from "base/" in exactly: episode 1001 name, show 601 rating
(on every day it appears).
"feed/" (the change feed's run, tests/integration/test_changes.c) differs from
"base/" in exactly: show 601 rating 7.5 -> 8.0 (every day), show 603 genres
[Drama, Crime] -> [Crime, Action] (one gone, one moved, one new: TVMaze's
order, not sorted), episode 2002 airtime 21:00 -> 21:30 (and its
airstamp), episode 2005 moved from 2030-01-03 to 2030-01-02 at 18:45, episode
1003 no longer listed (2030-01-02), and a new show 604 with episode 2006 on
2030-01-03.
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
D1, D2, D3 = "2030-01-01", "2030-01-02", "2030-01-03"

US = {"name": "United States", "code": "US", "timezone": "America/New_York"}
GB = {"name": "United Kingdom", "code": "GB", "timezone": "Europe/London"}
JP = {"name": "Japan", "code": "JP", "timezone": "Asia/Tokyo"}

NBC = {"id": 1, "name": "NBC", "country": US, "officialSite": "https://www.nbc.com/"}
CBS = {"id": 2, "name": "CBS", "country": US, "officialSite": None}
NETFLIX = {"id": 1, "name": "Netflix", "country": None, "officialSite": "https://www.netflix.com/"}
IPLAYER = {"id": 2, "name": "BBC iPlayer", "country": GB, "officialSite": None}


def show(sid, name, network=None, web=None, genres=(), summary=None, rating=None,
         runtime=None, average_runtime=None, premiered=None, ended=None, image=True,
         status="Running", language="English", stype="Scripted"):
    return {
        "id": sid,
        "url": f"https://www.tvmaze.com/shows/{sid}/x",
        "name": name,
        "type": stype,
        "language": language,
        "genres": list(genres),
        "status": status,
        "runtime": runtime,
        "averageRuntime": average_runtime,
        "premiered": premiered,
        "ended": ended,
        "officialSite": None,
        "schedule": {"time": "", "days": []},
        "rating": {"average": rating},
        "weight": 90,
        "network": network,
        "webChannel": web,
        "dvdCountry": None,
        "externals": {"tvrage": None, "thetvdb": 1, "imdb": "tt0000001"},
        "image": ({"medium": f"https://static.tvmaze.com/uploads/images/medium_portrait/{sid}.jpg",
                   "original": f"https://static.tvmaze.com/uploads/images/original_untouched/{sid}.jpg"}
                  if image else None),
        "summary": summary,
        "updated": 1893456000 + sid,
        "_links": {"self": {"href": f"https://api.tvmaze.com/shows/{sid}"}},
    }


def episode(eid, name, airdate, airtime, airstamp, season=1, number=1, etype="regular",
            runtime=None, rating=None, image=False, summary=None):
    return {
        "id": eid,
        "url": f"https://www.tvmaze.com/episodes/{eid}/x",
        "name": name,
        "season": season,
        "number": number,
        "type": etype,
        "airdate": airdate,
        "airtime": airtime,
        "airstamp": airstamp,
        "runtime": runtime,
        "rating": {"average": rating},
        "image": ({"medium": f"https://static.tvmaze.com/uploads/images/medium_landscape/{eid}.jpg",
                   "original": f"https://static.tvmaze.com/uploads/images/original_untouched/{eid}.jpg"}
                  if image else None),
        "summary": summary,
        "_links": {"self": {"href": f"https://api.tvmaze.com/episodes/{eid}"}},
    }


def web_item(ep, sh):
    e = dict(ep)
    e["_embedded"] = {"show": sh}
    return e


def net_item(ep, sh):
    e = dict(ep)
    e["show"] = sh
    return e


def build(changed):
    s501 = show(501, "Stranger Things", web=NETFLIX, genres=["Drama", "Horror", "Drama"],
                summary="<p><b>Stranger Things</b> &amp; friends&#39; <i>adventure</i>.<br>"
                        "Second&nbsp;line &#x1F47E; &quot;quoted&quot; &eacute;t&eacute;</p>",
                average_runtime=50, premiered="2016-07-15")
    s502 = show(502, "Doctor Who: 時空 🚀", web=IPLAYER, genres=["Science-Fiction"],
                summary="<p>Ünïcödé — <em>ok</em></p><p>next paragraph</p>", rating=8.4,
                runtime=45, language="English")
    s601 = show(601, "NBC Nightly", network=NBC, genres=[], summary=None,
                rating=8.0 if changed else 7.5, runtime=30, stype="News",
                premiered="1970-01-01", ended=None)
    s602 = show(602, "Lost Channel Show", network=None, web=None, genres=["Comedy"],
                summary="", image=False, status="To Be Determined")
    s603 = show(603, "CBS Drama", network=CBS, genres=["Drama", "Crime"],
                summary="<p>Crime &lt;drama&gt;</p>", rating=None, runtime=None,
                ended="2030-06-01", status="Ended")
    files = {}
    files[f"web-{D1}"] = [
        web_item(episode(1001, "The Upside Down (changed)" if changed else "The Upside Down",
                         D1, "", "2030-01-01T08:00:00+00:00", season=5, number=None,
                         etype="significant_special", summary="<p>A <b>special</b>.</p>"), s501),
        web_item(episode(1002, "Regeneration", D1, "", "2030-01-01T00:00:00+00:00",
                         season=14, number=1, runtime=60, rating=9.1, image=True), s502),
    ]
    files[f"US-{D1}"] = [
        net_item(episode(2001, "Monday Edition", D1, "18:30", "2030-01-01T23:30:00+00:00",
                         season=2030, number=1, runtime=30), s601),
        net_item(episode(2002, None, D1, "21:00", "2030-01-02T02:00:00+00:00",
                         season=None, number=None, etype="insignificant_special"), s602),
    ]
    files[f"web-{D2}"] = [
        web_item(episode(1003, "Chapter Two", D2, "", "2030-01-02T08:00:00+00:00",
                         season=5, number=2, runtime=52), s501),
    ]
    files[f"US-{D2}"] = [
        net_item(episode(2003, "Tuesday Edition", D2, "18:30", "2030-01-02T23:30:00+00:00",
                         season=2030, number=2, runtime=30), s601),
        net_item(episode(2004, "Pilot", D2, "22:00", "2030-01-03T03:00:00+00:00",
                         runtime=60, summary="<p>It begins&hellip;</p>"), s603),
    ]
    files[f"web-{D3}"] = []
    files[f"US-{D3}"] = [
        net_item(episode(2005, "Wednesday Edition", D3, "18:30", "2030-01-03T23:30:00+00:00",
                         season=2030, number=3, runtime=30), s601),
    ]
    return files


def build_feed():
    files = copy.deepcopy(build(False))
    for items in files.values():
        for it in items:
            sh = it.get("show") or it["_embedded"]["show"]
            if sh["id"] == 601:
                sh["rating"] = {"average": 8.0}
            if sh["id"] == 603:
                sh["genres"] = ["Crime", "Action"]
            if it["id"] == 2002:
                it["airtime"] = "21:30"
                it["airstamp"] = "2030-01-02T02:30:00+00:00"
    moved = [it for it in files[f"US-{D3}"] if it["id"] == 2005][0]
    files[f"US-{D3}"] = [it for it in files[f"US-{D3}"] if it["id"] != 2005]
    moved.update(airdate=D2, airtime="18:45", airstamp="2030-01-02T23:45:00+00:00")
    files[f"US-{D2}"].append(moved)
    files[f"web-{D2}"] = []
    s604 = show(604, "CBS Late", network=CBS, genres=["Comedy"], summary="<p>Late.</p>",
                rating=6.5, runtime=30)
    files[f"US-{D3}"].append(
        net_item(episode(2006, "Late Pilot", D3, "23:00", "2030-01-04T04:00:00+00:00",
                         runtime=30), s604))
    return files


def main():
    for name, files in (("base", build(False)), ("changed", build(True)), ("feed", build_feed())):
        out = os.path.join(HERE, "fixtures", name)
        os.makedirs(out, exist_ok=True)
        for fname, body in files.items():
            with open(os.path.join(out, fname + ".json"), "w", encoding="utf-8") as f:
                json.dump(body, f, ensure_ascii=False, indent=1)
                f.write("\n")


if __name__ == "__main__":
    main()
