"""Reaching registries their own way (issue 13), through the running
gateway and its outbox, against the local test servers: an OAuth2 token
endpoint (oauth_server.py), a FHIR server that demands Bearer tokens and can
refuse conditional creates, cap Bundles and expire tokens (fhirstore.py),
and an HTTP CONNECT proxy (connect_proxy.py)."""
import json
import os
import subprocess
import time

from conftest import BIN, SRC, free_port, private_pem, rsa_key, ec_key, records
from test_outbox import ROUTES, post, wait_for

CLIENT = "cellgate-hospital-1"
SECRET = "s3cret/with+odd=chars"


def dest(store, auth=None, extra="", delivery=None):
    d = {"linger_ms": 5, "backoff_initial_ms": 200, "backoff_max_ms": 1000}
    d.update(delivery or {})
    text = (f"  registry:\n    type: fhir\n    url: {store.fhir_url}\n    ca: pki/ca.crt\n"
            f"    timeout_ms: 3000\n    delivery: {json.dumps(d)}\n")
    if auth:
        text += "    auth:\n" + "".join(f"      {k}: {json.dumps(v)}\n" for k, v in auth.items())
    return text + extra


def oauth2(oauth, method="client_secret_basic", secret=SECRET):
    return {"type": "oauth2-client-credentials", "token_url": oauth.token_url,
            "client_id": CLIENT, "client_secret": secret, "method": method,
            "ca": "pki/ca.crt"}


def gateway(gateway_factory, text):
    return gateway_factory(routes=ROUTES, destinations=text, workers=2).start()


def delivered_procedures(store, n, seconds=30):
    return wait_for(lambda: (lambda r: r if len(r) >= n else None)(
        store.resources("Procedure")), seconds) or store.resources("Procedure")


