/* test_http_guard.c: request framing and size limits on raw bytes
 * (http_guard.h), each case fed whole and again one byte at a time, since a
 * slow client sends them so: both must give the same verdict and reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_guard.h"

#define OK   CG_GUARD_OK
#define BAD  CG_GUARD_BAD_REQUEST
#define N501 CG_GUARD_NOT_IMPLEMENTED
#define N505 CG_GUARD_BAD_VERSION
#define N431 CG_GUARD_HEADERS_TOO_LARGE
#define N413 CG_GUARD_BODY_TOO_LARGE
#define N411 CG_GUARD_LENGTH_REQUIRED
#define N417 CG_GUARD_EXPECTATION

struct guard_case {
	const char *text;
	enum cg_guard_verdict want;
	const char *why; /* a part of the reason given, or NULL */
};

/* Limits of every case: 1,024 bytes of header block, 100 of body. */
static const struct guard_case cases[] = {
        /* Well-formed. */
        {"POST /records HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}", OK, NULL},
        {"GET /healthz HTTP/1.0\r\n\r\n", OK, NULL}, /* HTTP/1.0 needs no Host */
        {"GET / HTTP/1.1\nHost: x\n\n", OK, NULL},   /* bare LFs */
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", OK, NULL}, /* clients send it */
        {"HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", OK, NULL},
        {"DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n", OK, NULL},
        {"GET https://localhost:8443/fhir/metadata?x=%20 HTTP/1.1\r\nHost: localhost\r\n\r\n", OK,
         NULL},
        {"GET HTTP://[::1]/ HTTP/1.1\r\nHost: [::1]\r\n\r\n", OK, NULL},
        {"GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", OK, NULL},
        {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", OK, NULL},
        {"GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xc3\xa9\tok\r\nX-Empty:\r\n\r\n", OK, NULL},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\ncontent-length:  2 \r\n\r\n{}", OK,
         NULL},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  Chunked \r\n\r\n"
         "5\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n",
         OK, NULL},
        /* The request line. */
        {"hello\r\n\r\n", BAD, "request line"},
        {"GET /healthz\r\n\r\n", BAD, "request line"},
        {"GET /healthz HTTP/1.1x\r\nHost: x\r\n\r\n", BAD, "request line"},
        {"GET /healthz HTTP/1.1 \r\n", BAD, "request line"},
        {"GET /healthz http/1.1\r\n", BAD, "request line"},
        {"GET /healthz HTTP/11\r\n", BAD, "request line"},
        {" GET / HTTP/1.1\r\n", BAD, "request line"},
        {"GET  / HTTP/1.1\r\n", BAD, "request target"},
        {"GET /a b HTTP/1.1\r\n", BAD, "request line"},
        {"GET x HTTP/1.1\r\n", BAD, "request target"},
        {"GET /h\xc3\xa9 HTTP/1.1\r\n", BAD, "percent-encoded"},
        {"GET /a\tb HTTP/1.1\r\n", BAD, "percent-encoded"},
        {"GET ftp://h/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http:/h/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http:///x HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://u@h/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://h:99999/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://h:/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://h:80:80/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://[::zz]/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://[1:2]/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET http://[::1/ HTTP/1.1\r\n", BAD, "request target"},
        {"GET *x HTTP/1.1\r\n", BAD, "request target"},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", N505, "HTTP/1.1"},
        /* evhttp takes any HTTP/1.x, and answers in it ("HTTP/1.9 200 OK"). */
        {"GET / HTTP/1.9\r\nHost: x\r\n\r\n", N505, "HTTP/1.1"},
        {"GET / HTTP/1.2\r\nHost: x\r\n\r\n", N505, "HTTP/1.1"},
        /* evhttp skips no blank line before a request: it answers 400. */
        {"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", BAD, "blank line"},
        {"\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", BAD, "blank line"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}\r\n"
         "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
         BAD, "blank line"},
        /* evhttp's URI parser takes "//h" for an authority. */
        {"GET //h/records HTTP/1.1\r\nHost: x\r\n\r\n", BAD, "//"},
        {"GET // HTTP/1.1\r\nHost: x\r\n\r\n", BAD, "//"},
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", N505, "HTTP/1.1"},
        {"GET / HTTP/0.9\r\n", N505, "HTTP/1.1"},
        {"FOO / HTTP/1.1\r\nHost: x\r\n\r\n", N501, "method"},
        {"get / HTTP/1.1\r\nHost: x\r\n\r\n", N501, "method"},
        {"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", N501, "method"},
        {"CONNECT localhost:443 HTTP/1.1\r\nHost: x\r\n\r\n", N501, "method"},
        /* Header lines. */
        {"GET / HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n", BAD, "whitespace"},
        {"GET / HTTP/1.1\r\nHost: x\r\nBadheader\r\n\r\n", BAD, "without a colon"},
        {"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", BAD, "without a name"},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", BAD, "whitespace"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", BAD, "folded"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX(A): a\r\n\r\n", BAD, "header name"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n", BAD, "control character"},
        {"GET / HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n", BAD, "CR not followed by LF"},
        {"GET / HTTP/1.1\r\r\n", BAD, "CR not followed by LF"},
        {"GET / HTTP/1.1\r\n\r\n", BAD, "Host"},
        {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", BAD, "more than one Host"},
        /* Body framing. */
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", BAD, "not a number"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", BAD, "not a number"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", BAD, "not a number"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", BAD, "not a number"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", BAD,
         "disagree"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
         BAD, "both"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         BAD, "more than once"},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", BAD, "HTTP/1.0"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", N501, "chunked"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", N501, "chunked"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", BAD,
         "hexadecimal"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\n", BAD,
         "extensions"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", BAD,
         "without its size"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX", BAD,
         "longer than its size"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n", BAD,
         "whitespace"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n", N501,
         "chunked"}, /* evhttp skips spaces only: a tab makes it another coding */
        {"POST /records HTTP/1.1\r\nHost: x\r\n\r\n", N411, "Content-Length"},
        {"PUT / HTTP/1.1\r\nHost: x\r\n\r\n", N411, "Content-Length"},
        {"PATCH / HTTP/1.0\r\n\r\n", N411, "Content-Length"},
        {"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", OK, NULL},
        /* A body where evhttp reads none (HEAD: a request hidden in it
         * would be served) or where none is served. */
        {"HEAD /records HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\n"
         "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n",
         BAD, "a body on a GET, HEAD"},
        {"HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", BAD,
         "a body on a GET, HEAD"},
        {"HEAD / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", BAD, "a body on a GET, HEAD"},
        {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", BAD, "a body on a GET, HEAD"},
        {"DELETE / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", BAD,
         "a body on a GET, HEAD"},
        {"OPTIONS * HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", BAD,
         "a body on a GET, HEAD"},
        /* Expect. */
        {"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}", OK,
         NULL},
        {"POST / HTTP/1.1\r\nHost: x\r\nExpect:  100-Continue\t\r\nContent-Length: 2\r\n\r\n{}", OK,
         NULL},
        {"POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 2\r\n\r\n{}", N417,
         "Expect"},
        {"POST / HTTP/1.1\r\nHost: x\r\nExpect:\t100-continue\r\nContent-Length: 2\r\n\r\n", N417,
         "Expect"},
        {"POST / HTTP/1.0\r\nExpect: foo\r\nContent-Length: 2\r\n\r\n{}", OK, NULL},
        /* Sizes. */
        {"POST / HTTP/1.1\r\nHost: x\r\ncontent-LENGTH:  101\r\n\r\n", N413, "max_body_bytes"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999999999999999999999999999999999"
         "99999999999999999999999999999999999999999999999\r\n\r\n",
         N413, "max_body_bytes"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n", OK, NULL}, /* not yet */
        /* A chunk's size is known before its bytes: refused at once. */
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", N413,
         "max_body_bytes"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "32\r\n01234567890123456789012345678901234567890123456789\r\n33\r\n",
         N413, "max_body_bytes"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
         N413, "max_body_bytes"},
        /* Pipelined: the second request's length is read as such, not as
         * body bytes of the first. */
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
         "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
         N413, "max_body_bytes"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
         "GET / HTTP/1.1\r\n\r\n",
         BAD, "Host"},
};

