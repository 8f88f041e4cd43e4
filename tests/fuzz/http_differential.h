/*
 * http_differential.h: the guard (http_guard.h) against the real evhttp, on
 * the same bytes. The server's one framing invariant is that for the bytes
 * the guard lets through, evhttp frames exactly the requests the guard
 * framed; where they differ, a request hides in another's body (smuggling)
 * or evhttp answers with its own HTML page. So this runs evhttp in-process,
 * set up as server.c sets it up (methods, limits), gives it the bytes over a
 * real socket, and compares the requests it dispatches with those the guard
 * completed. Shared by fuzz_http_differential.c and the unit test
 * test_http_differential.c; static functions, one evhttp per process.
 */
#ifndef CG_HTTP_DIFFERENTIAL_H
#define CG_HTTP_DIFFERENTIAL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "http_guard.h"

/* The guard's limits here; evhttp gets the server's backstops (server.c
 * apply_limits). Small, so that both sides' limits are reached often. */
#define DIFF_MAX_HEADER 512
#define DIFF_MAX_BODY   256
#define DIFF_MAX_REQS   64

struct diff_req {
	int method; /* enum evhttp_cmd_type; 0 on the guard's side */
	char uri[128];
	unsigned long long body;
	int closes; /* evhttp closes the connection after answering it */
};

struct diff_side {
	struct diff_req req[DIFF_MAX_REQS];
	size_t n;
};

struct diff_result {
	struct diff_side guard, evhttp;
	enum cg_guard_verdict verdict;
	unsigned long long fed; /* the bytes evhttp was given */
	int evhttp_status;      /* the first status evhttp answered itself, 0: none */
	char evhttp_line[64];   /* its status line */
	char why[256];          /* the disagreement, empty when none */
};

static struct event_base *diff_base;
static struct evhttp *diff_http;
static struct sockaddr_un diff_addr;
static socklen_t diff_addr_len;
static struct diff_side *diff_seen; /* where the gencb records, during one run */

/* evhttp's warnings about the bad requests it is given are expected. */
static void
diff_quiet(int severity, const char *msg)
{
	(void)severity;
	(void)msg;
}

/* Every request evhttp dispatches: recorded, then answered 200 with no body
 * so that evhttp goes on to the next one on the connection. */
static void
diff_gencb(struct evhttp_request *r, void *arg)
{
	struct diff_req *q;
	const char *conn;

	(void)arg;
	if (diff_seen && diff_seen->n < DIFF_MAX_REQS) {
		q = &diff_seen->req[diff_seen->n++];
		memset(q, 0, sizeof(*q));
		q->method = (int)evhttp_request_get_command(r);
		snprintf(q->uri, sizeof(q->uri), "%s",
		         evhttp_request_get_uri(r) ? evhttp_request_get_uri(r) : "");
		q->body = evbuffer_get_length(evhttp_request_get_input_buffer(r));
		/* As evhttp_send_done decides it; an absolute http(s) URL for a
		 * host it does not know makes it a proxy request, which is
		 * closed: evhttp_is_request_connection_close looks for
		 * Proxy-Connection: keep-alive in the request's headers and in
		 * the answer's, and no answer carries one (the fuzzer found the
		 * request's alone wrongly taken for keep-alive). */
		conn = evhttp_find_header(evhttp_request_get_input_headers(r), "Connection");
		q->closes = ((r->major < 1 || (r->major == 1 && r->minor < 1)) &&
		             !(conn && strncasecmp(conn, "keep-alive", 10) == 0)) ||
		            ((r->flags & EVHTTP_PROXY_REQUEST)
		                     ? 1
		                     : conn && strcasecmp(conn, "close") == 0);
	}
	evhttp_send_reply(r, 200, "OK", NULL);
}

/* The evhttp, once per process, on an abstract AF_UNIX socket (no port,
 * nothing in the file system, no TIME_WAIT to run out of ports with). */
static int
diff_setup(void)
{
	evutil_socket_t fd;

	if (diff_http)
		return 0;
	event_set_log_callback(diff_quiet);
	diff_base = event_base_new();
	diff_http = diff_base ? evhttp_new(diff_base) : NULL;
	if (!diff_http)
		return -1;
	evhttp_set_gencb(diff_http, diff_gencb, NULL);
	/* As server.c sets up each front. */
	evhttp_set_max_headers_size(diff_http, (ev_ssize_t)DIFF_MAX_HEADER * 2);
	evhttp_set_max_body_size(diff_http, (ev_ssize_t)(DIFF_MAX_BODY + DIFF_MAX_BODY / 8 + 4096));
	evhttp_set_allowed_methods(diff_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                              EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE |
	                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	memset(&diff_addr, 0, sizeof(diff_addr));
	diff_addr.sun_family = AF_UNIX;
	snprintf(diff_addr.sun_path + 1, sizeof(diff_addr.sun_path) - 1, "cg-differential-%ld",
	         (long)getpid());
	diff_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                            strlen(diff_addr.sun_path + 1));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&diff_addr, diff_addr_len) != 0 ||
	    listen(fd, 16) != 0 || evutil_make_socket_nonblocking(fd) != 0 ||
	    evhttp_accept_socket(diff_http, fd) != 0)
		return -1;
	return 0;
}

/* The guard's side: fed one byte at a time, a request completes where the
 * next one's start moves on; its body is what its framing said. */
