"""The outbox (issue 11): what the gateway acknowledges with 202 is in its
store before the answer, and is delivered: in batches, once at the
receiver, in order per patient, past failures; what is refused goes dead
alone, with why."""
import json
import time

from conftest import outcome, records

ROUTES = """
  - {method: POST, path: /queue/records, accept: record, clients: [ehr], destination: registry}
  - {method: POST, path: /queue/fhir, accept: fhir, clients: [ehr], destination: registry}
"""


def queue_dest(url, **delivery):
    d = {"linger_ms": 5, "backoff_initial_ms": 200, "backoff_max_ms": 1000}
    d.update(delivery)
    return (f"  registry:\n    type: fhir\n    url: {url}/fhir\n"
            f"    certificate: pki/registry.crt\n    key: pki/registry.key\n    ca: pki/ca.crt\n"
            f"    delivery: {json.dumps(d)}\n")


def queued_gateway(gateway_factory, fhirstore, outbox=None, **delivery):
    dest = queue_dest(fhirstore.url, **delivery)
    if outbox:
        dest += "outbox: " + json.dumps(outbox) + "\n"
    return gateway_factory(routes=ROUTES, destinations=dest, workers=2)


def wait_for(pred, seconds=20, step=0.05):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def delivered(s):
    """The record ids the store has, sorted."""
    return sorted(x for v in s["order"].values() for x in v)


def wait_records(fhirstore, n, seconds=20):
    """The store's state once it has n records (or the last one seen)."""
    return wait_for(lambda: (lambda s: s if len(delivered(s)) >= n else None)(fhirstore.state()),
                    seconds) or fhirstore.state()


def post(gw, recs, path="/queue/records"):
    return gw.call("POST", path, "\n".join(json.dumps(r) for r in recs),
                   ctype="application/x-ndjson")


def test_accepted_then_delivered_in_batches(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore).start()
    recs = records(120, 1101)
    st, h, body = post(gw, recs[:60])
    assert st == 202, body
    doc = outcome(body)
    tx = h["X-Transaction-Id"]
    assert h["Location"] == f"/transactions/{tx}"
    assert tx in json.dumps(doc)
    for r in recs[60:]:
        st, _, body = post(gw, [r])
        assert st == 202, body
    s = wait_records(fhirstore, 120)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    # batched: fewer upstream requests than records
    assert len(s["requests"]) < 120, len(s["requests"])
    assert s["duplicates"] == 0
    audit = [a for a in gw.audit() if a.get("status") == 202]
    assert any(a.get("transaction") == tx for a in audit)


def test_refused_record_goes_dead_alone(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore, linger_ms=200).start()
    recs = records(20, 1102)
    bad = recs[7]["recordId"]
    fhirstore.control(refuse=bad)
    st, _, body = post(gw, recs)
    assert st == 202, body
    s = wait_records(fhirstore, 19)
    time.sleep(0.5)  # nothing more comes
    s = fhirstore.state()
    assert delivered(s) == sorted(r["recordId"] for r in recs if r["recordId"] != bad)
    assert any(q["status"] == 400 for q in s["requests"])
    assert gw.wait_log("1 message dead (refused)"), gw.log_text()[-3000:]


def test_retry_after_is_honoured(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore).start()
    fhirstore.control(mode="fail", status=503, retry_after=2)
    st, _, body = post(gw, records(3, 1103))
    assert st == 202, body
    assert wait_for(lambda: fhirstore.state()["requests"], 10)
    first = fhirstore.state()["requests"][0]["t"]
    time.sleep(0.5)
    fhirstore.control(mode="ok")
    s = wait_records(fhirstore, 3, 15)
    assert len(delivered(s)) == 3, s
    ok = [q for q in s["requests"] if q["status"] == 200][0]
    waited = ok["t"] - first
    print(f"Retry-After: 2 -> the next try came {waited:.2f} s after the 503")
    assert 1.9 <= waited <= 3.5, waited
    # no try in between: the 503 said two seconds
    assert len([q for q in s["requests"] if q["t"] < ok["t"]]) == 1


def test_upstream_down_then_back(gateway_factory, pki, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore).start()
    fhirstore.stop()
    recs = records(40, 1104)
    for i in range(0, 40, 10):
        st, _, body = post(gw, recs[i:i + 10])
        assert st == 202, body
    time.sleep(2)  # several failed attempts, backing off
    fhirstore.start()
    s = wait_records(fhirstore, 40)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
