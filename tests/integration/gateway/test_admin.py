"""The admin listener (issue 10): plain HTTP on its own address and port,
for Kubernetes probes and Prometheus scrapers that cannot do mutual TLS;
/healthz, /readyz and /metrics only, off unless configured."""
import http.client
import json
import os
import re
import socket
import subprocess
import time

from conftest import BASE_CONFIG, BIN, LISTENER, SRC, Gateway, free_port


def admin_config(port, extra=""):
    return BASE_CONFIG.format(listeners=LISTENER, routes="", destinations="",
                              limits="  max_connections: 64", workers=2) + \
        f"admin:\n  port: {port}\n{extra}"


def plain(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def test_probes_and_metrics_over_plain_http(gateway_factory):
    port = free_port()
    gw = gateway_factory(config=admin_config(port)).start()
    assert any("admin listener on 127.0.0.1" in x["msg"] for x in gw.log())
    st, _, data = plain(port, "GET", "/healthz")
    assert st == 200 and json.loads(data) == {"status": "ok"}
    st, _, data = plain(port, "GET", "/readyz")
    assert st == 200
    gw.call("POST", "/records/$validate", {"not": "a record"})
    st, h, data = plain(port, "GET", "/metrics")
    assert st == 200 and h["Content-Type"].startswith("text/plain")
    assert 'cellgate_requests_total{endpoint="validate",route="/records",status="422"}' in \
        data.decode()
    st, h, data = plain(port, "HEAD", "/metrics")
    assert st == 200 and data == b""
    # Nothing else: no route, no FHIR, no ingest over plain HTTP.
    for method, path in [("POST", "/records"), ("GET", "/fhir-files/metadata"),
                         ("GET", "/")]:
        st, _, data = plain(port, method, path, b"{}" if method == "POST" else None)
        assert st == 404 and json.loads(data)["resourceType"] == "OperationOutcome", path
    st, h, data = plain(port, "POST", "/healthz", b"")
    assert st == 405 and h.get("Allow") == "GET, HEAD"
    # The TLS listener still serves them too.
    assert gw.call("GET", "/healthz")[0] == 200


def test_off_unless_configured(gateway_factory):
    gw = gateway_factory().start()
    assert not any("admin listener" in x["msg"] for x in gw.log())


def test_a_reload_cannot_move_it(gateway_factory):
    port = free_port()
    gw = gateway_factory(config=admin_config(port)).start()
    with open(gw.config) as f:
        text = f.read()
    with open(gw.config, "w") as f:
        f.write(text.replace(f"port: {port}\n", f"port: {free_port()}\n"))
    gw.reload()
    deadline = time.time() + 5
    while time.time() < deadline and not any("admin listener's" in x["msg"] for x in gw.log()):
        time.sleep(0.05)
    assert any("admin listener's" in x["msg"] and x["level"] == "error" for x in gw.log())
    assert plain(port, "GET", "/healthz")[0] == 200


def test_a_port_in_use_stops_the_start(pki, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    gw = Gateway(pki, str(tmp_path / "gw"), config=admin_config(port))
    r = subprocess.run([BIN, "serve", "--config", gw.config, "--mappings", f"{SRC}/mappings"],
                       cwd=gw.dir, capture_output=True, text=True, timeout=20)
    s.close()
    assert r.returncode == 1 and f"admin listener 127.0.0.1:{port}" in r.stderr, r.stderr


def mappings_with(work, invariants):
    """A copy of the mappings (links) whose fhir-r4/invariants.json holds
    only the invariants given (path, key, expression), on Observation."""
    top = f"{SRC}/mappings"
    os.makedirs(f"{work}/fhir-r4")
    for n in os.listdir(top):
        if n != "fhir-r4":
            os.symlink(f"{top}/{n}", f"{work}/{n}")
    for n in os.listdir(f"{top}/fhir-r4"):
        if n != "invariants.json":
            os.symlink(f"{top}/fhir-r4/{n}", f"{work}/fhir-r4/{n}")
    with open(f"{top}/fhir-r4/invariants.json") as f:
        doc = json.load(f)
    doc["invariants"] = {"Observation": [
        {"path": p, "key": k, "severity": "error", "human": k, "expression": e}
        for p, k, e in invariants]}
    with open(f"{work}/fhir-r4/invariants.json", "w") as f:
        json.dump(doc, f)
    return work


def test_invariants_not_evaluated_on_metrics(gateway_factory, tmp_path):
    """An invariant the engine cannot evaluate is not reported as broken,
    but counted per invariant on /metrics (key and type from the
    definitions, nothing of the resource), as is one that does not
    compile."""
    m = mappings_with(str(tmp_path / "m"), [
        ("", "tst-1", "code.coding.single().exists()"),  # errs on two codings
        ("", "tst-2", "code.coding.("),                  # does not compile
        ("", "tst-3", "status.exists()"),                # holds
    ])
    port = free_port()
    gw = gateway_factory(config=admin_config(port)).start(args=("--mappings", m))
    st, _, data = plain(port, "GET", "/metrics")
    text = data.decode()
    assert st == 200
    assert "# TYPE cellgate_fhir_invariant_not_evaluated_total counter" in text
    assert "cellgate_fhir_invariant_not_evaluated_total{" not in text
    assert "cellgate_fhir_invariants_not_compiled 1" in text
    obs = {"resourceType": "Observation", "id": "o1", "status": "final",
           "text": {"status": "generated",
                    "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"},
                               {"system": "http://loinc.org", "code": "8480-6"}]},
           "subject": {"reference": "Patient/Zelda"}}
    for _ in range(2):
        st, _, data = gw.call("POST", "/fhir-files/Observation/$validate", obs,
                              ctype="application/fhir+json")
        assert st == 200, data
        assert "tst-1" not in data.decode()
    text = plain(port, "GET", "/metrics")[2].decode()
    assert re.search(r'(?m)^cellgate_fhir_invariant_not_evaluated_total'
                     r'\{key="tst-1",on="Observation"\} 2$', text), text
    assert "tst-3" not in text and "Zelda" not in text
