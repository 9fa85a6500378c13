"""Health/Watch through python3-grpcio (an independent client), raw bytes,
no generated stubs: HealthCheckRequest{service} in, HealthCheckResponse{status}
out. Prints one line per status received (SERVING, NOT_SERVING, ...) and, when
the stream ends, "END <code name> <details>". Usage: health_watch_client.py
HOST:PORT [SERVICE]."""
import sys

import grpc

NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def request(service):
    raw = service.encode()
    return b"\x0a" + bytes([len(raw)]) + raw if raw else b""


def status(reply):
    # field 1, varint; an empty reply is status 0
    if not reply:
        return 0
    assert reply[0] == 0x08 and len(reply) == 2, reply
    return reply[1]


def main():
    target = sys.argv[1]
    service = sys.argv[2] if len(sys.argv) > 2 else ""
    with grpc.insecure_channel(target) as ch:
        watch = ch.unary_stream("/grpc.health.v1.Health/Watch")
        try:
            for reply in watch(request(service)):
                print(NAMES.get(status(reply), "?"), flush=True)
            print("END OK", flush=True)
        except grpc.RpcError as e:
            print("END", e.code().name, e.details(), flush=True)


main()
