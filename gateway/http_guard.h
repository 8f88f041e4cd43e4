/*
 * http_guard.h: the size limits of a request, checked on its raw bytes as
 * they arrive.
 *
 * libevent 2.1's evhttp enforces its own header and body limits, but answers
 * them with an HTML page, no X-Request-Id, and 413 for headers too; it has
 * no hook to do otherwise (2.2's evhttp_set_errorcb). So the server watches
 * each request's bytes before evhttp parses them: this scanner finds the end
 * of the header block, reads Content-Length and Transfer-Encoding, counts,
 * and says when a limit is passed, so that the server answers 431 or 413
 * with an OperationOutcome itself. evhttp's own limits stay, set higher, as
 * a backstop. No sockets here: bytes in, a verdict out.
 */
#ifndef CG_HTTP_GUARD_H
#define CG_HTTP_GUARD_H

#include <stddef.h>

enum cg_guard_verdict {
	CG_GUARD_OK,
	CG_GUARD_HEADERS_TOO_LARGE, /* 431 */
	CG_GUARD_BODY_TOO_LARGE     /* 413 */
};

struct cg_http_guard {
	size_t max_header, max_body;
	size_t header_bytes, body_bytes;
	long long content_length; /* -1: none given */
	int chunked;
	int in_body;   /* the blank line has been seen */
	int started;   /* the request line has begun (leading CRLFs skipped) */
	char line[48]; /* the start of the current header line */
	size_t line_len;
};

void cg_http_guard_init(struct cg_http_guard *g, size_t max_header, size_t max_body);
/* Forgets the request: the next byte starts a new one. A request with a
 * Content-Length (or none, and no body) ends by itself; a chunked one when
 * the server says so with this. */
void cg_http_guard_reset(struct cg_http_guard *g);
/* Feeds the next n bytes of the connection. Once it says a limit is passed
 * it keeps saying so. */
enum cg_guard_verdict cg_http_guard_feed(struct cg_http_guard *g, const char *p, size_t n);

#endif
