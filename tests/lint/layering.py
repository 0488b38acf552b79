#!/usr/bin/env python3
"""The supervisor's layering (docs/DESIGN.md, "Source layout"; issue 13), checked
on its #include lines. A module is a .c and its .h; module X depends on Y when
X.c or X.h includes Y.h.

1. No circle of more than two files: every strongly connected set of modules
   has at most two members.
2. Each folder includes only the folders below it (ALLOWED). The runtime side
   (runner/, recovery/, images/, gc/) never includes the agent (agent.h) nor the
   API (api/); images/ and gc/ are clients of the runtime and see only
   runner/runtime.h of runner/. spec/ and task/ are the pure model.

Prints every violation and exits 1 if there is one."""
import os
import re
import sys

ALLOWED = {
    "task": {"task"},
    "spec": {"spec", "task"},
    "base": {"base"},
    "runner": {"runner", "base", "spec", "task", "images"},
    "images": {"images", "base", "spec", "task", "runner/runtime"},
    "gc": {"gc", "base", "spec", "task", "runner/runtime"},
    "recovery": {"recovery", "runner", "base", "spec", "task", "images", "gc"},
    "api": {"api", ".", "runner", "recovery", "images", "gc", "base", "spec", "task"},
    "cli": {"cli", "spec", "task", "base"},
    ".": None,  # the agent and main: anything
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def scan(root):
    """module name -> (folder, set of included module names)"""
    mods = {}
    for dirpath, _, files in os.walk(root):
        folder = os.path.relpath(dirpath, root)
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            name = f[:-2]
            with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                incs = {os.path.basename(m) for m in INCLUDE.findall(fh.read())}
            entry = mods.setdefault(name, (folder, set()))
            entry[1].update(incs - {name})
    return {m: (folder, incs & mods.keys()) for m, (folder, incs) in mods.items()}


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "supervisor"
    mods = scan(root)
    graph = {m: incs for m, (_, incs) in mods.items()}
    bad = 0
    for comp in sccs(graph):
        if len(comp) > 2:
            bad += 1
            print(f"include circle of {len(comp)} files: {' '.join(comp)}")
    for m, (folder, incs) in sorted(mods.items()):
        if folder not in ALLOWED:
            bad += 1
            print(f"{folder}/{m}: folder {folder} has no layer in tests/lint/layering.py")
            continue
        allowed = ALLOWED[folder]
        if allowed is None:
            continue
        for inc in sorted(incs):
            to = mods[inc][0]
            if to not in allowed and f"{to}/{inc}" not in allowed:
                bad += 1
                print(f"{folder}/{m} includes {to}/{inc}.h: {folder}/ may include only "
                      f"{', '.join(sorted(allowed))}")
    if bad:
        return 1
    print(f"layering: {len(mods)} modules in {len(ALLOWED)} layers, no include circle of "
          "more than two files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
