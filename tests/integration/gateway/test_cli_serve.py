"""`cellgate serve --listen ADDR:PORT`: the first listener on another address
and port than the configuration's, at start and across SIGHUP reloads (a
reload compares the listeners with the running ones: the override must apply
to the reloaded configuration too, or every reload would look like a move)."""
import json
import socket
import subprocess
import time

import pytest

from conftest import BIN, SRC, free_port, records

RELOADED = "reload: configuration, mappings and certificates loaded"
MOVED = "reload: the listeners' addresses or ports changed"


def wait_log(g, text, times=1, seconds=10):
    """Whether text is in the log (times times) within seconds."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if g.log_text().count(text) >= times:
            return True
        time.sleep(0.05)
    return False


def refused(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return True
    return False


def started_elsewhere(gateway_factory, address="127.0.0.1", spell=None):
    """A gateway whose configuration says one port, started with --listen on
    another; returns it and the configured port."""
    g = gateway_factory()
    configured = g.port
    g.port = free_port()
    assert g.port != configured
    g.start(args=["--listen", spell or f"{address}:{g.port}"])
    return g, configured


def test_listen_moves_the_first_listener(gateway_factory):
    g, configured = started_elsewhere(gateway_factory)
    st, _, data = g.call("GET", "/healthz")
    assert st == 200, data
    rec = records(1, 41)[0]
    st, _, data = g.call("POST", "/records", body=rec)
    assert st in (200, 201), data
    assert [r["recordId"] for r in g.stored()] == [rec["recordId"]]
    assert refused(configured), "the configured port is listening too"
    assert f"listening on 127.0.0.1:{g.port} " in g.log_text()


def test_reload_keeps_the_listen_override(gateway_factory):
    g, configured = started_elsewhere(gateway_factory)
    for n in (1, 2):
        g.reload()
        assert wait_log(g, RELOADED, times=n), g.log_text()
    assert MOVED not in g.log_text(), g.log_text()
    st, _, data = g.call("GET", "/healthz")
    assert st == 200, data
    assert refused(configured)


def test_reload_still_refuses_a_real_move(gateway_factory):
    """With --listen, a reload whose configuration moves another part of the
    first listener (its address here) is still refused."""
    g, _ = started_elsewhere(gateway_factory)
    with open(g.config) as f:
        text = f.read()
    # A second listener where there was none: a change --listen does not cover.
    extra = f"""
  - address: 127.0.0.1
    port: {free_port()}
    certificate: pki/server.crt
    key: pki/server.key
    client_ca: pki/ca.crt
"""
    with open(g.config, "w") as f:
        f.write(text.replace("\nclients:", extra.rstrip("\n") + "\nclients:", 1))
    g.reload()
    assert wait_log(g, MOVED), g.log_text()
    st, _, _ = g.call("GET", "/healthz")
    assert st == 200


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_listen_ipv6(gateway_factory):
    g = gateway_factory()
    port = free_port()
    g.port = port
    g.stderr = open(g.stderr_path, "w")
    # wait_port (conftest) tries 127.0.0.1: start by hand and wait on ::1.
    g.proc = subprocess.Popen(
        [BIN, "serve", "--config", g.config, "--mappings", f"{SRC}/mappings",
         "--listen", f"[::1]:{port}"], cwd=g.dir, stderr=g.stderr)
    deadline = time.time() + 10
    while time.time() < deadline and refused(port, "::1"):
        assert g.proc.poll() is None, g.log_text()
        time.sleep(0.05)
    raw = socket.create_connection(("::1", port), timeout=10)
    with g.context().wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {"status": "ok"}
    assert f"listening on ::1:{port} " in g.log_text()
    g.reload()
    assert wait_log(g, RELOADED), g.log_text()
