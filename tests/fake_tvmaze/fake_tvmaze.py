#!/usr/bin/env python3
"""A fake TVMaze API for tests and benchmarks (stdlib only).

  fake_tvmaze.py --fixtures DIR [--port N] [--port-file F]

Serves GET /schedule/web?date=D from DIR/<set>/web-D.json and
GET /schedule?country=C&date=D from DIR/<set>/C-D.json (absent file: []),
<set> being "base" unless switched. With --fixtures-flat the files are read
from DIR itself (benchmark data). Responses are gzip-compressed when the
client accepts it.

GET /schedule/full is every item of every file of the set (web and network
schedules, each episode once), the show under "_embedded.show", shuffled with
a fixed seed so that days interleave; it carries an ETag (of its bytes) and a
Last-Modified (when the fake first built those bytes) and answers 304 with no
body to a matching If-None-Match, or, without one, to an If-Modified-Since
not older than Last-Modified.

Control (JSON bodies):
  POST /_control {"set": "changed"}            switch the fixture set
  POST /_control {"faults": [FAULT, ...]}      append faults
  POST /_control {"refuse_for": SECONDS}       stop listening for a while
  POST /_reset                                 base set, no faults, stats cleared
  GET  /_stats   {"requests": N, "not_modified": N (304s sent),
                  "log": [{"path", "status", "t", "ua", "inm", "ims"}...]}
                 (t: arrival time; status 0 while the answer is pending;
                 inm / ims: the If-None-Match / If-Modified-Since received)
FAULT: {"match": substring of the path+query, "times": N (-1: always),
        "status": code, "retry_after": s, "body": text, "delay": s,
        "cut": F, "truncate": F, "body_b64": b64, "ctype": type,
        "giant_item": N, "drip": F}
  the first fault whose match is in the request and has times left applies:
  it waits delay seconds, then answers status (default 200) with body (default
  the fixture). cut (0 < F < 1): the Content-Length of the whole body, but
  the connection closes after that fraction of its (sent, maybe gzip) bytes;
  truncate: a complete response of that fraction of the uncompressed body.
  body_b64: the body as base64 (bytes that are not UTF-8); ctype: its
  Content-Type (default JSON). giant_item: the body is one array of one
  item (id 1, airdate 2030-01-01) whose name is a string of N bytes.
  drip (0 <= F < 1): no Content-Length and no gzip; that fraction of the
  body at once, then one space every 0.05 s until the client goes away
  (a body that never ends).
"""
import argparse
import base64
import email.utils
import gzip
import hashlib
import json
import os
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class State:
    def __init__(self, fixtures, flat):
        self.lock = threading.Lock()
        self.fixtures = fixtures
        self.flat = flat
        self.reset()

    def reset(self):
        with self.lock:
            self.set = "base"
            self.faults = []
            self.log = []
            self.not_modified = 0


STATE = None
CACHE = {}  # path -> body (flat mode only)
GZ_CACHE = {}  # id(body) -> (body, gzip of body), flat mode only
FULL_CACHE = {}  # set directory -> (body, etag)
FULL_SINCE = {}  # etag -> its Last-Modified (seconds since the epoch)
FULL_SEED = 18
SERVER = None
PORT = 0


def full_document():
    """(body, etag, last_modified) of /schedule/full for the current set."""
    base = STATE.fixtures if STATE.flat else os.path.join(STATE.fixtures, STATE.set)
    hit = FULL_CACHE.get(base)
    if hit is None:
        items, seen = [], set()
        for name in sorted(os.listdir(base)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(base, name), "rb") as f:
                for it in json.loads(f.read() or b"[]"):
                    if it.get("id") in seen:
                        continue
                    seen.add(it.get("id"))
                    if "show" in it:
                        it = dict(it)
                        emb = dict(it.get("_embedded") or {})
                        emb["show"] = it.pop("show")
                        it["_embedded"] = emb
                    items.append(it)
        random.Random(FULL_SEED).shuffle(items)
        body = json.dumps(items, separators=(",", ":")).encode()
        hit = (body, '"%s"' % hashlib.sha1(body).hexdigest()[:20])
        FULL_CACHE[base] = hit
    with STATE.lock:
        since = FULL_SINCE.setdefault(hit[1], int(time.time()))
    return hit[0], hit[1], since