static void
diff_guard(const unsigned char *p, size_t n, struct diff_result *res)
{
	struct cg_http_guard g, before;
	size_t i;

	cg_http_guard_init(&g, DIFF_MAX_HEADER, DIFF_MAX_BODY);
	for (i = 0; i < n && g.verdict == CG_GUARD_OK; i++) {
		before = g;
		cg_http_guard_feed(&g, (const char *)p + i, 1);
		if (g.verdict == CG_GUARD_OK && g.request_start != before.request_start &&
		    res->guard.n < DIFF_MAX_REQS) {
			struct diff_req *q = &res->guard.req[res->guard.n++];

			memset(q, 0, sizeof(*q));
			q->body = before.codings ? before.body_bytes
			          : before.content_length > 0
			                  ? (unsigned long long)before.content_length
			                  : 0;
		}
	}
	res->verdict = g.verdict;
	res->fed = g.verdict == CG_GUARD_OK ? n : g.request_start;
}

/* The status lines evhttp wrote back: any but 100 and 200 is an answer of
 * its own (our gencb only answers 200, with no body). */
static void
diff_answers(const char *a, size_t n, struct diff_result *res)
{
	size_t i;

	for (i = 0; i + 12 <= n; i++) {
		int code;

		if ((i && a[i - 1] != '\n') || memcmp(a + i, "HTTP/", 5) != 0)
			continue;
		code = atoi(a + i + 9);
		if ((code != 100 && code != 200) ||
		    (memcmp(a + i, "HTTP/1.1 ", 9) != 0 && memcmp(a + i, "HTTP/1.0 ", 9) != 0)) {
			size_t k = 0;

			while (k < sizeof(res->evhttp_line) - 1 && i + k < n && a[i + k] != '\r' &&
			       a[i + k] != '\n')
				k++;
			memcpy(res->evhttp_line, a + i, k);
			res->evhttp_line[k] = 0;
			res->evhttp_status = code ? code : -1;
			return;
		}
	}
}

/* evhttp's side: the bytes over a socket, the loop run until nothing more
 * happens. */
static int
diff_evhttp(const unsigned char *p, size_t n, struct diff_result *res)
{
	static char answer[1 << 16];
	size_t got = 0, sent = 0;
	int fd, idle = 0, rounds = 0;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&diff_addr, diff_addr_len) != 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	diff_seen = &res->evhttp;
	while (idle < 4 && rounds++ < 100000) {
		size_t before_n = res->evhttp.n, before_got = got, before_sent = sent;
		ssize_t k;

		if (sent < n) {
			k = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
			if (k > 0)
				sent += (size_t)k;
			else if (k < 0 && errno != EAGAIN)
				sent = n; /* evhttp has closed: the rest cannot be sent */
		}
		event_base_loop(diff_base, EVLOOP_NONBLOCK);
		while (got < sizeof(answer) &&
		       (k = recv(fd, answer + got, sizeof(answer) - got, 0)) > 0)
			got += (size_t)k;
		if (res->evhttp.n == before_n && got == before_got && sent == before_sent)
			idle++;
		else
			idle = 0;
	}
	diff_seen = NULL;
	close(fd);
	/* Let evhttp see the close and free its connection. */
	event_base_loop(diff_base, EVLOOP_NONBLOCK);
	event_base_loop(diff_base, EVLOOP_NONBLOCK);
	diff_answers(answer, got, res);
	return 0;
}

static const char *
diff_method(int m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	default:
		return "?";
	}
}

/* Runs both on p and returns 0 when they agree: for the bytes before the
 * guard's refusal (all of them when it refuses none), evhttp answers no
 * error itself and dispatches exactly the requests the guard completed, with
 * the same bodies; those after one that evhttp closes the connection on are
 * not read by it, and not compared. Otherwise res->why says how they differ;
 * -1 when evhttp could not be run. */
static int
diff_run(const unsigned char *p, size_t n, struct diff_result *res)
{
	size_t i, want;

	memset(res, 0, sizeof(*res));
	if (diff_setup() != 0)
		return -1;
	diff_guard(p, n, res);
	if (diff_evhttp(p, (size_t)res->fed, res) != 0)
		return -1;
	if (res->evhttp_status) {
		snprintf(res->why, sizeof(res->why),
		         "evhttp answered \"%s\" itself (guard: %zu requests, verdict %d)",
		         res->evhttp_line, res->guard.n, (int)res->verdict);
		return 1;
	}
	want = res->guard.n;
	for (i = 0; i < res->evhttp.n; i++)
		if (res->evhttp.req[i].closes && want > i + 1)
			want = i + 1;
	if (res->evhttp.n != want) {
		snprintf(res->why, sizeof(res->why),
		         "evhttp dispatched %zu requests, the guard completed %zu (verdict %d)",
		         res->evhttp.n, res->guard.n, (int)res->verdict);
		return 1;
	}
	for (i = 0; i < want; i++)
		if (res->evhttp.req[i].body != res->guard.req[i].body) {
			snprintf(res->why, sizeof(res->why),
			         "request %zu (%s %.60s): evhttp read a body of %llu bytes, the "
			         "guard %llu",
			         i, diff_method(res->evhttp.req[i].method), res->evhttp.req[i].uri,
			         res->evhttp.req[i].body, res->guard.req[i].body);
			return 1;
		}
	return 0;
}

#endif
