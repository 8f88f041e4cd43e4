"""The test servers of issue 13 ("reaching real registries") checked on their
own, without a gateway: the OAuth2 token endpoint (oauth_server.py: client
secrets and SMART Backend Services JWT assertions), the FHIR store's registry
rules (fhirstore.py: Bearer tokens, no conditional create, Bundle caps,
references, search, transaction-response, metadata, a late answer) and the
CONNECT proxy (connect_proxy.py). Tests of the gateway lean on what these
prove."""
import base64
import http.client
import json
import ssl
import subprocess
import time
import urllib.parse
import uuid

import pytest

from conftest import (client_assertion, ec_key, jwk_of, public_pem, rsa_key, sign_jwt)

SYS = "urn:oid:2.16.840.1.113883.3.1000"
PAT = "https://registry.example.org/patients"


def basic(cid, secret):
    raw = f"{urllib.parse.quote(cid, safe='')}:{urllib.parse.quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def refused(answer, reason):
    status, _, doc = answer
    assert status == 401, answer
    assert doc["error"] == "invalid_client", doc
    assert doc["error_description"].startswith(reason + ":"), doc


def jwt_form(assertion, **more):
    return {"grant_type": "client_credentials", "scope": "system/*.write",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, **more}


def bundle(rec, n_obs, ref=None, conditional=True):
    """A transaction Bundle like the gateway's: a Procedure (identifier
    SYS|rec) and n_obs Observations whose focus is ref (default: the
    Procedure's urn:uuid), each with ifNoneExist when conditional."""
    proc_url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, rec)}"
    subject = {"identifier": {"system": PAT, "value": f"P-{rec}"}}

    def entry(res, ident, full):
        req = {"method": "POST", "url": res["resourceType"]}
        if conditional:
            req["ifNoneExist"] = f"identifier={SYS}|{ident}"
        return {"fullUrl": full, "resource": res, "request": req}

    entries = []
    if ref is None:
        entries.append(entry({"resourceType": "Procedure", "status": "completed",
                              "identifier": [{"system": SYS, "value": rec}],
                              "subject": subject}, rec, proc_url))
    for i in range(n_obs):
        ident = f"{rec}/o{i}"
        entries.append(entry({"resourceType": "Observation", "status": "final",
                              "identifier": [{"system": SYS, "value": ident}],
                              "subject": subject, "focus": [{"reference": ref or proc_url}],
                              "code": {"text": f"o{i}"}}, ident,
                             f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, ident)}"))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def diagnostics(doc):
    assert doc["resourceType"] == "OperationOutcome", doc
    return doc["issue"][0]["diagnostics"]


# ---- oauth_server.py --------------------------------------------------------

def test_token_by_client_secret_basic(oauth, bearer_fhirstore):
    oauth.control(clients={"site 1": {"secret": "s3cr:t/+%"}})
    status, headers, doc = oauth.token({"grant_type": "client_credentials", "scope": "system/*.*"},
                                       basic("site 1", "s3cr:t/+%"))
    assert status == 200, doc
    assert doc["token_type"] == "bearer" and doc["expires_in"] == 300
    assert doc["scope"] == "system/*.*"
    assert headers["Cache-Control"] == "no-store"
    # The token is one the FHIR store takes (the fixtures share the secret).
    assert bearer_fhirstore.fhir("GET", "/metadata", token=doc["access_token"])[0] == 200
    body = json.loads(base64.urlsafe_b64decode(doc["access_token"].split(".")[0] + "=="))
    assert body["client"] == "site 1" and body["exp"] - body["iat"] == 300

    status, headers, doc = oauth.token({"grant_type": "client_credentials"},
                                       basic("site 1", "wrong"))
    refused((status, headers, doc), "secret")
    assert headers["WWW-Authenticate"].startswith("Basic ")
    s = oauth.state()
    assert s["token_requests"] == 2 and s["issued"] == 1
    assert s["by_method"] == {"client_secret_basic": 1}
    assert s["refused"] == {"secret": 1}


