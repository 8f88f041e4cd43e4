"""Registry policy through the running gateway (issue 12): what a FHIR
server receives from a destination with identity and de-identification,
pseudonyms kept across restarts (random) and changed by a key rotation
(keyed, SIGHUP), and the operator's way back (cellgate pseudonym)."""
import copy
import json
import os
import re
import subprocess

from conftest import BIN, SRC, map_to_fhir, outcome, records
from test_outbox import ROUTES, post, wait_for

REG = "STEMCELL-REG"
PSEUDO_SYS = f"urn:cellgate:pseudonym:{REG}"
OBS = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"


def issues(body):
    """The answer's issues but dom-6's best-practice warnings (a resource
    without narrative), which every FHIR input here gets."""
    return [i for i in outcome(body)["issue"]
            if i["details"]["coding"][0]["code"] != "fhir-invariant-warning"]


def policy_gateway(gateway_factory, fhirstore, policy, key="pki/pseudonym.key", linger_ms=5):
    dest = (f"  registry:\n    type: fhir\n    url: {fhirstore.url}/fhir\n"
            f"    certificate: pki/registry.crt\n    key: pki/registry.key\n    ca: pki/ca.crt\n"
            f"    delivery: {json.dumps({'linger_ms': linger_ms, 'backoff_initial_ms': 200})}\n"
            f"    registry_id: {REG}\n    consent: required\n")
    for k, v in policy.items():
        dest += f"    {k}: {v}\n"
    if "identity" in policy and policy["identity"] != "keep":
        dest += f"    pseudonym_key: {key}\n"
    return gateway_factory(routes=ROUTES, destinations=dest, workers=2)


def consented(recs):
    out = []
    for r in recs:
        r = copy.deepcopy(r)
        r["consent"] = {"research": True, "registries": [REG], "date": "2019-01-02"}
        out.append(r)
    return out


def resources(bundles, rtype):
    return [e["resource"] for b in bundles for e in b["entry"]
            if e["resource"]["resourceType"] == rtype]


def received_procedures(fhirstore, n):
    return wait_for(lambda: (lambda p: p if len(p) >= n else None)(
        resources(fhirstore.received(), "Procedure"))) or []


