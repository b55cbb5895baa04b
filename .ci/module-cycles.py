#!/usr/bin/env python3
"""Fails when a crate's modules form a cycle: module A uses module B (a `crate::` path in
code, comments and tests aside) and B, directly or not, uses A. A module's own children
and parents are not edges. Usage: module-cycles.py SRC_DIR..."""
import os
import re
import sys


def modules(root):
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if not f.endswith(".rs"):
                continue
            parts = os.path.relpath(os.path.join(d, f), root)[:-3].split("/")
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]) or parts[-1].endswith("_tests"):
                continue
            files["::".join(parts)] = os.path.join(d, f)
    return files


def edges(files):
    mods = set(files)
    out = {m: set() for m in mods}
    for m, path in files.items():
        src = open(path).read()
        src = re.split(r"#\[cfg\(test\)\]\s*mod tests \{", src)[0]
        code = "\n".join(l for l in src.split("\n") if not l.strip().startswith("//"))
        for ref in re.findall(r"crate::([a-z_:]+)", code):
            parts = ref.strip(":").split("::")
            target = None
            for i in range(1, len(parts) + 1):
                if "::".join(parts[:i]) in mods:
                    target = "::".join(parts[:i])
            if target and target != m and not target.startswith(m + "::") and not m.startswith(target + "::"):
                out[m].add(target)
    return out


def cycles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


failed = False
for root in sys.argv[1:]:
    found = cycles(edges(modules(root)))
    for c in found:
        print(f"{root}: module cycle: {' -> '.join(c)}")
        failed = True
    if not found:
        print(f"{root}: no module cycle")
sys.exit(1 if failed else 0)
