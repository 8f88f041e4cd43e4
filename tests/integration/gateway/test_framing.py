"""Request framing end to end: where the guard and evhttp could read the same
bytes as different requests (tests/fuzz/http_differential.h checks them in
process), the gateway refuses, and answers HEAD without a body."""
import json

from conftest import split_answer

HIDDEN = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"


def statuses(answer):
    """The status lines of every answer in raw bytes."""
    return [line for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def test_head_with_a_body_that_hides_a_request(gateway):
    # evhttp reads no body on HEAD: the "body" would be served as a request
    # of its own, behind the back of a proxy that took it for a body.
    payload = (b"HEAD /records HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
               % len(HIDDEN)) + HIDDEN
    answer = gateway.raw(payload)
    line, head, body = split_answer(answer)
    assert line == b"HTTP/1.1 400 Bad Request", answer[:300]
    assert b"X-Request-Id" in head
    assert body == b"", answer[:400]  # an answer to HEAD has no body, a refusal too
    # The hidden request was not served: one answer, the refusal.
    assert statuses(answer) == [b"HTTP/1.1 400 Bad Request"], answer[:400]


def test_head_with_a_chunked_body(gateway):
    chunk = b"%x\r\n" % len(HIDDEN) + HIDDEN + b"\r\n0\r\n\r\n"
    answer = gateway.raw(b"HEAD /records HTTP/1.1\r\nHost: localhost\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n" + chunk)
    assert statuses(answer) == [b"HTTP/1.1 400 Bad Request"], answer[:400]


def test_get_with_a_body_is_refused(gateway):
    answer = gateway.raw(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
                         % len(HIDDEN) + HIDDEN)
    line, head, body = split_answer(answer)
    assert line == b"HTTP/1.1 400 Bad Request", answer[:300]
    assert "a body on a GET" in json.loads(body)["issue"][0]["diagnostics"]


def test_head_to_a_post_route_has_no_body(gateway):
    answer = gateway.raw(b"HEAD /records HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    line, head, body = split_answer(answer)
    assert line.startswith(b"HTTP/1.1 405 "), answer[:300]
    assert b"Allow: POST" in head and b"X-Request-Id" in head
    assert body == b"", answer[:400]


def test_head_then_get_on_one_connection(gateway):
    # With no body bytes after the HEAD answer, the next answer is read as
    # such: two answers, the second a whole OperationOutcome.
    answer = gateway.raw(b"HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                         b"POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
    assert [s[:12] for s in statuses(answer)] == [b"HTTP/1.1 200", b"HTTP/1.1 405"], answer[:600]
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert b"Content-Length: 15" in head  # as GET's {"status":"ok"}
    assert rest.startswith(b"HTTP/1.1 405"), answer[:600]


def test_http_1_9_is_505_in_http_1_1(gateway):
    answer = gateway.raw(b"GET /healthz HTTP/1.9\r\nHost: localhost\r\n\r\n")
    line, head, body = split_answer(answer)
    assert line == b"HTTP/1.1 505 HTTP Version Not Supported", answer[:300]
    assert b'"OperationOutcome"' in body


def test_blank_line_before_a_request(gateway):
    # evhttp would answer it with its own HTML page; the guard, first.
    answer = gateway.raw(b"\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    line, head, body = split_answer(answer)
    assert line == b"HTTP/1.1 400 Bad Request", answer[:300]
    assert b'"OperationOutcome"' in body


def test_target_starting_with_two_slashes(gateway):
    answer = gateway.raw(b"GET //healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    line, head, body = split_answer(answer)
    assert line == b"HTTP/1.1 400 Bad Request", answer[:300]
    assert b'"OperationOutcome"' in body
