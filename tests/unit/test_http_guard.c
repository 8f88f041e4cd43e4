/* test_http_guard.c: request size limits on raw bytes (http_guard.h), fed
 * whole and one byte at a time, since a slow client sends them so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http_guard.h"

/* Feeds text whole, then again byte by byte: both must agree. */
static enum cg_guard_verdict
feed(const char *text, size_t max_header, size_t max_body)
{
	struct cg_http_guard whole, bytes;
	enum cg_guard_verdict a, b = CG_GUARD_OK;
	size_t i, n = strlen(text);

	cg_http_guard_init(&whole, max_header, max_body);
	a = cg_http_guard_feed(&whole, text, n);
	cg_http_guard_init(&bytes, max_header, max_body);
	for (i = 0; i < n; i++)
		b = cg_http_guard_feed(&bytes, text + i, 1);
	assert_int_equal(a, b);
	return a;
}

static void
small_request_passes(void **state)
{
	(void)state;
	assert_int_equal(feed("POST /records HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
	                      "{\"a\":1}",
	                      1024, 100),
	                 CG_GUARD_OK);
}

static void
content_length_over_the_limit(void **state)
{
	(void)state;
	assert_int_equal(feed("POST / HTTP/1.1\r\ncontent-LENGTH:  101\r\n\r\n", 1024, 100),
	                 CG_GUARD_BODY_TOO_LARGE);
	/* Known before any byte of the body arrives. */
	assert_int_equal(feed("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999999"
	                      "99999999999\r\n\r\n",
	                      1024, 100),
	                 CG_GUARD_BODY_TOO_LARGE);
	/* Not yet: the header block has not ended. */
	assert_int_equal(feed("POST / HTTP/1.1\r\nContent-Length: 101\r\n", 1024, 100),
	                 CG_GUARD_OK);
}

static void
headers_over_the_limit(void **state)
{
	char big[3000];

	(void)state;
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX-Big: %02000d\r\n\r\n", 0);
	assert_int_equal(feed(big, 1024, 100), CG_GUARD_HEADERS_TOO_LARGE);
	assert_int_equal(feed(big, 4096, 100), CG_GUARD_OK);
	/* Without an end: still caught as the bytes come. */
	big[1500] = 0;
	assert_int_equal(feed(big, 1024, 100), CG_GUARD_HEADERS_TOO_LARGE);
}

static void
chunked_body_counted(void **state)
{
	char req[4000];
	int n;

	(void)state;
	n = snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	memset(req + n, 'a', 1500);
	req[n + 1500] = 0;
	assert_int_equal(feed(req, 1024, 100), CG_GUARD_BODY_TOO_LARGE);
	req[n + 50] = 0;
	assert_int_equal(feed(req, 1024, 100), CG_GUARD_OK);
}

static void
leading_blank_lines_and_reset(void **state)
{
	struct cg_http_guard g;
	static const char req[] = "\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 500\r\n\r\n";

	(void)state;
	cg_http_guard_init(&g, 1024, 100);
	assert_int_equal(cg_http_guard_feed(&g, req, strlen(req)), CG_GUARD_BODY_TOO_LARGE);
	/* It keeps saying so... */
	assert_int_equal(cg_http_guard_feed(&g, "x", 1), CG_GUARD_BODY_TOO_LARGE);
	/* ...until the next request. */
	cg_http_guard_reset(&g);
	assert_int_equal(cg_http_guard_feed(&g, "GET / HTTP/1.1\r\n\r\n", 18), CG_GUARD_OK);
	assert_int_equal(g.max_header, 1024);
}

static void
pipelined_requests(void **state)
{
	static const char two[] = "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
	                          "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
	static const char gets[] = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";

	(void)state;
	/* The second request's length is seen as such, not as body bytes. */
	assert_int_equal(feed(two, 1024, 100), CG_GUARD_BODY_TOO_LARGE);
	/* Many small requests never add up to the header limit. */
	assert_int_equal(feed(gets, 30, 100), CG_GUARD_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(small_request_passes),
	        cmocka_unit_test(content_length_over_the_limit),
	        cmocka_unit_test(headers_over_the_limit),
	        cmocka_unit_test(chunked_body_counted),
	        cmocka_unit_test(leading_blank_lines_and_reset),
	        cmocka_unit_test(pipelined_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
