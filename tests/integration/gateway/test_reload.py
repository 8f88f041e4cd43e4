"""SIGHUP: a new configuration (route rules, limits) under load, a client
revoked by its issuer's new CRL (new handshakes and connections already
open), a renewed server certificate, and reloads that are refused (a moved
listener, a broken file) while the gateway goes on as it was.

Each test has a gateway (full_config) of its own; those that change
certificate files have a PKI of their own (own_pki)."""
import http.client
import json
import shutil
import ssl
import threading
import time

from conftest import free_port, full_config, handshake_fails, issuing_ca, openssl, records


def test_sighup_under_load_fails_no_request_and_the_new_rules_hold(full_gateway, receiver):
    gw = full_gateway
    stop = threading.Event()
    results = {"ok": 0, "bad": []}

    def load(seed):
        conn = http.client.HTTPSConnection("localhost", gw.port, context=gw.context(), timeout=20)
        for rec in records(400, seed):
            if stop.is_set():
                break
            try:
                conn.request("POST", "/records", body=json.dumps(rec),
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    results["ok"] += 1
                else:
                    results["bad"].append(resp.status)
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                results["bad"].append(repr(e))
                conn = http.client.HTTPSConnection("localhost", gw.port, context=gw.context(),
                                                   timeout=20)
        conn.close()

    threads = [threading.Thread(target=load, args=(500 + i,)) for i in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    gw.write_config(full_config(receiver.url, extra_clients=", registry"))
    gw.reload(wait=True)
    time.sleep(0.5)  # more requests after the reload
    st, h, data = gw.call("POST", "/records", records(1, 503)[0], name="registry")
    stop.set()
    for t in threads:
        t.join()
    assert not results["bad"] and results["ok"] > 20, (results["ok"], results["bad"][:5])
    assert st == 200, f"after the reload the new route rule holds (registry may post): {st}"


def test_new_limits_hold_after_a_reload_and_are_lifted_by_the_next(full_gateway, receiver):
    gw = full_gateway
    recs = records(2, 510)
    gw.write_config(full_config(receiver.url, max_body=1000))
    gw.reload(wait=True)
    st, h, data = gw.call("POST", "/records", recs[0])
    assert st == 413, f"new connections: 413 past 1000 bytes, not {st}"
    gw.write_config(full_config(receiver.url))
    gw.reload(wait=True)
    st, h, data = gw.call("POST", "/records", recs[1])
    assert st == 200, st


def test_a_client_revoked_by_a_new_crl_is_refused_after_sighup(gateway_factory, receiver,
                                                               own_pki, tmp_path):
    """Revoking a client takes effect with the next reload: its issuer's new
    CRL goes into the CRL file, SIGHUP, and the next handshake is refused;
    on a connection it opened before, the next request is answered 403 and
    the connection closed."""
    ica = issuing_ca(own_pki, str(tmp_path), "issuing-ca", crl=True)
    gw = gateway_factory(pki=own_pki, config=full_config(receiver.url)).start()
    leaf = gw.context("x", f"{ica}/chain.crt", f"{ica}/leaf.key")
    assert handshake_fails(gw, leaf) is None, "the intermediate CA's client, before: accepted"
    open_conn = http.client.HTTPSConnection("localhost", gw.port, context=leaf, timeout=10)
    open_conn.request("GET", "/records")  # a request on a connection kept open: 405, not 403
    first = open_conn.getresponse()
    first.read()

    openssl(["ca", "-config", f"{ica}/ext.cnf", "-revoke", f"{ica}/leaf.crt"],
            ["ca", "-config", f"{ica}/ext.cnf", "-gencrl", "-out", f"{ica}/crl.pem"])
    with open(f"{own_pki}/crl.pem.new", "w") as out:
        for part in (f"{own_pki}/root-crl.pem", f"{ica}/crl.pem"):
            with open(part) as f:
                out.write(f.read())
    shutil.move(f"{own_pki}/crl.pem.new", f"{own_pki}/crl.pem")
    gw.reload(wait=True)

    revoked_err = handshake_fails(gw, leaf)
    gw.wait_log("certificate revoked")
    said = any("certificate revoked" in x.get("msg", "") and "CN=issuing-ca" in x.get("msg", "")
               for x in gw.log())
    assert revoked_err is not None and said, (revoked_err, said)

    open_conn.request("POST", "/records", body=json.dumps(records(1, 520)[0]),
                      headers={"Content-Type": "application/json"})
    again = open_conn.getresponse()
    body = again.read()
    open_conn.close()
    assert first.status == 405 and again.status == 403 and b"no longer accepted" in body and \
        again.getheader("Connection") == "close", (first.status, again.status, body[:200])


def test_a_renewed_server_certificate_is_served_after_sighup(gateway_factory, receiver, own_pki,
                                                            tmp_path):
    """New files at the same paths and SIGHUP: new connections get the new
    certificate, an open one keeps working."""
    gw = gateway_factory(pki=own_pki, config=full_config(receiver.url)).start()
    kept = http.client.HTTPSConnection("localhost", gw.port, context=gw.context(), timeout=10)
    kept.request("GET", "/healthz")
    kept.getresponse().read()

    t = str(tmp_path)
    with open(f"{t}/renew.cnf", "w") as f:
        f.write("[s]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
             f"{t}/renewed.key"],
            ["req", "-new", "-key", f"{t}/renewed.key", "-subj", "/CN=localhost renewed",
             "-out", f"{t}/renewed.csr"],
            ["x509", "-req", "-in", f"{t}/renewed.csr", "-CA", f"{own_pki}/ca.crt", "-CAkey",
             f"{own_pki}/ca.key", "-set_serial", "99", "-days", "30", "-extfile",
             f"{t}/renew.cnf", "-extensions", "s", "-out", f"{t}/renewed.crt"])
    shutil.copy(f"{t}/renewed.key", f"{own_pki}/server.key")
    shutil.copy(f"{t}/renewed.crt", f"{own_pki}/server.crt")
    gw.reload(wait=True)

    with gw.tls() as tls:
        served = tls.getpeercert(binary_form=True)
    with open(f"{t}/renewed.crt") as f:
        renewed = ssl.PEM_cert_to_DER_cert(f.read())
    kept.request("GET", "/healthz")
    kept_status = kept.getresponse().status
    kept.close()
    assert served == renewed and kept_status == 200, (served == renewed, kept_status)


def test_a_reload_that_moves_a_listener_is_refused(full_gateway, receiver):
    """Moving a listener needs a restart: such a reload is refused (logged),
    and the old configuration keeps serving."""
    gw = full_gateway
    gw.write_config(full_config(receiver.url).replace("{port_rsa}", str(free_port())))
    gw.reload(wait=True)
    st, h, data = gw.call("POST", "/records", records(1, 530)[0], port=gw.port_rsa)
    refused = "restart to apply" in gw.log_text()
    assert st == 200 and refused, (st, refused)


def test_a_broken_configuration_is_refused_and_the_old_one_serves(full_gateway):
    gw = full_gateway
    with open(gw.config, "a") as f:
        f.write("bogus: 1\n")
    gw.reload(wait=True)
    st, h, data = gw.call("GET", "/healthz")
    assert st == 200 and gw.proc.poll() is None
    assert "still serving with the previous one" in gw.log_text()

