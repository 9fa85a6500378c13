#!/usr/bin/env python3
"""sql_of.py FILE NAME: prints the SQL of `static const char NAME[] = ...;` in a
C file, with the string-literal macros it uses expanded, so bench/query.sh
runs exactly the statement the server prepares."""
import re
import sys

src = open(sys.argv[1], encoding="utf-8").read().replace("\\\n", " ")
macros = {m.group(1): m.group(2) for m in re.finditer(r"^#define (\w+)\s+(.*)$", src, re.M)}


def expand(expr):
    out = []
    for tok in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\w+)', expr):
        if tok.group(1) is not None:
            out.append(tok.group(1).encode().decode("unicode_escape"))
        elif tok.group(2) in macros:
            out.append(expand(macros[tok.group(2)]))
    return "".join(out)


m = re.search(r"static const char " + re.escape(sys.argv[2]) + r"\[\] =(.*?);\s*$", src, re.S | re.M)
if m is None:
    sys.exit("no statement " + sys.argv[2])
print(expand(m.group(1)))
