#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""File-level call graph of the module's data path; fails on a cycle.

The data-path files are the kmod/*.c files that include "prbd_dp.h",
except the module entry (prbd_main.c).  A function or variable with
external linkage defined in A and named in B is an edge B -> A.  The
sources are read with comments and strings removed; no build is needed.

    tools/depgraph.py [-v] [KMOD_DIR]

prints the edges (with -v the symbols behind each), then every cycle
(strongly connected component of more than one file); exits 1 if there
is one.  The build group of `make test` runs it.
"""
import os
import re
import sys

ENTRY = {"prbd_main.c"}

COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"' + r"|'(?:\\.|[^'\\\n])*'")
# a definition at the start of a line: not static, a name, its
# parameters, then the body
FUNC = re.compile(r"^(?!static\b)(?:[A-Za-z_][\w \t*]*?[\s*])"
                  r"(\w+)\s*\([^;{}]*\)\s*\{", re.M)
VAR = re.compile(r"^(?!static\b|extern\b|typedef\b|return\b)"
                 r"(?:const\s+)?(?:struct\s+)?\w+[\s*]+(?:const\s+)?"
                 r"(\w+)\s*(?:\[[^\]]*\])?\s*(?:=|;)", re.M)


def strip(text):
    text = COMMENT.sub(" ", text)
    return STRING.sub('""', text)


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    kmod = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "kmod")
    src = {}
    for name in sorted(os.listdir(kmod)):
        if not name.endswith(".c") or name.endswith(".mod.c"):
            continue
        with open(os.path.join(kmod, name), encoding="utf-8") as f:
            raw = f.read()
        if '#include "prbd_dp.h"' in raw and name not in ENTRY:
            src[name] = strip(raw)

    defs = {}
    for name, text in src.items():
        for rx in (FUNC, VAR):
            for m in rx.finditer(text):
                defs.setdefault(m.group(1), name)

    edges = {n: {} for n in src}
    for name, text in src.items():
        for word in set(re.findall(r"\b\w+\b", text)):
            owner = defs.get(word)
            if owner and owner != name:
                edges[name].setdefault(owner, []).append(word)

    print("data-path files: " + " ".join(src))
    for a in src:
        for b in sorted(edges[a]):
            line = "  %s -> %s" % (a, b)
            if verbose:
                line += "  (" + ", ".join(sorted(edges[a][b])) + ")"
            print(line)

    # Tarjan's strongly connected components
    index, low, stack, on, sccs = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            sccs.append(sorted(comp))

    for v in src:
        if v not in index:
            visit(v)
    cycles = [c for c in sccs if len(c) > 1]
    for c in cycles:
        print("cycle: " + " ".join(c))
        for a in c:
            for b in sorted(edges[a]):
                if b in c:
                    print("  %s -> %s  (%s)" %
                          (a, b, ", ".join(sorted(edges[a][b]))))
    print("%d cycle(s) among %d data-path files" % (len(cycles), len(src)))
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
