/* server.c: the gateway's event loops and request handling; see server.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "arena.h"
#include "capability.h"
#include "check.h"
#include "dest_http.h"
#include "dest_ndjson.h"
#include "http_guard.h"
#include "json_write.h"
#include "ingest.h"
#include "log.h"
#include "map.h"
#include "mappings.h"
#include "metrics.h"
#include "outcome.h"
#include "runtime.h"
#include "server.h"
#include "settings.h"
#include "tls.h"

/* ---- workers and connections --------------------------------------------- */

struct worker;

struct front { /* one listener on one worker */
	struct worker *w;
	size_t index; /* into the settings' listeners */
	struct evhttp *http;
	struct evconnlistener *lis;
	struct evhttp_bound_socket *bound;
};

struct worker {
	int id;
	pthread_t thread;
	struct event_base *base;
	struct front *fronts;
	size_t nfronts;
	struct event *stop_ev, *drain_tick;
	struct event *reconfigure_ev; /* a reload: apply the new limits */
	struct cg_http_client *http;
	size_t conns, max_conns;
	size_t busy; /* connections reading or handling a request */
	int paused;  /* listeners off: too many connections */
	int draining;
	struct timespec drain_deadline;
};

static struct worker *workers;
static int nworkers;
static atomic_int draining;
static atomic_ulong request_seq;
static char id_prefix[9];
static int conn_ex_index = -1;

enum conn_state { C_IDLE, C_READING, C_HANDLING };

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	struct event *deadline;
	enum conn_state state;
	long request_ms;             /* header + body timeout: a whole request's time */
	struct cg_http_guard guard;  /* size limits, on the raw bytes */
	int refused;                 /* refused by the guard: further input is dropped */
	int refusal_due;             /* ...and answered once the requests before it are */
	int trimming;                /* drop_tail is rewriting the input: not new bytes */
	unsigned long long bytes_in; /* bytes of the connection read so far */
	/* The client names the certificate maps to, worked out once per
	 * connection and configuration (parsing the SAN costs microseconds). */
	unsigned long id_gen;    /* the runtime's gen they were worked out for */
	unsigned char *id_match; /* one flag per configured client */
};

static void maybe_exit(struct worker *w);

static void
set_state(struct conn *c, enum conn_state s)
{
	if ((c->state != C_IDLE) != (s != C_IDLE))
		c->w->busy += s != C_IDLE ? 1 : (size_t)-1;
	c->state = s;
}

/* A request begins (its first byte, or the handshake of a new connection):
 * its deadline starts. */
static void
start_reading(struct conn *c)
{
	struct timeval tv = {c->request_ms / 1000, (c->request_ms % 1000) * 1000};

	set_state(c, C_READING);
	evtimer_add(c->deadline, &tv);
}

/* New ids: the process's random prefix and a counter. */
static void
new_request_id(char *out, size_t n)
{
	snprintf(out, n, "%s-%08lx", id_prefix, atomic_fetch_add(&request_seq, 1) + 1);
}

/* A request must arrive whole within its time, however slowly its bytes
 * trickle in (slowloris): past it, the connection is shut. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	evutil_socket_t s = bufferevent_getfd(c->bev);

	(void)fd;
	(void)what;
	cg_log(CG_LOG_WARN, "connection closed: the request did not arrive within %ld ms",
	       c->request_ms);
	if (s >= 0)
		shutdown(s, SHUT_RDWR);
}

/* A request the guard refuses (over a size limit, or not well-formed HTTP/1.x)
 * is answered here, never by evhttp (http_guard.h says why): the answer goes
 * out through the connection's SSL directly, after whatever evhttp has sent,
 * and the connection is shut for writing; whatever else the client sends is
 * dropped until it goes away or its time is up. */
static void
send_refusal(struct conn *c)
{
	struct cg_runtime *rt = cg_runtime_acquire();
	const char *reason, *why = c->guard.why ? c->guard.why : "the request is refused";
	int status = cg_http_guard_status(c->guard.verdict, &reason);
	struct cg_buf body, all;
	char id[40], when[32], line[512];
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	new_request_id(id, sizeof(id));
	cg_buf_init(&body, 1u << 16);
	cg_buf_init(&all, 1u << 17);
	cg_outcome_simple(&body, rt->base, "error",
	                  status == 431 || status == 413 ? "too-costly"
	                  : status == 400                ? "structure"
	                  : status == 411                ? "required"
	                                                 : "not-supported",
	                  why);
	cg_buf_printf(
	        &all,
	        "HTTP/1.1 %d %s\r\nServer: cellgate\r\nContent-Type: application/fhir+json\r\n"
	        "Content-Length: %zu\r\nX-Request-Id: %s\r\nCache-Control: no-store\r\n"
	        "Connection: close\r\n\r\n",
	        status, reason, body.len, id);
	cg_buf_add(&all, body.p, body.len);
	if (ssl && all.p && SSL_write(ssl, all.p, (int)all.len) <= 0)
		ERR_clear_error(); /* the client is gone or stuck: it gets nothing */
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	cg_metrics_request(CG_EP_OTHER, NULL, status, 0);
	/* why is one of the guard's fixed texts: never a byte of the request. */
	cg_log(CG_LOG_WARN, "request %s: refused with %d: %s", id, status, why);
	cg_log_time(when);
	snprintf(line, sizeof(line),
	         "{\"time\":\"%s\",\"request_id\":\"%s\",\"status\":%d,\"outcome\":\"%s\"}", when,
	         id, status, why);
	cg_audit_write(line, strlen(line));
	cg_buf_free(&body);
	cg_buf_free(&all);
	cg_runtime_release(rt);
}

/* Keeps the first keep bytes of the input and drops the rest: what follows a
 * refused request's start must not reach evhttp, what precedes it must. */
