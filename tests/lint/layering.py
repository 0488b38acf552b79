#!/usr/bin/env python3
"""The supervisor's layering, checked on its #include lines (issue 13):

1. No circle of more than two files: a module is a .c and its .h; module X
   depends on Y when X.c or X.h includes Y.h. Every strongly connected set of
   modules has at most two members.
2. The runtime side never reaches up: the modules listed in RUNTIME include
   neither agent.h nor the API server's headers.

Prints every violation and exits 1 if there is one."""
import os
import re
import sys

RUNTIME = [
    "runtime", "task_runner", "task_jobs", "task_logger", "task_submit", "task_outage",
    "recovery", "recovery_plan", "recovery_scan", "image_gc", "image_refs", "dangling",
    "reaper", "log_loss", "docklog_launch",
]
UPWARD = {"agent", "api_server", "api_gate", "agent_api", "event_hub", "drain"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)\.h"', re.M)


def modules(root):
    deps = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            name = f[:-2]
            with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                text = fh.read()
            deps.setdefault(name, set()).update(
                os.path.basename(m) for m in INCLUDE.findall(text) if os.path.basename(m) != name)
    for d in deps.values():
        d.intersection_update(deps.keys())
    return deps


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
    graph = modules(root)
    bad = 0
    for comp in sccs(graph):
        if len(comp) > 2:
            bad += 1
            print(f"include circle of {len(comp)} files: {' '.join(comp)}")
    for m in RUNTIME:
        for up in sorted(graph.get(m, set()) & UPWARD):
            bad += 1
            print(f"{m} includes {up}.h: the runtime side must not reach the agent or the API")
    if bad:
        return 1
    print(f"layering: {len(graph)} modules, no circle of more than two files, runtime side clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
