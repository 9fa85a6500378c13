#!/usr/bin/env python3
"""A test OTLP/HTTP trace receiver: decodes each POST body as an
opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest with the
project's own .proto files (proto/opentelemetry/..., compiled here with
`protoc --python_out`, decoded by python3-protobuf: an independent decoder)
and records every span as one JSON line.

  otlp_receiver.py --proto-root DIR --out FILE --port-file F
                   [--delay S] [--status CODE]

FILE gets one line per span: {"post": n, "path", "content_type", "resource":
{attrs}, "scope", "trace_id", "span_id", "parent_span_id" (hex, "" for a
root), "flags", "name", "kind", "start", "end", "attrs": {key: value},
"status": {"code", "message"}}. --delay: wait S seconds before answering
(a slow collector); --status: answer CODE (default 200) with an empty
ExportTraceServiceResponse.
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROTOS = [
    "opentelemetry/proto/common/v1/common.proto",
    "opentelemetry/proto/resource/v1/resource.proto",
    "opentelemetry/proto/trace/v1/trace.proto",
    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
]


def compile_protos(root):
    out = tempfile.mkdtemp(prefix="otlp-py-")
    subprocess.run(["protoc", "-I" + root, "--python_out=" + out] + PROTOS, check=True)
    sys.path.insert(0, out)
    return importlib.import_module("opentelemetry.proto.collector.trace.v1.trace_service_pb2")


def value(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proto-root", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--status", type=int, default=200)
    a = ap.parse_args()
    svc = compile_protos(a.proto_root)
    lock = threading.Lock()
    posts = [0]

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            if a.delay:
                time.sleep(a.delay)
            req = svc.ExportTraceServiceRequest()
            req.ParseFromString(body)
            with lock:
                posts[0] += 1
                lines = []
                for rs in req.resource_spans:
                    res = {kv.key: value(kv.value) for kv in rs.resource.attributes}
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            lines.append(json.dumps({
                                "post": posts[0], "path": self.path,
                                "content_type": self.headers.get("Content-Type"),
                                "resource": res, "scope": ss.scope.name,
                                "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                                "parent_span_id": s.parent_span_id.hex(), "flags": s.flags,
                                "name": s.name, "kind": s.kind,
                                "start": s.start_time_unix_nano, "end": s.end_time_unix_nano,
                                "attrs": {kv.key: value(kv.value) for kv in s.attributes},
                                "status": {"code": s.status.code, "message": s.status.message},
                            }))
                with open(a.out, "a") as f:
                    for line in lines:
                        f.write(line + "\n")
            reply = svc.ExportTraceServiceResponse().SerializeToString()
            self.send_response(a.status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    open(a.out, "a").close()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
