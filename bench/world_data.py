#!/usr/bin/env python3
"""The anchors' 90-day data set scaled SCALE times, for bench/world.sh:
shared/anchors/gen_data.py run SCALE times (seeds SEED, SEED+1, ...; copy 0
is the anchors' own data set), the copies merged into one set of CSVs with
fresh ids: copy k's ids (the CSV ids of networks and shows, the TVMaze ids
of networks, web channels, shows and episodes) are shifted by k times the
largest id of that column over all copies + 1, so no two copies share a
key. Countries and genres are the same in every copy (gen_data.py's fixed
lists) and are written once.

OUT gets countries.csv networks.csv genres.csv shows.csv show_genres.csv
episodes.csv (gen_data.py's columns and format, so bench/csv_to_schedule.py
and the anchors' COPY read them as they read gen_data.py's) and MANIFEST.txt
(its first line "seed=SEED start=START days=90 scale=SCALE", then "rows
TABLE N" per table and TOTAL, as gen_data.py's).

Usage: world_data.py GEN_DATA OUT SCALE [--seed N]
"""
import csv
import os
import subprocess
import sys

TABLES = ["countries", "networks", "genres", "shows", "show_genres", "episodes"]
# (table, column) -> the id space it lives in; a reference shifts with its key
SPACE = {("networks", "id"): "network", ("shows", "network_id"): "network",
         ("networks", "tvmaze_id"): "network_tvmaze",
         ("shows", "id"): "show", ("show_genres", "show_id"): "show", ("episodes", "show_id"): "show",
         ("shows", "tvmaze_id"): "show_tvmaze", ("episodes", "tvmaze_id"): "episode_tvmaze"}


def read(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        return next(r), list(r)


def main():
    args = sys.argv[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    gen, out, scale = args[0], args[1], int(args[2])
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 20250602
    if scale < 1:
        sys.exit("world_data.py: SCALE must be >= 1, got %d" % scale)
    os.makedirs(out, exist_ok=True)
    copies = []
    for k in range(scale):
        d = os.path.join(out, "gen", str(k))
        if not os.path.exists(os.path.join(d, "MANIFEST.txt")):
            subprocess.run([sys.executable, gen, d, "--seed", str(seed + k)], check=True,
                           stdout=subprocess.DEVNULL)
        copies.append({t: read(os.path.join(d, t + ".csv")) for t in TABLES})
    first = open(os.path.join(out, "gen", "0", "MANIFEST.txt")).readline().split()
    start = [w for w in first if w.startswith("start=")][0]
    days = [w for w in first if w.startswith("days=")][0]
    stride = {}
    for c in copies:
        for t in TABLES:
            head, body = c[t]
            for i, col in enumerate(head):
                space = SPACE.get((t, col))
                if space:
                    top = max((int(row[i]) for row in body if row[i] != ""), default=0)
                    stride[space] = max(stride.get(space, 0), top + 1)
    counts = {}
    for t in TABLES:
        head = copies[0][t][0]
        shared = t in ("countries", "genres")
        if shared and any(c[t] != copies[0][t] for c in copies):
            sys.exit("world_data.py: %s differ between the copies: gen_data.py changed?" % t)
        cols = [(i, SPACE.get((t, col))) for i, col in enumerate(head)]
        n = 0
        with open(os.path.join(out, t + ".csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(head)
            for k, c in enumerate(copies[:1] if shared else copies):
                for row in c[t][1]:
                    for i, space in cols:
                        if space and row[i] != "":
                            row[i] = str(int(row[i]) + k * stride[space])
                    w.writerow(row)
                    n += 1
        counts[t] = n
    with open(os.path.join(out, "MANIFEST.txt"), "w") as f:
        f.write("seed=%d %s %s scale=%d\n" % (seed, start, days, scale))
        for t in TABLES:
            f.write("rows %-12s %d\n" % (t, counts[t]))
        f.write("rows %-12s %d\n" % ("TOTAL", sum(counts.values())))
    print(open(os.path.join(out, "MANIFEST.txt")).read(), end="")


if __name__ == "__main__":
    main()
