"""Review: requests whose client goes away, or a gateway that stops, while
the outbox's reader thread has their read (the pseudonyms of a patient
never seen, the store held by a lock in another session)."""
import json
import time

from conftest import records
from test_policy import consented, policy_gateway
from test_postgres import pg, database  # noqa: F401 (fixtures)
from test_postgres_loop import hold_lock


def random_gateway(gateway_factory, fhirstore, database, instance):
    gw = policy_gateway(gateway_factory, fhirstore, {"identity": "pseudonym-random"})
    gw.write_config(gw.config_text().replace("workers: 2", "workers: 1") +
                    "outbox: " + json.dumps({"queue": "postgres", "database": database,
                                             "instance": instance}) + "\n")
    return gw


def send_and_leave(gw, rec):
    """A POST whose client closes its connection without its answer."""
    body = json.dumps(rec).encode()
    s = gw.tls()
    s.sendall(b"POST /queue/records HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Type: application/x-ndjson\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.5)
    s.close()


def test_client_gone_while_read_waits(gateway_factory, fhirstore, database, pg):
    db = database.rsplit("/", 1)[1].split("?")[0]
    gw = random_gateway(gateway_factory, fhirstore, database, "gw-gone")
    gw.start()
    a, b = consented(records(2, 1604))
    st, _, body = gw.call("POST", "/queue/records", json.dumps(a),
                          ctype="application/x-ndjson")
    assert st == 202, body
    psql = hold_lock(pg, db, "pseudonym", 3)
    try:
        send_and_leave(gw, b)
    finally:
        psql.wait(30)
    time.sleep(1)
    st, _, _ = gw.call("GET", "/healthz")
    assert st == 200
    # the fixture's stop: exit 0 and no sanitizer report


def test_stop_while_read_waits_for_a_gone_client(gateway_factory, fhirstore, database, pg):
    db = database.rsplit("/", 1)[1].split("?")[0]
    gw = random_gateway(gateway_factory, fhirstore, database, "gw-stop")
    gw.start()
    a, b = consented(records(2, 1605))
    st, _, body = gw.call("POST", "/queue/records", json.dumps(a),
                          ctype="application/x-ndjson")
    assert st == 202, body
    psql = hold_lock(pg, db, "pseudonym", 3)
    try:
        send_and_leave(gw, b)
        code = gw.stop()  # SIGTERM while the read waits
    finally:
        psql.wait(30)
    odd = [x for x in gw.log_text().splitlines() if x and not x.startswith("{")]
    assert code == 0 and not odd, (code, odd[:30])
