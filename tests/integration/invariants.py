#!/usr/bin/env python3
"""The R4 core invariants (mappings/fhir-r4/invariants.json) as `cellgate
validate` evaluates them by default, one family at a time:
tests/data/fhir/invariants/expected.txt lists, per invariant, a resource that
breaks it (KEY-breaks.json: that key, with its definition's severity, at that
JSON pointer, and no other error) and one that keeps it (KEY-keeps.json:
valid, and that key not reported). Also: the valid samples of
tests/data/fhir/ break no invariant of error severity, and --no-invariants
turns them off.

    invariants.py CELLGATE
"""
import json
import os
import subprocess
import sys

cellgate = os.path.realpath(sys.argv[1])
src = os.path.realpath(os.environ.get("CG_SOURCE_DIR",
                                      os.path.join(os.path.dirname(__file__), "..", "..")))
data = os.path.join(src, "tests", "data", "fhir", "invariants")
defs = json.load(open(os.path.join(src, "mappings", "fhir-r4", "invariants.json")))
severity = {i["key"]: i["severity"] for t in defs["invariants"].values() for i in t}


def validate(files, *flags):
    """{file name: issues} from one run of cellgate validate --format json."""
    run = subprocess.run([cellgate, "validate", "--format", "json", "--mappings",
                          os.path.join(src, "mappings"), *flags, *files],
                         capture_output=True, text=True)
    if run.returncode not in (0, 1):
        sys.exit(f"FAIL cellgate exit {run.returncode}: {run.stderr}")
    return {os.path.basename(o["file"]): o["issues"]
            for o in map(json.loads, run.stdout.splitlines())}


def keyed(issues, key):
    return [i for i in issues if i["message"].startswith(key + ":")]


cases = []
for line in open(os.path.join(data, "expected.txt")):
    if line.strip() and not line.startswith("#"):
        name, key, pointer = line.split()
        cases.append((name, key, "" if pointer == "(root)" else pointer))
files = [os.path.join(data, n) for c in cases for n in (c[0], c[0].replace("-breaks", "-keeps"))]
got = validate(files)
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


for name, key, pointer in cases:
    code = "fhir-invariant" if severity[key] == "error" else "fhir-invariant-warning"
    issues = got[name]
    hits = keyed(issues, key)
    check(any(i["code"] == code and i["path"] == pointer for i in hits),
          f"{name}: want {code} {key} at '{pointer}', got {json.dumps(issues)}")
    others = [i for i in issues if i["severity"] == "error" and i not in hits]
    check(not others, f"{name}: errors besides {key}: {json.dumps(others)}")
    keeps = name.replace("-breaks", "-keeps")
    issues = got[keeps]
    check(not keyed(issues, key) and not any(i["severity"] == "error" for i in issues),
          f"{keeps}: want valid without {key}, got {json.dumps(issues)}")

samples = [os.path.join(src, "tests", "data", "fhir", n)
           for n in sorted(os.listdir(os.path.join(src, "tests", "data", "fhir")))
           if n.endswith(".json")]
for name, issues in validate(samples).items():
    bad = [i for i in issues if i["code"] == "fhir-invariant"]
    check(not bad, f"{name}: a valid sample breaks {json.dumps(bad)}")
off = validate([os.path.join(data, c[0]) for c in cases], "--no-invariants")
check(not any(i["code"].startswith("fhir-invariant") for v in off.values() for i in v),
      "--no-invariants still reports invariants")

families = sorted({k.split("-")[0] for _, k, _ in cases})
print(f"{len(cases)} invariants of {len(families)} families ({' '.join(families)})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