static void
drop_tail(struct conn *c, struct evbuffer *buf, size_t keep)
{
	struct evbuffer *head;

	if (keep >= evbuffer_get_length(buf))
		return;
	head = keep ? evbuffer_new() : NULL;
	c->trimming = 1;
	if (head && evbuffer_remove_buffer(buf, head, keep) == (int)keep) {
		evbuffer_drain(buf, evbuffer_get_length(buf));
		evbuffer_add_buffer(buf, head);
	} else {
		evbuffer_drain(buf, evbuffer_get_length(buf));
	}
	c->trimming = 0;
	if (head)
		evbuffer_free(head);
}

/* Every byte a client sends passes through the guard before evhttp reads it.
 * On a refusal, the requests before the refused one (pipelined in the same
 * read, or one still being handled) are served first and answered in order;
 * the refusal follows them (on_sent). */
static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct evbuffer_iovec v[16];
	struct evbuffer_ptr at;
	size_t len = evbuffer_get_length(buf), fresh, left, keep;
	enum cg_guard_verdict verdict = CG_GUARD_OK;
	unsigned long long start;
	int n, i;

	if (info->n_added == 0 || c->trimming)
		return;
	/* The bytes just added are the last ones of the buffer. */
	fresh = info->n_added < len ? info->n_added : len;
	if (c->refused) {
		drop_tail(c, buf, c->refusal_due ? len - fresh : 0);
		return;
	}
	if (c->state == C_IDLE)
		start_reading(c);
	c->bytes_in += fresh;
	if (evbuffer_ptr_set(buf, &at, len - fresh, EVBUFFER_PTR_SET) != 0)
		return;
	left = fresh;
	while (left && verdict == CG_GUARD_OK) {
		n = evbuffer_peek(buf, (ev_ssize_t)left, &at, v, 16);
		for (i = 0; i < n && i < 16 && left && verdict == CG_GUARD_OK; i++) {
			size_t k = v[i].iov_len < left ? v[i].iov_len : left;

			verdict = cg_http_guard_feed(&c->guard, v[i].iov_base, k);
			left -= k;
			evbuffer_ptr_set(buf, &at, k, EVBUFFER_PTR_ADD);
		}
		if (n <= 0)
			break;
	}
	if (verdict == CG_GUARD_OK)
		return;
	c->refused = 1;
	/* The buffer holds the connection's bytes from start on. */
	start = c->bytes_in - len;
	keep = c->guard.request_start > start ? (size_t)(c->guard.request_start - start) : 0;
	if (keep > len)
		keep = len;
	drop_tail(c, buf, keep);
	if (keep || c->state == C_HANDLING)
		c->refusal_due = 1;
	else
		send_refusal(c);
}

static void
resume_accepting(struct worker *w)
{
	size_t i;

	if (w->paused && w->conns < w->max_conns && !w->draining) {
		for (i = 0; i < w->nfronts; i++)
			evconnlistener_enable(w->fronts[i].lis);
		w->paused = 0;
	}
}

/* Keeps a small answer in one piece: evhttp writes the header block and the
 * body as separate chains, and bufferevent_openssl makes one TLS record and
 * one write(2) per chain. Joined, an answer is one record and one system
 * call (strace: two writes per request before). Large outputs are left as
 * they are: copying them would cost more than it saves. */
static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)arg;
	if (info->n_added && evbuffer_get_length(buf) <= 16384)
		evbuffer_pullup(buf, -1);
}

/* Runs when OpenSSL frees the connection's SSL, i.e. when the connection
 * goes, whatever the reason. */
static void
conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct conn *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!c)
		return;
	set_state(c, C_IDLE);
	free(c->id_match);
	event_free(c->deadline);
	c->w->conns--;
	cg_metrics_connections(-1);
	resume_accepting(c->w);
	maybe_exit(c->w);
	free(c);
}

static struct bufferevent *
on_connection(struct event_base *base, void *arg)
{
	struct front *f = arg;
	struct worker *w = f->w;
	struct cg_runtime *rt = cg_runtime_acquire();
	struct conn *c = calloc(1, sizeof(*c));
	SSL *ssl = SSL_new(rt->tls[f->index]);
	struct bufferevent *bev = NULL;

	if (c && ssl)
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
		                                     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		/* evhttp copes with NULL by making a plain socket bufferevent; a
		 * plain-text peer then gets nothing it can use, which is right. */
		SSL_free(ssl);
		free(c);
		cg_runtime_release(rt);
		return NULL;
	}
	c->w = w;
	c->bev = bev;
	c->request_ms = rt->s->header_timeout_ms + rt->s->body_timeout_ms;
	c->deadline = evtimer_new(base, on_deadline, c);
	cg_http_guard_init(&c->guard, rt->s->max_header, rt->s->max_body);
	SSL_set_ex_data(ssl, conn_ex_index, c);
	evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	evbuffer_add_cb(bufferevent_get_output(bev), on_output, c);
	start_reading(c); /* the handshake counts as reading the first request */
	w->conns++;
	cg_metrics_connections(1);
	if (w->conns >= w->max_conns && !w->paused) {
		size_t i;

		for (i = 0; i < w->nfronts; i++)
			evconnlistener_disable(w->fronts[i].lis);
		w->paused = 1;
		cg_log(CG_LOG_WARN, "worker %d: %zu connections, not accepting more for now", w->id,
		       w->conns);
	}
	cg_runtime_release(rt);
	return bev;
}

static struct conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
}

/* ---- answering ------------------------------------------------------------ */

