/*
 * http_guard.h: a request's framing and size limits, checked on its raw
 * bytes as they arrive.
 *
 * libevent 2.1's evhttp answers what it cannot parse, and its own header and
 * body limits, with an HTML page and no X-Request-Id (400, 413 for headers
 * too, 413 for a bad chunk, 501 for an unknown method); it has no hook to do
 * otherwise (2.2's evhttp_set_errorcb). So the server watches each request's
 * bytes before evhttp parses them: this scanner reads the request line, the
 * header lines and the body's framing (Content-Length or chunked) as RFC 9112
 * has them, at least as strictly as evhttp does, and says what is wrong, so
 * that the server answers with an OperationOutcome itself. What it also
 * refuses that evhttp would let through: header line folding, whitespace
 * before a header's colon, control characters, a missing or repeated Host,
 * Content-Length and Transfer-Encoding together or Content-Lengths that
 * disagree (request smuggling through a proxy in front), bare CRs. And what
 * evhttp 2.1.12 reads otherwise than RFC 9112 has it, so that the two never
 * frame the same bytes as different requests (tests/fuzz/http_differential.h
 * checks it against the real evhttp): a body on HEAD (evhttp reads none, so a
 * request hidden in it would be served) and on GET, DELETE, OPTIONS; blank
 * lines before a request line (evhttp answers 400); HTTP/1.x other than 1.0
 * and 1.1 (evhttp answers in HTTP/1.9); a target starting with "//" (evhttp
 * reads a host there). evhttp's own limits stay, set higher, as a backstop.
 * No sockets here: bytes in, a verdict out.
 */
#ifndef CG_HTTP_GUARD_H
#define CG_HTTP_GUARD_H

#include <stddef.h>

enum cg_guard_verdict {
	CG_GUARD_OK,
	CG_GUARD_BAD_REQUEST,       /* 400: not a well-formed HTTP/1.x request */
	CG_GUARD_NOT_IMPLEMENTED,   /* 501: a method or transfer coding not served */
	CG_GUARD_BAD_VERSION,       /* 505: HTTP/2.0, HTTP/0.9... */
	CG_GUARD_LENGTH_REQUIRED,   /* 411: POST, PUT, PATCH with no framing */
	CG_GUARD_EXPECTATION,       /* 417: an Expect other than 100-continue */
	CG_GUARD_HEADERS_TOO_LARGE, /* 431 */
	CG_GUARD_BODY_TOO_LARGE     /* 413 */
};

struct cg_http_guard {
	size_t max_header, max_body;
	size_t header_bytes;
	unsigned long long body_bytes; /* declared so far (chunk sizes) or received */
	enum cg_guard_verdict verdict; /* once given, kept */
	const char *why;               /* what is wrong, for the answer and the log */
	int phase;                     /* request line, headers, body, chunks, trailer */
	int part;                      /* where in the current line */
	size_t part_len;               /* bytes of that part so far */
	int cr;                        /* the previous byte was a CR */
	int unserved;                  /* the method is not one the server answers */
	int needs_body;                /* POST, PUT, PATCH; the others may have none */
	int head;                      /* HEAD: the answer, a refusal too, has no body */
	int bad_expect;                /* an Expect other than 100-continue */
	int https;                     /* an absolute target's scheme is https */
	unsigned port;                 /* an absolute target's port */
	int major, minor;              /* HTTP/major.minor */
	int hosts, lengths, codings;   /* Host, Content-Length, Transfer-Encoding lines */
	long long content_length;      /* -1: none given */
	unsigned long long chunk_left; /* bytes of the current chunk still to come */
	/* Bytes of the connection fed so far, and where the current request
	 * began: on a refusal, the requests before it can still be served. */
	unsigned long long offset, request_start;
	char line[80]; /* the start of the current line */
	size_t line_len;
};

void cg_http_guard_init(struct cg_http_guard *g, size_t max_header, size_t max_body);
/* Feeds the next n bytes of the connection; requests follow each other
 * (pipelining), each scanned from its first byte. Once a verdict other than
 * CG_GUARD_OK is given it is kept, with g->why saying what is wrong. */
enum cg_guard_verdict cg_http_guard_feed(struct cg_http_guard *g, const char *p, size_t n);
/* The bytes still to come of what evhttp 2.1.12 takes only once all of it
 * is in: the rest of a Content-Length body, or of the chunk being read (its
 * size so far while its size line arrives); 0 elsewhere. */
unsigned long long cg_http_guard_awaited(const struct cg_http_guard *g);
/* The status line's code and reason of a verdict other than CG_GUARD_OK. */
int cg_http_guard_status(enum cg_guard_verdict v, const char **reason);

#endif