/* Feeds text whole, then again byte by byte: both must agree. */
static enum cg_guard_verdict
feed_n(const char *text, size_t n, size_t max_header, size_t max_body, const char **why)
{
	struct cg_http_guard whole, bytes;
	enum cg_guard_verdict a, b = CG_GUARD_OK;
	size_t i;

	cg_http_guard_init(&whole, max_header, max_body);
	a = cg_http_guard_feed(&whole, text, n);
	cg_http_guard_init(&bytes, max_header, max_body);
	for (i = 0; i < n; i++)
		b = cg_http_guard_feed(&bytes, text + i, 1);
	assert_int_equal(a, b);
	assert_ptr_equal(whole.why, bytes.why);
	*why = whole.why;
	return a;
}

static enum cg_guard_verdict
feed(const char *text, size_t max_header, size_t max_body)
{
	const char *why;

	return feed_n(text, strlen(text), max_header, max_body, &why);
}

static void
every_case(void **state)
{
	static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n";
	const char *why;
	size_t i;

	(void)state;
	/* A NUL byte in a value (the table's texts end at theirs). */
	assert_int_equal(feed_n(nul, sizeof(nul) - 1, 1024, 100, &why), BAD);
	assert_non_null(strstr(why, "control character"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *text = cases[i].text;
		enum cg_guard_verdict got = feed_n(text, strlen(text), 1024, 100, &why);

		if (got != cases[i].want ||
		    (cases[i].why && (!why || !strstr(why, cases[i].why))) || (got != OK && !why))
			fail_msg("case %zu (%.40s...): got %d (%s), want %d (%s)", i, text, got,
			         why ? why : "-", cases[i].want, cases[i].why ? cases[i].why : "-");
	}
}

static void
headers_over_the_limit(void **state)
{
	char big[3000];

	(void)state;
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %02000d\r\n\r\n", 0);
	assert_int_equal(feed(big, 1024, 100), N431);
	assert_int_equal(feed(big, 4096, 100), OK);
	/* Without an end: still caught as the bytes come. */
	big[1500] = 0;
	assert_int_equal(feed(big, 1024, 100), N431);
	/* Blank lines before a request are refused at the first. */
	memset(big, '\n', 2000);
	big[2000] = 0;
	assert_int_equal(feed(big, 1024, 100), BAD);
}

static void
verdicts_stay(void **state)
{
	struct cg_http_guard g;
	static const char req[] = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n";
	const char *reason;

	(void)state;
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, req, strlen(req)), N413);
	assert_int_equal(cg_http_guard_feed(&g, "GET / HTTP/1.1\r\n", 16), N413);
	assert_int_equal(cg_http_guard_status(g.verdict, &reason), 413);
	assert_string_equal(reason, "Content Too Large");
	assert_int_equal(cg_http_guard_status(CG_GUARD_BAD_REQUEST, &reason), 400);
	assert_int_equal(cg_http_guard_status(CG_GUARD_NOT_IMPLEMENTED, &reason), 501);
	assert_int_equal(cg_http_guard_status(CG_GUARD_BAD_VERSION, &reason), 505);
	assert_int_equal(cg_http_guard_status(CG_GUARD_HEADERS_TOO_LARGE, &reason), 431);
	assert_int_equal(cg_http_guard_status(CG_GUARD_LENGTH_REQUIRED, &reason), 411);
	assert_int_equal(cg_http_guard_status(CG_GUARD_EXPECTATION, &reason), 417);
}

