"""The consent gate (issue 12): a destination with `consent: required`
takes a record only with the patient's research consent naming its
registry, from a record's consent or, for FHIR input, a Consent resource or
the record extension's consent; anything else is refused before the outbox,
per item, with the rule, and audited without patient data."""
import copy
import json
import time

from conftest import map_to_fhir, outcome, records
from test_outbox import ROUTES, delivered, post, queue_dest, wait_for, wait_records

REG = "STEMCELL-REG"


def issues(body):
    """The answer's issues but dom-6's best-practice warnings (a resource
    without narrative), which every FHIR input here gets."""
    return [i for i in outcome(body)["issue"]
            if i["details"]["coding"][0]["code"] != "fhir-invariant-warning"]


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
        found = issues(body)
        assert found[0]["details"]["coding"][0]["code"] == "consent-required", (name, found)
        assert REG in found[0]["details"]["text"], (name, found)

    # a batch is all or nothing: one refused item, nothing queued; the
    # issue names the item
    st, _, body = post(gw, [with_consent(base[4]), cases["another registry"]])
    assert st == 422, body
    diag = issues(body)[0]["diagnostics"]
    assert diag.startswith("item 1,"), diag

    # FHIR input without consent in either place it is read from: refused,
    # with where consent is read from (test_fhir_consent for the rest)
    st, _, body = gw.call("POST", "/queue/fhir", json.dumps({
        "resourceType": "Procedure", "status": "completed",
        "subject": {"identifier": {"system": "urn:x", "value": "1"}}}),
        ctype="application/fhir+json")
    assert st == 422, body
    text = issues(body)[0]["details"]["text"]
    assert "consent-required" in body.decode()
    assert "Consent resource" in text and "stemcell-record extension" in text, text

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


SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"


def consent_resource(rec, provision, status="active"):
    """An R4 Consent of rec's patient, research-scoped."""
    ident = rec["patient"]["identifiers"][0]
    return {
        "resourceType": "Consent", "status": status,
        "scope": {"coding": [{"system": SCOPE, "code": "research"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        # ppc-1: a policy or a policy rule (R4's invariant, which the
        # validator evaluates)
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                   "code": "OPTIN"}]},
        "patient": {"identifier": {"system": ident["system"], "value": ident["value"]}},
        "dateTime": "2024-02-03T10:00:00Z",
        "provision": provision,
    }


def registry_actor(reg):
    return {"role": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
        "code": "IRCP"}]},
        "reference": {"identifier": {"system": "urn:registry", "value": reg}}}


def fhir_bundle(tmp_path, rec, *extra):
    """rec mapped to FHIR (`cellgate map --to fhir`), with extra resources
    added as create entries."""
    b = json.loads(map_to_fhir(tmp_path, rec).splitlines()[0])
    for i, res in enumerate(extra):
        b["entry"].append({"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{i}",
                           "resource": res,
                           "request": {"method": "POST", "url": res["resourceType"]}})
    return b


def post_fhir(gw, doc):
    return gw.call("POST", "/queue/fhir", json.dumps(doc), ctype="application/fhir+json")


def test_fhir_consent(gateway_factory, fhirstore, tmp_path):
    """FHIR input's consent is read from a Consent resource in the Bundle
    (and the record extension's consent): a permit naming the registry is
    taken and delivered, a deny is refused even when the extension
    permits."""
    gw = consent_gateway(gateway_factory, fhirstore)
    ok, denied = records(2, 1303)
    del ok["consent"]  # the Consent resource alone says it
    permit = consent_resource(ok, {"type": "permit", "actor": [registry_actor(REG)]})
    st, _, body = post_fhir(gw, fhir_bundle(tmp_path, ok, permit))
    assert st == 202, body

    # a permit for another registry only: refused, the rule named
    other = consent_resource(ok, {"type": "permit", "actor": [registry_actor("OTHER-REG")]})
    st, _, body = post_fhir(gw, fhir_bundle(tmp_path, ok, other))
    assert st == 422, body
    issue = issues(body)[0]
    assert issue["details"]["coding"][0]["code"] == "consent-required", issue
    assert f"does not permit research for registry {REG}" in issue["details"]["text"], issue

    # the extension permits, the Consent denies: the refusal wins
    deny = consent_resource(denied, {"type": "deny"})
    st, _, body = post_fhir(gw, fhir_bundle(tmp_path, with_consent(denied), deny))
    assert st == 422, body
    issue = issues(body)[0]
    assert issue["details"]["coding"][0]["code"] == "consent-required", issue
    assert "does not permit research" in issue["details"]["text"], issue

    # another patient's Consent in the Bundle does not cover this one
    st, _, body = post_fhir(gw, fhir_bundle(tmp_path, ok, consent_resource(
        denied, {"type": "permit", "actor": [registry_actor(REG)]})))
    assert st == 422, body
    assert issues(body)[0]["details"]["coding"][0]["code"] == "consent-required"

    s = wait_records(fhirstore, 1)
    time.sleep(0.5)
    assert delivered(fhirstore.state()) == [ok["recordId"]]


def test_fhir_consent_deny_withdraws(gateway_factory, fhirstore):
    """A FHIR Consent that denies research takes back what is still queued
    for its patient, as a record that withdraws consent does; another
    patient's record goes on."""
    gw = consent_gateway(gateway_factory, fhirstore)
    # the registry is busy: the record's first attempt fails and it waits
    # in the outbox (Retry-After: 3), queued rather than in flight
    fhirstore.control(mode="fail", status=503, retry_after=3)
    a1, b1 = (with_consent(r) for r in records(2, 1304))
    st, h, body = post(gw, [a1])
    assert st == 202, body
    tx = h["X-Transaction-Id"]
    assert wait_for(lambda: fhirstore.state()["requests"], 10)
    time.sleep(0.3)  # the failed attempt's outcome is stored
    deny = consent_resource(a1, {"type": "deny"})
    st, h, body = post_fhir(gw, deny)
    assert st == 422, body
    issue = issues(body)[0]
    assert issue["details"]["coding"][0]["code"] == "consent-required", issue
    assert h.get("X-Cellgate-Withdrawn") == "1", h
    m = trail_of(gw, tx)[1]["messages"][0]
    assert m["state"] == "withdrawn" and m["reason"] == "consent-withdrawn", m
    fhirstore.control(mode="ok")
    st, _, body = post(gw, [b1])
    assert st == 202, body
    s = wait_records(fhirstore, 1)
    time.sleep(3.5)  # past a1's retry: it is not sent
    assert delivered(fhirstore.state()) == [b1["recordId"]]
    assert gw.wait_log("consent withdrawn: "), gw.log_text()[-2000:]