def test_token_by_client_secret_post(oauth):
    oauth.control(clients={"c2": {"secret": "pw"}}, expires_in=60)
    form = {"grant_type": "client_credentials", "client_id": "c2", "client_secret": "pw"}
    status, _, doc = oauth.token(form)
    assert status == 200 and doc["expires_in"] == 60, doc
    refused(oauth.token({**form, "client_id": "nobody"}), "unknown_client")
    status, _, doc = oauth.token({**form, "grant_type": "password"})
    assert (status, doc["error"]) == (400, "unsupported_grant_type"), doc
    status, _, doc = oauth.token(form, basic("c2", "pw"))  # two methods at once
    assert (status, doc["error"]) == (400, "invalid_request"), doc
    status, _, doc = oauth._call("POST", "/token", json.dumps(form),
                                 {"Content-Type": "application/json"})
    assert (status, doc["error"]) == (400, "invalid_request"), doc
    s = oauth.state()
    assert s["by_method"] == {"client_secret_post": 1} and s["issued"] == 1


def test_down_then_reset(oauth):
    oauth.control(clients={"c": {"secret": "pw"}}, down=True)
    form = {"grant_type": "client_credentials", "client_id": "c", "client_secret": "pw"}
    assert oauth.token(form)[0] == 503
    oauth.control(down=False)
    assert oauth.token(form)[0] == 200
    oauth.control(reset=True)
    refused(oauth.token(form), "unknown_client")
    assert oauth.state()["token_requests"] == 1


def test_private_key_jwt_rs384_by_pem(oauth):
    key = rsa_key()
    oauth.control(clients={"smart-rsa": {"public_key_pem": public_pem(key)}})
    status, _, doc = oauth.token(jwt_form(client_assertion("smart-rsa", oauth.token_url, key,
                                                           "RS384", "k1")))
    assert status == 200, doc
    assert doc["scope"] == "system/*.write"
    # localhost names the same endpoint; client_id may come along with the assertion.
    a = client_assertion("smart-rsa", oauth.token_url.replace("127.0.0.1", "localhost"), key)
    assert oauth.token(jwt_form(a, client_id="smart-rsa"))[0] == 200
    assert oauth.state()["by_method"] == {"private_key_jwt": 2}


def test_private_key_jwt_es384_by_jwks(oauth, jwks_host):
    old, key, rsa = ec_key(), ec_key(), rsa_key()
    jwks_host.jwks = {"keys": [jwk_of(old, "old"), jwk_of(key, "new"), jwk_of(rsa, "r")]}
    oauth.control(clients={"smart-ec": {"jwks_url": jwks_host.url}})
    for k, kid, alg in ((key, "new", "ES384"), (old, "old", "ES384"), (rsa, "r", "RS384")):
        status, _, doc = oauth.token(jwt_form(client_assertion("smart-ec", oauth.token_url, k,
                                                               alg, kid)))
        assert status == 200, (kid, doc)
    refused(oauth.token(jwt_form(client_assertion("smart-ec", oauth.token_url, key, "ES384",
                                                  "old"))), "signature")  # the wrong key's kid
    refused(oauth.token(jwt_form(client_assertion("smart-ec", oauth.token_url, key, "ES384",
                                                  "gone"))), "kid")
    refused(oauth.token(jwt_form(client_assertion("smart-ec", oauth.token_url, key, "ES384"))),
            "kid")  # none
    refused(oauth.token(jwt_form(client_assertion("smart-ec", oauth.token_url, rsa, "RS384",
                                                  "new"))), "key")  # RS384 with an EC key's kid
    jwks_host.jwks = {"keys": [jwk_of(key, "new")]}  # rotated: seen at once
    refused(oauth.token(jwt_form(client_assertion("smart-ec", oauth.token_url, old, "ES384",
                                                  "old"))), "kid")
    assert oauth.state()["jwks_fetches"] == jwks_host.hits == 8


