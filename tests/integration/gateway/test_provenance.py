"""Provenance (issue 12): every Bundle the gateway forwards to a FHIR
destination carries a Provenance of its resources, naming the client that
sent them and the gateway that assembled them; through the outbox too,
where the forwarder joins several messages into one transaction."""
import json
import subprocess
import uuid

from conftest import BIN, SRC, records
from test_outbox import post, queued_gateway, wait_for, wait_records

PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def client_tx(n):
    """A client's transaction: a Patient and an Observation about it."""
    pat, obs = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": pat,
         "resource": {"resourceType": "Patient",
                      "identifier": [{"system": "urn:test:patients", "value": f"prov-{n}"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": obs,
         "resource": {"resourceType": "Observation", "status": "final",
                      "code": {"text": "a note"}, "subject": {"reference": pat}},
         "request": {"method": "POST", "url": "Observation"}}]}


def provenances(bundle):
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"]


def agent(prov, code):
    return [a for a in prov["agent"]
            if a["type"]["coding"][0] == {"system": PARTICIPANT, "code": code,
                                          "display": code.capitalize()}]


def test_provenance_reaches_the_fhir_server(gateway_factory, fhirstore, tmp_path):
    gw = queued_gateway(gateway_factory, fhirstore, linger_ms=300).start()
    rec = records(1, 1301)[0]
    txs = [client_tx(1), client_tx(2)]
    st, _, body = post(gw, [rec])
    assert st == 202, body
    st, _, body = gw.call("POST", "/queue/fhir", txs, ctype="application/fhir+json")
    assert st == 202, body
    wait_records(fhirstore, 1)
    got = wait_for(lambda: (lambda r: r if sum(len(provenances(b)) for b in r) >= 3 else None)(
        fhirstore.received()))
    assert got, fhirstore.received()

    seen = {}  # the Provenance of each group of targets
    for i, b in enumerate(got):
        urls = [e["fullUrl"] for e in b["entry"] if "fullUrl" in e]
        assert len(urls) == len(set(urls)), "fullUrls unique in the joined transaction"
        for p in provenances(b):
            res = p["resource"]
            assert p["request"] == {"method": "POST", "url": "Provenance"}, p["request"]
            targets = [t["reference"] for t in res["target"]]
            assert set(targets) <= set(urls) and p["fullUrl"] not in targets, targets
            assert res["recorded"].endswith("Z")
            author, = agent(res, "author")
            assert author["who"]["display"] == "ehr"
            assert author["who"]["identifier"]["value"] == "ehr"
            assert author["who"]["identifier"]["system"].endswith("/client")
            assembler, = agent(res, "assembler")
            assert assembler["who"]["display"] == "cellgate"
            types = sorted(e["resource"]["resourceType"] for e in b["entry"]
                           if e.get("fullUrl") in targets)
            seen[tuple(types)] = seen.get(tuple(types), 0) + 1
        # our own validator finds the Bundle as the server got it valid R4
        f = tmp_path / f"received-{i}.json"
        f.write_text(json.dumps(b))
        v = subprocess.run([BIN, "validate", "--mappings", f"{SRC}/mappings", str(f)],
                           capture_output=True, text=True)
        assert v.returncode == 0, v.stdout + v.stderr

    # the record's Procedure and Observations; each client Bundle's two
    n_obs = len(rec.get("outcomes", []))
    assert seen.get(tuple(sorted(["Procedure"] + ["Observation"] * n_obs))) == 1, seen
    assert seen.get(("Observation", "Patient")) == 2, seen
