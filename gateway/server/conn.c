/* conn.c: client connections below HTTP; see conn.h. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "answer.h"
#include "buf.h"
#include "conn.h"
#include "worker.h"
#include "http_guard.h"
#include "log.h"
#include "metrics.h"
#include "outcome.h"
#include "runtime.h"
#include "settings.h"
#include "tls.h"

static atomic_ulong request_seq;
static char id_prefix[9];
static int conn_ex_index = -1;

void
cg_conn_set_state(struct conn *c, enum conn_state s)
{
	if ((c->state != C_IDLE) != (s != C_IDLE))
		c->w->busy += s != C_IDLE ? 1 : (size_t)-1;
	c->state = s;
}

static struct cg_log_limit deadline_log, evict_log;

static void
arm_deadline(struct conn *c, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(c->deadline, &tv);
}

/* A request begins (its first byte) or waits behind another: its deadline
 * starts unless it runs already. */
static void
start_reading(struct conn *c)
{
	if (c->state == C_IDLE)
		cg_conn_set_state(c, C_READING);
	if (!evtimer_pending(c->deadline, NULL))
		arm_deadline(c, c->request_ms);
}

/* Off the worker's list of handshaking connections. */
static void
unlist(struct conn *c)
{
	struct worker *w = c->w;

	if (c->older)
		c->older->newer = c->newer;
	else if (w->oldest == c)
		w->oldest = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else if (w->newest == c)
		w->newest = c->older;
	c->older = c->newer = NULL;
	w->handshaking--;
	cg_metrics_handshaking(-1);
}

/* Ends a connection from under evhttp: the socket is shut both ways, so
 * that the bufferevent sees the end and evhttp frees the connection in its
 * usual way (conn_free). */
static void
cut(struct conn *c)
{
	evutil_socket_t s = bufferevent_getfd(c->bev);

	if (s >= 0)
		shutdown(s, SHUT_RDWR);
	/* Reading held back by the read mark would not see the end: the
	 * mark goes, so that the bufferevent reads the EOF and evhttp frees
	 * the connection now rather than at the end of a drain. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	c->mark = 0;
	c->was_cut = 1;
}

/* New ids: the process's random prefix and a counter. */
void
cg_conn_request_id(char *out, size_t n)
{
	snprintf(out, n, "%s-%08lx", id_prefix, atomic_fetch_add(&request_seq, 1) + 1);
}

/* A request must arrive whole within its time, however slowly its bytes
 * trickle in (slowloris): past it, the connection is shut. */
static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (!c->authenticated) {
		cg_metrics_conn_closed(CG_CLOSE_HANDSHAKE_TIMEOUT);
		cg_log_limited(&deadline_log, CG_LOG_WARN,
		               "connection closed: no TLS handshake within %ld ms",
		               c->handshake_ms);
	} else {
		cg_metrics_conn_closed(CG_CLOSE_REQUEST_TIMEOUT);
		cg_log_limited(&deadline_log, CG_LOG_WARN,
		               "connection closed: a request did not arrive (or waited behind "
		               "answers the client did not read) for %ld ms",
		               c->request_ms);
	}
	cut(c);
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
	enum cg_err err;
	char id[40], when[32], line[512];
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	cg_conn_request_id(id, sizeof(id));
	cg_buf_init(&body, CG_BUF_MAX_ANSWER);
	cg_buf_init(&all, CG_BUF_MAX_ANSWER);
	cg_outcome_simple(&body, rt->base, "error", cg_answer_issue_type(status), why);
	err = cg_buf_printf(
	        &all,
	        "HTTP/1.1 %d %s\r\nServer: cellgate\r\nContent-Type: application/fhir+json\r\n"
	        "Content-Length: %zu\r\nX-Request-Id: %s\r\nCache-Control: no-store\r\n"
	        "Connection: close\r\n\r\n",
	        status, reason, body.len, id);
	/* An answer to HEAD has no body (RFC 9110 9.3.2): a client reads
	 * none, and would take its bytes for the next answer. Content-Length
	 * stays, as GET would have it. */
	if (!err && !c->guard.head)
		err = cg_buf_add(&all, body.p, body.len);
	if (ssl && !err && SSL_write(ssl, all.p, (int)all.len) <= 0)
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

/* Only a change is passed on: bufferevent_setwatermark re-enables reading
 * each time, and the input changes several times per request (evhttp takes
 * a header line at a time). */
static void
set_mark(struct conn *c, size_t high)
{
	if (c->mark != high && !c->was_cut) {
		bufferevent_setwatermark(c->bev, EV_READ, 0, high);
		c->mark = high;
	}
}

/* The input's high-water mark: reading stops while this much waits, so a
 * client that sends and does not read its answers is held to it. Usually
 * read_high, a header block's worth and a TLS record: evhttp needs a whole
 * header block in the input to parse it. A body is the exception: evhttp
 * 2.1.12 takes a Content-Length body only once all of it is in
 * (evhttp_read_body), and a chunk likewise. So while evhttp is at the
 * request whose body is arriving (nothing of an earlier request waits
 * before it), the mark makes room for the rest of that body or chunk, which
 * the guard keeps within max_body_bytes (cg_http_guard_awaited). */
static void
set_read_mark(struct conn *c, struct evbuffer *buf)
{
	size_t len = evbuffer_get_length(buf), high = c->read_high;
	unsigned long long first = c->bytes_in - len; /* the offset of buf's first byte */
	unsigned long long awaited = cg_http_guard_awaited(&c->guard);

	if (awaited && first >= c->guard.request_start && len + awaited + 64 > high)
		high = len + (size_t)awaited + 64;
	set_mark(c, high);
}

/* Every byte a client sends passes through the guard before evhttp reads it.
 * On a refusal, the requests before the refused one (pipelined in the same
 * read, or one still being handled) are served first and answered in order;
 * the refusal follows them (cg_conn_sent). */
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

	if (c->trimming)
		return;
	if (info->n_added == 0) { /* evhttp took some: the mark may go down */
		if (info->n_deleted && !c->refused)
			set_read_mark(c, buf);
		return;
	}
	/* The bytes just added are the last ones of the buffer. */
	fresh = info->n_added < len ? info->n_added : len;
	if (c->refused) {
		drop_tail(c, buf, c->refusal_due ? len - fresh : 0);
		return;
	}
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
	if (verdict == CG_GUARD_OK) {
		set_read_mark(c, buf);
		return;
	}
	c->refused = 1;
	set_mark(c, c->read_high);
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

void
cg_worker_resume_accepting(struct worker *w)
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
	cg_conn_set_state(c, C_IDLE);
	free(c->id_match);
	event_free(c->deadline);
	if (c->authenticated)
		c->w->conns--;
	else if (!c->evicted)
		unlist(c);
	cg_metrics_connections(-1);
	cg_worker_resume_accepting(c->w);
	cg_worker_maybe_exit(c->w);
	free(c);
}

