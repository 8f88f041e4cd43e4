"""Bytes that are not well-formed HTTP/1.1, randomly damaged requests,
refusals after pipelined requests and a slowloris client.

evhttp would answer malformed requests itself (an HTML page, no
X-Request-Id) or let them through; the gateway's guard answers first, with
an OperationOutcome. The tests share one gateway (full_config: header and
body timeouts of 1 s each)."""
import json
import random
import re
import ssl
import threading
import time

import pytest

from conftest import records, split_answer


@pytest.fixture(scope="module")
def gw(shared_gateway):
    return shared_gateway


V = (b"POST /records/$validate HTTP/1.1\r\nHost: localhost\r\n"
     b"Content-Type: application/json\r\n")
MALFORMED = [
    (b"hello there\r\n\r\n", 400),
    (b"GET /healthz\r\n\r\n", 400),
    (b"GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n", 505),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    (b"FOO /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 501),
    (b"TRACE /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 501),
    (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost : localhost\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: a\x00b\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: localhost\rX-A: b\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET /h\xc3\xa9 HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    (b"GET http://[::1/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 400),
    (V + b"Content-Length: abc\r\n\r\n{}", 400),
    (V + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ", 400),
    (V + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400),
    (V + b"Transfer-Encoding: gzip\r\n\r\n{}", 501),
    (V + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400),
    (V + b"Transfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n0\r\n\r\n", 400),
    (V + b"Expect: foo\r\nContent-Length: 2\r\n\r\n{}", 417),
    (V + b"\r\n", 411),
]
MALFORMED_IDS = [
    "not-http", "no-version", "http2-version", "http2-preface", "unknown-method", "trace",
    "folded-header", "space-before-colon", "nul-in-value", "bare-cr", "no-host", "two-hosts",
    "non-ascii-target", "bad-absolute-target", "content-length-not-a-number",
    "two-content-lengths", "content-length-and-chunked", "gzip-transfer-encoding",
    "bad-chunk-size", "chunk-extension", "unknown-expect", "post-without-length",
]


@pytest.mark.parametrize("payload,want", MALFORMED, ids=MALFORMED_IDS)
def test_malformed_http_is_refused_with_an_operation_outcome(gw, payload, want):
    answer = gw.raw(payload)
    line, head, body = split_answer(answer)
    assert line.startswith(b"HTTP/1.1 %d" % want), answer[:300]
    assert b"X-Request-Id" in head and b'"OperationOutcome"' in body, answer[:300]


# What is well-formed still passes: absolute-form targets, HTTP/1.0 without
# Host, bare LFs, a chunked body with a trailer, Expect: 100-continue.
WELL_FORMED = [
    b"GET https://localhost/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    b"GET http://[::1]:1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /healthz HTTP/1.0\r\n\r\n",
    b"GET /healthz HTTP/1.1\nHost: localhost\nConnection: close\n\n",
    V + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n"
    b"X-Trailer: 1\r\n\r\n",
    V + b"Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
]
WELL_FORMED_IDS = ["absolute-form", "absolute-form-ipv6", "http10-without-host", "bare-lf",
                   "chunked-with-trailer", "expect-100-continue"]


@pytest.mark.parametrize("payload", WELL_FORMED, ids=WELL_FORMED_IDS)
def test_well_formed_http_is_served(gw, payload):
    answer = gw.raw(payload)
    assert re.match(rb"HTTP/1\.[01] (200|422) ", answer) is not None, answer[:300]


def answer_of(gw, payload, timeout=4):
    """The first answer on a fresh connection, or b"" when the gateway said
    nothing before closing (a request left incomplete is cut at its deadline)."""
    with gw.tls(timeout=timeout) as s:
        try:
            s.sendall(payload)
        except (ssl.SSLError, OSError):
            pass
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
                line, head, body = split_answer(got)
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", b"\r\n" + head)
                if b"\r\n\r\n" in got and m and len(body) >= int(m.group(1)):
                    break
        except (ssl.SSLError, OSError):
            pass
    return got


def mutate(rng, payload):
    b = bytearray(payload)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(b))
        op = rng.randrange(4)
        if op == 0:
            b[i] = rng.choice(b" \r\n\t\x00:\x7f\xff/%[]@?#a0;,")
        elif op == 1:
            b.insert(i, rng.choice(b" \r\n\t\x00:\x7f\xff/%[]@?#a0;,"))
        elif op == 2:
            del b[i]
        else:
            b[i:i] = b[i:i + rng.randint(1, 12)]
    return bytes(b)


def test_randomly_damaged_requests_are_answered_properly(gw):
    """Random damage to good requests: whatever the gateway answers carries an
    X-Request-Id, and every error an OperationOutcome. Some damage leaves a
    request waiting for bytes that never come; those are cut at the deadline
    without an answer, and must stay the exception."""
    bases = [b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
             V + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
             V + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n"]
    rng = random.Random(20261122)
    cases = [mutate(rng, rng.choice(bases)) for _ in range(240)]
    results = [None] * len(cases)

    def run_cases(k):
        for i in range(k, len(cases), 24):
            results[i] = answer_of(gw, cases[i])

    threads = [threading.Thread(target=run_cases, args=(k,)) for k in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wrong = [(c, a) for c, a in zip(cases, results)
             if a and not (re.match(rb"HTTP/1\.[01] \d{3} ", a)
                           and b"X-Request-Id" in split_answer(a)[1]
                           and (a[9:10] in b"123" or b'"OperationOutcome"' in split_answer(a)[2]))]
    answered = sum(1 for a in results if a)
    assert not wrong, repr(wrong[:1])[:600]
    assert answered >= 0.8 * len(cases), f"{answered} of 240 answered"
    assert gw.call("GET", "/healthz")[0] == 200, "the gateway is still up"


def statuses(answer):
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]


GET_H = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"


def test_pipelined_requests_before_a_refused_one_are_answered_first(gw):
    """Requests sent ahead of a refused one in the same write are still
    served, and answered in order before the refusal."""
    answer = gw.raw(GET_H + GET_H + b"hello there\r\n\r\n" + GET_H)
    assert statuses(answer) == [200, 200, 400], answer[-300:]
    assert b'"OperationOutcome"' in answer


def test_a_request_waiting_on_its_upstream_is_answered_before_a_refused_one(gw):
    slow = json.dumps(records(1, 201)[0]).encode()
    t0 = time.time()
    answer = gw.raw(b"POST /up/slow HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(slow) + slow + b"FOO / HTTP/1.1\r\n\r\n")
    assert statuses(answer) == [504, 501], answer[-300:]
    assert time.time() - t0 < 5


def test_a_slowloris_client_is_cut_off(gw):
    """A client that trickles its headers, one byte every 300 ms, forever: the
    connection is cut once the request's time (header + body timeouts, 2 s)
    is up; the gateway goes on serving others."""
    start = time.time()
    with gw.tls() as s:
        cut = None
        try:
            for b in b"POST /records HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100:
                s.sendall(bytes([b]))
                time.sleep(0.3)
        except (ssl.SSLError, OSError) as e:
            cut = e
        if cut is None:
            try:
                cut = s.recv(100) == b""
            except (ssl.SSLError, OSError) as e:
                cut = e
    elapsed = time.time() - start
    assert cut and elapsed < 6, (cut, elapsed)
    assert gw.call("GET", "/healthz")[0] == 200
