#!/usr/bin/env python3
"""Property tests of the registry policy (issue 12) over thousands of
generated records, through `cellgate deidentify` (the gateway's own ingest
path):

- the de-identified output holds none of the input's identifiers, record
  numbers, device numbers, names, free text or full dates (each searched in
  every encoding the output uses: JSON text, JSON-escaped, percent-encoded as
  in conditional-create URLs), in FHIR (dates: year) and in records (dates:
  shift);
- it validates (`cellgate validate`) as records and as FHIR;
- shift mode keeps every interval between one patient's dates, and moves
  them back by 1 to shift_days days;
- a patient has the same pseudonym in every record, across runs and across
  gateways sharing the key, and different patients, keys and registries give
  different pseudonyms;
- patients over 89 are one category (90 at the record's latest date), and
  no year in a Bundle is more than 90 years after the year of birth.

    properties.py CELLGATE [N]
"""
import datetime
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import urllib.parse

BIN = os.path.realpath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
SRC = os.path.realpath(os.environ.get("CG_SOURCE_DIR",
                                      os.path.join(os.path.dirname(__file__), "..", "..", "..")))
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def generate(n, seed):
    out = subprocess.run([sys.executable, f"{SRC}/tests/bench/gen_records.py", str(n), str(seed)],
                         check=True, capture_output=True, text=True).stdout
    recs = [json.loads(line) for line in out.splitlines()]
    rnd = random.Random(seed)
    for i, r in enumerate(recs):
        r["recordId"] = f"P{seed}-{i:06d}"
        r["consent"] = {"research": True, "registries": ["REG-A", "REG-B"], "date": "2018-12-01"}
        if i % 7 == 0:  # free text the generator does not write
            r["vitalStatus"] = {"status": "dead", "date": r["administration"]["start"][:10],
                                "causeOfDeath": f"cardiac arrest at home of {r['recordId']}"}
        if i % 11 == 0:
            r["product"]["manipulation"] = ["genetically-modified"]
            r["product"]["geneticModification"] = f"lentiviral vector LV-{i:05d}-secret"
        if i % 13 == 0:  # over 89 at the administration
            start = datetime.date.fromisoformat(r["administration"]["start"][:10])
            r["patient"]["birthDate"] = start.replace(year=start.year - 93, day=1).isoformat()
            r["indication"]["population"] = "adult"
            r["indication"].pop("diagnosisDate", None)
            r["indication"].pop("relatedProcedure", None)
            r["product"].pop("collectionDate", None)
        if i % 5 == 0 and i > 0:  # the same patient again (another record)
            r["patient"]["identifiers"] = recs[i - 5]["patient"]["identifiers"]
            r["patient"]["birthDate"] = recs[i - 5]["patient"]["birthDate"]
            r["patient"]["sex"] = recs[i - 5]["patient"]["sex"]
            r["indication"]["population"] = recs[i - 5]["indication"].get("population", "adult")
        _ = rnd
    return recs


def dates_of(rec):
    """(JSON path, value) of every date and date-time of a record."""
    out = []

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + "/" + k)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}/{i}")
        elif isinstance(v, str) and DATE.match(v) and not path.endswith("/value"):
            out.append((path, v))
    walk(rec, "")
    return out


def secrets_of(rec):
    """What may not appear in the output of rec, whatever the encoding."""
    s = [rec["recordId"], rec["source"].get("recordRef")]
    s += [i["value"] for i in rec["patient"]["identifiers"]]
    s += [v for k, v in rec["product"]["identifiers"].items() if k != "isbt128ProductCode"]
    s += [rec["product"].get("manufacturer"), rec["product"].get("geneticModification")]
    adm = rec["administration"]
    s += [adm.get("performer", {}).get("value")] + adm.get("concomitantTherapy", [])
    s += [rec.get("vitalStatus", {}).get("causeOfDeath")]
    return [x for x in s if x]


def outcome_ids(rec):
    """Outcome ids are short ("ae-8"): searched as the JSON string they would
    be, or the end of an Observation identifier (recordId/id)."""
    return [(f'"{o["id"]}"', f'/{o["id"]}"') for o in rec.get("outcomes", [])]


def years_between(a, b):
    return b.year - a.year - ((b.month, b.day) < (a.month, a.day))


def encodings(v):
    return {v, json.dumps(v)[1:-1], urllib.parse.quote(v, safe=""), urllib.parse.quote(v)}


