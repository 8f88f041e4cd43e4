/* test_http_differential.c: the guard against the real evhttp
 * (tests/fuzz/http_differential.h) on inputs where the two parsers could
 * read the bytes otherwise: for what the guard lets through, evhttp must
 * frame the same requests, with the same bodies, and never answer itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../fuzz/http_differential.h"

#define H          "Host: x\r\n"
#define HIDDEN     "GET /hidden HTTP/1.1\r\n" H "\r\n" /* 33 bytes */
#define POST_CL(n) "POST /records HTTP/1.1\r\n" H "Content-Length: " n "\r\n\r\n"
#define POST_TE    "POST /records HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
#define NEXT       "GET /next HTTP/1.1\r\n" H "\r\n"

static const char *const inputs[] = {
        /* A body on a method evhttp reads none for (HEAD, TRACE). */
        "HEAD /records HTTP/1.1\r\n" H "Content-Length: 33\r\n\r\n" HIDDEN,
        "HEAD /records HTTP/1.1\r\n" H "Content-Length: 12\r\n\r\nBAD LINE\r\n\r\n",
        "HEAD /records HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n21\r\n" HIDDEN
        "\r\n0\r\n\r\n",
        "HEAD / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n" NEXT,
        "TRACE / HTTP/1.1\r\n" H "Content-Length: 33\r\n\r\n" HIDDEN,
        /* And on those evhttp 2.1.12 reads one for. */
        "GET / HTTP/1.1\r\n" H "Content-Length: 33\r\n\r\n" HIDDEN,
        "DELETE / HTTP/1.1\r\n" H "Content-Length: 33\r\n\r\n" HIDDEN,
        "OPTIONS / HTTP/1.1\r\n" H "Content-Length: 33\r\n\r\n" HIDDEN,
        "GET / HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "Content-Length: 0\r\n\r\n" NEXT,
        "DELETE / HTTP/1.1\r\n" H "Content-Length: 00\r\n\r\n" NEXT,
        /* Blank lines before a request, and between requests. */
        "\r\nGET / HTTP/1.1\r\n" H "\r\n",
        "\nGET / HTTP/1.1\r\n" H "\r\n",
        POST_CL("2") "{}\r\n" NEXT,
        POST_TE "2\r\n{}\r\n0\r\n\r\n\r\n" NEXT,
        /* Request lines. */
        "GET / HTTP/1.9\r\n" H "\r\n",
        "GET / HTTP/1.2\r\n" H "\r\n" NEXT,
        "GET / HTTP/1.0\r\n\r\n" NEXT,
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "Connection: close\r\n\r\n" NEXT,
        "GET / HTTP/0.9\r\n\r\n",
        "GET / HTTP/2.0\r\n" H "\r\n",
        "GET / HTTP/1.1 \r\n" H "\r\n",
        "GET  / HTTP/1.1\r\n" H "\r\n",
        "get / HTTP/1.1\r\n" H "\r\n",
        "CONNECT x:1 HTTP/1.1\r\n" H "\r\n",
        "FOO / HTTP/1.1\r\n" H "Content-Length: 33\r\n\r\n" HIDDEN,
        "OPTIONS * HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET * HTTP/1.1\r\n" H "\r\n",
        "GET http://h HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET http://h?q=1 HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET HTTP://H:8443/a HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET https://[::1]:80/a HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET http://h_x.-~/ HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET /a#b HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET /a?b#c HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET /a[]{}|\\^`\"<> HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET /%zz HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET //a HTTP/1.1\r\n" H "\r\n" NEXT,
        "GET /a:b@c HTTP/1.1\r\n" H "\r\n" NEXT,
        /* Header lines. */
        "GET / HTTP/1.1\nHost: x\n\n" NEXT,
        "GET / HTTP/1.1\r\n" H "X-A: a\r\n b\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "X-A : a\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "X-A:\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "X-A: \xff\x80\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "Expect: 100-continue\r\n\r\n" NEXT,
        "GET / HTTP/1.1\r\n" H "Expect: foo\r\n\r\n" NEXT,
        POST_CL("2") "Expect: 100-continue\r\n\r\n{}" NEXT,
        "POST /records HTTP/1.1\r\n" H "Expect: 100-continue\r\nContent-Length: 2\r\n\r\n{}" NEXT,
        "POST /records HTTP/1.0\r\nExpect: foo\r\nContent-Length: 2\r\n\r\n{}",
        /* Content-Length as strtoll reads it. */
        POST_CL("+2") "{}" NEXT,
        POST_CL("-0") NEXT,
        POST_CL("0x2") "{}" NEXT,
        POST_CL("002") "{}" NEXT,
        POST_CL("2 ") "{}" NEXT,
        POST_CL("2\t") "{}" NEXT,
        POST_CL("\t2") "{}" NEXT,
        POST_CL(" 2") "{}" NEXT,
        POST_CL("2 2") "{}" NEXT,
        POST_CL("99999999999999999999") "{}" NEXT,
        "POST /records HTTP/1.1\r\n" H "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}" NEXT,
        "POST /records HTTP/1.1\r\n" H "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        "{}" NEXT,
        /* Transfer-Encoding as evhttp reads it. */
        "POST /records HTTP/1.1\r\n" H "Transfer-Encoding: chunked \t\r\n\r\n0\r\n\r\n" NEXT,
        "POST /records HTTP/1.1\r\n" H "Transfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n" NEXT,
        "POST /records HTTP/1.1\r\n" H "Transfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n" NEXT,
        "POST /records HTTP/1.1\r\n" H "Transfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
        "POST /records HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" NEXT,
        /* Chunks: sizes as strtoll base 16 reads them, blank lines. */
        POST_TE "0x2\r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE "+2\r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE " 2\r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE "2 \r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE "2 junk\r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE "2;x=y\r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE "-0\r\n\r\n" NEXT,
        POST_TE "\r\n2\r\n{}\r\n0\r\n\r\n" NEXT,
        POST_TE "2\r\n{}\r\n\r\n0\r\n\r\n" NEXT,
        POST_TE "2\r\n{}0\r\n\r\n" NEXT,
        POST_TE "2\n{}\n0\n\n" NEXT,
        POST_TE "0002\r\n{}\r\n00\r\n\r\n" NEXT,
        POST_TE "0\r\nX-T: 1\r\nX-U: 2\r\n\r\n" NEXT,
        POST_TE "0\r\nX-T: 1\r\n folded\r\n\r\n" NEXT,
        POST_TE "0\r\nno colon\r\n\r\n" NEXT,
        POST_TE "0\r\nContent-Length: 5\r\n\r\n" NEXT,
        /* Pipelined and partial. */
        POST_CL("2") "{}" POST_CL("3") "abc" NEXT,
        POST_CL("2") "{}GET / HTTP/1.1\r\n",
        POST_TE "5\r\nab",
};

