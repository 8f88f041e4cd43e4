"""Delivery: records and FHIR to `fhir` and `records` upstreams (receiver.py)
and to ndjson files in FHIR form; an upstream's 201 and 422 passed back, its
failure (502 with its issues, Retry-After), a slow one (504) and one that is
down (502); $validate, which forwards nothing.

The tests share one gateway (full_config) and its receiver, and find their
requests at the receiver by the X-Request-Id."""
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, SRC, map_to_fhir, outcome, records

MAPPINGS = f"{SRC}/mappings"


@pytest.fixture(scope="module")
def gw(shared_gateway):
    return shared_gateway


@pytest.fixture(scope="module")
def up(module_receiver):
    return module_receiver


def sent(up, headers):
    """What the upstream received for the request answered with headers
    (the request id went with it)."""
    got = [r for r in up.requests() if r["request_id"] == headers["X-Request-Id"]]
    assert len(got) == 1, got
    return got[0]


def cellgate(command, *args):
    return subprocess.run([BIN, command, "--mappings", MAPPINGS, *args],
                          capture_output=True, text=True)


def test_a_record_reaches_a_fhir_upstream_as_a_transaction_bundle(gw, up, tmp_path):
    rec = records(1, 401)[0]
    st, h, data = gw.call("POST", "/to-fhir", rec)
    assert st == 201 and h.get("X-Upstream-Status") == "201", (st, data[:300])
    req = sent(up, h)
    bundle = json.loads(req["body"])
    assert req["path"] == "/ok/fhir" and bundle["type"] == "transaction" and \
        req["client_cn"] == "registry", "a transaction Bundle over mTLS with the request id"
    (tmp_path / "sent.json").write_text(req["body"])
    v = cellgate("validate", str(tmp_path / "sent.json"))
    assert v.returncode == 0, f"the forwarded Bundle is not valid FHIR: {v.stdout}"
    m = cellgate("map", "--to", "record", str(tmp_path / "sent.json"))
    assert json.loads(m.stdout) == rec, "it maps back to the record that was posted"


def test_a_batch_of_two_goes_as_one_transaction_bundle(gw, up, tmp_path):
    recs = records(2, 402)
    st, h, data = gw.call("POST", "/to-fhir", recs)
    b2 = json.loads(sent(up, h)["body"])
    want = [e for b in map_to_fhir(tmp_path, *recs).splitlines() for e in json.loads(b)["entry"]]
    # each record's entries as `map --to fhir` writes them, then its
    # Provenance (test_provenance.py): the CLI writes none
    got = [e for e in b2["entry"] if e["resource"]["resourceType"] != "Provenance"]
    assert st == 201 and b2["type"] == "transaction" and got == want
    assert len(b2["entry"]) == len(want) + 2


def test_a_batch_with_a_bad_record_forwards_nothing(gw, up):
    recs = records(2, 403)
    recs[1]["dose"] = "lots"
    n_up = len(up.requests())
    st, h, data = gw.call("POST", "/to-fhir", recs)
    assert st == 422 and len(up.requests()) == n_up, st


@pytest.fixture
def bundle(tmp_path):
    """(record, its FHIR Bundle as text)."""
    rec = records(1, 404)[0]
    return rec, map_to_fhir(tmp_path, rec)


def test_a_fhir_bundle_reaches_the_upstream_as_it_is(gw, up, bundle):
    rec, fb = bundle
    st, h, data = gw.call("POST", "/fhir", fb, ctype="application/fhir+json")
    got, want = json.loads(sent(up, h)["body"]), json.loads(fb)
    # as it is, and a Provenance of its entries at the end
    prov = got["entry"].pop()
    assert st == 201 and got == want, (st, data[:300])
    assert [t["reference"] for t in prov["resource"]["target"]] == \
        [e["fullUrl"] for e in want["entry"]]


def test_a_bundle_to_a_records_destination_goes_as_a_json_array(gw, up, bundle):
    rec, fb = bundle
    st, h, data = gw.call("POST", "/to-registry", fb, ctype="application/fhir+json")
    last = sent(up, h)
    assert st == 201 and last["path"] == "/ok/records" and json.loads(last["body"]) == [rec]


def procedure(fb):
    return [e["resource"] for e in json.loads(fb)["entry"]
            if e["resource"]["resourceType"] == "Procedure"][0]