def run(*args, stdin=None):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, input=stdin)
    return p.returncode, p.stdout, p.stderr


def write_policy(d, name, **kw):
    path = f"{d}/{name}.yaml"
    with open(path, "w") as f:
        for k, v in kw.items():
            f.write(f"{k}: {v}\n")
    return path


def key_file(d, name, text):
    path = f"{d}/{name}"
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


def deidentify(policy, key, infile, *more):
    code, out, err = run("deidentify", "--policy", policy, "--key", key, *more, infile)
    check(code == 0, f"deidentify {os.path.basename(policy)}: exit {code}: {err[:2000]}")
    return [json.loads(line) for line in out.splitlines()]


def pseudonym_of_record(r):
    return r["patient"]["identifiers"][0]["value"]


def pseudonym_of_bundle(b):
    return b["entry"][0]["resource"]["subject"]["identifier"]["value"]


def main():
    with tempfile.TemporaryDirectory() as d:
        recs = generate(N, 4242)
        infile = f"{d}/in.ndjson"
        with open(infile, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs))
        k1 = key_file(d, "k1", "a" * 16 + os.urandom(24).hex())
        k2 = key_file(d, "k2", "b" * 16 + os.urandom(24).hex())
        base = dict(registry_id="REG-A", consent="required", identity="pseudonym-keyed",
                    deidentify="safe-harbor")
        fhir = write_policy(d, "fhir", type="fhir", **base)
        recp = write_policy(d, "records", type="records", **base)
        other_reg = write_policy(d, "regb", type="records", **{**base, "registry_id": "REG-B"})

        bundles = deidentify(fhir, k1, infile)
        shifted = deidentify(recp, k1, infile)
        check(len(bundles) == N and len(shifted) == N,
              f"{len(bundles)} Bundles and {len(shifted)} records for {N} inputs")

        # 1. nothing identifying passes, in any encoding
        leaks = 0
        for rec, b, s in zip(recs, bundles, shifted):
            tb, ts = json.dumps(b), json.dumps(s)
            raw_b = json.dumps(b, ensure_ascii=False, separators=(",", ":"))
            for secret in secrets_of(rec):
                for enc in encodings(secret):
                    for text in (tb, ts, raw_b):
                        if enc in text:
                            leaks += 1
                            check(False, f"{rec['recordId']}: {secret!r} ({enc!r}) passed")
            for forms in outcome_ids(rec):
                for enc in forms:
                    if enc in tb or enc in ts:
                        leaks += 1
                        check(False, f"{rec['recordId']}: outcome id {enc} passed")
            for path, v in dates_of(rec):
                # year mode: no full date at all; the year alone may stay
                if v[:10] in tb or v[:10] in raw_b:
                    leaks += 1
                    check(False, f"{rec['recordId']}: date {path}={v} passed to FHIR")
        print(f"searched {N} records' identifiers, numbers, free text and dates: {leaks} leaks")

        # 2. valid as FHIR and as records
        for name, docs in (("fhir", bundles), ("records", shifted)):
            p = f"{d}/out-{name}.ndjson"
            with open(p, "w") as f:
                f.write("".join(json.dumps(x) + "\n" for x in docs))
            code, out, err = run("validate", "--quiet", p)
            check(code == 0, f"the de-identified {name} do not validate: {(out + err)[:3000]}")
        print(f"validated {len(bundles)} Bundles and {len(shifted)} records")

        # 3. shift mode: every interval kept, shifted back 1..365 days
        bad = 0
        for rec, s in zip(recs, shifted):
            a0 = datetime.date.fromisoformat(rec["administration"]["start"][:10])
            a1 = datetime.date.fromisoformat(s["administration"]["start"][:10])
            shift = (a0 - a1).days
            if not check(1 <= shift <= 365, f"{rec['recordId']}: shifted by {shift} days"):
                bad += 1
                continue
            got = dict(dates_of(s))
            for path, v in dates_of(rec):
                if path == "/patient/birthDate" or path not in got:
                    continue
                want = datetime.date.fromisoformat(v[:10]) - datetime.timedelta(days=shift)
                if not check(got[path][:10] == want.isoformat() and got[path][10:] == v[10:],
                             f"{rec['recordId']}: {path} {v} -> {got[path]}, want {want}"):
                    bad += 1
            b0 = datetime.date.fromisoformat(rec["patient"]["birthDate"])
            b1 = datetime.date.fromisoformat(s["patient"]["birthDate"])
            last0 = max(datetime.date.fromisoformat(v[:10]) for _, v in dates_of(rec))
            last1 = max(datetime.date.fromisoformat(v[:10]) for _, v in dates_of(s))
            if years_between(b0, last0) >= 90:
                # one category: 90 at the latest date, whatever the age was
                if not check(years_between(b1, last1) == 90,
                             f"{rec['recordId']}: {years_between(b0, last0)} at the last date, "
                             f"now {years_between(b1, last1)}"):
                    bad += 1
            elif not check((b0 - b1).days == shift,
                           f"{rec['recordId']}: birth date not shifted as the rest"):
                bad += 1
        # year mode: no year of birth says more than 90 at any date
        for rec, b in zip(recs, bundles):
            text = json.dumps(b)
            birth = re.search(r'"url": "birthDate", "valueDate": "(\d{4})"', text)
            years = [int(y) for y in re.findall(r'"(\d{4})"', text)]
            if check(birth is not None, f"{rec['recordId']}: no birth year in the Bundle"):
                if not check(max(years) - int(birth.group(1)) <= 90,
                             f"{rec['recordId']}: born {birth.group(1)}, a date in {max(years)}"):
                    bad += 1
        print(f"shift mode: intervals of {N} records checked, {bad} wrong")

        # 4. pseudonyms: one per patient, stable across runs and gateways
        # sharing the key; different patients, keys and registries differ
        by_patient = {}
        for rec, b, s in zip(recs, bundles, shifted):
            ident = rec["patient"]["identifiers"][0]
            k = (ident["system"], ident["value"])
            p = pseudonym_of_record(s)
            check(p == pseudonym_of_bundle(b), f"{rec['recordId']}: FHIR and record pseudonyms differ")
            check(by_patient.setdefault(k, p) == p, f"{rec['recordId']}: two pseudonyms for one patient")
        check(len(set(by_patient.values())) == len(by_patient),
              "two patients share a pseudonym")
        # another gateway with the same key (a copy of the file), another run
        k1b = key_file(d, "k1-copy", open(k1).read().strip())
        again = deidentify(recp, k1b, infile)
        check(again == shifted, "another run with the same key gives other output")
        other_key = deidentify(recp, k2, infile)
        reg_b = deidentify(other_reg, k1, infile)
        for s, ok, rb in zip(shifted, other_key, reg_b):
            check(pseudonym_of_record(s) != pseudonym_of_record(ok), "another key, same pseudonym")
            check(pseudonym_of_record(s) != pseudonym_of_record(rb),
                  "another registry, same pseudonym")
        print(f"pseudonyms: {len(by_patient)} patients in {N} records, one each; "
              f"stable across runs and key copies; other keys and registries differ")

        # 5. random pseudonyms: kept in a store, the same across runs (a
        # restart), one per patient, unlike another store's; not derived
        # from the identifier (no key makes them)
        rnd = write_policy(d, "random", type="records", **{**base, "identity": "pseudonym-random"})
        s1 = deidentify(rnd, k1, infile, "--store", f"{d}/store1.db")
        s1b = deidentify(rnd, k1, infile, "--store", f"{d}/store1.db")
        s2 = deidentify(rnd, k1, infile, "--store", f"{d}/store2.db")
        check(s1 == s1b, "random pseudonyms changed across runs on one store")
        seen = {}
        for rec, a, b in zip(recs, s1, s2):
            ident = rec["patient"]["identifiers"][0]
            p = pseudonym_of_record(a)
            check(re.fullmatch(r"[0-9a-f]{32}", p) is not None, f"random pseudonym {p!r}")
            check(seen.setdefault((ident["system"], ident["value"]), p) == p,
                  f"{rec['recordId']}: two random pseudonyms for one patient")
            check(p != pseudonym_of_record(b), "two stores made the same random pseudonym")
        check(len(set(seen.values())) == len(seen), "two patients share a random pseudonym")
        p = f"{d}/out-random.ndjson"
        with open(p, "w") as f:
            f.write("".join(json.dumps(x) + "\n" for x in s1))
        code, out, err = run("validate", "--quiet", p)
        check(code == 0, f"random-pseudonym records do not validate: {(out + err)[:2000]}")
        print(f"random pseudonyms: {len(seen)} patients, the same across runs on one store, "
              f"other stores other pseudonyms")

    if failures:
        for f in failures[:40]:
            print("FAIL", f)
        print(f"{len(failures)} failures")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