def not_modified(headers, etag, since):
    """Whether the request's validators match (If-None-Match wins)."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        return any(t.strip() in (etag, "*") for t in inm.split(","))
    ims = headers.get("If-Modified-Since")
    if ims is not None:
        try:
            return email.utils.parsedate_to_datetime(ims).timestamp() >= since
        except (TypeError, ValueError):
            return False
    return False


def fixture_body(path, query):
    q = parse_qs(query)
    date = (q.get("date") or [""])[0]
    if path == "/schedule/web":
        name = f"web-{date}.json"
    elif path == "/schedule":
        name = f"{(q.get('country') or ['US'])[0]}-{date}.json"
    else:
        return None
    base = STATE.fixtures if STATE.flat else os.path.join(STATE.fixtures, STATE.set)
    full = os.path.join(base, os.path.basename(name))
    cached = CACHE.get(full)
    if cached is not None:
        return cached
    try:
        with open(full, "rb") as f:
            body = f.read()
    except FileNotFoundError:
        body = b"[]"
    if STATE.flat:  # benchmark data never changes: keep it (and its gzip form)
        CACHE[full] = body
    return body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's
        # algorithm and delayed ACKs stall every keep-alive response ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json; charset=UTF-8", headers=None, cut=0.0):
        if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 64:
            hit = GZ_CACHE.get(id(body))
            if hit is not None and hit[0] is body:
                gz = hit[1]
            else:
                gz = gzip.compress(body, 1)
                if STATE.flat:
                    GZ_CACHE[id(body)] = (body, gz)  # holds body: the id stays unique
            body = gz
            headers = dict(headers or {}, **{"Content-Encoding": "gzip"})
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if 0 < cut < 1:
            self.wfile.write(body[: int(len(body) * cut)])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def drip(self, status, body, frac, headers):
        """The fault "drip": a body that never ends (see the module doc)."""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True
        self.wfile.write(body[: int(len(body) * frac)])
        self.wfile.flush()
        while True:  # until the client goes away (BrokenPipeError)
            time.sleep(0.05)
            self.wfile.write(b" ")
            self.wfile.flush()

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_POST(self):
        u = urlsplit(self.path)
        if u.path == "/_reset":
            self.read_json()
            STATE.reset()
            return self.send(200, b"{}")
        if u.path != "/_control":
            return self.send(404, b'{"name":"Not Found","status":404}')
        c = self.read_json()
        with STATE.lock:
            if "set" in c:
                STATE.set = os.path.basename(c["set"])
            for f in c.get("faults", []):
                STATE.faults.append(dict(f))
        self.send(200, b"{}")
        if "refuse_for" in c:
            threading.Thread(target=refuse, args=(float(c["refuse_for"]),), daemon=True).start()

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/_stats":
            with STATE.lock:
                body = json.dumps({"requests": len(STATE.log), "not_modified": STATE.not_modified,
                                   "log": STATE.log}).encode()
            return self.send(200, body)
        full = u.path + ("?" + u.query if u.query else "")
        fault = None
        entry = {"path": full, "status": 0, "t": time.time(),
                 "ua": self.headers.get("User-Agent", ""),
                 "inm": self.headers.get("If-None-Match", ""),
                 "ims": self.headers.get("If-Modified-Since", "")}
        with STATE.lock:
            STATE.log.append(entry)
            for f in STATE.faults:
                if f.get("match", "") in full and f.get("times", 1) != 0:
                    if f.get("times", 1) > 0:
                        f["times"] = f.get("times", 1) - 1
                    fault = f
                    break
        if fault and fault.get("delay"):
            time.sleep(float(fault["delay"]))
        status = 200
        headers = {}
        if u.path == "/schedule/full":
            body, etag, since = full_document()
            headers = {"ETag": etag, "Last-Modified": email.utils.formatdate(since, usegmt=True)}
            if not fault and not_modified(self.headers, etag, since):
                with STATE.lock:
                    STATE.not_modified += 1
                entry["status"] = 304
                self.send_response(304)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                return
        else:
            body = fixture_body(u.path, u.query)
        if body is None:
            status, body = 404, b'{"name":"Not Found","status":404}'
        if fault:
            status = int(fault.get("status", 200))
            if "body" in fault:
                body = fault["body"].encode()
            elif "body_b64" in fault:
                body = base64.b64decode(fault["body_b64"])
            elif "giant_item" in fault:
                body = (b'[{"id":1,"airdate":"2030-01-01","name":"' +
                        b"x" * int(fault["giant_item"]) + b'"}]')
            elif status == 429:
                body = b'{"name":"Too Many Requests","status":429}'
            elif status >= 500:
                body = b'{"name":"Internal Server Error","status":500}'
            if "retry_after" in fault:
                headers["Retry-After"] = str(fault["retry_after"])
            if "truncate" in fault:
                body = body[: int(len(body) * float(fault["truncate"]))]
        entry["status"] = status
        try:
            if fault and "drip" in fault:
                return self.drip(status, body, float(fault["drip"]), headers)
            self.send(status, body, headers=headers, cut=float(fault.get("cut", 0)) if fault else 0.0,
                      **({"ctype": fault["ctype"]} if fault and "ctype" in fault else {}))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test, shutdown)


def make_server():
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    return ThreadingHTTPServer(("127.0.0.1", PORT), Handler)


def refuse(seconds):
    global SERVER
    old = SERVER
    old.shutdown()
    old.server_close()
    time.sleep(seconds)
    SERVER = make_server()
    threading.Thread(target=SERVER.serve_forever, daemon=True).start()


def main():
    global STATE, SERVER, PORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--fixtures-flat", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    STATE = State(a.fixtures, a.fixtures_flat)
    PORT = a.port
    SERVER = make_server()
    PORT = SERVER.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{PORT}\n")
        os.rename(tmp, a.port_file)
    print(f"fake_tvmaze listening on 127.0.0.1:{PORT}", file=sys.stderr, flush=True)
    threading.Thread(target=SERVER.serve_forever, daemon=True).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
