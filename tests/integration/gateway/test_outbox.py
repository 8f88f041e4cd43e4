"""The outbox (issue 11): what the gateway acknowledges with 202 is in its
store before the answer, and is delivered: in batches, once at the
receiver, in order per patient, past failures; what is refused goes dead
alone, with why."""
import json
import os
import subprocess
import time

from conftest import BIN, SRC, outcome, records

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
    # patient data: the store and its WAL are the gateway's alone
    for f in ("outbox.db", "outbox.db-wal"):
        assert os.stat(f"{gw.dir}/var/{f}").st_mode & 0o077 == 0, f


def test_refused_record_goes_dead_alone(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore, linger_ms=200, concurrency=1).start()
    recs = records(20, 1102)
    bad = recs[7]["recordId"]
    fhirstore.control(refuse=bad)
    fhirstore.control(mode="slow", delay=0.3)  # requests that overlap are seen to
    st, _, body = post(gw, recs)
    assert st == 202, body
    s = wait_records(fhirstore, 19)
    time.sleep(0.5)  # nothing more comes
    s = fhirstore.state()
    assert delivered(s) == sorted(r["recordId"] for r in recs if r["recordId"] != bad)
    assert any(q["status"] == 400 for q in s["requests"])
    assert gw.wait_log("1 message dead (refused)"), gw.log_text()[-3000:]
    # taken apart one half at a time: the concurrency holds
    assert s["max_concurrent"] == 1, s["max_concurrent"]
    st, _, m = gw.call("GET", "/metrics")
    m = m.decode()
    assert 'cellgate_outbox_deliveries_total{destination="registry",outcome="dead"} 1' in m, m
    assert 'cellgate_outbox_deliveries_total{destination="registry",outcome="delivered"} 19' in m
    split = int(m.split('cellgate_outbox_batches_split_total{destination="registry"} ')[1]
                .split()[0])
    assert split >= 1, m


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


def test_slow_receiver_gets_no_flood(gateway_factory, fhirstore):
    """Answers slower than the timeout: each batch is tried again after a
    backoff, never more batches at once than the concurrency, and what the
    receiver got twice it absorbs."""
    gw = queued_gateway(gateway_factory, fhirstore, concurrency=2, batch_items=10,
                        linger_ms=100)
    gw.write_config(gw.config_text().replace("    delivery:", "    timeout_ms: 1000\n    delivery:"))
    gw.start()
    fhirstore.control(mode="slow", delay=2)
    recs = records(60, 1106)
    for i in range(0, 60, 20):
        st, _, body = post(gw, recs[i:i + 20])
        assert st == 202, body
    time.sleep(6)
    fhirstore.control(mode="ok")
    s = wait_records(fhirstore, 60, 30)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    print(f"60 records, 6 batches of 10, answers after 2 s against a 1 s timeout: "
          f"{len(s['requests'])} requests, at most {s['max_concurrent']} at once, "
          f"{s['duplicate_records']} records received twice and absorbed")
    # At most 2 in flight from the gateway. One it gave up on (after 1 s)
    # runs on at the receiver (2 s), so a slot can have up to 3 there at
    # once (started at 0, 1 and 2 s): 2 x 3 is the bound, not a flood.
    assert s["max_concurrent"] <= 6
    assert len(s["requests"]) <= 30, len(s["requests"])


def test_depth_limit_answers_503(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore,
                        outbox={"max_depth": 10, "retry_after_s": 7}).start()
    fhirstore.stop()
    recs = records(25, 1107)
    st, _, body = post(gw, recs[:10])
    assert st == 202, body
    st, h, body = post(gw, recs[10:11])
    assert st == 503, body
    assert h["Retry-After"] == "7"
    assert "max_depth" in outcome(body)["issue"][0]["diagnostics"]
    fhirstore.start()
    s = wait_records(fhirstore, 10)
    assert len(delivered(s)) == 10
    st, _, body = wait_for(lambda: (lambda a: a if a[0] == 202 else None)(post(gw, recs[10:11])),
                           10, 0.5)
    assert st == 202, body


