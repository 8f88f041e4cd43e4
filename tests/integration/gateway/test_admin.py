"""The admin listener (issue 10): plain HTTP on its own address and port,
for Kubernetes probes and Prometheus scrapers that cannot do mutual TLS;
/healthz, /readyz and /metrics only, off unless configured."""
import http.client
import json
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