struct request {
	struct evhttp_request *req;
	struct conn *conn;
	struct worker *w;
	struct cg_runtime *rt;
	enum cg_endpoint ep;
	const struct cg_route_cfg *route;
	const char *client; /* the identity's name, or NULL */
	char id[72];
	struct timespec start;
	struct cg_ingest_out out;
	int have_out;
	struct event *ev;         /* ndjson: the writer's "done" */
	struct cg_ndjson_job job; /* ndjson */
	struct cg_http_call call; /* fhir, records */
	char url[2048];
	struct cg_buf body;  /* an upstream request body we built */
	const char *up_body; /* what is sent upstream: body, or an item as it lies */
	size_t up_len;
};

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Error";
	}
}

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
audit(struct request *r, int status, const char *outcome)
{
	struct cg_buf b;
	struct cg_jw w;
	char when[32];
	size_t i;

	cg_log_time(when);
	cg_buf_init(&b, 16u << 20);
	cg_jw_init(&w, &b);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "time", when);
	cg_jw_string(&w, "request_id", r->id);
	if (r->client)
		cg_jw_string(&w, "client", r->client);
	cg_jw_string(&w, "method",
	             evhttp_request_get_command(r->req) == EVHTTP_REQ_GET ? "GET" : "POST");
	if (r->route)
		cg_jw_string(&w, "route", r->route->path);
	if (r->route && r->route->dest)
		cg_jw_string(&w, "destination", r->route->dest->name);
	cg_buf_printf(&b, ",\"status\":%d", status);
	cg_jw_string(&w, "outcome", outcome);
	if (r->have_out) {
		cg_buf_printf(&b, ",\"items\":%zu,\"errors\":%zu", r->out.n, r->out.errors);
		cg_jw_array(&w, "record_ids");
		for (i = 0; i < r->out.n; i++)
			if (r->out.item[i].record_id[0])
				cg_jw_string(&w, NULL, r->out.item[i].record_id);
		cg_jw_end(&w);
	}
	cg_jw_end(&w);
	if (!w.err)
		cg_audit_write(b.p, b.len);
	cg_buf_free(&b);
}

static void request_finish(struct request *r);

/* A draining worker stops once no connection is reading or handling a
 * request. */
static void
maybe_exit(struct worker *w)
{
	if (w->draining && w->busy == 0)
		event_base_loopexit(w->base, NULL);
}

static void
on_sent(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	set_state(c, C_IDLE);
	/* The last request before a refused one has been answered. */
	if (c->refusal_due && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		c->refusal_due = 0;
		send_refusal(c);
	}
	maybe_exit(c->w);
}

/* Sends the answer; every answer has X-Request-Id, none may be cached. */
static void
respond(struct request *r, int status, const char *type, const char *body, size_t len,
        const char *outcome)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b = evbuffer_new();
	double elapsed;

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "X-Request-Id", r->id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (atomic_load(&draining))
		evhttp_add_header(h, "Connection", "close");
	if (b)
		evbuffer_add(b, body, len);
	if (r->conn)
		evhttp_request_set_on_complete_cb(r->req, on_sent, r->conn);
	evhttp_send_reply(r->req, status, reason(status), b);
	if (b)
		evbuffer_free(b);
	elapsed = since(&r->start);
	cg_metrics_request(r->ep, r->route ? r->route->path : NULL, status, elapsed);
	if (r->ep == CG_EP_INGEST || r->ep == CG_EP_VALIDATE || status >= 400)
		audit(r, status, outcome);
	cg_log(status >= 500 ? CG_LOG_WARN : CG_LOG_INFO, "request %s: %s %s -> %d %s (%.1f ms)",
	       r->id, r->client ? r->client : "-", r->route ? r->route->path : "-", status, outcome,
	       elapsed * 1e3);
	request_finish(r);
}

/* An OperationOutcome with one issue: the answer to every protocol error. */
static void fail(struct request *r, int status, const char *type, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void
fail(struct request *r, int status, const char *type, const char *fmt, ...)
{
	struct cg_buf b;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cg_buf_init(&b, 1u << 20);
	cg_outcome_simple(&b, r->rt->base, "error", type, msg);
	/* Worth trying again soon: integration engines honour Retry-After. */
	if (status == 502 || status == 503 || status == 504)
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "5");
	respond(r, status, "application/fhir+json", b.p ? b.p : "", b.len, type);
	cg_buf_free(&b);
}

static void
request_finish(struct request *r)
{
	struct worker *w = r->w;

	if (r->have_out)
		cg_ingest_out_free(&r->out);
	if (r->ev)
		event_free(r->ev);
	cg_buf_free(&r->call.response);
	cg_buf_free(&r->body);
	cg_runtime_release(r->rt);
	free(r);
	maybe_exit(w);
}

/* ---- endpoints ----------------------------------------------------------- */

static void
on_ndjson_done(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg;
	struct cg_buf b;
	struct cg_outcome o;
	char msg[256];

	(void)fd;
	(void)what;
	if (r->job.error) {
		cg_metrics_upstream(CG_DEST_NDJSON, CG_UP_FAILED);
		cg_log(CG_LOG_ERROR, "request %s: destination %s: writing failed: %s", r->id,
		       r->route->dest->name, strerror(r->job.error));
		fail(r, 503, "transient",
		     "destination %s could not store the items; nothing was kept",
		     r->route->dest->name);
		return;
	}
	cg_metrics_upstream(CG_DEST_NDJSON, CG_UP_OK);
	snprintf(msg, sizeof(msg), "%zu item%s accepted and stored by destination %s (%s)",
	         r->out.n, r->out.n == 1 ? "" : "s", r->route->dest->name, r->job.file);
	cg_buf_init(&b, 64u << 20);
	cg_outcome_begin(&o, &b, r->rt->base);
	cg_outcome_add(&o, "information", "informational", NULL, msg);
	if (r->out.warnings) {
		/* The warnings of accepted items are worth seeing too. */
		cg_buf_free(&b);
		cg_buf_init(&b, 64u << 20);
		cg_buf_add(&b, r->out.outcome.p, r->out.outcome.len);
		respond(r, 200, "application/fhir+json", b.p, b.len, "stored");
		cg_buf_free(&b);
		return;
	}
	cg_outcome_end(&o, 0);
	respond(r, 200, "application/fhir+json", b.p ? b.p : "", b.len, "stored");
	cg_buf_free(&b);
}

/* 502 for an upstream's 5xx: our issue first, then the upstream's own issues
 * when it sent an OperationOutcome, each marked as the upstream's, so that
 * the client sees why without another system's error page. */