def test_jwt_assertions_refused(oauth):
    key, other = rsa_key(), rsa_key()
    pem = public_pem(key)
    oauth.control(clients={"smart": {"public_key_pem": pem}})
    url = oauth.token_url
    now = int(time.time())

    def a(**kw):
        return client_assertion("smart", url, key, "RS384", "k1", **kw)

    good = a()
    cases = {
        "signature": client_assertion("smart", url, other, "RS384", "k1"),
        "aud": a(aud=f"https://127.0.0.1:{oauth.port}/other"),
        "expired": a(exp=now - 5),
        "exp_too_far": a(exp=now + 600),
        "exp_missing": a(exp=None),
        "jti_missing": a(jti=None),
        "iss": a(iss="someone"),  # with client_id=smart: the client is known
        "sub": a(sub="someone"),
        "alg": sign_jwt({"iss": "smart", "sub": "smart", "aud": url, "exp": now + 60,
                         "jti": "n1"}, None, "none"),
        "malformed": "not.a-jws",
    }
    # alg confusion: HS256 keyed with the public key the server holds
    hs = sign_jwt({"iss": "smart", "sub": "smart", "aud": url, "exp": now + 60, "jti": "h1"},
                  pem.encode(), "HS256")
    for reason, assertion in cases.items():
        more = {"client_id": "smart"} if reason == "iss" else {}
        refused(oauth.token(jwt_form(assertion, **more)), reason)
    refused(oauth.token(jwt_form(hs)), "alg")
    refused(oauth.token(jwt_form(good, client_id="other")), "unknown_client")
    oauth.control(clients={"other": {"secret": "x"}})
    refused(oauth.token(jwt_form(a(), client_id="other")), "method")
    form = jwt_form(a())
    form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    refused(oauth.token(form), "assertion_type")
    assert oauth.token(jwt_form(good))[0] == 200
    refused(oauth.token(jwt_form(good)), "replay")
    s = oauth.state()
    assert s["issued"] == 1
    assert s["refused"] == {**{r: 1 for r in cases}, "alg": 2, "unknown_client": 1, "method": 1,
                            "assertion_type": 1, "replay": 1}, s["refused"]


# ---- fhirstore.py -----------------------------------------------------------

def test_bearer_required_and_expired_early(oauth, bearer_fhirstore):
    fs = bearer_fhirstore
    oauth.control(clients={"c": {"secret": "pw"}})
    form = {"grant_type": "client_credentials", "client_id": "c", "client_secret": "pw"}
    token = oauth.token(form)[2]["access_token"]
    status, headers, doc = fs.fhir("POST", "", bundle("B1", 1))
    assert status == 401 and headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert doc["resourceType"] == "OperationOutcome"
    status, _, doc = fs.fhir("POST", "", bundle("B1", 1), token=token)
    assert status == 200 and doc["type"] == "transaction-response", doc
    assert fs.fhir("GET", "/metadata", token=token[:-2] + "AA")[0] == 401  # tampered
    fs.control(expire_tokens=True)
    assert fs.fhir("GET", "/metadata", token=token)[0] == 401
    fresh = oauth.token(form)[2]["access_token"]
    assert fs.fhir("GET", "/metadata", token=fresh)[0] == 200
    oauth.control(expires_in=2)  # exp = iat + 2, iat whole seconds: 1 to 2 s from now
    short = oauth.token(form)[2]["access_token"]
    assert fs.fhir("GET", "/metadata", token=short)[0] == 200
    time.sleep(2.1)
    assert fs.fhir("GET", "/metadata", token=short)[0] == 401
    s = fs.state()
    assert s["unauthorized"] == 4
    assert s["unauthorized_by_reason"] == {"missing": 1, "signature": 1, "revoked": 1,
                                           "expired": 1}
    assert [(q["method"], q["path"], q["status"], q["auth"]) for q in s["requests"][:2]] == [
        ("POST", "/fhir", 401, False), ("POST", "/fhir", 200, True)]
    assert s["requests"][1]["n"] == 2
    assert s["resources"] == {"Procedure": 1, "Observation": 1}
    fs.control(bearer_secret=None)
    assert fs.fhir("GET", "/metadata")[0] == 200


def test_client_certificate_optional_or_required(pki, fhirstore, bearer_fhirstore):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.crt")
    for store, ok in ((bearer_fhirstore, True), (fhirstore, False)):
        conn = http.client.HTTPSConnection("127.0.0.1", store.port, context=ctx, timeout=10)
        try:
            conn.request("GET", "/fhir/metadata")
            status = conn.getresponse().status
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            status = None
        conn.close()
        assert (status == 401) if ok else status is None, (store.url, status)


