#!/usr/bin/env python3
"""The R4 core invariants (mappings/fhir-r4/invariants.json) as `cellgate
validate` evaluates them by default, one family at a time:
tests/data/fhir/invariants/expected.txt lists, per invariant, a resource that
breaks it (KEY-breaks.json: that key, with its definition's severity, at that
JSON pointer, and no other error) and one that keeps it (KEY-keeps.json:
valid, and that key not reported). Also: the valid samples of
tests/data/fhir/ break no invariant of error severity, and --no-invariants
turns them off; every invariant is evaluated on all of them (nothing said on
standard error); and an evaluation that fails, or an expression that does not
compile (test invariants in a copy of the mappings), is named on standard
error, counted and not reported as broken.

    invariants.py CELLGATE
"""
import json
import os
import subprocess
import sys
import tempfile

cellgate = os.path.realpath(sys.argv[1])
src = os.path.realpath(os.environ.get("CG_SOURCE_DIR",
                                      os.path.join(os.path.dirname(__file__), "..", "..")))
data = os.path.join(src, "tests", "data", "fhir", "invariants")
defs = json.load(open(os.path.join(src, "mappings", "fhir-r4", "invariants.json")))
severity = {i["key"]: i["severity"] for t in defs["invariants"].values() for i in t}


stderrs = []


def validate(files, *flags, mappings=os.path.join(src, "mappings")):
    """{file name: issues} from one run of cellgate validate --format json;
    its standard error goes to stderrs."""
    run = subprocess.run([cellgate, "validate", "--format", "json", "--mappings",
                          mappings, *flags, *files],
                         capture_output=True, text=True)
    if run.returncode not in (0, 1):
        sys.exit(f"FAIL cellgate exit {run.returncode}: {run.stderr}")
    stderrs.append(run.stderr)
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
check(not "".join(stderrs), f"invariants not evaluated on the samples: {stderrs}")
off = validate([os.path.join(data, c[0]) for c in cases], "--no-invariants")
check(not any(i["code"].startswith("fhir-invariant") for v in off.values() for i in v),
      "--no-invariants still reports invariants")


# Past --max-issues, the issues kept are those of the structure first, then
# the invariants' with a node before its children, as when the invariants
# were walked after the structure: evaluated in the structural walk, after a
# node's members, they took the places of errors found further on (the one
# error of a Bundle of 150 Patients without narrative went unshown among 100
# dom-6 warnings).
with tempfile.TemporaryDirectory() as work:
    capped = {
        "bundle.json": {"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": f"urn:uuid:{i:08d}-0000-4000-8000-000000000000",
             "resource": {"resourceType": "Patient", "id": f"p{i}"}} for i in range(150)]},
        "late-error.json": {"resourceType": "Patient", "id": "p1",
                            "contact": [{"gender": "male"}], "zzz": 1},
        "nested.json": {"resourceType": "Patient", "id": "p1",
                        "contact": [{"gender": "male"}]},
    }
    capped["bundle.json"]["entry"][-1]["resource"]["gender"] = "bogus"
    for n, doc in capped.items():
        with open(os.path.join(work, n), "w") as f:
            json.dump(doc, f)
    paths = [os.path.join(work, n) for n in sorted(capped)]
    got = validate(paths)
    check(any(i["code"] == "fhir-binding" and i["path"] == "/entry/149/resource/gender"
              for i in got["bundle.json"]),
          "past 100 issues, the Bundle's one error is not shown: "
          f"{[i['code'] for i in got['bundle.json']][-3:]}")
    got = validate(paths, "--max-issues", "1")
    check([i["code"] for i in got["late-error.json"]] == ["unknown-field", "too-many-issues"],
          f"--max-issues 1 keeps an invariant before a structural error: "
          f"{json.dumps(got['late-error.json'])}")
    check([i["message"].split(":")[0] for i in got["nested.json"]][:1] == ["dom-6"],
          f"--max-issues 1 keeps an element's invariant before its resource's: "
          f"{json.dumps(got['nested.json'])}")


def mappings_with(work, invariants):
    """A copy of the mappings (links) whose fhir-r4/invariants.json holds
    only the invariants given, on Patient."""
    top = os.path.join(src, "mappings")
    os.makedirs(os.path.join(work, "fhir-r4"))
    for n in os.listdir(top):
        if n != "fhir-r4":
            os.symlink(os.path.join(top, n), os.path.join(work, n))
    for n in os.listdir(os.path.join(top, "fhir-r4")):
        if n != "invariants.json":
            os.symlink(os.path.join(top, "fhir-r4", n), os.path.join(work, "fhir-r4", n))
    doc = dict(defs, invariants={"Patient": [
        dict(path=p, key=k, severity="error", human=k, expression=e) for p, k, e in invariants]})
    with open(os.path.join(work, "fhir-r4", "invariants.json"), "w") as f:
        json.dump(doc, f)
    return work


with tempfile.TemporaryDirectory() as work:
    m = mappings_with(os.path.join(work, "m"), [
        ("", "tst-1", "name.given.single().exists()"),  # errs on two given names
        ("", "tst-2", "name.given.("),                  # does not compile
        ("name", "tst-3", "given.exists()"),            # holds, or is broken
    ])
    patient = os.path.join(work, "two-given.json")
    with open(patient, "w") as f:
        json.dump({"resourceType": "Patient", "id": "p1",
                   "name": [{"given": ["Zelda", "Quinn"]}, {"family": "Xu"}]}, f)
    stderrs.clear()
    got = validate([patient], mappings=m)["two-given.json"]
    err = "".join(stderrs)
    check([i["message"] for i in got] == ["tst-3: tst-3"],
          f"a failed evaluation reported as an issue, or tst-3 not: {json.dumps(got)}")
    check("1 invariant evaluation could not be completed" in err and "tst-1 (Patient) 1" in err,
          f"the failed evaluation of tst-1 not named on stderr: {err!r}")
    check("1 invariant did not compile" in err and "tst-2 (Patient)" in err,
          f"tst-2, which does not compile, not named on stderr: {err!r}")
    check("tst-3" not in err and "Zelda" not in err and "Xu" not in err,
          f"stderr names more than the invariants that failed: {err!r}")

families = sorted({k.split("-")[0] for _, k, _ in cases})
print(f"{len(cases)} invariants of {len(families)} families ({' '.join(families)})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