static void
upstream_failed(struct request *r, const struct cg_http_call *call)
{
	cJSON *up = call->response.p ? cJSON_ParseWithLength(call->response.p, call->response.len)
	                             : NULL;
	const cJSON *issues = NULL, *is;
	struct cg_outcome o;
	struct cg_buf b;
	char msg[256];

	if (up && strcmp(cJSON_GetStringValue(cg_json_member(up, "resourceType"))
	                         ? cJSON_GetStringValue(cg_json_member(up, "resourceType"))
	                         : "",
	                 "OperationOutcome") == 0)
		issues = cg_json_member(up, "issue");
	snprintf(msg, sizeof(msg), "destination %s answered %ld", r->route->dest->name,
	         call->status);
	cg_buf_init(&b, 1u << 20);
	cg_outcome_begin(&o, &b, r->rt->base);
	cg_outcome_add(&o, "error", "transient", NULL, msg);
	cJSON_ArrayForEach(is, issues)
	{
		const char *sev = cJSON_GetStringValue(cg_json_member(is, "severity"));
		const char *code = cJSON_GetStringValue(cg_json_member(is, "code"));
		const char *diag = cJSON_GetStringValue(cg_json_member(is, "diagnostics"));
		char text[600];

		snprintf(text, sizeof(text), "upstream: %s", diag ? diag : "(no diagnostics)");
		cg_outcome_add(&o, sev ? sev : "error", code ? code : "exception", NULL, text);
	}
	cJSON_Delete(up);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "5");
	if (cg_outcome_end(&o, 0))
		fail(r, 502, "transient", "%s", msg);
	else
		respond(r, 502, "application/fhir+json", b.p, b.len, "transient");
	cg_buf_free(&b);
}

/* The upstream's answer is passed back as it is (status, body, type), with
 * X-Upstream-Status; no answer is 502 (unreachable, 5xx) or 504 (timeout). */
static void
on_upstream_done(struct cg_http_call *call, void *arg)
{
	struct request *r = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	char st[16];

	cg_metrics_upstream((int)r->route->dest->type, call->result);
	if (call->result == CG_UP_TIMEOUT) {
		fail(r, 504, "timeout", "destination %s did not answer within %ld ms",
		     r->route->dest->name, r->route->dest->timeout_ms);
		return;
	}
	if (call->result == CG_UP_UNREACHABLE) {
		fail(r, 502, "transient", "destination %s could not be reached: %s",
		     r->route->dest->name, call->error);
		return;
	}
	snprintf(st, sizeof(st), "%ld", call->status);
	evhttp_add_header(h, "X-Upstream-Status", st);
	evhttp_add_header(h, "X-Cellgate-Destination", r->route->dest->name);
	if (call->result == CG_UP_FAILED) {
		upstream_failed(r, call);
		return;
	}
	respond(r, (int)call->status,
	        call->response_type[0] ? call->response_type : "application/fhir+json",
	        call->response.p ? call->response.p : "", call->response.len,
	        call->result == CG_UP_OK ? "forwarded" : "rejected upstream");
}

/* One upstream request for the whole batch: a fhir destination gets one
 * transaction Bundle (the entries of every item's Bundle), so that the
 * batch is all or nothing there too; a records destination a JSON array. */
static int
build_upstream(struct request *r)
{
	const struct cg_dest_cfg *d = r->route->dest;
	const struct cg_ingest_out *o = &r->out;
	size_t i;

	cg_buf_init(&r->body, (size_t)1 << 31);
	snprintf(r->url, sizeof(r->url), "%s", d->url);
	if (d->type == CG_DEST_RECORDS) {
		cg_buf_addc(&r->body, '[');
		for (i = 0; i < o->n; i++) {
			if (i)
				cg_buf_addc(&r->body, ',');
			cg_buf_add(&r->body, o->data.p + o->item[i].off, o->item[i].len);
		}
		cg_buf_addc(&r->body, ']');
		return r->body.p ? 0 : -1;
	}
	if (o->n == 1 && strcmp(o->item[0].type, "Bundle") != 0) {
		/* One resource: POST {base}/{type}. */
		size_t ul = strlen(r->url);

		snprintf(r->url + ul, sizeof(r->url) - ul, "%s%s",
		         ul && r->url[ul - 1] == '/' ? "" : "/", o->item[0].type);
		cg_buf_add(&r->body, o->data.p + o->item[0].off, o->item[0].len);
		return r->body.p ? 0 : -1;
	}
	if (o->n == 1) { /* the Bundle as it is: sent from where it lies */
		r->up_body = o->data.p + o->item[0].off;
		r->up_len = o->item[0].len;
		return 0;
	}
	{
		cJSON *all = cJSON_CreateObject(), *entries = cJSON_CreateArray();
		enum cg_err err;

		cJSON_AddStringToObject(all, "resourceType", "Bundle");
		cJSON_AddStringToObject(all, "type", "transaction");
		cJSON_AddItemToObject(all, "entry", entries);
		for (i = 0; i < o->n; i++) {
			cJSON *b =
			        cJSON_ParseWithLength(o->data.p + o->item[i].off, o->item[i].len);
			cJSON *e = cJSON_DetachItemFromObject(b, "entry"), *x;

			if (!e) { /* a lone resource in a batch becomes a create entry */
				cJSON *en = cJSON_CreateObject(), *req = cJSON_CreateObject();
				const char *rt = o->item[i].type;

				cJSON_AddItemToObject(en, "resource", b);
				cJSON_AddStringToObject(req, "method", "POST");
				cJSON_AddStringToObject(req, "url", rt);
				cJSON_AddItemToObject(en, "request", req);
				cJSON_AddItemToArray(entries, en);
				continue;
			}
			while ((x = cJSON_DetachItemFromArray(e, 0)) != NULL)
				cJSON_AddItemToArray(entries, x);
			cJSON_Delete(e);
			cJSON_Delete(b);
		}
		err = cg_jw_write_tree(&r->body, all);
		cJSON_Delete(all);
		return err || !r->body.p ? -1 : 0;
	}
}

