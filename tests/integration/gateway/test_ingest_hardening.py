"""Issue 9: names that do not fit, Lists and non-transaction Bundles in a
batch, Bundles that store nothing, upstream answers over the cap, integers
written with an exponent or a fraction."""
import json
import os

from conftest import outcome, records

IDENT = "certificate: pki/registry.crt\n    key: pki/registry.key\n    ca: pki/ca.crt"
LONG_TYPE = "MedicinalProductUndesirableEffect"  # 33 characters, the longest in R4
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}


def upstream(receiver, name="upstream", path="ok/fhir", kind="fhir"):
    return f"""  {name}:
    type: {kind}
    mode: direct
    url: {receiver.url}/{path}
    {IDENT}
"""


def route(path, dest, accept="fhir"):
    return f"  - {{method: POST, path: {path}, accept: {accept}, clients: [ehr], destination: {dest}}}\n"


def fhir_gateway(gateway_factory, receiver, path="ok/fhir"):
    return gateway_factory(routes=route("/fhir", "upstream"),
                           destinations=upstream(receiver, path=path)).start()


def issues(data):
    return outcome(data)["issue"]


# ---- 5: names from input are never cut ---------------------------------------

def test_long_resource_type_is_stored_under_its_whole_name(gateway):
    # With narrative: without, dom-6's warning is the answer instead of
    # the "stored" message that names the file.
    st, _, data = gateway.call("POST", "/fhir-files",
                               {"resourceType": LONG_TYPE, "id": "ue1", "text": NARRATIVE})
    assert st == 200, data
    assert f"({LONG_TYPE}-" in data.decode(), data
    names = os.listdir(f"{gateway.dir}/var/fhirfiles")
    assert any(n.startswith(LONG_TYPE + "-") for n in names), names
    assert gateway.stored("fhirfiles", LONG_TYPE + "-")[0]["id"] == "ue1"


def test_long_resource_type_is_forwarded_to_its_whole_url(gateway_factory, receiver):
    g = fhir_gateway(gateway_factory, receiver)
    st, _, data = g.call("POST", "/fhir", {"resourceType": LONG_TYPE, "id": "ue1"})
    assert st == 201, data
    assert receiver.requests()[-1]["path"] == f"/ok/fhir/{LONG_TYPE}"


def test_longest_destination_url_is_not_cut(gateway_factory, receiver):
    # The longest URL the configuration takes, with the type appended.
    path = "ok/" + "p" * (1900 - len(receiver.url) - 4)
    g = fhir_gateway(gateway_factory, receiver, path=path)
    st, _, data = g.call("POST", "/fhir", {"resourceType": LONG_TYPE, "id": "p1"})
    assert st == 201, data
    assert receiver.requests()[-1]["path"] == f"/{path}/{LONG_TYPE}"


# ---- 6: only Bundles' entries are merged ----------------------------------------

LIST = {"resourceType": "List", "status": "current", "mode": "working",
        "entry": [{"item": {"reference": "Patient/p1"}}]}


def test_list_in_a_batch_is_one_create_entry(gateway_factory, receiver):
    g = fhir_gateway(gateway_factory, receiver)
    st, _, data = g.call("POST", "/fhir", [LIST, {"resourceType": "Patient", "id": "p1"}])
    assert st == 201, data
    sent = json.loads(receiver.requests()[-1]["body"])
    assert sent["type"] == "transaction"
    assert [e["request"] for e in sent["entry"]] == [
        {"method": "POST", "url": "List"}, {"method": "POST", "url": "Patient"}]
    assert sent["entry"][0]["resource"] == LIST


def test_collection_bundle_in_a_batch_is_one_create_entry(gateway_factory, receiver):
    coll = {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:0c3b2e8e-1d0a-4a53-9a5d-0c5b3f8e9d11",
                       "resource": {"resourceType": "Patient", "id": "p2"}}]}
    g = fhir_gateway(gateway_factory, receiver)
    st, _, data = g.call("POST", "/fhir", [coll, {"resourceType": "Patient", "id": "p1"}])
    assert st == 201, data
    sent = json.loads(receiver.requests()[-1]["body"])
    assert sent["type"] == "transaction"
    assert len(sent["entry"]) == 2
    assert sent["entry"][0]["request"] == {"method": "POST", "url": "Bundle"}
    assert sent["entry"][0]["resource"] == coll


def test_lone_collection_bundle_is_created_not_posted_to_the_base(gateway_factory, receiver):
    coll = {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": "urn:uuid:0c3b2e8e-1d0a-4a53-9a5d-0c5b3f8e9d11",
                       "resource": {"resourceType": "Patient", "id": "p2"}}]}
    g = fhir_gateway(gateway_factory, receiver)
    st, _, data = g.call("POST", "/fhir", coll)
    assert st == 201, data
    assert receiver.requests()[-1]["path"] == "/ok/fhir/Bundle"


