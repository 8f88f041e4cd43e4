"""Who may connect, and how: client certificates (none, expired, revoked,
from a foreign CA, from intermediate CAs with and without their CRL), the
client rules of a route, protocol versions with openssl s_client and curl,
session resumption, and how failed handshakes are counted and logged.

The tests share one gateway (full_config) whose CRL file holds the
development CA's CRL and that of one intermediate CA (hospital_pki)."""
import json
import re
import socket
import subprocess
import time

import pytest

from conftest import full_config, handshake_fails, outcome, records, s_client


@pytest.fixture(scope="module")
def gw(module_gateway_factory, module_receiver, hospital_pki):
    return module_gateway_factory(pki=hospital_pki,
                                  config=full_config(module_receiver.url)).start()


def ica_context(gw, name):
    """A client context with the ehr certificate of an intermediate CA of
    hospital_pki, chain sent."""
    return gw.context("x", f"{gw.pki}/{name}/chain.crt", f"{gw.pki}/{name}/leaf.key")


def test_both_listeners_serve(gw):
    for port in (gw.port, gw.port_rsa):
        assert gw.call("GET", "/healthz", port=port)[0] == 200, port


def test_a_client_not_allowed_on_a_route_is_403(gw):
    st, h, data = gw.call("POST", "/records", records(1, 301)[0], name="registry")
    assert st == 403 and outcome(data)["issue"][0]["code"] == "forbidden", (st, data[:300])


REFUSED = ["no-certificate", "expired", "revoked", "foreign-ca", "intermediate-without-crl"]


def refused_context(gw, which, stranger):
    if which == "no-certificate":
        return gw.context(None)
    if which in ("expired", "revoked"):
        return gw.context(which)
    if which == "foreign-ca":
        return gw.context("x", *stranger)
    return ica_context(gw, "other-issuing-ca")


@pytest.mark.parametrize("which", REFUSED)
def test_the_handshake_fails(gw, stranger, which):
    """No client certificate, an expired one, a revoked one, one from a CA
    the gateway does not trust, one from an intermediate CA whose CRL the
    gateway lacks: the handshake fails."""
    assert handshake_fails(gw, refused_context(gw, which, stranger))


def test_an_intermediate_cas_client_with_its_crl_loaded_is_accepted(gw):
    assert handshake_fails(gw, ica_context(gw, "issuing-ca")) is None


def handshake_failures(gw):
    text = gw.call("GET", "/metrics")[2].decode()
    return int(re.search(r"(?m)^cellgate_tls_handshake_failures_total (\d+)", text).group(1))


def plain_http(gw):
    with socket.create_connection(("127.0.0.1", gw.port)) as raw:
        raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        raw.settimeout(5)
        try:
            raw.recv(100)
        except OSError:
            pass


def test_a_tcp_connection_closed_before_any_byte_is_no_failed_handshake(gw):
    before = handshake_failures(gw)
    socket.create_connection(("127.0.0.1", gw.port)).close()  # a load balancer's TCP check
    time.sleep(0.5)
    after = handshake_failures(gw)
    assert after == before, f"{before} -> {after}"


def test_plain_http_to_the_tls_port_is_a_failed_handshake(gw):
    before = handshake_failures(gw)
    plain_http(gw)
    deadline = time.time() + 5  # counted once the worker is done with it
    while handshake_failures(gw) == before and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert handshake_failures(gw) == before + 1


def test_failed_handshakes_are_logged_with_reason_and_names(gw, stranger):
    for which in REFUSED:
        handshake_fails(gw, refused_context(gw, which, stranger))
    plain_http(gw)
    wanted = [("certificate has expired, subject /CN=expired",),
              ("certificate revoked, subject /CN=revoked",),
              ("unable to get certificate CRL", "CN=other-issuing-ca"),
              ("certificate required",),
              ("plain HTTP sent to a TLS port",)]

    def missing():
        # two workers: the client may see its alert before the log line is written
        refusals = [x["msg"] for x in gw.log() if "TLS handshake with" in x.get("msg", "")]
        return [w for w in wanted if not any(all(p in m for p in w) for m in refusals)], refusals

    deadline = time.time() + 10
    while missing()[0] and time.time() < deadline:
        time.sleep(0.05)
    lacking, refusals = missing()
    assert not lacking, (lacking, "\n".join(refusals))


def test_openssl_s_client_tls1_1_is_refused_with_a_protocol_version_alert(gw):
    r = s_client(gw, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert r.returncode != 0 and "alert protocol version" in r.stderr, r.stderr[-300:]


def test_openssl_s_client_tls1_2_ecdhe(gw):
    r = s_client(gw, "-tls1_2")
    assert r.returncode == 0 and "Protocol  : TLSv1.2" in r.stdout and "ECDHE" in r.stdout, \
        r.stdout[-500:]


def test_openssl_s_client_tls1_3(gw):
    r = s_client(gw, "-tls1_3")
    assert r.returncode == 0 and "TLSv1.3" in r.stdout, r.stdout[-500:]


def curl(gw, *args):
    return subprocess.run(["curl", "-sS", "--cacert", f"{gw.pki}/ca.crt", "--cert",
                           f"{gw.pki}/ehr.crt", "--key", f"{gw.pki}/ehr.key", *args],
                          capture_output=True, text=True, timeout=20)


def test_curl_with_tls_1_0_to_1_1_only_is_refused(gw):
    r = curl(gw, "--tlsv1.0", "--tls-max", "1.1", f"https://localhost:{gw.port}/healthz")
    assert r.returncode != 0, r.stdout


def test_curl_with_a_client_certificate_is_accepted(gw):
    r = curl(gw, "--fail-with-body", "-H", "Content-Type: application/json", "--data-binary",
             json.dumps(records(1, 302)[0]), f"https://localhost:{gw.port}/records")
    assert r.returncode == 0 and "accepted" in r.stdout, r.stderr


def test_tls_session_resumption(gw):
    """The second connection of openssl s_client -reconnect reuses the session."""
    r = s_client(gw, "-tls1_2", "-reconnect")
    assert r.stdout.count("Reused, TLSv1.2") >= 1, r.stdout[-400:]