static void
deliver(struct request *r)
{
	const struct cg_dest_cfg *d = r->route->dest;

	if (!d) {
		respond(r, 200, "application/fhir+json", r->out.outcome.p, r->out.outcome.len,
		        "valid, no destination");
		return;
	}
	if (d->type == CG_DEST_NDJSON) {
		r->ev = event_new(r->w->base, -1, 0, on_ndjson_done, r);
		if (!r->ev) {
			fail(r, 503, "transient", "out of memory");
			return;
		}
		r->job.folder = d->folder;
		r->job.items = &r->out;
		r->job.done = r->ev;
		cg_ndjson_submit(&r->job);
		return;
	}
	if (build_upstream(r)) {
		fail(r, 503, "transient", "out of memory");
		return;
	}
	memset(&r->call, 0, sizeof(r->call));
	r->call.dest = d;
	r->call.url = r->url;
	r->call.body = r->up_body ? r->up_body : r->body.p;
	r->call.len = r->up_body ? r->up_len : r->body.len;
	r->call.content_type =
	        d->type == CG_DEST_FHIR ? "application/fhir+json" : "application/json";
	r->call.request_id = r->id;
	r->call.done = on_upstream_done;
	r->call.arg = r;
	if (cg_http_start(r->w->http, &r->call)) {
		cg_metrics_upstream((int)d->type, CG_UP_UNREACHABLE);
		fail(r, 502, "transient", "destination %s: %s", d->name, r->call.error);
	}
}

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static int
contains_ci(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++)
		if (strncasecmp(s, word, n) == 0)
			return 1;
	return 0;
}

/* application/json or application/fhir+json: JSON; the ndjson types: NDJSON;
 * no Content-Type: decided from the text. Parameters (charset) are allowed;
 * only UTF-8 is. */
static int
body_format(const char *ct, enum cg_format *f)
{
	size_t n;

	if (!ct) {
		*f = CG_FORMAT_AUTO;
		return 0;
	}
	n = strcspn(ct, "; \t");
	if ((n == 16 && strncasecmp(ct, "application/json", n) == 0) ||
	    (n == 21 && strncasecmp(ct, "application/fhir+json", n) == 0))
		*f = CG_FORMAT_JSON;
	else if ((n == 20 && strncasecmp(ct, "application/x-ndjson", n) == 0) ||
	         (n == 18 && strncasecmp(ct, "application/ndjson", n) == 0) ||
	         (n == 23 && strncasecmp(ct, "application/fhir+ndjson", n) == 0))
		*f = CG_FORMAT_NDJSON;
	else
		return -1;
	if (strchr(ct, ';') && contains_ci(ct, "charset") && !contains_ci(ct, "utf-8"))
		return -1;
	return 0;
}

/* 1 when Accept allows JSON: absent, any type, application/any, the JSON types. */
static int
accepts_json(const char *a)
{
	return !a || strstr(a, "*/*") || contains_ci(a, "application/*") ||
	       contains_ci(a, "application/json") || contains_ci(a, "application/fhir+json");
}

static void
ingest(struct request *r, const char *resource_type, int validate_only)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
	struct cg_ingest_in ii;
	size_t len = evbuffer_get_length(body), i;
	const char *p;
	enum cg_format format;

	if (!evhttp_find_header(in, "Content-Length") &&
	    !evhttp_find_header(in, "Transfer-Encoding")) {
		fail(r, 411, "structure", "a body needs Content-Length (or chunked encoding)");
		return;
	}
	if (body_format(evhttp_find_header(in, "Content-Type"), &format)) {
		fail(r, 415, "not-supported",
		     "send application/fhir+json, application/json or application/x-ndjson "
		     "(UTF-8)");
		return;
	}
	p = (const char *)evbuffer_pullup(body, -1);
	memset(&ii, 0, sizeof(ii));
	ii.m = r->rt->m;
	ii.canonical_base = r->rt->base;
	ii.accept = r->route->accept;
	ii.resource_type = resource_type;
	ii.want = r->route->dest ? r->route->dest->format : r->route->accept;
	ii.format = format;
	ii.max_items = 10000;
	/* A route without a destination only validates: no items to make. */
	ii.validate_only = validate_only || !r->route->dest;
	cg_ingest_out_init(&r->out);
	r->have_out = 1;
	if (cg_ingest(&ii, p ? p : "", len, &r->out)) {
		fail(r, 503, "transient", "out of memory");
		return;
	}
	for (i = 0; i < CG_C__COUNT; i++)
		if (r->out.code_count[i])
			cg_metrics_issue((enum cg_code)i);
	if (validate_only || r->out.status != 200) {
		respond(r, r->out.status, "application/fhir+json", r->out.outcome.p,
		        r->out.outcome.len,
		        r->out.status == 200 ? "valid"
		        : r->out.first_code  ? r->out.first_code
		                             : "invalid");
		return;
	}
	deliver(r);
}

/* GET {fhir route}/metadata. */
static void
metadata(struct request *r)
{
	struct cg_buf b;

	cg_buf_init(&b, 1u << 20);
	if (cg_capability_write(&b, r->rt->s))
		fail(r, 503, "transient", "out of memory");
	else
		respond(r, 200, "application/fhir+json", b.p, b.len, "ok");
	cg_buf_free(&b);
}

static void
conformance_doc(struct request *r, const char *rest)
{
	size_t tl = strcspn(rest, "/");
	const struct cg_static_doc *d =
	        rest[tl] == '/' ? cg_runtime_doc(r->rt, rest, tl, rest + tl + 1) : NULL;

	if (d)
		respond(r, 200, "application/fhir+json", d->text, d->len, "ok");
	else
		fail(r, 404, "not-found", "no such resource");
}

/* Which client names the verified certificate maps to, and whether one of
 * them may use route. 401: no certificate; 403: not allowed. */