def test_transaction_response_search_read_update(fhirstore):
    status, _, doc = fhirstore.fhir("POST", "", bundle("T1", 2))
    assert status == 200 and doc["type"] == "transaction-response"
    assert [e["response"]["status"] for e in doc["entry"]] == ["201 Created"] * 3
    locs = [e["response"]["location"] for e in doc["entry"]]
    assert locs[0].startswith("Procedure/") and locs[0].endswith("/_history/1"), locs
    proc_id = locs[0].split("/")[1]
    obs = fhirstore.resources("Observation")
    assert [o["focus"][0]["reference"] for o in obs] == [f"Procedure/{proc_id}"] * 2
    # The same Bundle again: found by ifNoneExist, nothing new.
    status, _, doc = fhirstore.fhir("POST", "", bundle("T1", 2))
    assert [e["response"]["status"] for e in doc["entry"]] == ["200 OK"] * 3
    assert [e["response"]["location"] for e in doc["entry"]] == locs
    q = urllib.parse.quote(f"{SYS}|T1", safe="")
    status, _, doc = fhirstore.fhir("GET", f"/Procedure?identifier={q}")
    assert status == 200 and doc["type"] == "searchset" and doc["total"] == 1, doc
    assert doc["entry"][0]["resource"]["id"] == proc_id
    assert doc["entry"][0]["fullUrl"].endswith(f"/fhir/Procedure/{proc_id}")
    assert fhirstore.fhir("GET", f"/Procedure?identifier={SYS}|nope")[2]["total"] == 0
    assert fhirstore.fhir("GET", "/Procedure?identifier=T1")[2]["total"] == 1  # any system
    assert fhirstore.fhir("GET", "/Procedure?code=x")[0] == 400
    status, _, proc = fhirstore.fhir("GET", f"/Procedure/{proc_id}")
    assert status == 200 and proc["meta"]["versionId"] == "1"
    assert fhirstore.fhir("GET", "/Procedure/999")[0] == 404
    proc["status"] = "entered-in-error"
    status, headers, doc = fhirstore.fhir("PUT", f"/Procedure/{proc_id}", proc)
    assert status == 200 and doc["meta"]["versionId"] == "2" and headers["ETag"] == 'W/"2"'
    assert fhirstore.fhir("GET", f"/Procedure/{proc_id}")[2]["status"] == "entered-in-error"
    # Plain creates: twice without a condition makes two, with If-None-Exist one.
    pat = {"resourceType": "Patient", "identifier": [{"system": PAT, "value": "CRID-1"}],
           "meta": {"security": [{"system": "http://cibmtr.org/codesystem/transplant-center",
                                  "code": "rc_12345"}]}}
    for _ in range(2):
        status, headers, doc = fhirstore.fhir("POST", "/Patient", pat)
        assert status == 201 and headers["Location"].endswith(f"/fhir/Patient/{doc['id']}"
                                                              "/_history/1")
    assert doc["meta"]["security"] == pat["meta"]["security"]
    cond = {"If-None-Exist": "identifier=" + urllib.parse.quote(f"{PAT}|CRID-2", safe="")}
    assert fhirstore.fhir("POST", "/Patient", {**pat, "identifier": [
        {"system": PAT, "value": "CRID-2"}]}, headers=cond)[0] == 201
    assert fhirstore.fhir("POST", "/Patient", {**pat, "identifier": [
        {"system": PAT, "value": "CRID-2"}]}, headers=cond)[0] == 200
    s = fhirstore.state()
    assert s["resources"] == {"Procedure": 1, "Observation": 2, "Patient": 3}
    assert s["duplicates_by_identifier"] == {"Procedure": 0, "Observation": 0, "Patient": 1}
    assert s["duplicated"] == {"Patient": {f"{PAT}|CRID-1": 2}}
    assert s["searches"] == 4
    # The outbox's figures are kept as before.
    assert s["created"] == 3 + 1 + 1 and s["duplicates"] == 3 + 1 + 1
    assert len(fhirstore.received()) == 2


def test_conditional_create_refused(fhirstore):
    fhirstore.control(conditional=False)
    status, _, doc = fhirstore.fhir("POST", "", bundle("C1", 1))
    assert status == 400 and diagnostics(doc) == "conditional create not supported"
    pat = {"resourceType": "Patient", "identifier": [{"system": PAT, "value": "X"}]}
    status, _, doc = fhirstore.fhir("POST", "/Patient", pat,
                                    headers={"If-None-Exist": f"identifier={PAT}|X"})
    assert status == 400 and diagnostics(doc) == "conditional create not supported"
    assert fhirstore.fhir("POST", "", bundle("C1", 1, conditional=False))[0] == 200
    assert fhirstore.fhir("POST", "/Patient", pat)[0] == 201
    s = fhirstore.state()
    assert s["refusals"] == {"conditional": 2}
    assert s["resources"] == {"Procedure": 1, "Observation": 1, "Patient": 1}
    assert len(fhirstore.received()) == 1


