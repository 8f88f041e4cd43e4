"""The outbox on PostgreSQL (issue 14): several gateways share one queue in
a real PostgreSQL server started here (tests/tools/pgserver.py); each
acknowledged record is delivered once, in order per patient; a crashed
gateway's messages are taken over when their leases end; a database that
goes away makes the gateways unready and their answers 503, never 2xx for
what is not stored, and they come back by themselves."""
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import BIN, SRC, records
from test_outbox import post, queue_dest, wait_for, wait_records, delivered, ROUTES

sys.path.insert(0, f"{SRC}/tests/tools")
from pgserver import PgServer  # noqa: E402


@pytest.fixture(scope="module")
def pg(pki):
    with PgServer(ssl=(f"{pki}/server.crt", f"{pki}/server.key")) as server:
        yield server


@pytest.fixture
def database(pg, request):
    name = "t_" + request.node.name.lower()[:50]
    pg.psql(f'DROP DATABASE IF EXISTS "{name}"')
    pg.create_database(name)
    return pg.url(name)


def pg_gateway(gateway_factory, fhirstore, database, instance, lease_s=30, **delivery):
    dest = queue_dest(fhirstore.url, **delivery)
    dest += "outbox: " + json.dumps({"queue": "postgres", "database": database,
                                     "instance": instance, "lease_s": lease_s}) + "\n"
    gw = gateway_factory(routes=ROUTES, destinations=dest, workers=2)
    gw.admin_port = None
    return gw


