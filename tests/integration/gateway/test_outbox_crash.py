"""The outbox's promise under SIGKILL (issue 11): a client posts records
while the gateway is killed at random moments and started again on the
same store; in the end every record that got a 202 is at the receiver,
none missing, duplicates absorbed there, each patient's records in the
order they were accepted. The figures are printed."""
import json
import os
import random
import signal
import threading
import time

from conftest import records
from test_outbox import ROUTES, delivered, queue_dest, wait_for

# Fewer under ThreadSanitizer (ten times slower); the same checks.
N = 1000 if os.environ.get("TSAN_OPTIONS") else 5000
PATIENTS = 150
PER_REQUEST = 5


def test_kill_9_loses_nothing(gateway_factory, fhirstore):
    rng = random.Random(1105)
    recs = records(N, 1105)
    for i, r in enumerate(recs):  # several records per patient, interleaved
        p = rng.randrange(PATIENTS)
        r["patient"]["identifiers"] = [{"system": "urn:oid:2.16.840.1.113883.3.1234.1",
                                        "value": f"CRASH-{p:04d}", "type": "MR"}]
    gw = gateway_factory(routes=ROUTES, destinations=queue_dest(fhirstore.url), workers=2)
    gw.start()
    acked, kills, tries = post_while_killing(gw, recs, rng, PER_REQUEST, 6, (0.3, 1.5))
    want = set(acked)

    def all_there():
        s = fhirstore.state()
        return s if want <= set(delivered(s)) else None

    s = wait_for(all_there, 120, 0.5) or fhirstore.state()
    got = delivered(s)
    missing = want - set(got)
    print(f"records: {N}, requests: {tries['sent']} ({tries['failed']} failed and sent again), "
          f"SIGKILLs: {kills}, acknowledged: {len(want)}, at the receiver: {len(set(got))}, "
          f"missing: {len(missing)}, duplicates absorbed: {s['duplicate_records']} records "
          f"({s['duplicates']} resources), upstream requests: {len(s['requests'])}")
    assert kills >= 3, "the client finished before the gateway was killed three times"
    assert not missing, sorted(missing)[:20]
    assert len(got) == len(set(got)), "a record was created twice at the receiver"
    # Order per patient: the receiver's first creations in the order of the 202s.
    first_ack = {}
    for k, rid in enumerate(acked):
        first_ack.setdefault(rid, k)
    for patient, seq in s["order"].items():
        ks = [first_ack[r] for r in seq if r in first_ack]
        assert ks == sorted(ks), f"patient {patient}: out of order"


def post_while_killing(gw, recs, rng, per_request, max_kills, pause):
    """A client posts recs, per_request at a time, sending a batch again
    until it gets its 202 (as an engine does), while the gateway is killed
    with SIGKILL after a random pause (seconds, a range) and started again
    on the same store, at most max_kills times. Returns (the record ids in
    the order their 202s came, the kills, {"sent", "failed"} requests)."""
    acked = []
    tries = {"sent": 0, "failed": 0}
    stop = threading.Event()
    alive = threading.Lock()  # held while the gateway is being restarted

    def client():
        i = 0
        while i < len(recs):
            batch = recs[i:i + per_request]
            body = "\n".join(json.dumps(r) for r in batch)
            tries["sent"] += 1
            try:
                with alive:
                    pass
                st, _, _ = gw.call("POST", "/queue/records", body,
                                   ctype="application/x-ndjson", timeout=10)
            except OSError:
                st = 0
            if st == 202:
                acked.extend(r["recordId"] for r in batch)
                i += per_request
            else:
                tries["failed"] += 1
                time.sleep(0.02)
        stop.set()

    t = threading.Thread(target=client)
    t.start()
    kills = 0
    while not stop.is_set() and kills < max_kills:
        time.sleep(rng.uniform(*pause))
        if stop.is_set():
            break
        with alive:
            gw.proc.send_signal(signal.SIGKILL)
            gw.proc.wait()
            gw.stderr.close()
            kills += 1
            gw.start()
    t.join(timeout=600)
    assert not t.is_alive()
    return acked, kills, tries
