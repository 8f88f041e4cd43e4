/* http_guard.c: request framing and size limits on raw bytes; see
 * http_guard.h. One byte at a time, in a state machine, so that a request
 * split anywhere across reads gives the same verdict as one read whole. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "http_guard.h"

enum phase {
	PH_START,        /* before the request line */
	PH_REQUEST_LINE, /* METHOD SP request-target SP HTTP/1.x */
	PH_HEADERS,      /* header lines, up to the blank line */
	PH_BODY,         /* Content-Length bytes */
	PH_CHUNK_SIZE,   /* a chunk's size line */
	PH_CHUNK_DATA,   /* its bytes */
	PH_CHUNK_END,    /* the CRLF after them */
	PH_TRAILER       /* trailer lines after the last chunk, up to the blank line */
};

enum part {
	RL_METHOD,
	T_START,    /* the request target's first byte */
	T_SLASH,    /* after an origin-form target's first slash */
	T_PATH,     /* origin-form, or what follows an absolute URL's authority */
	T_ASTERISK, /* OPTIONS * */
	T_SCHEME,   /* absolute-form: http:// or https:// */
	T_HOST,
	T_IPV6, /* [...] */
	T_IPV6_END,
	T_PORT,
	RL_VERSION,
	H_START,
	H_NAME,
	H_VALUE
};

static const char bad_line[] = "the request line is not METHOD SP request-target SP HTTP/1.1";
static const char bad_target[] = "the request target is not a path (or an http(s) URL)";

static void
fail(struct cg_http_guard *g, enum cg_guard_verdict v, const char *why)
{
	g->verdict = v;
	g->why = why;
}

void
cg_http_guard_init(struct cg_http_guard *g, size_t max_header, size_t max_body)
{
	memset(g, 0, sizeof(*g));
	g->max_header = max_header;
	g->max_body = max_body;
	g->content_length = -1;
}

/* The request has arrived whole: the next byte starts another. */
static void
next_request(struct cg_http_guard *g)
{
	unsigned long long offset = g->offset;

	cg_http_guard_init(g, g->max_header, g->max_body);
	g->offset = g->request_start = offset;
}

static void
set_part(struct cg_http_guard *g, enum part p)
{
	g->part = p;
	g->part_len = 0;
}

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned
hex_value(unsigned char c)
{
	return is_digit(c) ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

/* The methods evhttp knows and the server answers (405 where a route does
 * not take them); TRACE and CONNECT are not served. */
static int
known_method(const char *m, size_t n)
{
	static const char *const methods[] = {"GET",    "HEAD",  "POST",   "PUT",
	                                      "DELETE", "PATCH", "OPTIONS"};
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i]) == n && memcmp(methods[i], m, n) == 0)
			return 1;
	return 0;
}

/* After an absolute URL's host (or port, when colon_ok is 0). */
static void
after_authority(struct cg_http_guard *g, unsigned char c, int colon_ok)
{
	if (c == ':' && colon_ok)
		set_part(g, T_PORT);
	else if (c == '/' || c == '?')
		set_part(g, T_PATH);
	else if (c == ' ')
		set_part(g, RL_VERSION);
	else
		fail(g, CG_GUARD_BAD_REQUEST, bad_target);
}

/* An IPv6 literal has just been closed by ']': evhttp checks it with
 * inet_pton, and so must this, or evhttp would answer it. */
static void
ipv6_end(struct cg_http_guard *g)
{
	char addr[sizeof(g->line)];
	struct in6_addr a;
	size_t n = g->line_len - 1 - g->part_len;

	if (g->line_len >= sizeof(g->line) || g->part_len == 0) {
		fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		return;
	}
	memcpy(addr, g->line + n, g->part_len);
	addr[g->part_len] = 0;
	if (inet_pton(AF_INET6, addr, &a) != 1)
		fail(g, CG_GUARD_BAD_REQUEST, bad_target);
	else
		set_part(g, T_IPV6_END);
}