static int
authorize(struct request *r, const struct cg_route_cfg *route)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	SSL *ssl = bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evcon));
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	const struct cg_settings *s = r->rt->s;
	size_t i, j;

	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) {
		fail(r, 401, "login", "this route needs a client certificate");
		return -1;
	}
	if (!r->conn || !r->conn->id_match || r->conn->id_gen != r->rt->gen) {
		unsigned char *match = calloc(s->nclients + 1, 1);

		if (!match) {
			fail(r, 503, "transient", "out of memory");
			return -1;
		}
		for (i = 0; i < s->nclients; i++) {
			const struct cg_client_cfg *c = &s->clients[i];

			match[i] = (unsigned char)(c->san_dns ? cg_tls_has_san_dns(cert, c->san_dns)
			                                      : cg_tls_has_subject_cn(
			                                                cert, c->subject_cn));
		}
		if (!r->conn) { /* not reached: every request has its connection */
			free(match);
			fail(r, 503, "transient", "no connection");
			return -1;
		}
		free(r->conn->id_match);
		r->conn->id_match = match;
		r->conn->id_gen = r->rt->gen;
	}
	for (i = 0; i < s->nclients; i++) {
		const struct cg_client_cfg *c = &s->clients[i];

		if (!r->conn->id_match[i])
			continue;
		if (!r->client)
			r->client = c->name;
		for (j = 0; j < route->nclients; j++)
			if (route->clients[j] == i) {
				r->client = c->name;
				return 0;
			}
	}
	fail(r, 403, "forbidden",
	     r->client ? "this client may not use this route"
	               : "the client certificate is not one this gateway knows");
	return -1;
}

static void
request_id(struct request *r)
{
	const char *given =
	        evhttp_find_header(evhttp_request_get_input_headers(r->req), "X-Request-Id");
	size_t n = given ? strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                 "0123456789._-")
	                 : 0;

	/* A caller's id is kept when it is short and plain (it ends up in logs). */
	if (given && n && given[n] == 0 && n < sizeof(r->id))
		memcpy(r->id, given, n + 1);
	else
		new_request_id(r->id, sizeof(r->id));
}

static int
method_is(struct evhttp_request *req, const char *m)
{
	enum evhttp_cmd_type c = evhttp_request_get_command(req);

	return (c == EVHTTP_REQ_GET && strcmp(m, "GET") == 0) ||
	       (c == EVHTTP_REQ_POST && strcmp(m, "POST") == 0) ||
	       (c == EVHTTP_REQ_PUT && strcmp(m, "PUT") == 0);
}

static void
not_allowed(struct request *r, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
	fail(r, 405, "not-supported", "use %s here", allow);
}

static void
ops_endpoint(struct request *r, const char *path)
{
	if (!method_is(r->req, "GET")) {
		not_allowed(r, "GET");
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		r->ep = CG_EP_HEALTH;
		respond(r, 200, "application/json", "{\"status\":\"ok\"}", 15, "ok");
	} else if (strcmp(path, "/readyz") == 0) {
		size_t i;

		r->ep = CG_EP_READY;
		if (atomic_load(&draining)) {
			fail(r, 503, "transient", "shutting down");
			return;
		}
		for (i = 0; i < r->rt->s->ndests; i++) {
			const struct cg_dest_cfg *d = &r->rt->s->dests[i];

			if (d->type == CG_DEST_NDJSON && cg_ndjson_ready(d->folder)) {
				fail(r, 503, "transient", "destination %s cannot be written",
				     d->name);
				return;
			}
		}
		respond(r, 200, "application/json", "{\"status\":\"ready\"}", 18, "ok");
	} else {
		struct cg_buf b;

		r->ep = CG_EP_METRICS;
		cg_buf_init(&b, 1u << 20);
		if (cg_metrics_render(&b))
			fail(r, 503, "transient", "out of memory");
		else
			respond(r, 200, "text/plain; version=0.0.4", b.p, b.len, "ok");
		cg_buf_free(&b);
	}
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct front *f = arg;
	struct request *r = calloc(1, sizeof(*r));
	const char *raw = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	char *path;
	size_t plen, i;

	if (!r) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->req = req;
	r->w = f->w;
	r->rt = cg_runtime_acquire();
	r->ep = CG_EP_OTHER;
	r->conn = conn_of(req);
	cg_buf_init(&r->call.response, 1);
	cg_buf_init(&r->body, 1);
	if (r->conn) {
		set_state(r->conn, C_HANDLING);
		evtimer_del(r->conn->deadline);
	}
	request_id(r);
	if (!evhttp_find_header(evhttp_request_get_output_headers(req), "Server"))
		evhttp_add_header(evhttp_request_get_output_headers(req), "Server", "cellgate");
	if (!r->conn) {
		/* on_connection could not make the TLS bufferevent (out of memory)
		 * and evhttp fell back to plain text: serve nothing over it. */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		fail(r, 503, "transient", "no TLS on this connection");
		return;
	}
	if (!accepts_json(evhttp_find_header(evhttp_request_get_input_headers(req), "Accept"))) {
		fail(r, 406, "not-supported", "answers are application/fhir+json");
		return;
	}
	path = evhttp_uridecode(raw ? raw : "/", 0, &plen);
	if (!path || strlen(path) != plen) {
		free(path);
		fail(r, 400, "invalid", "the path cannot be decoded");
		return;
	}
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
	    strcmp(path, "/metrics") == 0) {
		ops_endpoint(r, path);
		free(path);
		return;
	}
	for (i = 0; i < r->rt->s->nroutes; i++) {
		const struct cg_route_cfg *route = &r->rt->s->routes[i];
		size_t rl = strlen(route->path);
		const char *rest = path + rl;
		int fhir = route->accept == CG_PAYLOAD_FHIR;

		if (strncmp(path, route->path, rl) != 0 || (rest[0] && rest[0] != '/'))
			continue;
		r->route = route;
		if (!rest[0] || strcmp(rest, "/$validate") == 0 ||
		    (fhir &&
		     (strcmp(rest, "/Procedure") == 0 || strcmp(rest, "/Observation") == 0))) {
			int validate = strcmp(rest, "/$validate") == 0;

			r->ep = validate ? CG_EP_VALIDATE : CG_EP_INGEST;
			if (!method_is(req, validate ? "POST" : route->method))
				not_allowed(r, validate ? "POST" : route->method);
			else if (authorize(r, route) == 0)
				ingest(r, rest[0] && !validate ? rest + 1 : NULL, validate);
		} else if (fhir && strcmp(rest, "/metadata") == 0) {
			r->ep = CG_EP_METADATA;
			if (!method_is(req, "GET"))
				not_allowed(r, "GET");
			else if (authorize(r, route) == 0)
				metadata(r);
		} else if (fhir && (strncmp(rest, "/StructureDefinition/", 21) == 0 ||
		                    strncmp(rest, "/CodeSystem/", 12) == 0)) {
			r->ep = CG_EP_STRUCTURE;
			if (!method_is(req, "GET"))
				not_allowed(r, "GET");
			else if (authorize(r, route) == 0)
				conformance_doc(r, rest + 1);
		} else {
			continue;
		}
		free(path);
		return;
	}
	free(path);
	r->route = NULL;
	fail(r, 404, "not-found", "no route here");
}

