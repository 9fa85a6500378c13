#!/usr/bin/env python3
"""Clients of the gateway's change stream (GET /api/v1/changes/stream) for
tests/integration/test_gateway_changes.sh (stdlib only).

  sse_client.py many URL --clients N --until-file F [--auth USER:PASS] [--out F]
      N SSE streams at once; once F exists and holds a version V, each reads
      until it has a change with id >= V (heartbeats wake idle clients);
      writes {"ids": [[...], ...]} to F; exit 0 when every client got the
      same ids, strictly increasing, none twice (else 1 with a reason).
  sse_client.py slow HOST PORT PATH --go FILE [--auth USER:PASS]
      one stream with a tiny receive buffer that reads nothing until FILE
      exists, then reads to the end; prints {"ended": bool, "last_id": ..,
      "changes": n} (ended: the gateway closed the stream by itself).
"""
import argparse
import base64
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import http.client


def auth_header(auth):
    return "Basic " + base64.b64encode(auth.encode()).decode()


def read_events(resp, target, ids, errors):
    """Parses SSE from resp into ids (change ids) until one >= target[0]
    (None: not known yet)."""
    event, eid = None, None
    while True:
        line = resp.readline()
        if not line:
            errors.append("stream ended before version %s (last %s)" % (target[0], ids[-1:] or None))
            return
        line = line.decode().rstrip("\n")
        if line == "":
            if event == "change":
                ids.append(int(eid))
            if target[0] is not None and ids and ids[-1] >= target[0]:
                return
            if target[0] is not None and target[0] <= 0:
                return
            event, eid = None, None
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            eid = line[4:]


def many(args):
    u = urllib.parse.urlsplit(args.url)
    path = u.path + ("?" + u.query if u.query else "")
    results = [None] * args.clients
    errors = []
    target = [None]
    conns = []
    for i in range(args.clients):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=args.timeout)
        c.request("GET", path, headers={"Authorization": auth_header(args.auth)})
        conns.append(c)

    def run(i):
        ids, errs = [], []
        try:
            resp = conns[i].getresponse()
            if resp.status != 200:
                errs.append("status %d" % resp.status)
            else:
                read_events(resp, target, ids, errs)
        except Exception as e:  # noqa: BLE001 -- reported, the test fails
            errs.append(repr(e))
        results[i] = ids
        errors.extend("client %d: %s" % (i, e) for e in errs)
        conns[i].close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    while True:
        try:
            with open(args.until_file) as f:
                target[0] = int(f.read().strip())
            break
        except (OSError, ValueError):
            time.sleep(0.1)
    for t in threads:
        t.join()
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"ids": results}, f)
    if errors:
        print("\n".join(errors[:10]), file=sys.stderr)
        return 1
    first = results[0]
    if any(b <= a for a, b in zip(first, first[1:])):
        print("ids not strictly increasing: %s" % first, file=sys.stderr)
        return 1
    for i, r in enumerate(results):
        if r != first:
            print("client %d got %s, client 0 %s" % (i, r, first), file=sys.stderr)
            return 1
    print(json.dumps({"clients": len(results), "changes": len(first)}))
    return 0


def slow(args):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((args.host, args.port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n"
               % (args.path, args.host, auth_header(args.auth))).encode())
    while not os.path.exists(args.go):
        time.sleep(0.05)
    s.settimeout(args.timeout)
    data = b""
    ended = True
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
            if data.endswith(b"\r\n0\r\n\r\n"):
                break  # the chunked body ended (the gateway ended the stream)
    except socket.timeout:
        ended = False
    text = data.decode(errors="replace")
    ids = [int(line[4:]) for line in text.split("\n") if line.startswith("id: ")]
    print(json.dumps({"ended": ended, "last_id": ids[-1] if ids else None, "changes": len(ids)}))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("many")
    m.add_argument("url")
    m.add_argument("--clients", type=int, default=1)
    m.add_argument("--until-file", required=True)
    m.add_argument("--auth", default="admin:s3cret")
    m.add_argument("--out")
    m.add_argument("--timeout", type=float, default=120)
    s = sub.add_parser("slow")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("path")
    s.add_argument("--go", required=True)
    s.add_argument("--auth", default="admin:s3cret")
    s.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    return many(args) if args.cmd == "many" else slow(args)


if __name__ == "__main__":
    sys.exit(main())
