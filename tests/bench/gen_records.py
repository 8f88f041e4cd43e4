#!/usr/bin/env python3
"""Generates varied, valid stem-cell treatment records (NDJSON) for benchmarks
and round-trip tests: every indication, cell type, route, donor type and
measure appears, values inside their ranges, dates in order. Deterministic for
a given seed. Records average about 2.5 KB.

    gen_records.py COUNT [SEED] > records.ndjson
"""
import json
import random
import sys
from datetime import date, timedelta

ICD = {
    "cardiomyopathy": ["I42.0", "I42.9", "I25.5", "I42.8"],
    "acute-myocardial-infarction": ["I21.09", "I21.4", "I21.19", "I22.0"],
    "copd": ["J44.1", "J44.9", "J44.0"],
    "pulmonary-fibrosis": ["J84.10", "J84.112", "J84.116"],
    "asthma": ["J45.50", "J45.909", "J45.41"],
    "liver-cirrhosis": ["K74.60", "K74.69", "K70.30", "K70.31"],
    "other": ["Z99.89", "N18.4", "M17.11"],
}
MEASURES = {
    "cardio": ["lvef", "nyha-class", "six-minute-walk", "nt-probnp", "troponin-t-hs", "mace", "mortality"],
    "lung": ["fev1", "fvc", "fev1-fvc", "dlco", "six-minute-walk", "mortality"],
    "liver": ["meld", "child-pugh", "bilirubin", "albumin", "inr", "creatinine", "mortality"],
}
NUM = {  # unit, low, high, decimals
    "lvef": ("%", 15, 70, 1), "six-minute-walk": ("m", 80, 650, 0), "fev1": ("L", 0.4, 4, 2),
    "fvc": ("L", 1, 5.5, 2), "fev1-fvc": ("%", 25, 85, 1), "dlco": ("mL/min/mm[Hg]", 4, 35, 1),
    "nt-probnp": ("pg/mL", 50, 12000, 0), "troponin-t-hs": ("ng/L", 3, 5000, 0),
    "bilirubin": ("mg/dL", 0.3, 12, 1), "albumin": ("g/dL", 1.8, 5, 1), "inr": ("{INR}", 0.9, 3.5, 2),
    "creatinine": ("mg/dL", 0.5, 4, 2),
}
ROUTES = {
    "cardio": [("intracoronary", "coronary-artery"), ("transendocardial", "myocardium"),
               ("intramyocardial-surgical", "myocardium"), ("intravenous", None)],
    "lung": [("intravenous", None), ("intratracheal", "lung"), ("inhalation", "lung")],
    "liver": [("intra-arterial-hepatic", "hepatic-artery"), ("portal-vein", "portal-vein"),
              ("intravenous", None)],
}
CELLS = [("bm-mnc", "bone-marrow"), ("msc", "bone-marrow"), ("msc", "adipose"),
         ("msc", "umbilical-cord-tissue"), ("hsc-cd34", "peripheral-blood"),
         ("cardiosphere-derived", "other"), ("ipsc-derived", "ipsc"),
         ("msc-exosome-ev", "umbilical-cord-tissue"), ("other", "umbilical-cord-blood")]
DONORS = ["autologous", "allogeneic-related", "allogeneic-unrelated", "syngeneic", "allogeneic-unknown"]
LABELS = [("baseline", -7), ("day-7", 7), ("day-30", 30), ("month-3", 91), ("month-6", 182),
          ("month-12", 365), ("month-24", 730)]
THERAPIES = ["sacubitril/valsartan", "bisoprolol", "spironolactone", "tiotropium", "budesonide/formoterol",
             "propranolol", "rifaximin", "atorvastatin", "clopidogrel", "furosemide"]


def group(category):
    if category in ("cardiomyopathy", "acute-myocardial-infarction"):
        return "cardio"
    if category in ("copd", "pulmonary-fibrosis", "asthma"):
        return "lung"
    if category == "liver-cirrhosis":
        return "liver"
    return random.choice(["cardio", "lung", "liver"])


def outcome(i, measure, label, offset, start):
    day = start + timedelta(days=offset)
    o = {"id": "o%d-%s" % (i, measure), "measure": measure,
         "timepoint": {"label": label, "effective": day.isoformat(), "daysFromAdministration": offset},
         "status": random.choice(["final", "final", "final", "preliminary", "amended"])}
    if random.random() < 0.05:
        o["dataAbsentReason"] = random.choice(["unknown", "not-performed", "asked-declined"])
        return o
    if measure in NUM:
        unit, lo, hi, dec = NUM[measure]
        o["value"] = round(random.uniform(lo, hi), dec) if dec else random.randint(int(lo), int(hi))
        o["unit"] = unit
        if measure == "lvef":
            o["method"] = random.choice(["echo-2d", "echo-3d", "cmr", "spect", "muga"])
    elif measure == "meld":
        o["value"], o["unit"] = random.randint(6, 40), "{score}"
    elif measure == "nyha-class":
        o["value"] = random.choice(["I", "II", "III", "IV"])
    elif measure == "child-pugh":
        o["value"] = random.choice(["A", "B", "C"])
    elif measure == "mace":
        o["value"] = random.random() < 0.2
        if o["value"]:
            o["events"] = [{"type": random.choice(["myocardial-infarction", "hf-hospitalization",
                                                   "revascularization", "stroke"]),
                            "date": (start + timedelta(days=max(1, offset - 10))).isoformat()}]
    elif measure == "mortality":
        o["value"] = False
    return o