def test_bundle_caps(fhirstore):
    fhirstore.control(max_entries=5, max_observations=3)
    status, _, doc = fhirstore.fhir("POST", "", bundle("M1", 5))
    assert status == 400 and "max_entries 5" in diagnostics(doc), doc
    status, _, doc = fhirstore.fhir("POST", "", bundle("M1", 4))
    assert status == 400 and "max_observations 3" in diagnostics(doc), doc
    assert fhirstore.fhir("POST", "", bundle("M1", 3))[0] == 200
    s = fhirstore.state()
    assert s["refusals"] == {"max_entries": 1, "max_observations": 1}
    assert s["resources"] == {"Procedure": 1, "Observation": 3}
    assert [q["status"] for q in s["requests"]] == [400, 400, 200]


def test_references_across_split_bundles(fhirstore):
    fhirstore.control(check_references=True, max_observations=2)
    whole = bundle("R1", 4)
    status, _, doc = fhirstore.fhir("POST", "", whole)
    assert status == 400
    # Split naively: the second part's urn:uuid names nothing it holds.
    first = {**whole, "entry": whole["entry"][:3]}
    second = {**whole, "entry": whole["entry"][3:]}
    assert fhirstore.fhir("POST", "", first)[0] == 200
    status, _, doc = fhirstore.fhir("POST", "", second)
    assert status == 400 and diagnostics(doc).startswith("unresolved reference urn:uuid:"), doc
    # Split with a conditional reference, or the server's id: resolved.
    cond = bundle("R1", 2, ref=f"Procedure?identifier={SYS}|R1")
    for e, i in zip(cond["entry"], (2, 3)):
        e["resource"]["identifier"][0]["value"] = f"R1/o{i}"
        e["request"]["ifNoneExist"] = f"identifier={SYS}|R1/o{i}"
    assert fhirstore.fhir("POST", "", cond)[0] == 200, fhirstore.state()
    proc_id = fhirstore.resources("Procedure")[0]["id"]
    assert {o["focus"][0]["reference"] for o in fhirstore.resources("Observation")} == {
        f"Procedure/{proc_id}"}
    assert fhirstore.fhir("POST", "", bundle("R2", 1, ref=f"Procedure/{proc_id}"))[0] == 200
    status, _, doc = fhirstore.fhir("POST", "", bundle("R3", 1, ref="Procedure/999"))
    assert status == 400 and "Procedure/999" in diagnostics(doc)
    s = fhirstore.state()
    assert s["refusals"] == {"max_observations": 1, "unresolved_reference": 2}
    assert s["resources"] == {"Procedure": 1, "Observation": 5}


def test_security_tag_required(fhirstore):
    tag = {"system": "http://cibmtr.org/codesystem/transplant-center", "code": "rc_12345"}
    fhirstore.control(require_security=tag)
    b = bundle("S1", 1)
    status, _, doc = fhirstore.fhir("POST", "", b)
    assert status == 400 and "meta.security" in diagnostics(doc)
    b["entry"][0]["resource"]["meta"] = {"security": [tag]}
    assert fhirstore.fhir("POST", "", b)[0] == 400  # the Observation still lacks it
    b["entry"][1]["resource"]["meta"] = {"security": [dict(tag, display="centre")]}
    assert fhirstore.fhir("POST", "", b)[0] == 200
    assert fhirstore.resources("Procedure")[0]["meta"]["security"] == [tag]
    assert fhirstore.state()["refusals"] == {"security": 2}


def test_metadata(fhirstore):
    status, _, cap = fhirstore.fhir("GET", "/metadata")
    assert status == 200 and cap["resourceType"] == "CapabilityStatement"
    assert cap["fhirVersion"] == "4.0.1"
    rest = cap["rest"][0]
    assert {"code": "transaction"} in rest["interaction"]
    types = {r["type"]: r for r in rest["resource"]}
    assert set(types) == {"Patient", "Procedure", "Observation", "Provenance", "Consent"}
    for r in types.values():
        assert r["conditionalCreate"] is True
        assert {i["code"] for i in r["interaction"]} == {"create", "read", "search-type", "update"}
        assert r["searchParam"] == [{"name": "identifier", "type": "token"}]
    fhirstore.control(conditional=False, transaction=False, token_url="https://x/token",
                      bearer_secret="00")
    cap = fhirstore.fhir("GET", "/metadata", headers={"Authorization": "Bearer x.y"})
    assert cap[0] == 401
    fhirstore.control(bearer_secret=None)
    rest = fhirstore.fhir("GET", "/metadata")[2]["rest"][0]
    assert {"code": "transaction"} not in rest["interaction"]
    assert all(r["conditionalCreate"] is False for r in rest["resource"])
    assert fhirstore.fhir("POST", "", bundle("X", 1))[0] == 400