def test_low_disk_answers_503(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore,
                        outbox={"min_free_bytes": 10 ** 14}).start()
    st, h, body = post(gw, records(1, 1108))
    assert st == 503, body
    assert "disk" in outcome(body)["issue"][0]["diagnostics"]
    assert h["Retry-After"] == "5"
    assert fhirstore.state()["requests"] == []


def test_store_that_is_not_one_is_refused(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore)
    os.makedirs(f"{gw.dir}/var", exist_ok=True)
    with open(f"{gw.dir}/var/outbox.db", "wb") as f:
        f.write(b"this is not a database, but it is where the outbox should be" * 100)
    gw.stderr = open(gw.stderr_path, "w")
    proc = subprocess.run([BIN, "serve", "--config", gw.config, "--mappings",
                           f"{SRC}/mappings"], cwd=gw.dir, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert "outbox" in proc.stderr and "not a SQLite file" in proc.stderr, proc.stderr


def test_disk_full(gateway_factory, fhirstore):
    """The store's disk fills up (a 3 MB tmpfs; where mounting is not
    allowed, a 3 MB file-size limit): requests get 503 with Retry-After,
    never a 2xx for what was not stored, the store stays sound, and once
    there is room again everything acknowledged is delivered."""
    gw = queued_gateway(gateway_factory, fhirstore,
                        outbox={"path": "disk/outbox.db", "min_free_bytes": 0})
    disk = f"{gw.dir}/disk"
    os.makedirs(disk)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk],
                             capture_output=True).returncode == 0
    limit = None
    if not mounted:
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (3 << 20, 3 << 20))
    try:
        gw.start(preexec=limit)
        fhirstore.stop()
        recs = records(400, 1109)
        acked, statuses = [], {}
        refused_in_a_row = 0
        for r in recs:
            st, h, body = post(gw, [r])
            statuses[st] = statuses.get(st, 0) + 1
            if st == 202:
                acked.append(r["recordId"])
                refused_in_a_row = 0
            else:
                assert st == 503, body
                assert "Retry-After" in h
                refused_in_a_row += 1
                if refused_in_a_row == 5:
                    break
        print(f"{'tmpfs' if mounted else 'file-size limit'} of 3 MB: answers {statuses}")
        assert refused_in_a_row == 5, statuses
        assert gw.proc.poll() is None
        import sqlite3
        db = sqlite3.connect(f"file:{disk}/outbox.db?mode=ro", uri=True)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n = db.execute("SELECT count(*) FROM message").fetchone()[0]
        db.close()
        assert n == len(acked), (n, len(acked))
        # room again
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", disk], check=True)
        else:
            assert gw.stop() == 0
            gw.start()
        fhirstore.start()
        s = wait_records(fhirstore, len(acked), 30)
        assert delivered(s) == sorted(acked)
        st, _, body = wait_for(lambda: (lambda a: a if a[0] == 202 else None)(
            post(gw, recs[-1:])), 10, 0.5)
        assert st == 202, body
    finally:
        gw.stop()
        if mounted:
            subprocess.run(["umount", "-l", disk])


def trail(gw, path, name="ehr"):
    st, _, body = gw.call("GET", path, name=name)
    return st, json.loads(body)


