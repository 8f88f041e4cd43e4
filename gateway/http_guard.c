/* http_guard.c: request size limits on raw bytes; see http_guard.h. */
#include <string.h>
#include <strings.h>

#include "http_guard.h"

void
cg_http_guard_init(struct cg_http_guard *g, size_t max_header, size_t max_body)
{
	memset(g, 0, sizeof(*g));
	g->max_header = max_header;
	g->max_body = max_body;
	g->content_length = -1;
}

void
cg_http_guard_reset(struct cg_http_guard *g)
{
	cg_http_guard_init(g, g->max_header, g->max_body);
}

/* A whole header line has been seen (its start is in g->line). */
static void
header_line(struct cg_http_guard *g)
{
	static const char cl[] = "content-length:", te[] = "transfer-encoding:";
	const char *v;

	g->line[g->line_len < sizeof(g->line) ? g->line_len : sizeof(g->line) - 1] = 0;
	if (strncasecmp(g->line, cl, sizeof(cl) - 1) == 0) {
		long long n = 0;

		for (v = g->line + sizeof(cl) - 1; *v == ' ' || *v == '\t'; v++)
			;
		for (; *v >= '0' && *v <= '9' && n < (1LL << 50); v++)
			n = n * 10 + (*v - '0');
		/* A value too long for the line buffer is larger than any limit. */
		if (g->line_len >= sizeof(g->line) - 1)
			n = 1LL << 50;
		g->content_length = n;
	} else if (strncasecmp(g->line, te, sizeof(te) - 1) == 0) {
		g->chunked = 1; /* anything but identity is counted as it comes */
	}
}

static enum cg_guard_verdict
verdict(const struct cg_http_guard *g)
{
	if (g->header_bytes > g->max_header)
		return CG_GUARD_HEADERS_TOO_LARGE;
	if (g->in_body && g->content_length > (long long)g->max_body)
		return CG_GUARD_BODY_TOO_LARGE;
	/* Chunked: the chunk-size lines count too, so allow them some room. */
	if (g->in_body && g->chunked && g->body_bytes > g->max_body + g->max_body / 16 + 1024)
		return CG_GUARD_BODY_TOO_LARGE;
	return CG_GUARD_OK;
}

enum cg_guard_verdict
cg_http_guard_feed(struct cg_http_guard *g, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && verdict(g) == CG_GUARD_OK) {
		if (g->in_body && g->chunked) {
			/* The end of a chunked body is evhttp's to find: the server
			 * resets the guard when the request has arrived. */
			g->body_bytes += n - i;
			break;
		}
		if (g->in_body) {
			/* A body of known length: what follows it is the next request
			 * (pipelining), scanned afresh. */
			long long want = g->content_length > 0 ? g->content_length : 0;
			size_t take = (size_t)(want - (long long)g->body_bytes) < n - i
			                      ? (size_t)(want - (long long)g->body_bytes)
			                      : n - i;

			g->body_bytes += take;
			i += take;
			if ((long long)g->body_bytes >= want)
				cg_http_guard_reset(g);
			continue;
		}
		for (; i < n && !g->in_body; i++) {
			char c = p[i];

			if (!g->started && (c == '\r' || c == '\n'))
				continue; /* blank lines before a request are ignored (RFC 9112) */
			g->started = 1;
			g->header_bytes++;
			if (c == '\n') {
				if (g->line_len == 0)
					g->in_body = 1;
				else
					header_line(g);
				g->line_len = 0;
			} else if (c != '\r') {
				if (g->line_len < sizeof(g->line) - 1)
					g->line[g->line_len] = c;
				if (g->line_len < sizeof(g->line))
					g->line_len++;
			}
			if (g->header_bytes > g->max_header)
				return CG_GUARD_HEADERS_TOO_LARGE;
		}
		/* A body over the limit is refused as soon as its length is known. */
		if (g->in_body && g->content_length > (long long)g->max_body)
			return CG_GUARD_BODY_TOO_LARGE;
	}
	return verdict(g);
}
