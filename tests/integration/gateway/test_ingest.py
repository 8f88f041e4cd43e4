"""Ingest: what the gateway takes and stores (single records, arrays, NDJSON,
chunked bodies), and what it refuses (a bad item sinks the whole batch, bad
JSON, content types, methods, paths, sizes), always with an OperationOutcome.

The tests share one gateway (full_config) and tell their records apart by
their ids (records(n, seed), a seed per test)."""
import json

import pytest

from conftest import mine, outcome, records


@pytest.fixture(scope="module")
def gw(shared_gateway):
    return shared_gateway


def stored(gw, seed):
    return mine(gw.stored(), seed)


def test_one_valid_record_is_answered_and_stored_as_sent(gw):
    rec = records(1, 101)[0]
    st, h, data = gw.call("POST", "/records", rec)
    assert st == 200 and "X-Request-Id" in h, (st, data[:300])
    assert outcome(data)["issue"][0]["severity"] == "information"
    assert stored(gw, 101) == [rec]


def test_a_json_array_of_two_is_stored_whole(gw):
    recs = records(2, 102)
    st, h, data = gw.call("POST", "/records", recs)
    assert st == 200 and stored(gw, 102) == recs, (st, data[:300])


def test_ndjson_of_three_is_stored_whole(gw):
    recs = records(3, 103)
    nd = "\n".join(json.dumps(x) for x in recs) + "\n"
    st, h, data = gw.call("POST", "/records", nd, ctype="application/x-ndjson")
    assert st == 200 and stored(gw, 103) == recs, (st, data[:300])


def test_the_rsa_listener_accepts_too(gw):
    st, h, data = gw.call("POST", "/records", records(1, 104)[0], port=gw.port_rsa)
    assert st == 200, (st, data[:300])


def test_a_callers_request_id_is_kept(gw):
    st, h, data = gw.call("POST", "/records", records(1, 105)[0],
                          headers={"X-Request-Id": "engine-42"})
    assert h.get("X-Request-Id") == "engine-42"


def test_a_batch_with_one_bad_record_is_refused_whole(gw):
    recs = records(3, 106)
    recs[1]["dose"] = "lots"
    st, h, data = gw.call("POST", "/records", recs)
    doc = outcome(data)
    assert st == 422
    assert any("item 1," in i.get("diagnostics", "") for i in doc["issue"]), data[:400]
    assert stored(gw, 106) == [], "nothing of the batch is stored"


def test_malformed_json_is_400_json_syntax(gw):
    st, h, data = gw.call("POST", "/records", b'{"recordId": "x", ')
    assert st == 400, data[:300]
    assert outcome(data)["issue"][0]["details"]["coding"][0]["code"] == "json-syntax"


def test_an_empty_body_is_400(gw):
    st, h, data = gw.call("POST", "/records", b"", ctype="application/json")
    assert st == 400 and outcome(data)


def test_text_plain_is_415(gw):
    st, h, data = gw.call("POST", "/records", records(1, 107)[0], ctype="text/plain")
    assert st == 415 and outcome(data)


def test_accept_text_html_is_406(gw):
    st, h, data = gw.call("POST", "/records", records(1, 108)[0], headers={"Accept": "text/html"})
    assert st == 406 and outcome(data)


def test_get_on_a_post_route_is_405_with_allow(gw):
    st, h, data = gw.call("GET", "/records")
    assert st == 405 and h.get("Allow") == "POST" and outcome(data)


def test_an_unknown_path_is_404(gw):
    st, h, data = gw.call("POST", "/nowhere", records(1, 109)[0])
    assert st == 404 and outcome(data)


def test_a_record_sent_to_a_fhir_route_is_422(gw):
    st, h, data = gw.call("POST", "/fhir", records(1, 110)[0])
    assert st == 422 and "not records" in data.decode(), data[:300]


def test_a_body_over_max_body_bytes_is_413(gw):
    big = b'{"pad": "' + b"x" * (1 << 20) + b'"}'
    st, h, data = gw.call("POST", "/records", big)
    assert st == 413 and outcome(data) and "X-Request-Id" in h, (st, data[:200])


def test_headers_over_max_header_bytes_are_431(gw):
    rec = records(1, 111)[0]
    st, h, data = gw.call("POST", "/records", rec, headers={"X-Big": "a" * 20000})
    assert st == 431 and outcome(data) and "X-Request-Id" in h, (st, data[:200])
    assert stored(gw, 111) == []


def chunked_post(body, close=False):
    return (b"POST /records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n" + (b"Connection: close\r\n" if close else b"") +
            b"\r\n" + body + b"0\r\n\r\n")


def test_a_chunked_body_over_max_body_bytes_is_413_and_not_stored(gw):
    before = len(gw.stored())
    chunk = b"x" * 65536
    answer = gw.raw(chunked_post((b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 20))
    assert answer.startswith(b"HTTP/1.1 413") and b"OperationOutcome" in answer, answer[:200]
    assert len(gw.stored()) == before, "nothing of the rejected request is stored"


def test_a_small_chunked_body_is_accepted(gw):
    rec = records(1, 112)[0]
    small = json.dumps(rec).encode()
    answer = gw.raw(chunked_post(b"%x\r\n" % len(small) + small + b"\r\n", close=True))
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert stored(gw, 112) == [rec]


def test_a_post_without_content_length_is_411(gw):
    with gw.tls() as s:
        s.sendall(b"POST /records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
                  b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 411") and b"OperationOutcome" in answer, answer[:200]