def test_delay_first_answers_late_but_keeps(fhirstore):
    fhirstore.control(delay_first=3, conditional=False)
    ctx = ssl.create_default_context(cafile=f"{fhirstore.pki}/ca.crt")
    ctx.load_cert_chain(f"{fhirstore.pki}/registry.crt", f"{fhirstore.pki}/registry.key")
    conn = http.client.HTTPSConnection("127.0.0.1", fhirstore.port, context=ctx, timeout=1)
    conn.request("POST", "/fhir", json.dumps(bundle("D1", 1, conditional=False)))
    with pytest.raises(TimeoutError):
        conn.getresponse()
    conn.close()
    assert fhirstore.state()["resources"] == {"Procedure": 1, "Observation": 1}
    start = time.time()
    assert fhirstore.fhir("POST", "", bundle("D1", 1, conditional=False))[0] == 200  # a retry
    assert time.time() - start < 1  # only the first is late
    assert fhirstore.state()["duplicates_by_identifier"] == {"Procedure": 1, "Observation": 1}


# ---- connect_proxy.py -------------------------------------------------------

def curl(*args):
    return subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_connect}",
                           "--max-time", "20", *args], capture_output=True, text=True)


def test_proxy_connect_with_curl(pki, fhirstore, connect_proxy, jwks_host):
    tls = ["--cacert", f"{pki}/ca.crt", "--cert", f"{pki}/registry.crt", "--key",
           f"{pki}/registry.key"]
    r = curl("--proxy", connect_proxy.url, *tls, f"{fhirstore.url}/fhir/metadata")
    assert r.stdout == "200 200", (r.stdout, r.stderr)
    r = curl("--proxy", connect_proxy.url, jwks_host.url)  # plain HTTP: forwarded
    assert r.stdout == "200 000", (r.stdout, r.stderr)
    assert jwks_host.hits == 1
    s = connect_proxy.settled()  # the tunnel's bytes are counted once it closes
    target = f"127.0.0.1:{fhirstore.port}"
    assert s["tunnels"] == 1 and s["requests"] == 1 and s["refused"] == 0
    assert s["targets"][target]["tunnels"] == 1
    assert s["targets"][target]["bytes_up"] > 500 and s["targets"][target]["bytes_down"] > 500
    assert s["bytes"] == s["bytes_up"] + s["bytes_down"]
    assert [(x["kind"], x["target"], x["status"]) for x in s["log"]] == [
        ("CONNECT", target, 200), ("GET", jwks_host.url.split("/")[2], 200)]
    assert fhirstore.state()["requests"][0]["path"] == "/fhir/metadata"


def test_proxy_credentials(pki, oauth, connect_proxy_factory):
    proxy = connect_proxy_factory("gw:pr0xy")
    r = curl("--proxy", proxy.url, "--cacert", f"{pki}/ca.crt", f"{oauth.url}/state")
    assert r.stdout.endswith(" 407"), (r.stdout, r.stderr)
    r = curl("--proxy", proxy.url, "--proxy-user", "gw:wrong", "--cacert", f"{pki}/ca.crt",
             f"{oauth.url}/state")
    assert r.stdout.endswith(" 407"), (r.stdout, r.stderr)
    r = curl("--proxy", proxy.url, "--proxy-user", "gw:pr0xy", "--cacert", f"{pki}/ca.crt",
             f"{oauth.url}/state")
    assert r.stdout == "200 200", (r.stdout, r.stderr)
    s = proxy.state()
    assert s["refused"] == 2 and s["tunnels"] == 1
    assert [(x["status"], x["auth"]) for x in s["log"]] == [(407, False), (407, True), (200, True)]
    assert list(s["targets"]) == [f"127.0.0.1:{oauth.port}"]