static void
request_line_byte(struct cg_http_guard *g, unsigned char c)
{
	static const char http[] = "http://", https[] = "https://", version[] = "HTTP/";
	const char *scheme;

	switch (g->part) {
	case RL_METHOD:
		if (c == ' ' && g->part_len) {
			/* An unknown method is answered 501 once the line has been
			 * read: a line that is not HTTP/1.x at all is told so first
			 * (HTTP/2's "PRI * HTTP/2.0" gets 505). */
			g->unserved = !known_method(g->line, g->part_len);
			g->needs_body = (g->part_len == 4 && memcmp(g->line, "POST", 4) == 0) ||
			                (g->part_len == 3 && memcmp(g->line, "PUT", 3) == 0) ||
			                (g->part_len == 5 && memcmp(g->line, "PATCH", 5) == 0);
			g->head = g->part_len == 4 && memcmp(g->line, "HEAD", 4) == 0;
			set_part(g, T_START);
		} else if (is_tchar(c)) {
			g->part_len++;
		} else {
			fail(g, CG_GUARD_BAD_REQUEST, bad_line);
		}
		break;
	case T_START:
		if (c == '/' && !g->unserved)
			set_part(g, T_SLASH);
		else if (c == '/' || (g->unserved && c != ' '))
			set_part(g, T_PATH);
		else if (c == '*')
			set_part(g, T_ASTERISK);
		else if (c == 'h' || c == 'H')
			g->part = T_SCHEME, g->part_len = 1;
		else
			fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		break;
	case T_SCHEME:
		c = (unsigned char)(c | (c >= 'A' && c <= 'Z' ? 0x20 : 0));
		if (g->part_len == 4 && c == 's')
			g->https = 1;
		scheme = g->https ? https : http;
		if (c != (unsigned char)scheme[g->part_len])
			fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		else if (++g->part_len == strlen(scheme))
			set_part(g, T_HOST);
		break;
	case T_HOST:
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
		    c == '.' || c == '_' || c == '~')
			g->part_len++;
		else if (c == '[' && g->part_len == 0)
			set_part(g, T_IPV6);
		else if (g->part_len == 0)
			fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		else
			after_authority(g, c, 1);
		break;
	case T_IPV6:
		if (c == ']')
			ipv6_end(g);
		else if ((is_hex(c) || c == ':' || c == '.') && g->part_len < 45)
			g->part_len++;
		else
			fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		break;
	case T_IPV6_END:
		after_authority(g, c, 1);
		break;
	case T_PORT:
		if (is_digit(c) && g->part_len < 5) {
			g->port = g->port * 10 + (unsigned)(c - '0');
			g->part_len++;
			if (g->port > 65535)
				fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		} else if (g->part_len == 0) {
			fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		} else {
			after_authority(g, c, 0);
		}
		break;
	case T_SLASH:
		/* evhttp's URI parser takes "//x" for an authority (a host) and
		 * answers 400 when it is not one, or serves the path after it. */
		if (c == '/') {
			fail(g, CG_GUARD_BAD_REQUEST, "a request target that starts with //");
			break;
		}
		set_part(g, T_PATH);
		/* fall through */
	case T_PATH:
		if (c == ' ')
			set_part(g, RL_VERSION);
		else if (c < 0x21 || c > 0x7e)
			fail(g, CG_GUARD_BAD_REQUEST,
			     "a byte not allowed in the request target (spaces, control characters "
			     "and non-ASCII bytes must be percent-encoded)");
		break;
	case T_ASTERISK:
		if (c == ' ')
			set_part(g, RL_VERSION);
		else
			fail(g, CG_GUARD_BAD_REQUEST, bad_target);
		break;
	case RL_VERSION:
		if ((g->part_len < 5 && c == (unsigned char)version[g->part_len]) ||
		    ((g->part_len == 5 || g->part_len == 7) && is_digit(c)) ||
		    (g->part_len == 6 && c == '.')) {
			if (g->part_len == 5)
				g->major = c - '0';
			if (g->part_len == 7)
				g->minor = c - '0';
			g->part_len++;
		} else {
			fail(g, CG_GUARD_BAD_REQUEST, bad_line);
		}
		break;
	default:
		break;
	}
}

