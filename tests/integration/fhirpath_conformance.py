#!/usr/bin/env python3
"""The official FHIRPath R4 test suite through `cellgate fhirpath`.

    fhirpath_conformance.py CELLGATE [--suite DIR] [--update] [--verbose]

Every <test> of tests-fhir-r4.xml is run: its expressions are batched, one
`cellgate fhirpath --format typed --expressions FILE INPUT` per input file,
and each result is compared with the expected outputs by type and value. A
test whose expression is marked invalid="syntax" expects a syntax error,
"execution" an evaluation error, "semantic" either. An output written
without a type (the later groups of the suite) is compared by the type its
text is written as: true/false, @date, @T time, a number, a quantity. Tests whose input exists
only as XML (no .json beside it in the suite or in tests/fhirpath/inputs/)
are counted as not run.

Prints `passed N of M run (K not run)`. Fails only when a test named in
tests/fhirpath/passing.txt no longer passes: a ratchet, honest about the
rest. --update rewrites passing.txt with the tests that pass now.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("CG_SOURCE_DIR", os.path.join(HERE, "..", ".."))
PASSING = os.path.join(SOURCE, "tests", "fhirpath", "passing.txt")
INPUTS = os.path.join(SOURCE, "tests", "fhirpath", "inputs")


def default_suite():
    for d in (os.environ.get("CG_FHIRPATH_SUITE"),
              os.path.join(SOURCE, "..", "shared", "conformance", "fhirpath-r4"),
              "/work/shared/conformance/fhirpath-r4"):
        if d and os.path.exists(os.path.join(d, "tests-fhir-r4.xml")):
            return d
    return None


def json_input(suite, name):
    """The JSON form of an input file, or None when there is none."""
    if not name:
        return ""
    base = name[:-4] + ".json" if name.endswith(".xml") else name
    for d in (suite, INPUTS):
        p = os.path.join(d, base)
        if os.path.exists(p):
            return p
    return None


def parse_quantity(text):
    m = re.match(r"^\s*(-?[0-9.]+)\s*(?:'([^']*)'|([A-Za-z]+))?\s*$", text)
    if not m:
        return None
    return float(m.group(1)), m.group(2) if m.group(2) is not None else (m.group(3) or "1")


CALENDAR = {"a": "year", "mo": "month", "wk": "week", "d": "day", "h": "hour",
            "min": "minute", "s": "second", "ms": "millisecond"}


def unit_name(u):
    u = CALENDAR.get(u, u)
    return u[:-1] if u.endswith("s") and u[:-1] in CALENDAR.values() else u


def untyped_types(text):
    """The types an output the suite gives without a type may have, from how
    its text is written (a FHIRPath literal)."""
    if text in ("true", "false"):
        return ["boolean"]
    if text.startswith("@T"):
        return ["time"]
    if text.startswith("@"):
        return ["dateTime"] if "T" in text else ["date", "dateTime"]
    if re.match(r"^-?[0-9]+(\.[0-9]+)?$", text):
        return ["integer", "decimal"] if "." not in text else ["decimal"]
    if re.match(r"^-?[0-9.]+\s*'[^']*'$", text):
        return ["Quantity"]
    return ["string"]


def same(expected_type, text, got):
    if expected_type is None and text:
        return any(same(t, text, got) for t in untyped_types(text))
    if got.get("type") != expected_type:
        return False
    v = got.get("value")
    if text is None or text == "":
        return True
    if expected_type == "boolean":
        return v is (text == "true")
    if expected_type == "integer":
        return isinstance(v, int) and not isinstance(v, bool) and v == int(text)
    if expected_type == "decimal":
        return isinstance(v, (int, float)) and not isinstance(v, bool) and \
            math.isclose(float(v), float(text), rel_tol=1e-9, abs_tol=1e-12)
    if expected_type in ("date", "dateTime", "time", "instant"):
        want = text.lstrip("@")
        if expected_type == "time":
            want = want.lstrip("T")
        return v == want
    if expected_type == "Quantity":
        q = parse_quantity(text)
        if not q or not isinstance(v, dict):
            return False
        unit = v.get("code", v.get("unit", "1"))
        return math.isclose(float(v.get("value", "nan")), q[0]) and \
            unit_name(unit) == unit_name(q[1])
    return isinstance(v, str) and v == text


def load(suite):
    tree = ET.parse(os.path.join(suite, "tests-fhir-r4.xml"))
    tests = []
    for t in tree.getroot().iter("test"):
        e = t.find("expression")
        tests.append({
            "name": t.get("name"),
            "input": t.get("inputfile") or "",
            "expr": e.text or "",
            "invalid": e.get("invalid"),
            "predicate": t.get("predicate") == "true",
            "outputs": [(o.get("type"), o.text) for o in t.findall("output")],
        })
    return tests


def run_batch(cellgate, exprs, input_path):
    with tempfile.TemporaryDirectory() as tmp:
        ef = os.path.join(tmp, "expressions.ndjson")
        with open(ef, "w", encoding="utf-8") as f:
            for x in exprs:
                f.write(json.dumps(x) + "\n")
        if not input_path:
            input_path = os.path.join(tmp, "empty.json")
            with open(input_path, "w") as f:
                f.write("{}")
        p = subprocess.run([cellgate, "fhirpath", "--format", "typed", "--expressions", ef,
                            input_path], capture_output=True, text=True, timeout=120)
        if p.returncode not in (0, 1, 2):
            raise SystemExit(f"cellgate fhirpath crashed ({p.returncode}) on {input_path}:\n"
                             f"{p.stderr[-3000:]}")
        lines = p.stdout.splitlines()
        if len(lines) != len(exprs):
            raise SystemExit(f"{len(lines)} results for {len(exprs)} expressions on "
                             f"{input_path}:\n{p.stderr[-3000:]}")
        return [json.loads(x) for x in lines]


def verdict(test, res):
    inv = test["invalid"]
    if inv:
        if "error" not in res:
            return False
        if inv == "syntax":
            return bool(res.get("syntax"))
        if inv == "execution":
            return not res.get("syntax")
        return True
    if "error" in res:
        return False
    got = res["result"]
    if test["predicate"]:
        got = [{"type": "boolean", "value": bool(got)}]
    want = test["outputs"]
    return len(got) == len(want) and all(same(t, x, g) for (t, x), g in zip(want, got))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = [a for a in sys.argv[1:] if a.startswith("--")]
    if not args:
        raise SystemExit(__doc__)
    cellgate = args[0]
    suite = default_suite()
    if "--suite" in opts:
        suite = args[1]
    if not suite:
        print("fhirpath conformance: the suite (tests-fhir-r4.xml) is not there")
        return 1
    tests = load(suite)
    groups, not_run = {}, []
    for t in tests:
        path = json_input(suite, t["input"])
        if path is None:
            not_run.append(t)
        else:
            groups.setdefault(path, []).append(t)
    passed, failed = [], []
    for path, ts in groups.items():
        results = run_batch(cellgate, [t["expr"] for t in ts], path)
        for t, r in zip(ts, results):
            (passed if verdict(t, r) else failed).append((t, r))
    run = len(passed) + len(failed)
    names = {t["name"] for t, _ in passed}
    if "--verbose" in opts:
        for t, r in failed:
            print(f"FAIL {t['name']}: {t['expr']!r} want {t['outputs'] or t['invalid']} "
                  f"got {r}")
    print(f"fhirpath conformance: passed {len(passed)} of {run} run ({len(not_run)} not run: "
          f"input only as XML)")
    if "--update" in opts:
        with open(PASSING, "w", encoding="utf-8") as f:
            f.write("".join(n + "\n" for n in sorted(names)))
        print(f"wrote {PASSING}")
        return 0
    try:
        with open(PASSING, encoding="utf-8") as f:
            expected = [x.strip() for x in f if x.strip() and not x.startswith("#")]
    except FileNotFoundError:
        expected = []
    lost = [n for n in expected if n not in names]
    new = names - set(expected)
    if new:
        print(f"{len(new)} test(s) pass that passing.txt does not list yet "
              f"(run with --update to record them)")
    if lost:
        for n in lost:
            t, r = next(((t, r) for t, r in failed if t["name"] == n), (None, None))
            print(f"REGRESSED {n}: {t['expr']!r} -> {r}" if t else f"REGRESSED {n}: not run")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