def queue_list(gw, state):
    p = subprocess.run([BIN, "queue", "--config", gw.config, "--format", "json", "list",
                        "--state", state], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["messages"]


def test_one_token_for_many_messages(gateway_factory, oauth, bearer_fhirstore):
    oauth.control(clients={CLIENT: {"secret": SECRET}})
    for method in ("client_secret_basic", "client_secret_post"):
        oauth.control(reset=True)
        oauth.control(clients={CLIENT: {"secret": SECRET}})
        gw = gateway(gateway_factory, dest(bearer_fhirstore, oauth2(oauth, method)))
        recs = records(40, 1601 if method.endswith("basic") else 1602)
        for i in range(0, 40, 4):  # ten requests, several batches
            st, _, body = post(gw, recs[i:i + 4])
            assert st == 202, body
        have = delivered_procedures(bearer_fhirstore, 40 if method.endswith("basic") else 80)
        assert len(have) >= 40
        s = oauth.state()
        assert s["token_requests"] == 1, s  # one token for forty records
        assert s["by_method"] == {method: 1}, s
        assert SECRET not in gw.log_text()
        assert gw.stop() == 0


def test_expiry_refresh_and_401_recovery(gateway_factory, oauth, bearer_fhirstore):
    oauth.control(clients={CLIENT: {"secret": SECRET}}, expires_in=2)
    gw = gateway(gateway_factory, dest(bearer_fhirstore, oauth2(oauth)))
    recs = records(6, 1603)
    st, _, _ = post(gw, recs[:2])
    assert st == 202
    delivered_procedures(bearer_fhirstore, 2)
    time.sleep(2.2)  # past its expires_in: a new token before the next call
    st, _, _ = post(gw, recs[2:4])
    assert st == 202
    delivered_procedures(bearer_fhirstore, 4)
    assert oauth.state()["token_requests"] == 2
    # the server revokes tokens early: a 401, a new token, the same request again
    oauth.control(expires_in=300)
    bearer_fhirstore.control(expire_tokens=True)
    st, _, _ = post(gw, recs[4:6])
    assert st == 202
    assert len(delivered_procedures(bearer_fhirstore, 6)) == 6
    s = bearer_fhirstore.state()
    assert s["unauthorized"] >= 1, s
    assert oauth.state()["token_requests"] == 3
    assert not queue_list(gw, "dead")


def test_wrong_secret_is_dead_with_a_reason(gateway_factory, oauth, bearer_fhirstore):
    oauth.control(clients={CLIENT: {"secret": SECRET}})
    gw = gateway(gateway_factory, dest(bearer_fhirstore, oauth2(oauth, secret="Zx9-not-the-secret")))
    recs = records(10, 1604)
    st, _, body = post(gw, recs)
    assert st == 202, body  # accepted: the outbox keeps what it cannot send
    dead = wait_for(lambda: (lambda d: d if len(d) == 10 else None)(queue_list(gw, "dead")), 30)
    assert dead and all("token endpoint refused the client" in m["reason"] for m in dead), dead
    assert all("invalid_client" in m["reason"] for m in dead), dead[0]["reason"]
    # not retried for ever: one token request per batch at most, then nothing
    n = oauth.state()["token_requests"]
    assert 1 <= n <= 10, n
    time.sleep(1.5)
    assert oauth.state()["token_requests"] == n
    assert "Zx9-not-the-secret" not in gw.log_text()
    st, _, m = gw.call("GET", "/metrics")
    assert 'cellgate_auth_token_requests_total{outcome="refused"} ' + str(n) in m.decode(), \
        m.decode()[-3000:]


def test_token_endpoint_down_is_retried(gateway_factory, oauth, bearer_fhirstore):
    oauth.control(clients={CLIENT: {"secret": SECRET}}, down=True)
    gw = gateway(gateway_factory, dest(bearer_fhirstore, oauth2(oauth)))
    st, _, _ = post(gw, records(3, 1605))
    assert st == 202
    wait_for(lambda: oauth.state()["token_requests"] >= 2, 20)
    assert not queue_list(gw, "dead")
    oauth.control(down=False)
    assert len(delivered_procedures(bearer_fhirstore, 3)) == 3


def smart_key(gw_dir, kind):
    key = rsa_key() if kind == "RS384" else ec_key()
    path = f"{gw_dir}/smart-{kind}.pem"
    pem = private_pem(key)
    with open(path, "wb" if isinstance(pem, bytes) else "w") as f:
        f.write(pem)
    os.chmod(path, 0o600)
    return path


def test_smart_backend_services(gateway_factory, oauth, bearer_fhirstore):
    for alg in ("RS384", "ES384"):
        oauth.control(reset=True)
        admin = free_port()
        kid = f"cellgate-{alg.lower()}"
        text = dest(bearer_fhirstore, {
            "type": "smart-backend", "token_url": oauth.token_url, "client_id": CLIENT,
            "private_key": f"smart-{alg}.pem", "kid": kid, "jwks_path": "/jwks.json",
            "ca": "pki/ca.crt"}) + f"admin:\n  address: 127.0.0.1\n  port: {admin}\n"
        gw = gateway_factory(routes=ROUTES, destinations=text, workers=2)
        smart_key(gw.dir, alg)
        gw.start()
        # the token endpoint knows the gateway's key from the JWKS it publishes
        oauth.control(clients={CLIENT: {"jwks_url": f"http://127.0.0.1:{admin}/jwks.json"}})
        recs = records(6, 1606 if alg == "RS384" else 1607)
        for r in recs:
            st, _, body = post(gw, [r])
            assert st == 202, body
        n = 6 if alg == "RS384" else 12
        assert len(delivered_procedures(bearer_fhirstore, n)) >= n
        s = oauth.state()
        assert s["by_method"] == {"private_key_jwt": 1}, s
        assert not s["refused"], s
        assert gw.stop() == 0


def test_through_a_proxy(gateway_factory, oauth, bearer_fhirstore, connect_proxy_factory):
    proxy = connect_proxy_factory(credentials="gw:pr0xy")
    oauth.control(clients={CLIENT: {"secret": SECRET}})
    text = dest(bearer_fhirstore, oauth2(oauth),
                extra=f"    proxy: {proxy.url}\n    proxy_auth: gw:pr0xy\n")
    gw = gateway(gateway_factory, text)
    st, _, _ = post(gw, records(3, 1608))
    assert st == 202
    assert len(delivered_procedures(bearer_fhirstore, 3)) == 3
    s = proxy.settled()
    targets = s["targets"]
    assert f"127.0.0.1:{bearer_fhirstore.port}" in targets, s  # the FHIR server, by CONNECT
    assert f"127.0.0.1:{oauth.port}" in targets, s  # and the token endpoint
    assert s["refused"] == 0 and s["tunnels"] >= 2, s


def test_search_then_create_leaves_no_duplicate(gateway_factory, fhirstore):
    # a CIBMTR-like server: no conditional create; its first answer comes
    # after the gateway has given up, though it took the transaction
    fhirstore.control(conditional=False, delay_first=4)
    text = dest(fhirstore, None, extra="    certificate: pki/registry.crt\n"
                "    key: pki/registry.key\n    create: search-then-create\n")
    gw = gateway(gateway_factory, text)
    recs = records(2, 1609)
    st, _, _ = post(gw, recs)
    assert st == 202
    wait_for(lambda: len(fhirstore.resources("Procedure")) >= 2 and
             not queue_list(gw, "queued") and not queue_list(gw, "in-flight"), 40)
    s = fhirstore.state()
    assert s["refusals"].get("conditional", 0) == 0, s  # no ifNoneExist was sent
    assert not any(s["duplicates_by_identifier"].values()), s["duplicated"]
    assert len(fhirstore.resources("Procedure")) == 2
    assert not queue_list(gw, "dead")


def test_bundles_cut_at_the_caps(gateway_factory, fhirstore):
    fhirstore.control(max_entries=5, max_observations=3, check_references=True)
    text = dest(fhirstore, None, extra="    certificate: pki/registry.crt\n"
                "    key: pki/registry.key\n    max_entries: 5\n    max_observations: 3\n")
    gw = gateway(gateway_factory, text)
    with open(f"{SRC}/tests/data/records/valid-heart-failure.json") as f:
        rec = json.load(f)
    st, _, body = post(gw, [rec])
    assert st == 202, body
    obs = wait_for(lambda: (lambda o: o if len(o) >= 7 else None)(
        fhirstore.resources("Observation")), 30)
    assert obs and len(obs) == 7
    procs = fhirstore.resources("Procedure")
    assert len(procs) == 1
    # every Observation's focus resolved to the one Procedure
    assert {o["focus"][0]["reference"] for o in obs} == {f"Procedure/{procs[0]['id']}"}
    s = fhirstore.state()
    assert not s["refusals"], s
    assert not queue_list(gw, "dead")


def test_subject_resolved_and_tags(gateway_factory, fhirstore):
    fhirstore.control(require_security={"system": "http://cibmtr.org/codesystem/transplant-center",
                                        "code": "rc_10001"})
    text = dest(fhirstore, None, extra=(
        "    certificate: pki/registry.crt\n    key: pki/registry.key\n"
        "    create: search-then-create\n    subject: resolve\n    create_patient: true\n"
        "    tags:\n      security: [{system: 'http://cibmtr.org/codesystem/transplant-center',"
        " code: rc_10001}]\n"))
    gw = gateway(gateway_factory, text)
    recs = records(2, 1610)
    recs[1]["patient"] = recs[0]["patient"]  # one patient, two records
    for r in recs:
        st, _, body = post(gw, [r])
        assert st == 202, body
    procs = delivered_procedures(fhirstore, 2)
    pats = fhirstore.resources("Patient")
    assert len(pats) == 1, pats  # created once, found the second time
    assert {p["subject"]["reference"] for p in procs} == {f"Patient/{pats[0]['id']}"}
    assert not fhirstore.state()["refusals"], fhirstore.state()["refusals"]


def test_check_destination(gateway_factory, oauth, bearer_fhirstore, fhirstore):
    oauth.control(clients={CLIENT: {"secret": SECRET}})
    gw = gateway_factory(routes=ROUTES, destinations=dest(bearer_fhirstore, oauth2(oauth)))
    p = subprocess.run([BIN, "check-destination", "--config", gw.config, "registry"],
                       capture_output=True, text=True)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    for line in ("ok   resolve", "ok   token", "ok   connect: GET metadata answered 200",
                 "ok   FHIR R4", "ok   transaction", "ok   Procedure create"):
        assert line in p.stdout, p.stdout
    assert bearer_fhirstore.state()["resources"] == {} or \
        not any(bearer_fhirstore.state()["resources"].values())  # nothing sent
    # a server without conditional create, for a destination that needs it
    fhirstore.control(conditional=False)
    gw2 = gateway_factory(routes=ROUTES, destinations=dest(
        fhirstore, None, extra="    certificate: pki/registry.crt\n    key: pki/registry.key\n"))
    p = subprocess.run([BIN, "check-destination", "--config", gw2.config, "registry"],
                       capture_output=True, text=True)
    print(p.stdout)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAIL Procedure conditional create" in p.stdout
    assert "search-then-create" in p.stdout  # what to do about it
    # the same server for a destination that searches first: fine
    gw3 = gateway_factory(routes=ROUTES, destinations=dest(
        fhirstore, None, extra="    certificate: pki/registry.crt\n    key: pki/registry.key\n"
        "    create: search-then-create\n    subject: resolve\n    create_patient: true\n"))
    p = subprocess.run([BIN, "check-destination", "--config", gw3.config, "registry"],
                       capture_output=True, text=True)
    print(p.stdout)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok   Observation search by identifier" in p.stdout
    assert "ok   Patient search by identifier" in p.stdout
    # a wrong secret says so, before any patient data
    oauth.control(clients={CLIENT: {"secret": "other"}})
    p = subprocess.run([BIN, "check-destination", "--config", gw.config, "registry"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "FAIL token" in p.stdout and "invalid_client" in p.stdout, \
        p.stdout


def test_update_changed(gateway_factory, fhirstore):
    fhirstore.control(conditional=False)
    text = dest(fhirstore, None, extra="    certificate: pki/registry.crt\n"
                "    key: pki/registry.key\n    create: search-then-create\n"
                "    update_changed: true\n")
    gw = gateway(gateway_factory, text)
    with open(f"{SRC}/tests/data/records/valid-heart-failure.json") as f:
        rec = json.load(f)
    st, _, _ = post(gw, [rec])
    assert st == 202
    wait_for(lambda: len(fhirstore.resources("Observation")) >= 7, 30)
    rec["outcomes"][0]["value"] = 33  # a corrected LVEF, sent again
    st, _, _ = post(gw, [rec])
    assert st == 202

    def corrected():
        lvef = [o for o in fhirstore.resources("Observation")
                if o["identifier"][0]["value"].endswith("/lvef-bl")]
        return lvef if lvef and lvef[0]["valueQuantity"]["value"] == 33 else None
    lvef = wait_for(corrected, 30)
    assert lvef and len(lvef) == 1, fhirstore.resources("Observation")
    assert len(fhirstore.resources("Observation")) == 7  # updated, not duplicated
    assert not queue_list(gw, "dead")


def test_plain_create(gateway_factory, fhirstore):
    # a server that refuses conditional create, a destination that sends
    # plain creates: no ifNoneExist, no searches, delivered
    fhirstore.control(conditional=False)
    text = dest(fhirstore, None, extra="    certificate: pki/registry.crt\n"
                "    key: pki/registry.key\n    create: plain\n")
    gw = gateway(gateway_factory, text)
    st, _, _ = post(gw, records(3, 1611))
    assert st == 202
    assert len(delivered_procedures(fhirstore, 3)) == 3
    s = fhirstore.state()
    assert not s["refusals"] and s["searches"] == 0, s
    assert not queue_list(gw, "dead")

def test_stop_while_waiting_for_a_token(gateway_factory, oauth, bearer_fhirstore):
    # the token endpoint answers after the stop's grace (5 s): the batch
    # waiting for its token is dropped with the loop, and freed cleanly
    # (stop_all fails on a sanitizer's report)
    oauth.control(clients={CLIENT: {"secret": SECRET}}, delay=9)
    text = dest(bearer_fhirstore, oauth2(oauth)).replace("timeout_ms: 3000", "timeout_ms: 20000")
    gw = gateway(gateway_factory, text)
    st, _, _ = post(gw, records(2, 1611))
    assert st == 202
    assert wait_for(lambda: oauth.state()["token_requests"] >= 1, 10)
    assert gw.stop() == 0, gw.log_text()[-3000:]
    assert "ERROR: AddressSanitizer" not in gw.log_text()


def test_a_huge_expires_in_still_caches_the_token(gateway_factory, oauth, bearer_fhirstore):
    # a token endpoint that says its tokens last (nearly) for ever: kept,
    # not fetched again for every message (an overflow made it expired)
    oauth.control(clients={CLIENT: {"secret": SECRET}}, expires_in=10 ** 17)
    gw = gateway(gateway_factory, dest(bearer_fhirstore, oauth2(oauth)))
    recs = records(3, 1612)
    for i, r in enumerate(recs):
        st, _, body = post(gw, [r])
        assert st == 202, body
        delivered_procedures(bearer_fhirstore, i + 1)
    assert len(bearer_fhirstore.resources("Procedure")) == 3
    assert oauth.state()["token_requests"] == 1, oauth.state()


def resolving(fhirstore):
    return dest(fhirstore, None, extra=(
        "    certificate: pki/registry.crt\n    key: pki/registry.key\n"
        "    create: search-then-create\n    subject: resolve\n    create_patient: true\n"))


def test_subject_matching_two_patients_is_refused(gateway_factory, fhirstore):
    # the registry holds two Patients with the subject's identifier: the
    # record is nobody's to guess, not given to the first one found
    gw = gateway(gateway_factory, resolving(fhirstore))
    recs = records(2, 1623)
    recs[1]["patient"] = recs[0]["patient"]
    st, _, body = post(gw, [recs[0]])
    assert st == 202, body
    delivered_procedures(fhirstore, 1)
    pat = fhirstore.resources("Patient")[0]
    twin = {k: v for k, v in pat.items() if k not in ("id", "meta")}
    st, _, _ = fhirstore.fhir("PUT", "/Patient/twin", dict(twin, id="twin"))
    assert st in (200, 201)
    st, _, body = post(gw, [recs[1]])
    assert st == 202, body
    dead = wait_for(lambda: queue_list(gw, "dead"), 20)
    assert dead and "2 Patients" in dead[0]["reason"], dead
    assert len(fhirstore.resources("Procedure")) == 1


def test_search_answers_not_taken_blindly(gateway_factory, fhirstore):
    # what a search finds is used only when it is a match of the type
    # searched with a FHIR id: an id with a slash or a query would make
    # a reference (and a PUT's URL) of the server's choosing
    gw = gateway(gateway_factory, resolving(fhirstore))
    recs = records(1, 1614)
    st, _, body = post(gw, recs)
    assert st == 202, body
    delivered_procedures(fhirstore, 1)
    pat = fhirstore.resources("Patient")[0]
    st, _, _ = fhirstore.fhir("DELETE", f"/Patient/{pat['id']}")
    assert st in (200, 204)
    odd = {k: v for k, v in pat.items() if k not in ("id", "meta")}
    st, _, _ = fhirstore.fhir("PUT", "/Patient/a%3Fx", dict(odd, id="a%3Fx"))
    assert st in (200, 201)
    assert [p["id"] for p in fhirstore.resources("Patient")] == ["a%3Fx"]
    recs2 = records(2, 1615)[1:]
    recs2[0]["patient"] = recs[0]["patient"]
    st, _, body = post(gw, recs2)
    assert st == 202, body
    dead = wait_for(lambda: queue_list(gw, "dead"), 20)
    procs = fhirstore.resources("Procedure")
    assert len(procs) == 1, [p["subject"] for p in procs]  # the second not given to it
    assert dead and "id" in dead[0]["reason"], dead


def test_environment_no_proxy_is_ignored(gateway_factory, oauth, bearer_fhirstore,
                                         connect_proxy_factory):
    # the configured proxy, and only the configuration's no_proxy: the
    # gateway's environment (NO_PROXY=*) must not bypass it
    proxy = connect_proxy_factory(credentials="gw:pr0xy")
    oauth.control(clients={CLIENT: {"secret": SECRET}})
    text = dest(bearer_fhirstore, oauth2(oauth),
                extra=f"    proxy: {proxy.url}\n    proxy_auth: gw:pr0xy\n")
    gw = gateway_factory(routes=ROUTES, destinations=text, workers=2)
    gw.start(env={"NO_PROXY": "*", "no_proxy": "*"})
    st, _, _ = post(gw, records(2, 1616))
    assert st == 202
    assert len(delivered_procedures(bearer_fhirstore, 2)) == 2
    s = proxy.settled()
    assert f"127.0.0.1:{bearer_fhirstore.port}" in s["targets"], s
    assert f"127.0.0.1:{oauth.port}" in s["targets"], s


def test_check_destination_hides_proxy_credentials(gateway_factory, bearer_fhirstore,
                                                   connect_proxy_factory):
    proxy = connect_proxy_factory(credentials="gw:pr0xy")
    url = proxy.url.replace("http://", "http://gw:pr0xy@")
    gw = gateway_factory(routes=ROUTES, destinations=dest(
        bearer_fhirstore, None, extra=f"    proxy: {url}\n"))
    p = subprocess.run([BIN, "check-destination", "--config", gw.config, "registry"],
                       capture_output=True, text=True)
    assert "proxy" in p.stdout, p.stdout + p.stderr
    assert "pr0xy" not in p.stdout + p.stderr, p.stdout
