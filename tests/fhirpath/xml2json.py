#!/usr/bin/env python3
"""FHIR XML to FHIR JSON, for the inputs of the FHIRPath R4 suite that exist
only as XML; run once, its output reviewed by hand and committed in
tests/fhirpath/inputs/ (where tests/integration/fhirpath_conformance.py looks).

    tests/fhirpath/xml2json.py IN.xml OUT.json

FHIR's rules (https://hl7.org/fhir/R4/json.html), with the element
definitions of mappings/fhir-r4/structure.json: the value attribute is the
JSON value (boolean, integer and decimal types as JSON numbers and booleans,
the rest as strings); an element whose max is not 1 is an array; a choice
element keeps its typed name (valueString); a primitive's id and extensions
go into its "_name" companion (arrays kept parallel with null); a resource
inside another (contained, Bundle.entry.resource, Parameters.parameter.resource)
carries resourceType; the narrative's div is its XHTML as a string;
comments are dropped.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
STRUCTURE = os.path.join(HERE, "..", "..", "mappings", "fhir-r4", "structure.json")
FHIR = "{http://hl7.org/fhir}"
XHTML = "http://www.w3.org/1999/xhtml"
NUMBERS = {"integer": int, "positiveInt": int, "unsignedInt": int, "decimal": float}

TYPES = json.load(open(STRUCTURE, encoding="utf-8"))["types"]


def local(tag):
    return tag[len(FHIR):] if tag.startswith(FHIR) else tag


def element_of(type_name, prefix, name):
    """The definition of child name in type_name at prefix (a backbone path
    such as "contact."), and the FHIR type it has here."""
    elements = TYPES[type_name]["elements"]
    d = elements.get(prefix + name)
    if d and "ref" in d:  # a contentReference: the element it names defines it
        return d, "#" + d["ref"].split(".", 1)[1] + "."
    if d:
        return d, d["type"][0]
    for key, d in elements.items():
        if not key.endswith("[x]") or not key.startswith(prefix):
            continue
        base = key[len(prefix):-3]
        if "." in base or not name.startswith(base):
            continue
        for t in d["type"]:
            if name[len(base):] == t[0].upper() + t[1:]:
                return d, t
    raise SystemExit(f"{type_name}.{prefix}{name}: not an element of the R4 tables")


def primitive(value, t):
    if value is None:
        return None
    if t == "boolean":
        return value == "true"
    if t in NUMBERS:
        return NUMBERS[t](value)
    return value


def div_text(el):
    ET.register_namespace("", XHTML)
    text = ET.tostring(el, encoding="unicode", short_empty_elements=True)
    return text.strip()


def convert_resource(el):
    name = local(el.tag)
    out = {"resourceType": name}
    convert_children(el, name, "", out)
    return out


def convert_complex(el, type_name, prefix):
    out = {}
    if el.get("id") is not None:
        out["id"] = el.get("id")
    if el.get("url") is not None:
        out["url"] = el.get("url")
    convert_children(el, type_name, prefix, out)
    return out


def convert_children(el, type_name, prefix, out):
    groups = {}  # JSON name -> (definition, type, [elements]), in document order
    for child in el:
        if not isinstance(child.tag, str):
            continue  # a comment
        if child.tag == "{%s}div" % XHTML:
            groups["div"] = (None, "xhtml", [child])
            continue
        name = local(child.tag)
        d, t = element_of(type_name, prefix, name)
        groups.setdefault(name, (d, t, []))[2].append(child)
    for name, (d, t, items) in groups.items():
        if t == "xhtml":
            out[name] = div_text(items[0])
            continue
        many = d["max"] != "1"
        if TYPES.get(t, {}).get("kind") == "primitive-type":
            values = [primitive(i.get("value"), t) for i in items]
            extras = []
            for i in items:
                x = {}
                if i.get("id") is not None:
                    x["id"] = i.get("id")
                exts = [convert_complex(e, "Extension", "") for e in i
                        if isinstance(e.tag, str) and local(e.tag) == "extension"]
                if exts:
                    x["extension"] = exts
                extras.append(x or None)
            if any(v is not None for v in values):
                out[name] = values if many else values[0]
            if any(extras):
                out["_" + name] = extras if many else extras[0]
            continue
        conv = []
        for i in items:
            if t.startswith("#"):
                conv.append(convert_complex(i, type_name, t[1:]))
            elif t == "Resource":
                inner = [r for r in i if isinstance(r.tag, str)]
                conv.append(convert_resource(inner[0]))
            elif t in ("BackboneElement", "Element") and not TYPES[t].get("elements", {}).get(name):
                conv.append(convert_complex(i, type_name, prefix + name + "."))
            else:
                conv.append(convert_complex(i, t, ""))
        out[name] = conv if many else conv[0]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    root = ET.parse(sys.argv[1]).getroot()
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(convert_resource(root), f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
