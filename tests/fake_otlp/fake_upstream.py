#!/usr/bin/env python3
"""A stand-in tvmaze-server for tracing tests (python3-grpcio): answers every
unary method with an empty message (a valid reply of any proto3 type: an
empty ListShowsResponse, a Health/Check of status UNKNOWN...) and records
each call's path and metadata as one JSON line, so a test can see exactly
which traceparent and x-request-id the gateway sent.

  fake_upstream.py --out FILE --port-file F
"""
import argparse
import json
import os
import threading
from concurrent import futures

import grpc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    lock = threading.Lock()

    class Any(grpc.GenericRpcHandler):
        def service(self, details):
            method = details.method
            md = {k: v for k, v in details.invocation_metadata}

            def answer(request, context):
                with lock, open(a.out, "a") as f:
                    f.write(json.dumps({"method": method, "metadata": md}) + "\n")
                return b""

            return grpc.unary_unary_rpc_method_handler(answer)

    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[Any()])
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    open(a.out, "a").close()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, a.port_file)
    srv.wait_for_termination()


if __name__ == "__main__":
    main()