static void
many_requests_on_one_connection(void **state)
{
	struct cg_http_guard g;
	static const char one[] =
	        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	        "3\r\nabc\r\n0\r\n\r\n";
	int i;

	(void)state;
	/* Each request starts its counts afresh: a thousand of them never add
	 * up to a limit. */
	cg_http_guard_init(&g, 100, 10);
	for (i = 0; i < 1000; i++)
		assert_int_equal(cg_http_guard_feed(&g, one, strlen(one)), OK);
}

static void
where_the_refused_request_began(void **state)
{
	struct cg_http_guard g;
	static const char first[] = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
	                            "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char bad[] = "GET /c HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n";
	char all[256];

	(void)state;
	/* The server serves what came before it and refuses from there on. */
	snprintf(all, sizeof(all), "%s%s", first, bad);
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, all, strlen(all)), BAD);
	assert_int_equal(g.request_start, strlen(first));
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, bad, strlen(bad)), BAD);
	assert_int_equal(g.request_start, 0);
}

/* The refused request's method, for an answer without a body to HEAD. */
static void
head_is_remembered(void **state)
{
	struct cg_http_guard g;
	static const char head[] = "HEAD /records HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n";
	static const char get_then_head[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.9\r\n";
	static const char head_then_get[] =
	        "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n";

	(void)state;
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, head, strlen(head)), BAD);
	assert_true(g.head);
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, get_then_head, strlen(get_then_head)), N505);
	assert_true(g.head);
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, head_then_get, strlen(head_then_get)), BAD);
	assert_false(g.head);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_case),
	        cmocka_unit_test(headers_over_the_limit),
	        cmocka_unit_test(verdicts_stay),
	        cmocka_unit_test(many_requests_on_one_connection),
	        cmocka_unit_test(where_the_refused_request_began),
	        cmocka_unit_test(head_is_remembered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
