#!/usr/bin/env python3
"""bufcurl_violations.py FILE FIELD...: buf curl's JSON error in FILE is
INVALID_ARGUMENT with one detail, a google.rpc.BadRequest (its bytes
decoded here, no protobuf package needed), whose field violations name
exactly FIELD... in that order. Exit 1 with the reason otherwise.
Used by test_e2e_bufcurl.sh and test_gateway_tz.sh."""
import base64
import json
import sys


def lenfields(b):
    """The length-delimited fields of a message: [(number, bytes)]."""
    i, out = 0, []
    while i < len(b):
        key, i = varint(b, i)
        n, i = varint(b, i)
        out.append((key >> 3, b[i:i + n]))
        i += n
    return out


def varint(b, i):
    r = s = 0
    while True:
        r |= (b[i] & 0x7F) << s
        s += 7
        i += 1
        if b[i - 1] < 0x80:
            return r, i


def main():
    e = json.load(open(sys.argv[1]))
    assert e["code"] == "invalid_argument", e
    br = [d for d in e["details"] if d["type"] == "google.rpc.BadRequest"]
    assert len(br) == 1 and len(e["details"]) == 1, e
    b64 = br[0]["value"]  # proto3 JSON bytes: base64, padding optional
    raw = base64.b64decode(b64 + "=" * (-len(b64) % 4))
    fields = [dict(lenfields(x))[1].decode() for n, x in lenfields(raw) if n == 1]
    assert fields == sys.argv[2:], (fields, sys.argv[2:])


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        sys.exit("violations: %s" % (err,))