static void
header_byte(struct cg_http_guard *g, unsigned char c)
{
	switch (g->part) {
	case H_START:
		if (c == ' ' || c == '\t')
			fail(g, CG_GUARD_BAD_REQUEST,
			     "a folded header line (obs-fold): send each header on one line");
		else if (is_tchar(c))
			set_part(g, H_NAME);
		else
			fail(g, CG_GUARD_BAD_REQUEST, "a header line without a name");
		break;
	case H_NAME:
		if (c == ':')
			set_part(g, H_VALUE);
		else if (c == ' ' || c == '\t')
			fail(g, CG_GUARD_BAD_REQUEST,
			     "whitespace between a header's name and its colon");
		else if (!is_tchar(c))
			fail(g, CG_GUARD_BAD_REQUEST, "a byte not allowed in a header name");
		break;
	case H_VALUE:
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			fail(g, CG_GUARD_BAD_REQUEST, "a control character in a header value");
		break;
	default:
		break;
	}
}

/* v: a header's value as far as the line buffer holds it (truncated: the
 * line went on). */
static void
content_length(struct cg_http_guard *g, const char *v, int truncated)
{
	long long n = 0;
	int digits = 0;

	for (; *v == ' ' || *v == '\t'; v++)
		;
	for (; is_digit((unsigned char)*v); v++, digits++)
		if (n < (1LL << 50))
			n = n * 10 + (*v - '0');
	for (; *v == ' ' || *v == '\t'; v++)
		;
	if (*v || (!digits && !truncated)) {
		fail(g, CG_GUARD_BAD_REQUEST, "Content-Length is not a number");
		return;
	}
	if (truncated)
		n = 1LL << 50; /* longer than the buffer: larger than any limit */
	if (g->lengths++ && n != g->content_length)
		fail(g, CG_GUARD_BAD_REQUEST, "Content-Length headers that disagree");
	g->content_length = n;
}

/* Whether a header's value is word, as evhttp reads values: leading spaces
 * (not tabs) skipped, trailing spaces and tabs trimmed, case ignored. */
