#!/usr/bin/env python3
"""Generates the FHIR conformance resources that describe cellgate's own FHIR
content, from the same tables the C mapper uses (../record-fhir.json and the
code tables), so the definitions cannot drift from what is produced:

- StructureDefinition-<extension>.json for each extension of record-fhir.json
  (complex extensions, sliced by url, nested as the record is);
- CodeSystem-<name>.json for each of cellgate's own code systems.

    python3 mappings/fhir-extensions/generate.py [--base URL]

The default canonical base is the one in record-fhir.json; a deployment that
sets its own base regenerates these with --base. Output is deterministic.
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
MAPPINGS = os.path.dirname(HERE)


def load(name):
    with open(os.path.join(MAPPINGS, name)) as f:
        return json.load(f)


def slices(path_id, path, members, out):
    """Differential elements for the sub-extensions of one level."""
    out.append({"id": f"{path_id}.extension", "path": f"{path}.extension",
                "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "closed"},
                "min": 0})
    for name, spec in members:
        sid = f"{path_id}.extension:{name}"
        repeats = isinstance(spec, dict) and spec.get("repeats")
        sub = spec.get("members") if isinstance(spec, dict) else None
        vtype = spec if isinstance(spec, str) else spec.get("type")
        out.append({"id": sid, "path": f"{path}.extension", "sliceName": name, "min": 0,
                    "max": "*" if repeats else "1", "short": f"record member {name}"})
        if sub:
            slices(sid, f"{path}.extension", sub, out)
        out.append({"id": f"{sid}.url", "path": f"{path}.extension.url", "fixedUri": name})
        if sub:
            out.append({"id": f"{sid}.value[x]", "path": f"{path}.extension.value[x]", "max": "0"})
        else:
            out.append({"id": f"{sid}.value[x]", "path": f"{path}.extension.value[x]", "min": 1,
                        "type": [{"code": vtype}]})


def extension(base, key, ext):
    url = f"{base}/StructureDefinition/{key}"
    elements = [{"id": "Extension", "path": "Extension", "short": ext["title"],
                 "definition": ext["description"]}]
    slices("Extension", "Extension", ext["members"], elements)
    elements.append({"id": "Extension.url", "path": "Extension.url", "fixedUri": url})
    elements.append({"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"})
    name = "".join(p.capitalize() for p in key.split("-"))
    return {
        "resourceType": "StructureDefinition", "id": key, "url": url, "version": "1.0.0",
        "name": name, "title": ext["title"], "status": "active", "publisher": "cellgate",
        "description": ext["description"], "fhirVersion": "4.0.1", "kind": "complex-type",
        "abstract": False, "context": [{"type": "element", "expression": ext["context"]}],
        "type": "Extension", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint", "differential": {"element": elements},
    }


def code_system(base, path, title, concepts):
    cid = path.split("/")[-1]
    return {
        "resourceType": "CodeSystem", "id": cid, "url": f"{base}/{path}", "version": "1.0.0",
        "name": "".join(p.capitalize() for p in cid.split("-")), "title": title,
        "status": "active", "publisher": "cellgate", "caseSensitive": True,
        "content": "complete", "count": len(concepts),
        "concept": [{"code": c, "display": d} for c, d in concepts],
    }


def main():
    rf = load("record-fhir.json")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default=rf["canonicalBase"])
    ap.add_argument("--out", default=HERE, help="folder to write to (default: beside this script)")
    args = ap.parse_args()
    base = args.base.rstrip("/")
    out = []
    for key, ext in rf["extensions"].items():
        out.append((f"StructureDefinition-{key}.json", extension(base, key, ext)))
    cs = rf["codeSystems"]
    measures = load("measures.json")["entries"]
    table = lambda f: [(k, v["display"]) for k, v in load(f)["entries"].items()]
    values = []
    for k, m in measures.items():
        for v in m.get("values", []):
            if v not in [c for c, _ in values]:
                values.append((v, f"{v} ({m['display']})"))
    values.append(("ctcae-grade", "CTCAE grade"))
    methods = sorted({x for m in measures.values() for x in m.get("methods", [])})
    events = [e for m in measures.values() for e in m.get("eventTypes", [])]
    systems = [
        ("cell-type", "Stem-cell product types", table("cell-types.json")),
        ("body-site", "Stem-cell administration body sites", table("body-sites.json")),
        ("measure", "Stem-cell outcome measures without a LOINC code",
         [(k, m["display"]) for k, m in measures.items() if m["system"] == "local"]),
        ("measure-value", "Coded values of stem-cell outcome measures", values),
        ("method", "Measurement methods", [(m, m) for m in methods]),
        ("mace-event", "Major adverse cardiac event types", [(e, e) for e in events]),
        ("identifier-type", "Patient identifier types of the record",
         [("MR", "Medical record number"), ("REGISTRY", "Registry identifier"),
          ("NATIONAL", "National identifier")]),
    ]
    for key, title, concepts in systems:
        res = code_system(base, cs[key], title, concepts)
        out.append((f"CodeSystem-{res['id']}.json", res))
    for name, res in out:
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
    print(f"wrote {len(out)} resources for base {base}")


if __name__ == "__main__":
    main()