/* ---- the loops ------------------------------------------------------------ */

/* The drain: no new connections, Connection: close on every answer, and the
 * loop ends once nothing is being read or handled (or the grace time ran
 * out). Idle keep-alive connections are closed with the loop. */
static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timespec now;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (w->busy == 0 || now.tv_sec >= w->drain_deadline.tv_sec) {
		if (w->busy)
			cg_log(CG_LOG_WARN,
			       "worker %d: %zu requests still unfinished at the end of "
			       "the drain",
			       w->id, w->busy);
		event_base_loopexit(w->base, NULL);
	}
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tick = {0, 100000};
	size_t i;

	(void)fd;
	(void)what;
	w->draining = 1;
	for (i = 0; i < w->nfronts; i++)
		if (w->fronts[i].bound) {
			evhttp_del_accept_socket(w->fronts[i].http, w->fronts[i].bound);
			w->fronts[i].bound = NULL;
		}
	clock_gettime(CLOCK_MONOTONIC, &w->drain_deadline);
	w->drain_deadline.tv_sec += 30;
	w->drain_tick = event_new(w->base, -1, EV_PERSIST, on_drain_tick, w);
	event_add(w->drain_tick, &tick);
	maybe_exit(w);
}

/* evhttp's side of the limits; the guard answers them first (with
 * OperationOutcomes), so evhttp's own, higher, are a backstop. */
static void
apply_limits(struct evhttp *http, const struct cg_settings *s)
{
	evhttp_set_max_headers_size(http, (ev_ssize_t)s->max_header * 2);
	evhttp_set_max_body_size(http, (ev_ssize_t)(s->max_body + s->max_body / 8 + 4096));
	evhttp_set_timeout(http, (int)((s->idle_timeout_ms + 999) / 1000));
}

/* After a reload, on the worker's own thread (evhttp is not thread-safe):
 * the new limits for the connections to come. */
static void
on_reconfigure(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct cg_runtime *rt = cg_runtime_acquire();
	size_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < w->nfronts; i++)
		if (w->fronts[i].http)
			apply_limits(w->fronts[i].http, rt->s);
	w->max_conns = rt->s->max_connections / (size_t)nworkers + 1;
	resume_accepting(w);
	cg_runtime_release(rt);
}

static int
listen_on(struct front *f, const struct cg_listener_cfg *l, const struct cg_settings *s)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss), one = 1;
	char addr[300];
	evutil_socket_t fd;

	snprintf(addr, sizeof(addr), strchr(l->address, ':') ? "[%s]:%d" : "%s:%d", l->address,
	         l->port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl)) {
		cg_log(CG_LOG_ERROR, "listener %s: not an address", addr);
		return -1;
	}
	f->lis = evconnlistener_new_bind(f->w->base, NULL, NULL,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                         LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
	                                 1024, (struct sockaddr *)&ss, sl);
	if (!f->lis) {
		cg_log(CG_LOG_ERROR, "listener %s: %s", addr, strerror(errno));
		return -1;
	}
	/* Accepted sockets inherit it: without it every TLS answer waits on
	 * Nagle and delayed ACKs (about 40 ms). */
	fd = evconnlistener_get_fd(f->lis);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	f->http = evhttp_new(f->w->base);
	if (!f->http)
		return -1;
	evhttp_set_bevcb(f->http, on_connection, f);
	evhttp_set_gencb(f->http, on_request, f);
	apply_limits(f->http, s);
	evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                            EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE |
	                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(f->http, "application/fhir+json");
	f->bound = evhttp_bind_listener(f->http, f->lis);
	return f->bound ? 0 : -1;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	cg_map_thread_done();
	cg_arena_thread_release();
	return NULL;
}

static int
worker_init(struct worker *w, int id, const struct cg_settings *s)
{
	size_t i;

	struct event_config *ec = event_config_new();

	w->id = id;
	/* Batch epoll_ctl calls: evhttp turns reading and writing on and off
	 * several times per request, often back to where they were. */
	if (ec)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = ec ? event_base_new_with_config(ec) : NULL;
	if (ec)
		event_config_free(ec);
	w->max_conns = s->max_connections / (size_t)nworkers + 1;
	w->nfronts = s->nlisteners;
	w->fronts = calloc(w->nfronts, sizeof(*w->fronts));
	if (!w->base || !w->fronts)
		return -1;
	w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
	w->reconfigure_ev = event_new(w->base, -1, 0, on_reconfigure, w);
	w->http = cg_http_client_new(w->base);
	if (!w->stop_ev || !w->reconfigure_ev || !w->http)
		return -1;
	for (i = 0; i < w->nfronts; i++) {
		w->fronts[i].w = w;
		w->fronts[i].index = i;
		if (listen_on(&w->fronts[i], &s->listeners[i], s))
			return -1;
	}
	return 0;
}