def admin(gw, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gw.admin_port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def with_admin(gw):
    from conftest import free_port
    gw.admin_port = free_port()
    text = gw.config_text() + f"admin:\n  address: 127.0.0.1\n  port: {gw.admin_port}\n"
    gw.write_config(text)
    return gw


def queue_stats(gw):
    out = subprocess.run([BIN, "queue", "stats", "--config", gw.config, "--format", "json"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def in_order(state, recs):
    """The patients whose records did not arrive in the order they were
    accepted (the store keeps each patient's arrival order)."""
    accepted = {r["recordId"]: i for i, r in enumerate(recs)}
    return [p for p, ids in state["order"].items()
            if [accepted[x] for x in ids] != sorted(accepted[x] for x in ids)]


def test_two_gateways_share_one_queue(gateway_factory, fhirstore, database):
    a = pg_gateway(gateway_factory, fhirstore, database, "gw-a").start()
    b = pg_gateway(gateway_factory, fhirstore, database, "gw-b").start()
    recs = records(120, 1401)
    for i, r in enumerate(recs):
        st, _, body = post(a if i % 2 else b, [r])
        assert st == 202, body
    s = wait_records(fhirstore, 120, seconds=60)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    assert s["duplicates"] == 0, s["duplicates"]
    assert not in_order(s, recs)
    st = queue_stats(a)
    assert st["store"] == "postgres"
    assert st["total"]["delivered"] == 120, st
    names = {x["instance"]: x for x in st["instances"]}
    assert set(names) <= {"gw-a", "gw-b"} and names, st
    assert sum(x["delivered"] for x in names.values()) == 120, st


def test_database_down_means_503_and_unready_then_back(gateway_factory, fhirstore, database, pg):
    gw = with_admin(pg_gateway(gateway_factory, fhirstore, database, "gw-down")).start()
    recs = records(40, 1402)
    st, _, body = post(gw, recs[:20])
    assert st == 202, body
    wait_records(fhirstore, 20)
    assert admin(gw, "/readyz")[0] == 200
    pg.stop("fast")
    try:
        # the forwarder's next look, or the next request's commit, finds it
        assert wait_for(lambda: admin(gw, "/readyz")[0] == 503, seconds=10), admin(gw, "/readyz")
        st, h, body = post(gw, recs[20:30])
        assert st == 503, body
        assert "Retry-After" in h, h
        assert b"nothing was kept" in body, body
        m = admin(gw, "/metrics")[1]
        assert "cellgate_store_up 0" in m
    finally:
        pg.start()
    assert wait_for(lambda: admin(gw, "/readyz")[0] == 200, seconds=20), gw.log_text()[-2000:]
    st, _, body = post(gw, recs[20:])
    assert st == 202, body
    s = wait_records(fhirstore, 40, seconds=30)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    m = admin(gw, "/metrics")[1]
    assert "cellgate_store_up 1" in m
    assert 'cellgate_outbox_refused_total{reason="store"} 1' in m, m
    assert "cellgate_store_claim_seconds_count" in m
    assert wait_for(lambda: "cellgate_store_dead_tuples" in admin(gw, "/metrics")[1], 10)


def test_killed_gateway_work_taken_over(gateway_factory, fhirstore, database):
    """A gateway killed with its batch in flight: another gateway (another
    instance) delivers it once the lease has ended."""
    a = pg_gateway(gateway_factory, fhirstore, database, "gw-killed", lease_s=5).start()
    recs = records(10, 1403)
    fhirstore.control(mode="slow", delay=30)
    st, _, body = post(a, recs)
    assert st == 202, body
    def held():
        inst = {x["instance"]: x for x in queue_stats(a).get("instances", [])}
        return inst.get("gw-killed", {}).get("in_flight", 0) == 10 and inst
    inst = wait_for(held, seconds=10)
    assert inst and inst["gw-killed"]["lease_ends_in_s"] <= 5, inst
    time.sleep(0.5)  # the batch on its way to the upstream
    a.proc.kill()
    a.proc.wait()
    fhirstore.control(mode="ok")
    b = pg_gateway(gateway_factory, fhirstore, database, "gw-survivor", lease_s=5).start()
    began = time.time()
    s = wait_records(fhirstore, 10, seconds=40)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    assert time.time() - began >= 2, "taken over before the lease ended"
    st = queue_stats(b)
    names = {x["instance"]: x for x in st["instances"]}
    assert names["gw-survivor"]["delivered"] == 10, st
    a.proc = None  # killed on purpose: no clean stop to check


def test_config_checks(gateway_factory, fhirstore, tmp_path):
    """The keys are checked at their line: a postgres queue needs its
    database, a SQLite one takes no database; the URI is libpq's to read."""
    cases = [
        ({"queue": "postgres"}, "needs database"),
        ({"queue": "postgres", "database": "postgresql://x@127.0.0.1:5432/db",
          "path": "var/o.db"}, "path is the SQLite file's"),
        ({"database": "postgresql://x@127.0.0.1/db"}, "is for queue: postgres"),
        ({"queue": "postgres", "database": "host=/tmp port=oops= dbname"}, "libpq reads"),
        ({"queue": "postgres", "database": "postgresql://x@h/db", "instance": "a b"},
         "an instance name"),
        ({"queue": "postgres", "database": "postgresql://x@h/db", "lease_s": 1}, "lease_s"),
    ]
    for outbox, words in cases:
        dest = queue_dest(fhirstore.url) + "outbox: " + json.dumps(outbox) + "\n"
        gw = gateway_factory(routes=ROUTES, destinations=dest)
        out = subprocess.run([BIN, "serve", "--check-config", gw.config], capture_output=True,
                             text=True, cwd=gw.dir)
        assert out.returncode != 0, (outbox, out.stdout, out.stderr)
        assert words in out.stdout + out.stderr, (outbox, out.stdout + out.stderr)
        assert "cellgate.yaml:" in out.stdout + out.stderr  # placed at its line


def test_tls_and_several_hosts(gateway_factory, fhirstore, pg, pki, tmp_path):
    """TLS to the database, its certificate checked (sslmode=verify-full);
    a list of hosts tried in turn for the one that takes writes
    (target_session_attrs=read-write): the first here listens on nothing."""
    from conftest import free_port
    pg.create_database("t_tls")
    closed = free_port()
    url = (f"postgresql://cellgate@localhost:{closed},localhost:{pg.port}/t_tls"
           f"?sslmode=verify-full&sslrootcert={pki}/ca.crt&target_session_attrs=read-write")
    gw = pg_gateway(gateway_factory, fhirstore, url, "gw-tls").start()
    recs = records(10, 1404)
    st, _, body = post(gw, recs)
    assert st == 202, body
    s = wait_records(fhirstore, 10)
    assert delivered(s) == sorted(r["recordId"] for r in recs)
    # the connections are TLS, as the server sees them
    n = pg.psql("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                "WHERE a.datname = 't_tls' AND s.ssl", "postgres")
    assert int(n) >= 2, n
    # a server whose certificate another CA signed is refused at start
    other = tmp_path / "other"
    subprocess.run([f"{SRC}/certs/make-dev-pki.sh", str(other)], check=True,
                   stdout=subprocess.DEVNULL)
    bad = url.replace(f"{pki}/ca.crt", f"{other}/ca.crt")
    gw2 = pg_gateway(gateway_factory, fhirstore, bad, "gw-bad-ca")
    out = subprocess.run([BIN, "serve", "--config", gw2.config, "--mappings", f"{SRC}/mappings"],
                         capture_output=True, text=True, cwd=gw2.dir, timeout=60)
    assert out.returncode != 0
    assert "certificate verify failed" in out.stderr, out.stderr[-2000:]
    assert "cellgate@" not in out.stderr or "(postgres)" in out.stderr
