#!/usr/bin/env python3
"""Second version of the schedule files of bench/csv_to_schedule.py, for
bench/changes.sh: every file of SRC is linked into DST unchanged, except the
files of the first DAYS days from START, in which every episode's runtime is
one minute longer (a null runtime becomes 1): each of those episodes is one
UPDATED change ("runtime") when the new files are ingested. Rewrites the
.json and its .json.gz (gzip_static).

Usage: schedule_bump.py SRC DST START DAYS   (prints the episodes bumped)
"""
import datetime
import gzip
import json
import os
import sys


def main():
    src, dst, start, days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    first = datetime.date.fromisoformat(start)
    bumped_days = {(first + datetime.timedelta(days=d)).isoformat() for d in range(days)}
    os.makedirs(dst, exist_ok=True)
    bumped = 0
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json"):
            continue
        day = name[-15:-5]  # web-YYYY-MM-DD.json, CC-YYYY-MM-DD.json
        out = os.path.join(dst, name)
        for p in (out, out + ".gz"):
            if os.path.lexists(p):
                os.remove(p)
        if day not in bumped_days:
            os.link(os.path.join(src, name), out)
            if os.path.exists(os.path.join(src, name + ".gz")):
                os.link(os.path.join(src, name + ".gz"), out + ".gz")
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            items = json.load(f)
        for ep in items:
            ep["runtime"] = (ep.get("runtime") or 0) + 1
            bumped += 1
        body = json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()
        with open(out, "wb") as f:
            f.write(body)
        with open(out + ".gz", "wb") as f:
            f.write(gzip.compress(body, 6))
    print(bumped)


if __name__ == "__main__":
    main()
