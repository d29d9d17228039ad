#!/usr/bin/env python3
"""Fails when folders of src/ include each other in a cycle (issue #19: the network
uses the GEMM, the GEMM never sees the network; every layer of the tree likewise).

  tools/include_cycles.py SRC_DIR

A folder depends on another when one of its files includes a header there
("graph/graph.h" from src/loss/ makes loss depend on graph). Prints the dependency
graph and every cycle found; exit status 1 when there is one."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder_graph(src):
    deps = {}
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            continue
        deps.setdefault(folder, set())
        for name in os.listdir(path):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(path, name), encoding="utf-8") as f:
                for header in INCLUDE.findall(f.read()):
                    other = header.split("/")[0] if "/" in header else folder
                    if other != folder and os.path.isdir(os.path.join(src, other)):
                        deps[folder].add(other)
    return deps


def cycles(deps):
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(deps.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(deps):
        if node not in state:
            visit(node, [])
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    deps = folder_graph(sys.argv[1])
    for folder in sorted(deps):
        print(f"{folder:8} -> {' '.join(sorted(deps[folder])) or '-'}")
    found = cycles(deps)
    for c in found:
        print("cycle: " + " -> ".join(c))
    print(f"{len(deps)} folders, {len(found)} cycles")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