def record(n):
    category = random.choice(list(ICD))
    g = group(category)
    start = date(2019, 1, 1) + timedelta(days=random.randint(0, 1800))
    pediatric = random.random() < 0.08
    age = random.randint(6, 16) if pediatric else random.randint(25, 85)
    birth = start - timedelta(days=age * 365 + random.randint(20, 300))
    weight = round(random.uniform(20, 55) if pediatric else random.uniform(48, 120), 1)
    cell, tissue = random.choice(CELLS)
    donor = random.choice(DONORS if cell != "ipsc-derived" else ["allogeneic-unrelated", "autologous"])
    route, site = random.choice(ROUTES[g])
    hospital = "urn:oid:2.16.840.1.113883.3.%d" % (1000 + n % 50)
    r = {
        "schemaVersion": "1.0",
        "recordId": "REC-%07d" % n,
        "source": {"system": hospital, "recordRef": "ENC-%d" % random.randint(10000, 99999)},
        "patient": {
            "identifiers": [{"system": hospital + ".1", "value": "MRN%08d" % random.randint(0, 99999999), "type": "MR"},
                            {"system": "https://registry.example.org/patients", "value": "R-%d" % n, "type": "REGISTRY"}],
            "birthDate": birth.isoformat(),
            "sex": random.choice(["male", "female", "female", "male", "other", "unknown"]),
            "weightKg": weight,
        },
        "indication": {
            "category": category,
            "population": "pediatric" if pediatric else "adult",
            "icd10cm": random.choice(ICD[category]),
            "diagnosisDate": (start - timedelta(days=random.randint(3, 2000))).isoformat(),
        },
        "product": {
            "identifiers": {"productId": "PRD-%s-%d" % (cell.upper(), random.randint(1, 99)),
                            "batch": "B%d-%04d" % (start.year, random.randint(1, 9999))},
            "cellType": cell,
            "tissueSource": tissue,
            "donorType": donor,
            "manipulation": random.choice([["none"], ["ex-vivo-expansion"], ["ex-vivo-expansion", "cryopreserved"],
                                           ["selection"], ["preconditioned", "cryopreserved"]]),
            "manufacturer": random.choice(["Example Cell Therapy Lab", "University Hospital GMP Unit",
                                           "Example Biologics"]),
            "collectionDate": (start - timedelta(days=random.randint(1, 40))).isoformat(),
            "viabilityPercent": round(random.uniform(70, 99.5), 1),
        },
        "administration": {
            "status": random.choice(["completed"] * 8 + ["stopped", "in-progress"]),
            "start": "%sT%02d:%02d:00%s" % (start.isoformat(), random.randint(7, 17), random.choice([0, 15, 30, 45]),
                                             random.choice(["Z", "+01:00", "+02:00", "-05:00"])),
            "route": route,
            "infusionNumber": random.randint(1, 3),
            "entireProductInfused": random.random() < 0.95,
            "performer": {"system": "urn:oid:2.16.840.1.113883.4.6", "value": "%010d" % random.randint(0, 10**9)},
            "concomitantTherapy": random.sample(THERAPIES, random.randint(1, 3)),
        },
        "vitalStatus": {"status": "alive", "date": (start + timedelta(days=400)).isoformat()},
        "consent": {"research": True, "registries": ["REG-%s" % g.upper()], "date": start.isoformat()},
    }
    if category == "cardiomyopathy" and random.random() < 0.5:
        r["indication"]["snomed"] = "399020009"
    if category == "acute-myocardial-infarction":
        r["indication"]["snomed"] = "22298006"
        r["indication"]["relatedProcedure"] = {"type": "primary-pci", "date": (start - timedelta(days=5)).isoformat()}
        r["indication"]["diagnosisDate"] = (start - timedelta(days=5)).isoformat()
    if site:
        r["administration"]["bodySite"] = site
    if donor.startswith("allogeneic"):
        ev = random.choice([6, 8, 10, 12])
        r["product"]["hlaMatch"] = {"status": random.choice(["matched", "mismatched", "haploidentical"]),
                                    "matched": random.randint(0, ev), "evaluated": ev}
    if cell == "msc-exosome-ev":
        r["administration"]["dose"] = {"particles": float("%.2e" % random.uniform(1e9, 5e11)),
                                       "proteinMicrograms": round(random.uniform(10, 400), 1)}
    else:
        per_kg = float("%.3e" % random.uniform(5e5, 5e6))
        r["administration"]["dose"] = {"cellsPerKg": per_kg, "cellsTotal": float("%.4e" % (per_kg * weight))}
        r["administration"]["numberOfInjections"] = random.randint(1, 20)
    measures = MEASURES[g]
    outs = []
    for i in range(random.randint(6, 8)):
        label, offset = random.choice(LABELS)
        outs.append(outcome(i, random.choice(measures), label, offset, start))
    if random.random() < 0.3:
        outs.append({"id": "ae-%d" % n, "measure": "adverse-event",
                     "timepoint": {"label": "day-7", "effective": (start + timedelta(days=7)).isoformat()},
                     "value": random.choice(["infusion-reaction", "arrhythmia", "infection", "other"]),
                     "grade": random.randint(1, 3), "status": "final"})
    r["outcomes"] = outs
    return r


def main():
    count = int(sys.argv[1])
    random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    out = sys.stdout
    for n in range(count):
        out.write(json.dumps(record(n), separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
