"""Changes/WatchChanges through python3-grpcio (an independent client), with
message classes that protoc --python_out makes from proto/ at start (into a
temporary directory). Prints one line per message received, as compact
proto3 JSON with proto field names ({"change": {...}} or {"heartbeat":
{...}}), and when the stream ends "END <code name> <details>". A second
mode reads nothing for a while first (--stall SECONDS). With --count N it
opens N streams on one channel, prints "OPEN N" once each has had its first
message, and at the end one line per end code, "ENDS <code name> <count>".

Usage: changes_watch_client.py HOST:PORT PROTO_DIR [--after V] [--show-ids 1,2]
       [--entity SHOW|EPISODE] [--stall SECONDS] [--deadline SECONDS] [--count N]
"""
import collections
import threading
import argparse
import os
import subprocess
import sys
import tempfile
import time

import grpc

# the key every tvmaze.v1 call needs (gateway_lib.sh's fresh_db exports it)
KEY_MD = (("x-api-key", os.environ["TVMAZE_API_KEY"]),) if os.environ.get("TVMAZE_API_KEY") else None


def load(proto_dir, out):
    subprocess.run(
        ["protoc", "-I" + proto_dir, "-I/usr/include", "--python_out=" + out,
         "tvmaze/v1/changes.proto", "tvmaze/v1/common.proto"],
        check=True)
    sys.path.insert(0, out)
    from tvmaze.v1 import changes_pb2  # noqa: E402 (generated above)
    return changes_pb2


def many(watch, req, a):
    ends = collections.Counter()
    lock = threading.Lock()
    first = threading.Barrier(a.count + 1)

    def one():
        seen = False
        code = "OK"
        try:
            for _ in watch(req, timeout=a.deadline, metadata=KEY_MD):
                if not seen:
                    seen = True
                    first.wait()
        except grpc.RpcError as e:
            code = e.code().name
        if not seen:
            first.abort()
        with lock:
            ends[code] += 1

    threads = [threading.Thread(target=one) for _ in range(a.count)]
    for t in threads:
        t.start()
    try:
        first.wait()
        print("OPEN", a.count, flush=True)
    except threading.BrokenBarrierError:
        print("OPEN failed", flush=True)
    for t in threads:
        t.join()
    for code, n in sorted(ends.items()):
        print("ENDS", code, n, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("proto_dir")
    ap.add_argument("--after", type=int, default=0)
    ap.add_argument("--show-ids", default="")
    ap.add_argument("--entity", default="")
    ap.add_argument("--stall", type=float, default=0)
    ap.add_argument("--deadline", type=float, default=None)
    ap.add_argument("--count", type=int, default=0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        pb = load(a.proto_dir, out)
        from google.protobuf import json_format
        req = pb.WatchChangesRequest(after_version=a.after)
        if a.show_ids:
            req.show_ids.extend(int(x) for x in a.show_ids.split(","))
        if a.entity:
            req.entity = pb.ChangeEntity.Value("CHANGE_ENTITY_" + a.entity)
        # a stalled reader must stall on the wire: no BDP probing, which
        # would grow the HTTP/2 windows until a whole burst is buffered here
        opts = [("grpc.http2.bdp_probe", 0)] if a.stall else []
        with grpc.insecure_channel(a.target, options=opts) as ch:
            watch = ch.unary_stream(
                "/tvmaze.v1.Changes/WatchChanges",
                request_serializer=pb.WatchChangesRequest.SerializeToString,
                response_deserializer=pb.WatchChangesResponse.FromString)
            if a.count:
                many(watch, req, a)
                return
            try:
                it = watch(req, timeout=a.deadline, metadata=KEY_MD)
                if a.stall:
                    time.sleep(a.stall)
                for m in it:
                    print(json_format.MessageToJson(
                        m, preserving_proto_field_name=True, indent=None), flush=True)
                print("END OK", flush=True)
            except grpc.RpcError as e:
                print("END", e.code().name, e.details(), flush=True)


main()