struct bufferevent *
cg_conn_new(struct event_base *base, void *arg)
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
	c->handshake_ms = rt->s->handshake_timeout_ms;
	c->request_ms = rt->s->header_timeout_ms + rt->s->body_timeout_ms;
	c->read_high = rt->s->max_header + 16384 + 1024;
	c->listener = f->index;
	c->made_gen = rt->gen;
	c->deadline = evtimer_new(base, on_deadline, c);
	cg_http_guard_init(&c->guard, rt->s->max_header, rt->s->max_body);
	SSL_set_ex_data(ssl, conn_ex_index, c);
	set_mark(c, c->read_high);
	evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
	evbuffer_add_cb(bufferevent_get_output(bev), on_output, c);
	/* Handshaking: its own deadline, and a place on the worker's list; the
	 * oldest makes room when the list is full. */
	cg_conn_set_state(c, C_READING);
	arm_deadline(c, c->handshake_ms);
	if (w->handshaking >= w->max_handshaking && w->oldest) {
		struct conn *old = w->oldest;

		unlist(old);
		old->evicted = 1;
		/* Counted once, as evicted: its handshake deadline must not
		 * count it again as timed out before its close is seen. */
		evtimer_del(old->deadline);
		cg_metrics_conn_closed(CG_CLOSE_HANDSHAKE_EVICTED);
		cg_log_limited(&evict_log, CG_LOG_WARN,
		               "worker %d: %zu connections still in their TLS handshake "
		               "(max_handshakes): the oldest closed",
		               w->id, w->handshaking + 1);
		cut(old);
	}
	c->older = w->newest;
	if (w->newest)
		w->newest->newer = c;
	else
		w->oldest = c;
	w->newest = c;
	w->handshaking++;
	cg_metrics_handshaking(1);
	cg_metrics_connections(1);
	cg_runtime_release(rt);
	return bev;
}

/* A connection's first handshake has completed (tls.c): it takes one of
 * the max_connections places; listeners pause once they are all taken. */
static void
on_handshake_done(SSL *ssl)
{
	struct conn *c = SSL_get_ex_data(ssl, conn_ex_index);
	struct worker *w;

	if (!c || c->authenticated || c->evicted)
		return;
	w = c->w;
	unlist(c);
	c->authenticated = 1;
	evtimer_del(c->deadline);
	cg_conn_set_state(c, C_IDLE);
	w->conns++;
	/* A draining worker's listeners are gone (on_stop): nothing to pause. */
	if (w->conns >= w->max_conns && !w->paused && !w->draining) {
		size_t i;

		for (i = 0; i < w->nfronts; i++)
			evconnlistener_disable(w->fronts[i].lis);
		w->paused = 1;
		cg_log(CG_LOG_WARN, "worker %d: %zu connections, not accepting more for now", w->id,
		       w->conns);
	}
}

struct conn *
cg_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	return ssl ? SSL_get_ex_data(ssl, conn_ex_index) : NULL;
}

/* A draining worker stops once no connection is reading or handling a
 * request. */
void
cg_worker_maybe_exit(struct worker *w)
{
	if (w->draining && w->busy == 0)
		event_base_loopexit(w->base, NULL);
}

void
cg_conn_dispatched(struct conn *c)
{
	cg_conn_set_state(c, C_HANDLING);
	/* While the request is handled (an upstream may take its timeout),
	 * the wait is the gateway's, not the client's: a request pipelined
	 * behind it waits from its answer on (cg_conn_answering). */
	evtimer_del(c->deadline);
}

void
cg_conn_answering(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) != 0 &&
	    !evtimer_pending(c->deadline, NULL))
		arm_deadline(c, c->request_ms); /* the next request waits from now */
}

void
cg_conn_sent(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	/* A request already waiting keeps the connection reading. */
	cg_conn_set_state(c, evtimer_pending(c->deadline, NULL) ? C_READING : C_IDLE);
	/* The last request before a refused one has been answered. */
	if (c->refusal_due && evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		c->refusal_due = 0;
		send_refusal(c);
	}
	cg_worker_maybe_exit(c->w);
}

enum cg_err
cg_conn_setup(void)
{
	unsigned char rnd[4];

	conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
	cg_tls_on_handshake_done(on_handshake_done);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	snprintf(id_prefix, sizeof(id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	return conn_ex_index < 0 ? CG_ENOMEM : CG_OK;
}
