"""Client certificates the handshake or the identity mapping must not accept
(issue 9): a resumed TLS session outliving its client certificate, a subject
with several CNs, a CA certificate presented as a client's."""
import datetime
import os
import socket
import ssl
import subprocess
import time

import pytest

CA_CNF = """
[ ca ]
default_ca = t
[ t ]
dir = {d}
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
certificate = {pki}/ca.crt
private_key = {pki}/ca.key
default_md = sha256
default_days = 30
policy = anything
unique_subject = no
copy_extensions = none
preserve = yes
[ anything ]
commonName = optional
organizationName = optional
[ ext ]
{ext}
"""

CLIENT_EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:{san}
"""


def issue(pki, tmp, name, subj, ext, enddate=None):
    """A certificate signed by the development CA, made with `openssl ca`
    (which, unlike `openssl x509` in OpenSSL 3.0, can set the end date)."""
    d = f"{tmp}/ca-{name}"
    os.makedirs(f"{d}/new")
    open(f"{d}/index.txt", "w").close()
    with open(f"{d}/serial", "w") as f:
        f.write(f"{int(time.time() * 1000) & 0xffffffff:08x}\n")
    with open(f"{d}/ca.cnf", "w") as f:
        f.write(CA_CNF.format(d=d, pki=pki, ext=ext))
    key, crt = f"{tmp}/{name}.key", f"{tmp}/{name}.crt"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key], check=True)
    subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", subj, "-out",
                    f"{d}/req.csr"], check=True)
    dates = []
    if enddate is not None:
        fmt = "%Y%m%d%H%M%SZ"
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
        dates = ["-startdate", start.strftime(fmt), "-enddate", enddate.strftime(fmt)]
    subprocess.run(["openssl", "ca", "-batch", "-config", f"{d}/ca.cnf", "-extensions", "ext",
                    "-preserveDN", "-notext", *dates, "-in", f"{d}/req.csr", "-out", crt],
                   check=True, capture_output=True)
    return crt, key


def client_ctx(gateway, crt, key, version, tickets=True):
    ctx = gateway.context(name=None)
    ctx.load_cert_chain(crt, key)
    ctx.maximum_version = version
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET  # TLS 1.2 resumption by session id only
    return ctx


def wait_log(gateway, text, seconds=5):
    """The gateway's log once it holds text (the server may log a refused
    handshake after the client has seen the alert)."""
    deadline = time.time() + seconds
    while text not in gateway.log_text() and time.time() < deadline:
        time.sleep(0.05)
    return gateway.log_text()


POST = (b"POST /records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\n\r\n{}")


def attempt(gateway, ctx, session=None):
    """One request on a new connection: (status or None when the handshake
    or the connection failed, session reused, the session afterwards)."""
    raw = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    except (ssl.SSLError, OSError):
        raw.close()
        return None, False, None
    with s:
        reused = s.session_reused
        answer = b""
        try:
            s.sendall(POST)
            while b"\r\n\r\n" not in answer:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
            # a TLS 1.3 ticket comes after the handshake: read once more
            s.settimeout(0.3)
            try:
                s.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                pass
        except (ssl.SSLError, OSError):
            return None, reused, None
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None
        sess = s.session
        # a clean close (close_notify): a session closed dirty leaves the
        # server's cache
        s.settimeout(0.5)
        try:
            s.unwrap()
        except (ssl.SSLError, OSError):
            pass
        return status, reused, sess


VARIANTS = {
    "TLS 1.3 ticket": (ssl.TLSVersion.TLSv1_3, True),
    "TLS 1.2 ticket": (ssl.TLSVersion.TLSv1_2, True),
    "TLS 1.2 session id": (ssl.TLSVersion.TLSv1_2, False),
}


def test_resumed_session_does_not_outlive_the_client_certificate(gateway, tmp_path):
    lifetime = 10
    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + \
        datetime.timedelta(seconds=lifetime)
    crt, key = issue(gateway.pki, str(tmp_path), "soon", "/CN=soon",
                     CLIENT_EXT.format(san="ehr.clients.cellgate.test"), enddate=end)
    sessions = {}
    for what, (version, tickets) in VARIANTS.items():
        ctx = client_ctx(gateway, crt, key, version, tickets)
        status, reused, sess = attempt(gateway, ctx)
        assert status in (400, 422) and not reused and sess is not None, (what, status)
        # before the certificate expires, resumption works: the check below
        # really is about a resumed session
        status, reused, _ = attempt(gateway, ctx, sess)
        # The session cache never resumes today (libevent frees a
        # connection's SSL without a close_notify, and OpenSSL then drops its
        # session from the cache); the variant stays, should that change.
        assert status in (400, 422) and (reused or not tickets), (what, status, reused)
        sessions[what] = (ctx, sess)
    wait = end.timestamp() + 1.5 - time.time()
    assert wait > 0, "the certificate expired before the sessions were tried: a slow machine"
    time.sleep(wait)
    for what, (ctx, sess) in sessions.items():
        status, reused, _ = attempt(gateway, ctx, sess)
        assert status is None or status in (401, 403), (what, status, reused)
    assert "certificate has expired" in wait_log(gateway, "certificate has expired")
    # a valid certificate still resumes
    ctx = client_ctx(gateway, f"{gateway.pki}/ehr.crt", f"{gateway.pki}/ehr.key",
                     ssl.TLSVersion.TLSv1_3)
    _, _, sess = attempt(gateway, ctx)
    status, reused, _ = attempt(gateway, ctx, sess)
    assert status in (400, 422) and reused


def test_session_lifetime_is_capped(gateway):
    ctx = client_ctx(gateway, f"{gateway.pki}/ehr.crt", f"{gateway.pki}/ehr.key",
                     ssl.TLSVersion.TLSv1_3)
    _, _, sess = attempt(gateway, ctx)
    # the server's lifetime for the session, sent with its ticket
    assert sess is not None and 0 < sess.ticket_lifetime_hint <= 300, sess.ticket_lifetime_hint


def test_session_lifetime_is_capped_to_the_certificate(gateway, tmp_path):
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60)
    crt, key = issue(gateway.pki, str(tmp_path), "minute", "/CN=minute",
                     CLIENT_EXT.format(san="ehr.clients.cellgate.test"), enddate=end)
    ctx = client_ctx(gateway, crt, key, ssl.TLSVersion.TLSv1_3)
    _, _, sess = attempt(gateway, ctx)
    assert sess is not None and sess.ticket_lifetime_hint <= 60, sess.ticket_lifetime_hint


@pytest.mark.parametrize("subj", ["/CN=registry/CN=evil", "/CN=evil/CN=registry",
                                  "/CN=registry/CN=registry"])
def test_subject_with_several_cns_is_no_subject_cn_match(gateway, tmp_path, subj):
    crt, key = issue(gateway.pki, str(tmp_path), "multi", subj,
                     CLIENT_EXT.format(san="multi.clients.cellgate.test"))
    out = subprocess.run(["openssl", "x509", "-in", crt, "-noout", "-subject", "-nameopt",
                          "RFC2253"], check=True, capture_output=True, text=True).stdout
    assert out.count("CN=") == 2, out
    st, _, _ = gateway.call("POST", "/registry-only", body=b"{}",
                            ctx=gateway.context(cert=crt, key=key))
    assert st == 403, st
    assert "several subject CNs" in wait_log(gateway, "several subject CNs")
    # the registry's own certificate (one CN) still matches
    st, _, _ = gateway.call("POST", "/registry-only", body=b"{}", name="registry")
    assert st in (400, 422), st


@pytest.fixture
def gateway(gateway_factory):
    """The base configuration with a route only the registry (subject_cn) may
    use."""
    return gateway_factory(routes="  - {method: POST, path: /registry-only, accept: record, "
                                  "clients: [registry], destination: files}").start()


def test_ca_certificate_is_no_client(gateway, tmp_path):
    ext = ("basicConstraints = critical, CA:TRUE\n"
           "keyUsage = critical, digitalSignature, keyCertSign\n"
           "extendedKeyUsage = clientAuth\n"
           "subjectAltName = DNS:ehr.clients.cellgate.test\n")
    crt, key = issue(gateway.pki, str(tmp_path), "ca-client", "/CN=ehr", ext)
    ctx = gateway.context(cert=crt, key=key)
    status, _, _ = attempt(gateway, ctx)
    assert status is None, status
    log = wait_log(gateway, "a CA certificate")
    assert "TLS handshake with" in log and "a CA certificate" in log, log[-2000:]
    # the ordinary ehr certificate still works
    status, _, _ = attempt(gateway, gateway.context())
    assert status in (400, 422), status