def test_trail(gateway_factory, fhirstore):
    """GET /transactions: a client follows what it sent, and only that."""
    gw = queued_gateway(gateway_factory, fhirstore, linger_ms=100).start()
    bad, good = records(2, 1110)
    fhirstore.control(refuse=bad["recordId"])
    st, h, body = post(gw, [good, bad])
    assert st == 202, body
    tx = h["X-Transaction-Id"]
    wait_records(fhirstore, 1)

    def settled():
        st, doc = trail(gw, f"/transactions/{tx}")
        return doc if st == 200 and all(m["state"] in ("delivered", "dead")
                                        for m in doc["messages"]) else None

    doc = wait_for(settled, 10)
    assert doc, trail(gw, f"/transactions/{tx}")
    by_rec = {m["recordId"]: m for m in doc["messages"]}
    assert by_rec[good["recordId"]]["state"] == "delivered"
    assert by_rec[good["recordId"]]["upstreamStatus"] == 200
    dead = by_rec[bad["recordId"]]
    assert dead["state"] == "dead" and dead["upstreamStatus"] == 400, dead
    assert "refused by destination registry with 400" in dead["reason"]
    assert "body" not in json.dumps(doc)
    st, doc = trail(gw, f"/transactions?record={bad['recordId']}")
    assert st == 200 and [m["id"] for m in doc["messages"]] == [dead["id"]]
    st, doc = trail(gw, "/transactions?state=dead")
    assert st == 200 and [m["recordId"] for m in doc["messages"]] == [bad["recordId"]]
    # another known client sees none of it: the same 404 as no transaction
    st, doc = trail(gw, f"/transactions/{tx}", name="registry")
    assert st == 404, doc
    st, doc = trail(gw, "/transactions?state=dead", name="registry")
    assert st == 200 and doc["messages"] == []
    assert trail(gw, "/transactions/00000000-0000-4000-8000-000000000000")[0] == 404
    assert trail(gw, "/transactions?state=lost")[0] == 400
    assert trail(gw, "/transactions")[0] == 400


def test_delivered_messages_are_pruned(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore, outbox={"keep_delivered_s": 1}).start()
    st, h, body = post(gw, records(3, 1111))
    assert st == 202, body
    tx = h["X-Transaction-Id"]
    wait_records(fhirstore, 3)
    assert trail(gw, f"/transactions/{tx}")[0] == 200
    assert wait_for(lambda: trail(gw, f"/transactions/{tx}")[0] == 404, 10)
    assert gw.wait_log("3 delivered messages older than 1s pruned"), gw.log_text()[-2000:]


def test_records_destination(gateway_factory, fhirstore):
    """A records destination: a JSON array of the batch's records, with an
    Idempotency-Key of their message ids (the same when the same messages
    are tried again together, as here)."""
    dest = queue_dest(fhirstore.url, linger_ms=100).replace("type: fhir", "type: records")
    gw = gateway_factory(routes=ROUTES, destinations=dest, workers=2).start()
    fhirstore.control(mode="fail", status=503, retry_after=1)
    recs = records(4, 1112)
    st, _, body = post(gw, recs)
    assert st == 202, body
    time.sleep(0.5)
    fhirstore.control(mode="ok")
    s = wait_records(fhirstore, 4)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    keys = s["idempotency_keys"]
    assert keys and all(k.replace(",", "").isdigit() for k in keys), keys
    # the try refused with 503 and the try that went through: one key
    failed = [q["key"] for q in s["requests"] if q["status"] == 503]
    ok = [q["key"] for q in s["requests"] if q["status"] == 200]
    assert failed and failed[0] in ok, s["requests"]


def test_gives_up_after_max_attempts(gateway_factory, fhirstore):
    """A 500 each time: tried max_attempts times with backoff, then dead
    with why; never retried forever."""
    gw = queued_gateway(gateway_factory, fhirstore, max_attempts=3, backoff_initial_ms=100,
                        backoff_max_ms=200).start()
    fhirstore.control(mode="fail", status=500)
    rec = records(1, 1113)[0]
    st, h, body = post(gw, [rec])
    assert st == 202, body
    tx = h["X-Transaction-Id"]
    doc = wait_for(lambda: (lambda d: d if d[1]["messages"][0]["state"] == "dead" else None)(
        trail(gw, f"/transactions/{tx}")), 10)
    assert doc, trail(gw, f"/transactions/{tx}")
    m = doc[1]["messages"][0]
    assert m["attempts"] == 3 and m["upstreamStatus"] == 500, m
    assert m["reason"].startswith("gave up after 3 attempts"), m
    time.sleep(1)
    assert len(fhirstore.state()["requests"]) == 3


def test_store_folder_that_cannot_be_made(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore, outbox={"path": "afile/outbox.db"})
    with open(f"{gw.dir}/afile", "w") as f:
        f.write("a file where the store's folder should be\n")
    proc = subprocess.run([BIN, "serve", "--config", gw.config, "--mappings",
                           f"{SRC}/mappings"], cwd=gw.dir, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert "cannot make the folder" in proc.stderr and "afile" in proc.stderr, proc.stderr