static int
value_is(const char *v, const char *word)
{
	size_t n;

	for (; *v == ' '; v++)
		;
	for (n = strlen(v); n && (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
		;
	return n == strlen(word) && strncasecmp(v, word, n) == 0;
}

static void
transfer_encoding(struct cg_http_guard *g, const char *v, int truncated)
{
	if (g->codings++)
		fail(g, CG_GUARD_BAD_REQUEST, "Transfer-Encoding given more than once");
	else if (truncated || !value_is(v, "chunked"))
		fail(g, CG_GUARD_NOT_IMPLEMENTED, "a transfer coding other than chunked");
}

/* A whole header line (its start in g->line, its syntax already checked). */
static void
header_line(struct cg_http_guard *g)
{
	static const char cl[] = "content-length:", te[] = "transfer-encoding:", host[] = "host:",
	                  expect[] = "expect:";
	int truncated = g->line_len >= sizeof(g->line);

	g->line[truncated ? sizeof(g->line) - 1 : g->line_len] = 0;
	if (strncasecmp(g->line, cl, sizeof(cl) - 1) == 0)
		content_length(g, g->line + sizeof(cl) - 1, truncated);
	else if (strncasecmp(g->line, te, sizeof(te) - 1) == 0)
		transfer_encoding(g, g->line + sizeof(te) - 1, truncated);
	else if (strncasecmp(g->line, host, sizeof(host) - 1) == 0)
		g->hosts++;
	else if (strncasecmp(g->line, expect, sizeof(expect) - 1) == 0)
		g->bad_expect |=
		        truncated || !value_is(g->line + sizeof(expect) - 1, "100-continue");
}

/* The blank line after the headers: how the body is framed. */
static void
end_of_headers(struct cg_http_guard *g)
{
	if (g->minor >= 1 && g->hosts == 0)
		fail(g, CG_GUARD_BAD_REQUEST, "an HTTP/1.1 request without a Host header");
	else if (g->hosts > 1)
		fail(g, CG_GUARD_BAD_REQUEST, "more than one Host header");
	else if (g->codings && g->minor == 0)
		fail(g, CG_GUARD_BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request");
	else if (g->codings && g->lengths)
		fail(g, CG_GUARD_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
	else if (!g->needs_body && (g->codings || g->content_length > 0))
		/* evhttp 2.1.12 reads no body on HEAD (what follows the headers
		 * is the next request) and one on GET, DELETE, OPTIONS; a proxy
		 * in front may think otherwise of either. None is served. */
		fail(g, CG_GUARD_BAD_REQUEST,
		     "a body on a GET, HEAD, DELETE or OPTIONS request (Content-Length: 0 is "
		     "allowed)");
	else if (g->bad_expect && g->minor >= 1) /* evhttp ignores Expect in HTTP/1.0 */
		fail(g, CG_GUARD_EXPECTATION, "an Expect other than 100-continue");
	else if (g->needs_body && !g->codings && !g->lengths)
		fail(g, CG_GUARD_LENGTH_REQUIRED,
		     "a body needs Content-Length (or chunked encoding)");
	else if (g->codings)
		g->phase = PH_CHUNK_SIZE, g->part_len = 0, g->chunk_left = 0;
	else if (g->content_length > (long long)g->max_body)
		fail(g, CG_GUARD_BODY_TOO_LARGE, "the request's body is over max_body_bytes");
	else if (g->content_length > 0)
		g->phase = PH_BODY;
	else
		next_request(g);
}

static void
line_end(struct cg_http_guard *g)
{
	switch (g->phase) {
	case PH_START:
		/* RFC 9112 2.2 lets a server skip blank lines before a request
		 * line; evhttp takes one for a request line and answers 400
		 * itself, so it is refused here first. */
		fail(g, CG_GUARD_BAD_REQUEST, "a blank line where a request line should start");
		break;
	case PH_REQUEST_LINE:
		if (g->part != RL_VERSION || g->part_len != 8)
			fail(g, CG_GUARD_BAD_REQUEST, bad_line);
		else if (g->major != 1 || g->minor > 1)
			/* evhttp takes any HTTP/1.x and answers in it: HTTP/1.9 200 */
			fail(g, CG_GUARD_BAD_VERSION, "only HTTP/1.1 and HTTP/1.0 are served");
		else if (g->unserved)
			fail(g, CG_GUARD_NOT_IMPLEMENTED, "a method this gateway does not serve");
		g->phase = PH_HEADERS;
		set_part(g, H_START);
		break;
	case PH_HEADERS:
	case PH_TRAILER:
		if (g->line_len == 0 && g->phase == PH_HEADERS)
			end_of_headers(g);
		else if (g->line_len == 0)
			next_request(g);
		else if (g->part != H_VALUE)
			fail(g, CG_GUARD_BAD_REQUEST, "a header line without a colon");
		else if (g->phase == PH_HEADERS)
			header_line(g);
		set_part(g, H_START);
		break;
	case PH_CHUNK_SIZE:
		if (g->part_len == 0)
			fail(g, CG_GUARD_BAD_REQUEST, "a chunk without its size");
		else if (g->chunk_left == 0)
			g->phase = PH_TRAILER, set_part(g, H_START);
		else
			g->phase = PH_CHUNK_DATA;
		break;
	case PH_CHUNK_END:
		g->phase = PH_CHUNK_SIZE, g->part_len = 0, g->chunk_left = 0;
		break;
	default:
		break;
	}
	g->line_len = 0;
}

static void
chunk_size_byte(struct cg_http_guard *g, unsigned char c)
{
	if (!is_hex(c)) {
		/* evhttp reads a size line with strtoll and refuses what follows
		 * the digits, chunk extensions included: so must this. */
		fail(g, CG_GUARD_BAD_REQUEST,
		     "a chunk size that is not hexadecimal (chunk extensions are not supported)");
		return;
	}
	g->chunk_left = g->chunk_left * 16 + hex_value(c);
	/* Known before its bytes arrive; 15 digits cannot overflow. */
	if (++g->part_len > 15 || g->body_bytes + g->chunk_left > g->max_body)
		fail(g, CG_GUARD_BODY_TOO_LARGE, "the request's body is over max_body_bytes");
}

static int
in_lines(const struct cg_http_guard *g)
{
	return g->phase == PH_START || g->phase == PH_REQUEST_LINE || g->phase == PH_HEADERS ||
	       g->phase == PH_TRAILER;
}

static void
byte(struct cg_http_guard *g, unsigned char c)
{
	g->offset++;
	if (in_lines(g) && ++g->header_bytes > g->max_header) {
		fail(g, CG_GUARD_HEADERS_TOO_LARGE,
		     "the request's header block is over max_header_bytes");
		return;
	}
	if (c == '\n') { /* CRLF, or a bare LF, which RFC 9112 lets a server take */
		g->cr = 0;
		line_end(g);
		return;
	}
	if (g->cr || c == '\r') {
		if (g->cr)
			fail(g, CG_GUARD_BAD_REQUEST, "a CR not followed by LF");
		g->cr = 1;
		return;
	}
	if (in_lines(g)) {
		if (g->line_len < sizeof(g->line) - 1)
			g->line[g->line_len] = (char)c;
		if (g->line_len < sizeof(g->line))
			g->line_len++;
	}
	switch (g->phase) {
	case PH_START:
		g->phase = PH_REQUEST_LINE;
		set_part(g, RL_METHOD);
		request_line_byte(g, c);
		break;
	case PH_REQUEST_LINE:
		request_line_byte(g, c);
		break;
	case PH_HEADERS:
	case PH_TRAILER:
		header_byte(g, c);
		break;
	case PH_CHUNK_SIZE:
		chunk_size_byte(g, c);
		break;
	default: /* PH_CHUNK_END */
		fail(g, CG_GUARD_BAD_REQUEST, "a chunk longer than its size");
		break;
	}
}

/* Body bytes, many at a time: returns how many of avail it took. */
static size_t
body(struct cg_http_guard *g, size_t avail)
{
	unsigned long long want = g->phase == PH_BODY
	                                  ? (unsigned long long)g->content_length - g->body_bytes
	                                  : g->chunk_left;
	size_t take = want < avail ? (size_t)want : avail;

	g->offset += take;
	g->body_bytes += take;
	if (g->phase == PH_BODY) {
		if (g->body_bytes == (unsigned long long)g->content_length)
			next_request(g);
	} else {
		g->chunk_left -= take;
		if (g->chunk_left == 0)
			g->phase = PH_CHUNK_END;
	}
	return take;
}

unsigned long long
cg_http_guard_awaited(const struct cg_http_guard *g)
{
	if (g->phase == PH_BODY)
		return (unsigned long long)g->content_length - g->body_bytes;
	return g->chunk_left;
}

enum cg_guard_verdict
cg_http_guard_feed(struct cg_http_guard *g, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && g->verdict == CG_GUARD_OK) {
		if (g->phase == PH_BODY || g->phase == PH_CHUNK_DATA)
			i += body(g, n - i);
		else
			byte(g, (unsigned char)p[i++]);
	}
	return g->verdict;
}

int
cg_http_guard_status(enum cg_guard_verdict v, const char **reason)
{
	switch (v) {
	case CG_GUARD_BAD_REQUEST:
		*reason = "Bad Request";
		return 400;
	case CG_GUARD_NOT_IMPLEMENTED:
		*reason = "Not Implemented";
		return 501;
	case CG_GUARD_BAD_VERSION:
		*reason = "HTTP Version Not Supported";
		return 505;
	case CG_GUARD_LENGTH_REQUIRED:
		*reason = "Length Required";
		return 411;
	case CG_GUARD_EXPECTATION:
		*reason = "Expectation Failed";
		return 417;
	case CG_GUARD_HEADERS_TOO_LARGE:
		*reason = "Request Header Fields Too Large";
		return 431;
	case CG_GUARD_BODY_TOO_LARGE:
		*reason = "Content Too Large";
		return 413;
	default:
		*reason = "OK";
		return 200;
	}
}