static void
every_input(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct diff_result res;
		int r = diff_run((const unsigned char *)inputs[i], strlen(inputs[i]), &res);

		assert_true(r >= 0);
		if (r) {
			print_message("input %zu (%.50s...): %s\n", i, inputs[i], res.why);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Requests longer than the guard's limits: refused there, so evhttp (whose
 * limits are twice as high) never sees them. */
static void
long_lines(void **state)
{
	static char text[4 * DIFF_MAX_HEADER];
	struct diff_result res;
	size_t sizes[] = {DIFF_MAX_HEADER - 40, DIFF_MAX_HEADER - 20, DIFF_MAX_HEADER,
	                  DIFF_MAX_HEADER * 2, DIFF_MAX_HEADER * 3};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int n = (int)sizes[i];

		snprintf(text, sizeof(text), "GET /%0*d HTTP/1.1\r\n" H "\r\n" NEXT, n, 0);
		assert_int_equal(diff_run((const unsigned char *)text, strlen(text), &res), 0);
		snprintf(text, sizeof(text), "GET / HTTP/1.1\r\n" H "X-Big: %0*d\r\n\r\n" NEXT, n,
		         0);
		assert_int_equal(diff_run((const unsigned char *)text, strlen(text), &res), 0);
		snprintf(text, sizeof(text), POST_TE "0\r\nX-Big: %0*d\r\n\r\n" NEXT, n, 0);
		assert_int_equal(diff_run((const unsigned char *)text, strlen(text), &res), 0);
	}
}

/* The harness sees what it must: evhttp's own answer, and a request hidden
 * in a body (here, one the guard refuses, so never given to evhttp). */
static void
harness_sees(void **state)
{
	static const char bad_line[] = "GET / HTTP/1.1\r\n" H "\r\nBAD\r\n\r\n";
	static const char ok[] = POST_CL("2") "{}" NEXT;
	struct diff_result res;

	(void)state;
	assert_int_equal(diff_run((const unsigned char *)ok, strlen(ok), &res), 0);
	assert_int_equal(res.evhttp.n, 2);
	assert_int_equal(res.evhttp.req[0].body, 2);
	assert_int_equal(res.evhttp.req[0].method, EVHTTP_REQ_POST);
	assert_string_equal(res.evhttp.req[1].uri, "/next");
	/* The guard refuses "BAD": evhttp gets only the first request. */
	assert_int_equal(diff_run((const unsigned char *)bad_line, strlen(bad_line), &res), 0);
	assert_int_equal(res.verdict, CG_GUARD_BAD_REQUEST);
	assert_int_equal(res.evhttp.n, 1);
	/* evhttp's own answer, given the bytes directly. */
	memset(&res, 0, sizeof(res));
	assert_int_equal(diff_evhttp((const unsigned char *)"BAD\r\n\r\n", 7, &res), 0);
	assert_int_equal(res.evhttp_status, 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(every_input),
	        cmocka_unit_test(long_lines),
	        cmocka_unit_test(harness_sees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
