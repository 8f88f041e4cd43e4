"""Nothing blocks an event loop (issue 14): with the outbox on PostgreSQL,
the reads a request needs (its trail, GET /transactions; a random
pseudonym seen for the first time) are made on the outbox's reader thread,
never on the worker's loop. Shown with one worker and a table held by an
exclusive lock in another session: the read waits, and the worker goes on
answering other requests meanwhile; once the lock goes, the read answers."""
import json
import subprocess
import threading
import time

from conftest import records
from test_outbox import post, wait_for
from test_policy import consented, policy_gateway, received_procedures
from test_postgres import pg, database, pg_gateway  # noqa: F401 (fixtures)


def hold_lock(pg, db, table, seconds):
    """A session that takes an exclusive lock on table and keeps it for
    seconds; returns once the lock is held."""
    psql = subprocess.Popen(
        [f"{pg.bin}/psql", "-X", "-q", "-h", pg.dir, "-p", str(pg.port), "-U", pg.user,
         "-d", db, "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    psql.stdin.write(f"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n"
                     f"SELECT pg_sleep({seconds}); COMMIT;\n")
    psql.stdin.close()  # psql runs the script to its end, then exits
    held = wait_for(lambda: pg.psql(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        f"WHERE c.relname = '{table}' AND l.mode = 'AccessExclusiveLock' AND l.granted",
        db=db) == "1", seconds=10)
    assert held, psql.stderr.read() if psql.poll() is not None else "no lock"
    return psql


def in_background(fn):
    box = {}
    t = threading.Thread(target=lambda: box.update(result=fn()))
    t.start()
    return t, box


def quick(gw, seconds=1.5):
    """GET /healthz on the gateway's only worker, and how long it took."""
    t0 = time.monotonic()
    st, _, _ = gw.call("GET", "/healthz")
    return st, time.monotonic() - t0


def waits_off_the_loop(gw, pg, db, table, fn):
    """fn() (a request that reads table) while another session holds table
    locked for 4 s: it waits, and the gateway's only worker answers
    /healthz meanwhile. Returns fn's result once the lock is gone."""
    psql = hold_lock(pg, db, table, 4)
    try:
        t, box = in_background(fn)
        time.sleep(0.5)  # the read waits for the lock now
        assert t.is_alive(), box
        st, took = quick(gw)
        assert st == 200 and took < 1.5, (st, took)
        assert t.is_alive(), "the read did not wait for the lock: the test shows nothing"
        t.join(30)
    finally:
        psql.wait(30)
    return box["result"]


def test_trail_read_off_the_loop(gateway_factory, fhirstore, database, pg):
    db = database.rsplit("/", 1)[1].split("?")[0]
    gw = pg_gateway(gateway_factory, fhirstore, database, "gw-loop")
    gw.write_config(gw.config_text().replace("workers: 2", "workers: 1"))
    gw.start()
    st, h, body = post(gw, records(1, 1601))
    assert st == 202, body
    tx = h["X-Transaction-Id"]
    assert wait_for(lambda: gw.call("GET", f"/transactions/{tx}")[0] == 200)
    st, _, body = waits_off_the_loop(gw, pg, db, "message",
                                     lambda: gw.call("GET", f"/transactions/{tx}"))
    assert st == 200, body
    assert json.loads(body)["messages"][0]["transaction"] == tx


def test_first_random_pseudonym_off_the_loop(gateway_factory, fhirstore, database, pg):
    db = database.rsplit("/", 1)[1].split("?")[0]
    gw = policy_gateway(gateway_factory, fhirstore, {"identity": "pseudonym-random"})
    gw.write_config(gw.config_text().replace("workers: 2", "workers: 1") +
                    "outbox: " + json.dumps({"queue": "postgres", "database": database,
                                             "instance": "gw-pseud"}) + "\n")
    gw.start()
    a, b = consented(records(2, 1602))
    st, _, body = post(gw, [a])  # the store's tables exist, the pseudonym table too
    assert st == 202, body
    assert received_procedures(fhirstore, 1)
    # b: a patient never seen, whose pseudonym the store is asked for
    st, _, body = waits_off_the_loop(gw, pg, db, "pseudonym", lambda: post(gw, [b]))
    assert st == 202, body
    procs = received_procedures(fhirstore, 2)
    subjects = {p["identifier"][0]["value"]: p["subject"]["identifier"]["value"] for p in procs}
    assert subjects[b["recordId"]] not in ("pending", subjects[a["recordId"]]), subjects
    # the same patient again: from memory, no read at all
    b2 = dict(b, recordId=b["recordId"] + "-2")
    st, _, body = post(gw, [b2])
    assert st == 202, body
    procs = received_procedures(fhirstore, 3)
    subjects = {p["identifier"][0]["value"]: p["subject"]["identifier"]["value"] for p in procs}
    assert subjects[b2["recordId"]] == subjects[b["recordId"]]


def test_known_pseudonym_while_another_is_read(gateway_factory, fhirstore, database, pg):
    """A request whose patient memory has, while the reader waits for the
    store on another's: the pseudonyms' lock is not held over the store's
    round trip, so the loop's memory lookup (and every other request on
    that loop) does not wait for it."""
    db = database.rsplit("/", 1)[1].split("?")[0]
    gw = policy_gateway(gateway_factory, fhirstore, {"identity": "pseudonym-random"})
    gw.write_config(gw.config_text().replace("workers: 2", "workers: 1") +
                    "outbox: " + json.dumps({"queue": "postgres", "database": database,
                                             "instance": "gw-pseud2"}) + "\n")
    gw.start()
    a, b = consented(records(2, 1603))
    st, _, body = post(gw, [a])  # a's pseudonym is in memory now
    assert st == 202, body
    assert received_procedures(fhirstore, 1)
    psql = hold_lock(pg, db, "pseudonym", 4)
    try:
        t, box = in_background(lambda: post(gw, [b]))  # never seen: the reader waits
        time.sleep(0.5)
        assert t.is_alive(), box
        a2 = dict(a, recordId=a["recordId"] + "-2")
        t2, box2 = in_background(lambda: post(gw, [a2]))  # from memory only
        time.sleep(0.3)
        st, took = quick(gw)
        assert st == 200 and took < 1.5, (st, took)
        t2.join(30)
        t.join(30)
    finally:
        psql.wait(30)
    assert box["result"][0] == 202, box
    assert box2["result"][0] == 202, box2