static void
worker_free(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nfronts; i++)
		if (w->fronts[i].http)
			evhttp_free(w->fronts[i].http); /* closes its connections too */
	free(w->fronts);
	if (w->http)
		cg_http_client_free(w->http);
	if (w->stop_ev)
		event_free(w->stop_ev);
	if (w->reconfigure_ev)
		event_free(w->reconfigure_ev);
	if (w->drain_tick)
		event_free(w->drain_tick);
	if (w->base)
		event_base_free(w->base);
}

/* ---- signals, reload ------------------------------------------------------ */

struct control {
	const char *config_path, *mappings_dir;
	struct event_base *base;
};

static void
reload(struct control *ctl)
{
	struct cg_runtime *fresh = cg_runtime_load(ctl->config_path, ctl->mappings_dir), *cur;
	size_t i;
	int moved = 0;

	if (!fresh) {
		cg_log(CG_LOG_ERROR, "reload: the new configuration has errors (above); "
		                     "still serving with the previous one");
		return;
	}
	/* Listening sockets are made at start; a reload that moves them would
	 * serve listener i's new certificate on its old address. Refuse it. */
	cur = cg_runtime_acquire();
	for (i = 0; i < fresh->s->nlisteners || i < cur->s->nlisteners; i++)
		moved |= i >= fresh->s->nlisteners || i >= cur->s->nlisteners ||
		         fresh->s->listeners[i].port != cur->s->listeners[i].port ||
		         strcmp(fresh->s->listeners[i].address, cur->s->listeners[i].address) != 0;
	cg_runtime_release(cur);
	if (moved) {
		cg_runtime_free(fresh);
		cg_log(CG_LOG_ERROR, "reload: the listeners' addresses or ports changed; "
		                     "restart to apply that. Still serving with the previous "
		                     "configuration");
		return;
	}
	cg_log_set_level(fresh->s->level);
	if (cg_audit_open(fresh->s->audit))
		cg_log(CG_LOG_ERROR, "reload: audit log: %s", strerror(errno));
	cg_runtime_release(cg_runtime_install(fresh));
	for (i = 0; i < (size_t)nworkers; i++)
		event_active(workers[i].reconfigure_ev, EV_READ, 1);
	cg_log(CG_LOG_INFO, "reload: configuration, mappings and certificates loaded");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct control *ctl = arg;
	int i;

	(void)what;
	if (sig == SIGHUP) {
		reload(ctl);
		return;
	}
	if (atomic_exchange(&draining, 1))
		return;
	cg_log(CG_LOG_INFO, "%s: draining: no new connections, finishing requests in flight",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT");
	for (i = 0; i < nworkers; i++)
		event_active(workers[i].stop_ev, EV_READ, 1);
	event_base_loopexit(ctl->base, NULL);
}

int
cg_serve(const char *config_path, const char *mappings_dir)
{
	struct control ctl = {config_path, mappings_dir, NULL};
	struct event *sig[3] = {NULL, NULL, NULL};
	struct cg_runtime *rt; /* valid until the control loop runs (a reload frees it) */
	static const int sigs[3] = {SIGHUP, SIGTERM, SIGINT};
	unsigned char rnd[4];
	sigset_t block, old;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int i, status = 0, started = 0;

	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Trees built while a request's arena is active live in it (cJSON makes
	 * one allocation per value: glibc malloc would be the hot spot). */
	cg_arena_cjson_hooks();
	conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	snprintf(id_prefix, sizeof(id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	rt = cg_runtime_load(config_path, mappings_dir);
	if (!rt)
		return 1;
	cg_runtime_install(rt); /* the first: nothing to release */
	cg_log_set_level(rt->s->level);
	if (rt->s->audit) { /* its folder too is made if missing */
		char dir[4096], *slash;

		snprintf(dir, sizeof(dir), "%s", rt->s->audit);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			cg_ndjson_make_folder(dir);
		}
	}
	if (cg_audit_open(rt->s->audit)) {
		cg_log(CG_LOG_ERROR, "audit log %s: %s", rt->s->audit, strerror(errno));
		cg_runtime_release(cg_runtime_install(NULL));
		return 1;
	}
	nworkers = rt->s->workers ? rt->s->workers : (int)(cores > 0 ? cores : 1);
	workers = calloc((size_t)nworkers, sizeof(*workers));
	if (!workers || cg_ndjson_start()) {
		cg_runtime_release(cg_runtime_install(NULL));
		return 1;
	}
	/* Signals are for the control loop only: workers never see them. */
	sigemptyset(&block);
	for (i = 0; i < 3; i++)
		sigaddset(&block, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < nworkers; i++) {
		if (worker_init(&workers[i], i, rt->s)) {
			status = 1;
			break;
		}
	}
	if (!status)
		for (i = 0; i < nworkers; i++)
			if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0)
				started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!status && started == nworkers) {
		ctl.base = event_base_new();
		for (i = 0; i < 3 && ctl.base; i++) {
			sig[i] = evsignal_new(ctl.base, sigs[i], on_signal, &ctl);
			evsignal_add(sig[i], NULL);
		}
		for (i = 0; i < (int)rt->s->nlisteners; i++)
			cg_log(CG_LOG_INFO,
			       "listening on %s:%d (TLS, client certificate %s), %d workers",
			       rt->s->listeners[i].address, rt->s->listeners[i].port,
			       rt->s->listeners[i].require_client ? "required" : "optional",
			       nworkers);
		if (ctl.base)
			event_base_dispatch(ctl.base);
	} else {
		status = 1;
		atomic_store(&draining, 1);
		for (i = 0; i < nworkers; i++)
			if (workers[i].stop_ev)
				event_active(workers[i].stop_ev, EV_READ, 1);
	}
	for (i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	cg_ndjson_stop();
	for (i = 0; i < nworkers; i++)
		worker_free(&workers[i]);
	for (i = 0; i < 3; i++)
		if (sig[i])
			event_free(sig[i]);
	if (ctl.base)
		event_base_free(ctl.base);
	free(workers);
	cg_runtime_release(cg_runtime_install(NULL));
	cg_audit_open(NULL);
	curl_global_cleanup();
	if (!status)
		cg_log(CG_LOG_INFO, "stopped");
	return status;
}
