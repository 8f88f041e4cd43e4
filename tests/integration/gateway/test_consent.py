"""The consent gate (issue 12, first part): a destination with
`consent: required` takes a record only with the patient's research
consent naming its registry; anything else is refused before the outbox,
per item, with the rule, and audited without patient data."""
import copy
import json
import time

from conftest import outcome, records
from test_outbox import ROUTES, delivered, post, queue_dest, wait_for, wait_records

REG = "STEMCELL-REG"


def consent_gateway(gateway_factory, fhirstore):
    dest = queue_dest(fhirstore.url).replace(
        "    type: fhir\n", f"    type: fhir\n    registry_id: {REG}\n    consent: required\n")
    return gateway_factory(routes=ROUTES, destinations=dest, workers=2).start()


def with_consent(rec, research=True, registries=(REG,)):
    r = copy.deepcopy(rec)
    r["consent"] = {"research": research, "registries": list(registries), "date": "2024-01-02"}
    return r


def test_consent_gate(gateway_factory, fhirstore):
    gw = consent_gateway(gateway_factory, fhirstore)
    base = records(6, 1301)
    good = with_consent(base[0])
    st, _, body = post(gw, [good])
    assert st == 202, body

    cases = {
        "research false": with_consent(base[1], research=False),
        "another registry": with_consent(base[2], registries=("OTHER-REG",)),
        "no consent": {k: v for k, v in base[3].items() if k != "consent"},
    }
    for name, rec in cases.items():
        st, _, body = post(gw, [rec])
        assert st == 422, (name, body)
        issues = outcome(body)["issue"]
        assert issues[0]["details"]["coding"][0]["code"] == "consent-required", (name, issues)
        assert REG in issues[0]["details"]["text"], (name, issues)

    # a batch is all or nothing: one refused item, nothing queued; the
    # issue names the item
    st, _, body = post(gw, [with_consent(base[4]), cases["another registry"]])
    assert st == 422, body
    diag = outcome(body)["issue"][0]["diagnostics"]
    assert diag.startswith("item 1,"), diag

    # FHIR input: its consent is not read yet, so it is refused (fails closed)
    st, _, body = gw.call("POST", "/queue/fhir", json.dumps({
        "resourceType": "Procedure", "status": "completed",
        "subject": {"identifier": {"system": "urn:x", "value": "1"}}}),
        ctype="application/fhir+json")
    assert st == 422, body
    assert "consent-required" in body.decode()

    s = wait_records(fhirstore, 1)
    time.sleep(0.5)
    assert delivered(fhirstore.state()) == [good["recordId"]]
    refused = [a for a in gw.audit() if a.get("outcome") == "consent-required"]
    assert len(refused) == 5, gw.audit()
    text = json.dumps(gw.audit())
    for ident in good["patient"]["identifiers"] + base[1]["patient"]["identifiers"]:
        assert ident["value"] not in text  # no patient data in the audit log


def test_consent_required_needs_a_registry(gateway_factory, fhirstore, tmp_path):
    import subprocess
    from conftest import BIN, SRC

    dest = queue_dest(fhirstore.url).replace("    type: fhir\n",
                                             "    type: fhir\n    consent: required\n")
    gw = gateway_factory(routes=ROUTES, destinations=dest)
    p = subprocess.run([BIN, "serve", "--check-config", gw.config, "--mappings",
                        f"{SRC}/mappings"], capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    assert "registry_id" in p.stderr and "consent: required" in p.stderr, p.stderr


def test_withdrawal_takes_back_what_is_queued(gateway_factory, fhirstore):
    """A later record of the same patient that withdraws consent is refused,
    and what is still queued for that patient and registry is withdrawn
    (never sent); another patient's records go on; the patient's later
    records, once consent is given again, are not held behind the withdrawn
    ones."""
    gw = consent_gateway(gateway_factory, fhirstore)
    fhirstore.stop()  # the registry is down: records wait in the outbox
    a1, a2, b1, a3 = (with_consent(r) for r in records(4, 1302))
    for r in (a2, a3):
        r["patient"]["identifiers"] = copy.deepcopy(a1["patient"]["identifiers"])
    txs = {}
    for r in (a1, a2, b1):
        st, h, body = post(gw, [r])
        assert st == 202, body
        txs[r["recordId"]] = h["X-Transaction-Id"]
    withdraw = copy.deepcopy(a1)
    withdraw["recordId"] = a1["recordId"] + "-W"
    withdraw["consent"] = {"research": False, "date": "2024-06-01"}
    st, h, body = post(gw, [withdraw])
    assert st == 422, body
    assert "consent-required" in body.decode()
    # both queued, or one in flight (marked, withdrawn when its attempt fails)
    assert h.get("X-Cellgate-Withdrawn") in ("1", "2"), h
    for rid in (a1["recordId"], a2["recordId"]):
        m = wait_for(lambda: (lambda m: m if m["state"] == "withdrawn" else None)(
            trail_of(gw, txs[rid])[1]["messages"][0]), 5)
        assert m and m["reason"] == "consent-withdrawn", trail_of(gw, txs[rid])
    # consent given again: a later record of the same patient is not held
    st, _, body = post(gw, [a3])
    assert st == 202, body
    fhirstore.start()
    s = wait_records(fhirstore, 2)
    time.sleep(1)
    got = delivered(fhirstore.state())
    assert got == sorted([b1["recordId"], a3["recordId"]]), got
    assert gw.wait_log("consent withdrawn: "), gw.log_text()[-2000:]


def trail_of(gw, tx):
    st, _, body = gw.call("GET", f"/transactions/{tx}")
    return st, json.loads(body)
