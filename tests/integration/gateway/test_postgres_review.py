"""Review of the PostgreSQL outbox (issue 14): the database's password,
given in its URI (config_outbox.c's own hint: `${NAME} for one with a
password`), must reach no log line, no `cellgate queue` output."""
import json
import subprocess
import time

from conftest import BIN
from test_postgres import pg, database, admin, with_admin  # noqa: F401
from test_outbox import queue_dest, ROUTES

SECRET = "Zq7-s3cret-PW"


def test_password_in_uri_stays_out_of_logs(gateway_factory, fhirstore, pg, database):  # noqa: F811
    url = database.replace("postgresql://cellgate@", f"postgresql://cellgate:{SECRET}@")
    assert SECRET in url
    dest = queue_dest(fhirstore.url)
    dest += "outbox: " + json.dumps({"queue": "postgres", "database": url,
                                     "instance": "gw-a"}) + "\n"
    gw = gateway_factory(routes=ROUTES, destinations=dest, workers=1)
    gw.admin_port = None
    gw = with_admin(gw).start()
    time.sleep(0.5)
    status, metrics = admin(gw, "/metrics")
    out = subprocess.run([BIN, "queue", "stats", "--config", gw.config], capture_output=True,
                         text=True, timeout=30)
    with open(gw.stderr_path) as f:
        log = f.read()
    leaks = [line for line in log.splitlines() if SECRET in line]
    assert SECRET not in metrics
    assert SECRET not in out.stdout + out.stderr
    assert not leaks, "the database password is in the gateway's log:\n" + "\n".join(leaks)
