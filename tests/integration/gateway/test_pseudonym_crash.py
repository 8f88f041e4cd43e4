"""Random pseudonyms under SIGKILL (issue 12): a client posts records of a
few patients to a pseudonym-random destination while the gateway is killed
at random moments and started again on the same store. In the end every
acknowledged record is at the FHIR server, each patient under exactly one
pseudonym (one made before a kill is the one used after it), and each
pseudonym resolves to its patient through `cellgate pseudonym resolve`:
a 202 is never given for a message whose pseudonym the store could lose."""
import os
import random
import subprocess

from conftest import BIN, records
from test_outbox import ROUTES, delivered, wait_for
from test_outbox_crash import post_while_killing

N = 300 if os.environ.get("TSAN_OPTIONS") else 1500
PATIENTS = 120
PER_REQUEST = 5
SYSTEM = "urn:oid:2.16.840.1.113883.3.1234.1"


def test_kill_9_keeps_one_pseudonym_per_patient(gateway_factory, fhirstore):
    rng = random.Random(1206)
    recs = records(N, 1206)
    patient_of = {}
    for r in recs:
        p = f"PSEUDO-{rng.randrange(PATIENTS):04d}"
        r["patient"]["identifiers"] = [{"system": SYSTEM, "value": p, "type": "MR"}]
        patient_of[r["recordId"]] = p
    dest = (f"  registry:\n    type: fhir\n    url: {fhirstore.url}/fhir\n"
            f"    certificate: pki/registry.crt\n    key: pki/registry.key\n    ca: pki/ca.crt\n"
            f"    delivery: {{linger_ms: 5, backoff_initial_ms: 200, backoff_max_ms: 1000}}\n"
            f"    registry_id: REG\n    identity: pseudonym-random\n")
    gw = gateway_factory(routes=ROUTES, destinations=dest, workers=2)
    gw.start()
    acked, kills, _ = post_while_killing(gw, recs, rng, PER_REQUEST, 4, (0.2, 1.0))
    want = set(acked)
    s = wait_for(lambda: (lambda s: s if want <= set(delivered(s)) else None)(
        fhirstore.state()), 120, 0.5) or fhirstore.state()
    assert want <= set(delivered(s)), sorted(want - set(delivered(s)))[:20]
    # the server's patients are pseudonyms: one per patient, never two
    pseudonym_of = {}
    for subject, rids in s["order"].items():  # "system|value" of the subject
        system, _, pseud = subject.partition("|")
        assert system == "urn:cellgate:pseudonym:REG", subject
        for rid in rids:
            p = patient_of[rid]
            assert pseudonym_of.setdefault(p, pseud) == pseud, \
                f"patient {p} under two pseudonyms: {pseudonym_of[p]} and {pseud}"
    assert len(set(pseudonym_of.values())) == len(pseudonym_of)
    # and each resolves to its patient from the store the gateway kept
    gw.stop()
    args = [BIN, "pseudonym", "--config", gw.config, "--destination", "registry", "resolve"]
    out = subprocess.run(args + list(pseudonym_of.values()), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    back = dict(line.split("\t") for line in out.stdout.splitlines())
    for p, pseud in pseudonym_of.items():
        assert back[pseud] == f"{SYSTEM}|{p}", (p, pseud, back.get(pseud))
    print(f"records: {N}, SIGKILLs: {kills}, acknowledged: {len(want)}, patients: "
          f"{len(pseudonym_of)}, each under one pseudonym that resolves to it")
    assert kills >= 2, "the client finished before the gateway was killed twice"