def test_a_resource_goes_to_base_slash_type(gw, up, bundle):
    st, h, data = gw.call("POST", "/fhir/Procedure", procedure(bundle[1]),
                          ctype="application/fhir+json")
    assert st == 201 and sent(up, h)["path"] == "/ok/fhir/Procedure", (st, data[:300])


def test_a_resource_of_another_type_than_the_path_is_422(gw, bundle):
    st, h, data = gw.call("POST", "/fhir/Observation", procedure(bundle[1]),
                          ctype="application/fhir+json")
    assert st == 422, st


def test_ndjson_in_fhir_form_is_one_file_per_type(gw):
    st, h, data = gw.call("POST", "/to-fhir-files", records(1, 405)[0])
    kinds = sorted(os.listdir(f"{gw.dir}/var/fhirfiles"))
    assert st == 200 and any(k.startswith("Procedure-") for k in kinds) and \
        any(k.startswith("Observation-") for k in kinds), kinds


def test_many_resource_types_in_one_request_one_file_each(gw, tmp_path):
    """One file per resource type, for every R4 resource type that is valid
    with nothing but an id (33 of them). The writer keeps every file of the
    day open; it used to have room for 32 only."""
    with open(f"{MAPPINGS}/fhir-r4/structure.json") as f:
        kinds = sorted(n for n, t in json.load(f)["types"].items()
                       if t.get("kind") == "resource" and not t.get("abstract"))
    def least(k):  # org-1, ipn-1: a name or an identifier
        return {"resourceType": k, "id": "x1",
                **({"name": "x"} if k in ("Organization", "InsurancePlan") else {})}
    minimal = tmp_path / "minimal.ndjson"
    minimal.write_text("".join(json.dumps(least(k)) + "\n" for k in kinds))
    v = cellgate("validate", "--format", "json", str(minimal))
    valid_kinds = [kinds[json.loads(x)["index"]] for x in v.stdout.splitlines()
                   if json.loads(x)["valid"]]
    body = "".join(json.dumps(least(k)) + "\n" for k in valid_kinds)
    st, h, data = gw.call("POST", "/fhir-files", body, ctype="application/fhir+ndjson")
    made = os.listdir(f"{gw.dir}/var/manyfiles")
    assert st == 200 and len(valid_kinds) > 32 and len(made) == len(valid_kinds), \
        (st, len(made), data[:200])


def test_an_upstream_422_is_passed_back(gw):
    st, h, data = gw.call("POST", "/up/reject", records(1, 406)[0])
    assert st == 422 and "the registry refuses this" in data.decode() and \
        h.get("X-Upstream-Status") == "422", (st, data[:300])


def test_an_upstream_500_is_502_with_retry_after_and_its_issues(gw):
    st, h, data = gw.call("POST", "/up/fail", records(1, 407)[0])
    assert st == 502 and h.get("Retry-After") == "5" and \
        any(i.get("details", {}).get("text") == "upstream: the registry database is down"
            for i in outcome(data)["issue"]), (st, data[:300])


def test_an_upstream_down_is_502_at_once(gw):
    t0 = time.time()
    st, h, data = gw.call("POST", "/up/down", records(1, 408)[0])
    assert st == 502 and outcome(data) and time.time() - t0 < 5, st


def test_a_slow_upstream_is_504_after_its_timeout(gw):
    t0 = time.time()
    st, h, data = gw.call("POST", "/up/slow", records(1, 409)[0])
    took = time.time() - t0
    assert st == 504 and outcome(data) and took < 3, (st, took)


def test_validate_forwards_nothing(gw, up, bundle):
    bad = records(1, 410)[0]
    bad["dose"] = "lots"
    n_up = len(up.requests())
    st, h, data = gw.call("POST", "/fhir/$validate", bundle[1], ctype="application/fhir+json")
    # valid: no error (dom-6's warnings for want of narrative aside)
    assert st == 200 and all(i["severity"] in ("information", "warning")
                             for i in outcome(data)["issue"]), "$validate of a valid Bundle"
    st, h, data = gw.call("POST", "/records/$validate", bad)
    assert st == 422 and outcome(data), "$validate of a bad record: 422 with the issues"
    assert len(up.requests()) == n_up, "$validate forwards nothing"
