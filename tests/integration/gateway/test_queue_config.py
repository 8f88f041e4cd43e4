"""deploy/cellgate.queue.yaml as shipped works: in a copy of the layout it
expects (../certs/dev and ../var from its folder), unchanged, its ports and
upstream from the environment as an operator would give them. A record is
answered 202, arrives at the FHIR server, and `cellgate queue --config` finds
the store that the gateway wrote and says the record was delivered."""
import http.client
import json
import os
import pathlib
import shutil
import signal
import ssl
import subprocess

from conftest import BIN, SRC, free_port, outcome, wait_port
from test_outbox import delivered, wait_for, wait_records

CONFIG = "deploy/cellgate.queue.yaml"


def layout(pki, tmp_path):
    """A copy of the repository's layout around the configuration: its
    folder, deploy/cellgate.queue.yaml as shipped in it and certs/dev (the
    development PKI) beside it. Returns the folder."""
    ex = str(tmp_path / "queue")
    os.makedirs(f"{ex}/deploy")
    os.makedirs(f"{ex}/certs")
    os.symlink(pki, f"{ex}/certs/dev")
    shutil.copy(f"{SRC}/{CONFIG}", f"{ex}/{CONFIG}")
    return ex


def environment(upstream=None):
    """The environment with the configuration's variables: free ports, and
    the upstream's base URL when given (else without CELLGATE_UPSTREAM)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLGATE_")}
    env["CELLGATE_PORT"] = str(free_port())
    env["CELLGATE_ADMIN_PORT"] = str(free_port())
    if upstream:
        env["CELLGATE_UPSTREAM"] = upstream
    return env


def run(*args, env, cwd):
    return subprocess.run([BIN, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def post(pki, port, body):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    ctx.load_cert_chain(f"{pki}/ehr.crt", f"{pki}/ehr.key")
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=20)
    conn.request("POST", "/records", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


def stats(env, cwd):
    """`cellgate queue --config CONFIG stats --format json`, parsed."""
    p = run("queue", "--config", CONFIG, "stats", "--format", "json", env=env, cwd=cwd)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_the_queue_configuration_works_as_shipped(pki, tmp_path, fhirstore):
    ex = layout(pki, tmp_path)
    env = environment(f"{fhirstore.url}/fhir")
    port, admin = int(env["CELLGATE_PORT"]), int(env["CELLGATE_ADMIN_PORT"])
    p = run("serve", "--check-config", CONFIG, env=env, cwd=ex)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "configuration OK" in p.stdout

    log = pathlib.Path(f"{ex}/gateway.log")
    with open(log, "w") as err:
        proc = subprocess.Popen([BIN, "serve", "--config", CONFIG, "--mappings",
                                 f"{SRC}/mappings"], cwd=ex, env=env, stderr=err)
    try:
        assert wait_port(port, proc), log.read_text()
        # ready for signals once it says so (see Gateway.start)
        assert wait_for(lambda: '"listening on ' in log.read_text(), 30), log.read_text()
        with open(f"{SRC}/tests/data/records/valid-heart-failure.json", "rb") as f:
            body = f.read()
        record_id = json.loads(body)["recordId"]
        st, h, data = post(pki, port, body)
        assert st == 202, data
        outcome(data)
        assert h["Location"] == f"/transactions/{h['X-Transaction-Id']}"
        assert os.path.exists(f"{ex}/var/outbox.db"), "the store, in var/ at the top"

        s = wait_records(fhirstore, 1)
        assert delivered(s) == [record_id], s
        # the store says so once the forwarder has written the answer down
        got = wait_for(lambda: (lambda d: d if d["total"]["delivered"] == 1 else None)(
            stats(env, ex)), 10) or stats(env, ex)
        assert got["total"]["delivered"] == 1, got
        assert [(d["destination"], d["delivered"], d["dead"], d["queued"])
                for d in got["destinations"]] == [("registry", 1, 0, 0)], got

        # the admin listener, on the loopback at its port
        conn = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
        conn.request("GET", "/readyz")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=40)
    assert code == 0, "a clean stop"
    odd = [x for x in log.read_text().splitlines() if x and not x.startswith("{")]
    assert not odd, odd[:20]


def test_check_config_names_the_unset_variable(pki, tmp_path):
    ex = layout(pki, tmp_path)
    p = run("serve", "--check-config", CONFIG, env=environment(), cwd=ex)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "environment variable CELLGATE_UPSTREAM is not set" in p.stderr, p.stderr
    # and the queue command, reading the same file, finds no store in it
    p = run("queue", "--config", CONFIG, "stats", env=environment(), cwd=ex)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "CELLGATE_UPSTREAM is not set" in p.stderr, p.stderr