def test_transaction_bundles_in_a_batch_are_still_merged(gateway_factory, receiver):
    def tx(i):
        return {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": f"urn:uuid:0c3b2e8e-1d0a-4a53-9a5d-0c5b3f8e9d1{i}",
             "resource": {"resourceType": "Patient", "id": f"p{i}"},
             "request": {"method": "POST", "url": "Patient"}}]}
    g = fhir_gateway(gateway_factory, receiver)
    st, _, data = g.call("POST", "/fhir", [tx(1), tx(2)])
    assert st == 201, data
    sent = json.loads(receiver.requests()[-1]["body"])
    assert [e["resource"].get("id") or e["resource"]["resourceType"]
            for e in sent["entry"]] == ["p1", "Provenance", "p2", "Provenance"]


# ---- 7: nothing stored is never answered as stored ------------------------------

def refused_nothing_stored(g, body):
    st, _, data = g.call("POST", "/fhir-files", body)
    assert st == 422, data
    assert any(i.get("details", {}).get("coding", [{}])[0].get("code") == "not-storable"
               for i in issues(data)), data
    assert not os.listdir(f"{g.dir}/var/fhirfiles") or not any(
        os.path.getsize(f"{g.dir}/var/fhirfiles/{n}")
        for n in os.listdir(f"{g.dir}/var/fhirfiles")), "something was stored"


def test_empty_bundle_is_not_stored(gateway):
    refused_nothing_stored(gateway, {"resourceType": "Bundle", "type": "collection"})


def test_delete_only_transaction_is_not_stored(gateway):
    refused_nothing_stored(gateway, {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Patient/p1"}}]})


def test_partly_storable_batch_is_refused_whole(gateway):
    refused_nothing_stored(gateway, {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0c3b2e8e-1d0a-4a53-9a5d-0c5b3f8e9d11",
         "resource": {"resourceType": "Patient", "id": "p1"},
         "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "DELETE", "url": "Patient/p2"}}]})
    refused_nothing_stored(gateway, [{"resourceType": "Patient", "id": "p1"},
                                     {"resourceType": "Bundle", "type": "collection"}])


def test_storable_bundle_is_still_stored(gateway):
    st, _, data = gateway.call("POST", "/fhir-files", {
        "resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:0c3b2e8e-1d0a-4a53-9a5d-0c5b3f8e9d11",
             "resource": {"resourceType": "Patient", "id": "p1"},
             "request": {"method": "PUT", "url": "Patient/p1"}}]})
    assert st == 200, data
    assert gateway.stored("fhirfiles", "Patient-")[0]["id"] == "p1"


# ---- 9d: an upstream answer over the cap is said so -----------------------------

def test_upstream_answer_over_the_cap(gateway_factory, receiver):
    g = fhir_gateway(gateway_factory, receiver, path="big/fhir")
    st, h, data = g.call("POST", "/fhir", {"resourceType": "Patient", "id": "p1"})
    assert st == 201, data[:300]
    assert h.get("X-Cellgate-Upstream-Body") == "truncated", h
    assert h.get("X-Upstream-Status") == "201", h
    iss = issues(data)
    assert iss[0]["severity"] == "warning", iss
    text = iss[0]["details"]["text"]
    assert "over" in text and "201" in text and "delivered" in text, iss
    assert len(receiver.requests()) == 1
    st, _, m = g.call("GET", "/metrics")
    assert "cellgate_upstream_answer_truncated_total 1" in m.decode(), m.decode()[-2000:]


def test_upstream_rejection_over_the_cap(gateway_factory, receiver):
    g = fhir_gateway(gateway_factory, receiver, path="bigreject/fhir")
    st, h, data = g.call("POST", "/fhir", {"resourceType": "Patient", "id": "p1"})
    assert st == 422, data[:300]
    assert h.get("X-Cellgate-Upstream-Body") == "truncated", h
    assert issues(data)[0]["severity"] == "error"


# ---- 9e: integers are written as integers ---------------------------------------

def with_number(rec, setter, text):
    setter(rec, "__N__")
    return json.dumps(rec).replace('"__N__"', text)


def set_injections(rec, v):
    rec["administration"]["numberOfInjections"] = v


def test_record_integer_with_exponent_or_fraction_is_refused(gateway):
    for text in ("1e0", "10e-1", "1.0", "1E+0"):
        body = with_number(records(1, 901)[0], set_injections, text)
        st, _, data = gateway.call("POST", "/records", body)
        assert st == 422, (text, data)
        codes = [i["details"]["coding"][0]["code"] for i in issues(data)]
        assert "integer" in codes, (text, codes)
    assert gateway.stored() == []
    body = with_number(records(1, 902)[0], set_injections, "2")
    st, _, data = gateway.call("POST", "/records", body)
    assert st == 200, data
    assert gateway.stored()[0]["administration"]["numberOfInjections"] == 2


def test_fhir_integer_with_exponent_or_fraction_is_refused(gateway):
    for text in ("1e0", "10e-1", "1.0"):
        body = '{"resourceType":"Patient","multipleBirthInteger":%s}' % text
        st, _, data = gateway.call("POST", "/fhir-files", body)
        assert st == 422, (text, data)
        codes = [i["details"]["coding"][0]["code"] for i in issues(data)]
        assert "fhir-format" in codes, (text, codes)
    # decimals may have both (FHIR's decimal allows an exponent)
    st, _, data = gateway.call("POST", "/fhir-files",
                               '{"resourceType":"Observation","status":"final",'
                               '"code":{"text":"x"},"valueQuantity":{"value":1.5e1}}')
    assert st == 200, data