def cli(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def test_safe_harbor_what_the_registry_receives(gateway_factory, fhirstore, tmp_path):
    gw = policy_gateway(gateway_factory, fhirstore,
                        {"identity": "pseudonym-keyed", "deidentify": "safe-harbor"}).start()
    recs = consented(records(5, 1501))
    st, _, body = post(gw, recs)
    assert st == 202, body
    procs = received_procedures(fhirstore, 5)
    assert len(procs) == 5, fhirstore.received()
    bundles = fhirstore.received()
    text = json.dumps(bundles)
    for r in recs:
        for secret in [r["recordId"], r["source"]["recordRef"],
                       r["administration"]["performer"]["value"],
                       *[i["value"] for i in r["patient"]["identifiers"]],
                       r["patient"]["birthDate"], r["administration"]["start"][:10]]:
            assert secret not in text, secret
    for res in resources(bundles, "Procedure") + resources(bundles, "Observation"):
        codes = {(c["system"], c["code"]) for c in res["meta"]["security"]}
        assert {(OBS, "PSEUDED"), (OBS, "REDACTED")} <= codes, res["meta"]
        assert res["subject"]["identifier"]["system"] == PSEUDO_SYS
    # the Provenance names the policy applied
    provs = resources(bundles, "Provenance")
    assert provs and all("safe-harbor" in p["policy"][0] for p in provs), provs
    # the pseudonym is the one `cellgate pseudonym of` computes for the patient
    ident = recs[0]["patient"]["identifiers"][0]
    code, out, err = cli("pseudonym", "--config", gw.config, "--destination", "registry", "of",
                         f"{ident['system']}|{ident['value']}")
    assert code == 0, err
    pseudonym = out.split("\t")[1].strip()
    assert re.fullmatch(r"[0-9a-f]{64}", pseudonym)
    assert pseudonym in {p["subject"]["identifier"]["value"] for p in procs}
    # and `cellgate deidentify` gives exactly what was sent (the same code)
    f = tmp_path / "one.ndjson"
    f.write_text(json.dumps(recs[0]) + "\n")
    code, out, err = cli("deidentify", "--config", gw.config, "--destination", "registry",
                         "--mappings", f"{SRC}/mappings", str(f))
    assert code == 0, err
    mine, = resources([json.loads(out)], "Procedure")
    assert mine in procs, (mine, procs)
    # every decision is audited with the policy that made it
    lines = [json.loads(x) for x in open(f"{gw.dir}/var/audit.log").read().splitlines()]
    assert any(x.get("status") == 202 and x.get("policy") ==
               "consent=required; identity=pseudonym-keyed; deidentify=safe-harbor; dates=year"
               for x in lines), lines
    # the key is in no log
    key = open(f"{gw.dir}/pki/pseudonym.key").read().strip()
    assert key not in gw.log_text() and key not in open(f"{gw.dir}/var/audit.log").read()


def test_fhir_input_through_the_record(gateway_factory, fhirstore, tmp_path):
    gw = policy_gateway(gateway_factory, fhirstore,
                        {"identity": "pseudonym-keyed", "deidentify": "safe-harbor"}).start()
    rec, other = consented(records(2, 1502))
    bundle = map_to_fhir(str(tmp_path), rec).strip()
    st, _, body = gw.call("POST", "/queue/fhir", bundle, ctype="application/fhir+json")
    assert st == 202, body
    procs = received_procedures(fhirstore, 1)
    assert procs[0]["subject"]["identifier"]["system"] == PSEUDO_SYS
    assert rec["patient"]["identifiers"][0]["value"] not in json.dumps(fhirstore.received())
    # what does not map to a record does not pass (the record is the allow-list)
    obs = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
           "subject": {"identifier": {"system": "urn:x", "value": "1"}}}
    bundle2 = json.loads(map_to_fhir(str(tmp_path), other))
    bundle2["entry"].append({"fullUrl": "urn:uuid:8a2c3a4e-7f1b-4c3d-9e8f-0a1b2c3d4e5f",
                             "resource": {"resourceType": "Consent", "status": "active",
                                          "scope": {"coding": [{
                                              "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                              "code": "research"}]},
                                          "category": [{"text": "research"}],
                                          "policyRule": {"coding": [{  # ppc-1
                                              "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                              "code": "OPTIN"}]},
                                          "provision": {"type": "permit", "actor": [{
                                              "role": {"text": "registry"},
                                              "reference": {"identifier": {"value": REG}}}]}},
                             "request": {"method": "POST", "url": "Consent"}})
    # a Bundle with a research Consent as well: the Consent is read by the
    # gate and does not travel (it is not part of the record)
    st, _, body = gw.call("POST", "/queue/fhir", json.dumps(bundle2),
                          ctype="application/fhir+json")
    assert st == 202, body
    received_procedures(fhirstore, 2)
    assert not resources(fhirstore.received(), "Consent")
    st, _, body = gw.call("POST", "/queue/fhir", json.dumps(obs), ctype="application/fhir+json")
    assert st == 422, body
    codes = [i["details"]["coding"][0]["code"] for i in issues(body)]
    assert codes == ["consent-required"], codes
    # with consent (a Consent of the Observation's patient: one that names
    # no patient covers none), an Observation alone still maps to no
    # record: refused
    own = copy.deepcopy(bundle2["entry"][-1])
    own["resource"]["patient"] = {"identifier": {"system": "urn:x", "value": "1"}}
    alone = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1a2c3a4e-7f1b-4c3d-9e8f-0a1b2c3d4e5f", "resource": obs,
         "request": {"method": "POST", "url": "Observation"}}, own]}
    st, _, body = gw.call("POST", "/queue/fhir", json.dumps(alone), ctype="application/fhir+json")
    assert st == 422, body
    codes = [i["details"]["coding"][0]["code"] for i in issues(body)]
    assert "policy-failed" in codes and "consent-required" not in codes, codes


def test_random_pseudonyms_kept_across_restarts(gateway_factory, fhirstore):
    gw = policy_gateway(gateway_factory, fhirstore, {"identity": "pseudonym-random"})
    gw.start()
    a, b = consented(records(2, 1503))
    a2 = copy.deepcopy(a)
    a2["recordId"] = a["recordId"] + "-again"
    st, _, body = post(gw, [a, b])
    assert st == 202, body
    procs = received_procedures(fhirstore, 2)
    by_rec = {p["identifier"][0]["value"]: p["subject"]["identifier"]["value"] for p in procs}
    pa, pb = by_rec[a["recordId"]], by_rec[b["recordId"]]
    assert re.fullmatch(r"[0-9a-f]{32}", pa) and pa != pb
    assert gw.stop() == 0
    gw.start()  # the same store: the same patient, the same pseudonym
    st, _, body = post(gw, [a2])
    assert st == 202, body
    procs = received_procedures(fhirstore, 3)
    by_rec = {p["identifier"][0]["value"]: p["subject"]["identifier"]["value"] for p in procs}
    assert by_rec[a2["recordId"]] == pa
    # the operator's way back, audited without the identifier
    ident = a["patient"]["identifiers"][0]
    code, out, err = cli("pseudonym", "--config", gw.config, "--destination", "registry",
                         "resolve", pa, "0" * 32)
    assert code == 1, (out, err)  # the second is unknown
    assert out == f"{pa}\t{ident['system']}|{ident['value']}\n", out
    audit = open(f"{gw.dir}/var/audit.log").read()
    line = [x for x in audit.splitlines() if "pseudonym-resolve" in x]
    assert line and json.loads(line[-1])["resolved"] == 1, audit[-500:]
    assert ident["value"] not in audit


def test_key_rotation_on_sighup(gateway_factory, fhirstore):
    gw = policy_gateway(gateway_factory, fhirstore, {"identity": "pseudonym-keyed"},
                        key="pseudonym.key")
    with open(f"{gw.dir}/pseudonym.key", "w") as f:
        f.write("a" * 64 + "\n")
    os.chmod(f"{gw.dir}/pseudonym.key", 0o600)
    gw.start()
    r1, r2 = consented(records(2, 1504))
    r2["patient"] = r1["patient"]
    st, _, body = post(gw, [r1])
    assert st == 202, body
    before = received_procedures(fhirstore, 1)[0]["subject"]["identifier"]["value"]
    ident = r1["patient"]["identifiers"][0]
    with open(f"{gw.dir}/pseudonym.key", "w") as f:
        f.write("b" * 64 + "\n")
    gw.reload(wait=True)
    st, _, body = post(gw, [r2])
    assert st == 202, body
    procs = received_procedures(fhirstore, 2)
    after = [p for p in procs if p["identifier"][0]["value"] == r2["recordId"]][0]
    after = after["subject"]["identifier"]["value"]
    assert after != before
    code, out, _ = cli("pseudonym", "--config", gw.config, "--destination", "registry", "of",
                       f"{ident['system']}|{ident['value']}")
    assert code == 0 and out.split("\t")[1].strip() == after
    # a key the gateway may not use (readable by others) is refused at reload,
    # and the running key stays
    os.chmod(f"{gw.dir}/pseudonym.key", 0o644)
    gw.reload(wait=True)
    assert "readable by its owner only" in gw.log_text()
    assert "b" * 64 not in gw.log_text()


GOLDEN = f"{SRC}/tests/data/fhir/deidentified-heart-failure.json"


def test_what_is_sent_is_checked_in(gateway_factory, fhirstore):
    """The Bundle a safe-harbor destination sends for the worked example,
    under the known-answer key (tests/data/privacy/kat.key), is
    tests/data/fhir/deidentified-heart-failure.json (its Provenance's time
    set to a fixed one): fhir/medplum-crosscheck checks that file with
    Medplum and cellgate. CG_UPDATE_GOLDEN=1 writes it."""
    gw = policy_gateway(gateway_factory, fhirstore,
                        {"identity": "pseudonym-keyed", "deidentify": "safe-harbor"},
                        key="kat.key")
    with open(f"{SRC}/tests/data/privacy/kat.key") as f, open(f"{gw.dir}/kat.key", "w") as g:
        g.write(f.read())
    os.chmod(f"{gw.dir}/kat.key", 0o600)
    gw.start()
    with open(f"{SRC}/tests/data/records/valid-heart-failure.json") as f:
        rec = json.load(f)
    rec["consent"] = {"research": True, "registries": [REG], "date": "2024-01-02"}
    st, _, body = post(gw, [rec])
    assert st == 202, body
    received_procedures(fhirstore, 1)
    sent, = fhirstore.received()
    for e in sent["entry"]:
        if e["resource"]["resourceType"] == "Provenance":
            e["resource"]["recorded"] = "2026-01-01T00:00:00.000Z"
    text = json.dumps(sent, indent=2) + "\n"
    if os.environ.get("CG_UPDATE_GOLDEN"):
        with open(GOLDEN, "w") as f:
            f.write(text)
    with open(GOLDEN) as f:
        assert json.load(f) == sent, "the de-identified Bundle changed: CG_UPDATE_GOLDEN=1"
