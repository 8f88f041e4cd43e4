#!/usr/bin/env python3
"""The layer rule of gateway/, checked: a file may include headers of its own
folder and of the folders below it, never of one above.

    tests/layers.py [GATEWAY_DIR]

The order is written once, here and in docs/architecture.md, lowest first.
Every C file under gateway/ must be in one of these folders (a new folder
must be placed in the order), and every #include "x.h" must name a header
that exists in exactly one folder (the build's include path is flat), or one
the build generates. Exit 1, with each wrong-way include as FILE:LINE, when
the rule is broken.
"""
import os
import re
import sys

LAYERS = ["core", "json", "rules", "fhirpath", "validate", "map", "policy", "config", "dest", "queue", "server", "cli"]
GENERATED = {"version.h", "default_config.h", "ucum_units.h"}  # made by CMake into build/generated

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), "..", "gateway"))
rank = {name: i for i, name in enumerate(LAYERS)}
problems = []
home = {}  # header name -> folder
files = []
for dirpath, _, names in os.walk(root):
    folder = os.path.relpath(dirpath, root)
    for n in sorted(names):
        if not n.endswith((".c", ".h")):
            continue
        if folder not in rank:
            problems.append(f"{os.path.join(dirpath, n)}: in no layer (folders: "
                            f"{', '.join(LAYERS)})")
            continue
        files.append((folder, os.path.join(dirpath, n)))
        if n.endswith(".h"):
            if n in home:
                problems.append(f"{n}: in both {home[n]}/ and {folder}/")
            home[n] = folder

include = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
edges = 0
for folder, path in files:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            m = include.match(line)
            if not m:
                continue
            name = os.path.basename(m.group(1))
            if name in GENERATED:
                continue
            if name not in home:
                problems.append(f"{path}:{lineno}: includes {name}, found in no layer")
                continue
            edges += 1
            if rank[home[name]] > rank[folder]:
                problems.append(f"{path}:{lineno}: {folder}/ includes {home[name]}/{name}, "
                                f"a layer above it ({' < '.join(LAYERS)})")

for p in problems:
    print(p)
if problems:
    print(f"layers: {len(problems)} problem(s)")
    sys.exit(1)
print(f"layers: {len(files)} files, {edges} includes, all pointing down "
      f"({' < '.join(LAYERS)})")
