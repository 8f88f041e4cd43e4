"""What a standard FHIR client does with a FHIR route (issue 10): a base with
or without its trailing slash, a CapabilityStatement whose every claim works,
the issue-code CodeSystem the answers cite, and reads and searches answered
with an OperationOutcome saying what the route serves."""
import copy
import json
import subprocess

import pytest

from conftest import BIN, SRC, outcome

with open(f"{SRC}/tests/data/fhir/procedure-msc.json") as f:
    PROCEDURE = json.load(f)
with open(f"{SRC}/tests/data/fhir/observation-lvef.json") as f:
    OBSERVATION = json.load(f)
# A record's FHIR form: a transaction Bundle that both a FHIR destination
# and one that takes records (mapped back) accept.
TRANSACTION = json.loads(subprocess.run(
    [BIN, "map", "--to", "fhir", f"{SRC}/tests/data/records/valid-heart-failure.json"],
    capture_output=True, check=True).stdout)

ROUTES = """
  - {method: POST, path: /fhir-records, accept: fhir, clients: [ehr], destination: recfiles}
  - {method: POST, path: /check, accept: fhir, clients: [ehr]}
"""
DESTS = """
  recfiles: {type: ndjson, folder: var/recfiles}
"""
FHIR = "application/fhir+json"


@pytest.fixture
def gw(gateway_factory):
    return gateway_factory(routes=ROUTES, destinations=DESTS).start()


def bundle(kind):
    b = copy.deepcopy(TRANSACTION)
    b["type"] = kind
    return b


def claims(cs):
    """The route's claims: (type or None, interaction or operation) pairs."""
    rest = cs["rest"][0]
    out = set()
    for r in rest.get("resource", []):
        for i in r.get("interaction", []):
            out.add((r["type"], i["code"]))
        for o in r.get("operation", []):
            out.add((r["type"], "$" + o["name"]))
    for i in rest.get("interaction", []):
        out.add((None, i["code"]))
    return out


def exercise(gw, base, claim):
    """Does what the claim says; returns the status."""
    rtype, what = claim
    example = {"Procedure": PROCEDURE, "Observation": OBSERVATION}
    if what == "create":
        return gw.call("POST", f"{base}/{rtype}", example[rtype], ctype=FHIR)[0]
    if what == "$validate":
        return gw.call("POST", f"{base}/{rtype}/$validate", example[rtype], ctype=FHIR)[0]
    if what == "read":
        rid = "cellgate-issue" if rtype == "CodeSystem" else "stemcell-record"
        return gw.call("GET", f"{base}/{rtype}/{rid}")[0]
    if what in ("transaction", "batch"):
        return gw.call("POST", base, bundle(what), ctype=FHIR)[0]
    raise AssertionError(f"a claim the test does not know: {claim}")


@pytest.mark.parametrize("base,expected", [
    ("/fhir-files", {("Procedure", "create"), ("Observation", "create"),
                     ("Procedure", "$validate"), ("Observation", "$validate"),
                     ("StructureDefinition", "read"), ("CodeSystem", "read"),
                     (None, "transaction"), (None, "batch")}),
    # Records are made of whole Bundles: no create of a lone resource.
    ("/fhir-records", {("Procedure", "$validate"), ("Observation", "$validate"),
                       ("StructureDefinition", "read"), ("CodeSystem", "read"),
                       (None, "transaction"), (None, "batch")}),
    ("/check", {("Procedure", "$validate"), ("Observation", "$validate"),
                ("StructureDefinition", "read"), ("CodeSystem", "read")}),
])
def test_every_claim_of_the_capability_statement_works(gw, base, expected):
    st, _, data = gw.call("GET", f"{base}/metadata")
    assert st == 200
    cs = json.loads(data)
    assert cs["resourceType"] == "CapabilityStatement"
    assert claims(cs) == expected
    for claim in sorted(expected, key=str):
        st = exercise(gw, base, claim)
        assert 200 <= st < 300, f"{base}: {claim} answered {st}"


def test_what_is_not_claimed_is_not_served(gw):
    # A lone Observation is not a record: the route that makes records does
    # not claim create, and indeed cannot do it.
    st, _, data = gw.call("POST", "/fhir-records/Observation", OBSERVATION, ctype=FHIR)
    assert st >= 400, data[:300]


def test_a_base_with_a_trailing_slash(gw):
    for base in ("/fhir-files", "/fhir-files/"):
        st, _, data = gw.call("POST", base, TRANSACTION, ctype=FHIR)
        assert st == 200, (base, data[:300])


def test_reads_and_searches_say_what_the_route_serves(gw):
    for method, path, status in [("GET", "/fhir-files/Procedure/123", 405),
                                 ("GET", "/fhir-files/Observation?code=10230-1", 405),
                                 ("GET", "/fhir-files/Patient?name=x", 404),
                                 ("DELETE", "/fhir-files/Procedure/123", 404),
                                 ("POST", "/fhir-files/Patient/$validate", 404)]:
        st, h, data = gw.call(method, path)
        text = outcome(data)["issue"][0]["diagnostics"]
        assert st == status, (path, st, text)
        assert "write-only gateway" in text and "POST /fhir-files/Procedure/$validate" in text
        if status == 405:
            assert h.get("Allow") == "POST"


def test_the_issue_code_system_is_served_and_valid(gw, tmp_path):
    st, _, data = gw.call("GET", "/fhir-files/CodeSystem/cellgate-issue")
    assert st == 200
    cs = json.loads(data)
    assert cs["resourceType"] == "CodeSystem" and cs["content"] == "complete"
    listed = subprocess.run([BIN, "validate", "--list-codes"], capture_output=True, text=True,
                            check=True).stdout.split("\n")
    assert [c["code"] for c in cs["concept"]] == [x.split()[0] for x in listed if x]
    # The URL the answers cite is this one.
    st, _, data = gw.call("POST", "/fhir-files/Procedure", {"resourceType": "Procedure"},
                          ctype=FHIR)
    cited = outcome(data)["issue"][0]["details"]["coding"][0]["system"]
    assert cited == cs["url"]
    # And it is a valid FHIR R4 CodeSystem by the gateway's own validator.
    p = tmp_path / "cs.json"
    p.write_bytes(data_cs := json.dumps(cs).encode())
    assert data_cs
    r = subprocess.run([BIN, "validate", str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_head_on_the_operations_endpoints(gw):
    for path in ("/healthz", "/readyz", "/metrics", "/fhir-files/metadata"):
        st, h, data = gw.call("HEAD", path)
        assert st == 200 and data == b"" and int(h["Content-Length"]) > 0, path
