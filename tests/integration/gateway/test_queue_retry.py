"""A dead message and its second chance (issue 11): a record the upstream
refuses goes dead with the reason and the upstream's OperationOutcome kept in
the store, as `cellgate queue list` and `show` tell an operator; once the
upstream is fixed, `cellgate queue retry` beside the running gateway sends it
again within a few seconds, one by id or all the dead at once, and the
records of the same patient accepted meanwhile wait for it (order per
patient)."""
import json
import subprocess
import time

from conftest import BIN, records
from test_outbox import delivered, post, queued_gateway, wait_for, wait_records

# The forwarder looks at the store every 100 ms: a retried message is sent
# again well within this.
SOON = 5


def queue(gw, *args):
    """`cellgate queue --store <the gateway's store> ARGS...`, beside it."""
    return subprocess.run([BIN, "queue", "--store", f"{gw.dir}/var/outbox.db", *args],
                          capture_output=True, text=True, timeout=30)


def queue_json(gw, *args):
    p = queue(gw, *args, "--format", "json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def dead(gw):
    """The dead messages, as list --state dead --format json gives them."""
    return queue_json(gw, "list", "--state", "dead")["messages"]


def wait_dead(gw, n):
    got = wait_for(lambda: (lambda d: d if len(d) >= n else None)(dead(gw)), 20)
    assert got and len(got) == n, (got, gw.log_text()[-3000:])
    return got


def show(gw, mid):
    return queue_json(gw, "show", str(mid))


def wait_state(gw, mid, state, seconds=SOON):
    return wait_for(lambda: show(gw, mid)["state"] == state, seconds)


def test_dead_shown_then_retried_by_id(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore).start()
    recs = records(3, 1201)
    bad = recs[1]["recordId"]
    fhirstore.control(refuse=bad)
    for r in recs:
        st, _, body = post(gw, [r])
        assert st == 202, body
    [m] = wait_dead(gw, 1)
    assert m["recordId"] == bad and m["destination"] == "registry", m
    assert m["status"] == 400, m
    assert m["reason"] == "refused by destination registry with 400", m
    wait_records(fhirstore, 2)
    # the upstream's answer is kept: its OperationOutcome, as it sent it
    full = show(gw, m["id"])
    assert full["state"] == "dead" and "body" not in full, full
    answer = json.loads(full["response"])
    assert answer["resourceType"] == "OperationOutcome", answer
    assert answer["issue"][0]["diagnostics"] == f"record {bad} is refused by this registry"
    text = queue(gw, "show", str(m["id"]))
    assert text.returncode == 0 and "is refused by this registry" in text.stdout, text

    fhirstore.control(unrefuse=bad)
    p = queue(gw, "retry", str(m["id"]))
    assert p.returncode == 0 and p.stdout == "1 message back in the queue\n", p
    t = time.time()
    s = wait_records(fhirstore, 3, SOON)
    assert delivered(s) == sorted(r["recordId"] for r in recs), s
    print(f"a retried message delivered {time.time() - t:.2f} s after the retry")
    assert wait_state(gw, m["id"], "delivered"), show(gw, m["id"])
    done = show(gw, m["id"])
    assert done["status"] == 200 and done["reason"] is None, done
    p = queue(gw, "show", str(m["id"]))
    assert "delivered" in p.stdout, p.stdout
    assert dead(gw) == []


def test_retry_dead_sends_every_dead_one_again(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore).start()
    recs = records(4, 1202)
    bad = [recs[0]["recordId"], recs[2]["recordId"]]
    for b in bad:
        fhirstore.control(refuse=b)
    for r in recs:
        st, _, body = post(gw, [r])
        assert st == 202, body
    got = wait_dead(gw, 2)
    assert sorted(m["recordId"] for m in got) == sorted(bad), got
    assert all(m["reason"] == "refused by destination registry with 400" for m in got), got
    wait_records(fhirstore, 2)

    fhirstore.control(refuse_none=True)
    assert queue_json(gw, "retry", "--dead") == {"requeued": 2}
    s = wait_records(fhirstore, 4, SOON)
    assert delivered(s) == sorted(r["recordId"] for r in recs), s
    for m in got:
        assert wait_state(gw, m["id"], "delivered"), show(gw, m["id"])
    total = queue_json(gw, "stats")["total"]
    assert (total["dead"], total["queued"], total["delivered"]) == (0, 0, 4), total
    p = queue(gw, "retry", "--dead")
    assert p.returncode == 0 and p.stdout == "0 messages back in the queue\n", p


def test_a_patients_later_record_waits_for_the_dead_one(gateway_factory, fhirstore):
    gw = queued_gateway(gateway_factory, fhirstore).start()
    first, later, other = records(3, 1203)
    later["patient"] = first["patient"]  # the same patient, a later record
    fhirstore.control(refuse=first["recordId"])
    st, _, body = post(gw, [first])
    assert st == 202, body
    [m] = wait_dead(gw, 1)
    assert m["recordId"] == first["recordId"], m

    # accepted while the first is dead: held back; another patient's is not
    for r in (later, other):
        st, _, body = post(gw, [r])
        assert st == 202, body
    s = wait_records(fhirstore, 1)
    assert delivered(s) == [other["recordId"]], s
    time.sleep(1.5)  # many looks at the store: the later one stays behind
    assert delivered(fhirstore.state()) == [other["recordId"]]
    [held] = queue_json(gw, "find", "--record", later["recordId"])["messages"]
    assert held["state"] == "queued", held
    assert held["attempts"] == 0, held

    fhirstore.control(unrefuse=first["recordId"])
    p = queue(gw, "retry", str(m["id"]))
    assert p.returncode == 0, p.stderr
    s = wait_records(fhirstore, 3, SOON)
    assert delivered(s) == sorted(r["recordId"] for r in (first, later, other)), s
    # the patient's records arrived in the order they were accepted
    mine = [v for v in s["order"].values() if first["recordId"] in v]
    assert mine == [[first["recordId"], later["recordId"]]], s["order"]
    assert wait_state(gw, held["id"], "delivered"), show(gw, held["id"])
