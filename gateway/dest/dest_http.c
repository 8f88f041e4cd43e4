/* dest_http.c: libcurl's multi_socket interface on a libevent loop; see
 * dest_http.h. The pattern is curl's own (docs/examples/hiperfifo.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "dest_http.h"

#define POOL 64

struct cg_http_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	/* Finished easy handles, reset and kept for the next calls: making one
	 * is a dozen allocations. */
	CURL *pool[POOL];
	int npool;
	struct cg_http_call *flying; /* started and not finished: dropped by free */
};

static void
unlink_call(struct cg_http_client *c, struct cg_http_call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else
		c->flying = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
}

struct sock {
	struct event *ev;
};

static void check_done(struct cg_http_client *c);

static void
on_event(evutil_socket_t fd, short kind, void *arg)
{
	struct cg_http_client *c = arg;
	int running, action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
	                      ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(c->multi, fd, action, &running);
	check_done(c);
}

static void
on_timer(evutil_socket_t fd, short kind, void *arg)
{
	struct cg_http_client *c = arg;
	int running;

	(void)fd;
	(void)kind;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int
socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct cg_http_client *c = userp;
	struct sock *sk = socketp;
	short kind;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
	               ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		sk->ev = event_new(c->base, s, kind, on_event, c);
		if (!sk->ev) {
			free(sk);
			return -1;
		}
		curl_multi_assign(c->multi, s, sk);
	} else {
		/* Same socket, other interest: reuse the event (no allocation). */
		event_del(sk->ev);
		event_assign(sk->ev, c->base, s, kind, on_event, c);
	}
	return event_add(sk->ev, NULL) == 0 ? 0 : -1;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct cg_http_client *c = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(c->timer);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(c->timer, &tv);
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct cg_http_call *call = arg;
	size_t len = size * n;

	/* Past 1 MB the rest is dropped: the answer is for the client to read,
	 * not ours to hold without bound. It is read to its end all the same
	 * (the status stands and the connection stays reusable), and marked:
	 * a cut body must never pass for the whole answer. */
	if (call->truncated)
		return len;
	if (len > CG_BUF_MAX_RESPONSE - call->response.len ||
	    cg_buf_add(&call->response, p, len) != CG_OK)
		call->truncated = 1;
	return len;
}

static void
finish(struct cg_http_client *c, CURL *easy, CURLcode code)
{
	struct cg_http_call *call = NULL;
	char *ct = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &call->status);
	if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(call->response_type, sizeof(call->response_type), "%s", ct);
	{
		curl_off_t ra = 0;

		/* curl reads both forms (delay-seconds and HTTP-date); 0: none */
		if (curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			call->retry_after_s = ra > 86400 ? 86400 : (long)ra;
	}
	if (code == CURLE_OK) {
		call->result = call->status >= 200 && call->status < 300   ? CG_UP_OK
		               : call->status >= 400 && call->status < 500 ? CG_UP_REJECTED
		                                                           : CG_UP_FAILED;
	} else {
		call->result = code == CURLE_OPERATION_TIMEDOUT ? CG_UP_TIMEOUT : CG_UP_UNREACHABLE;
		if (!call->error[0])
			snprintf(call->error, sizeof(call->error), "%s", curl_easy_strerror(code));
	}
	curl_multi_remove_handle(c->multi, easy);
	unlink_call(c, call);
	if (c->npool < POOL) {
		curl_easy_reset(easy);
		c->pool[c->npool++] = easy;
	} else {
		curl_easy_cleanup(easy);
	}
	curl_slist_free_all(call->headers);
	call->headers = NULL;
	call->easy = NULL;
	call->done(call, call->arg);
}

static void
check_done(struct cg_http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			finish(c, msg->easy_handle, msg->data.result);
}

struct cg_http_client *
cg_http_client_new(struct event_base *base)
{
	struct cg_http_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->base = base;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (!c->multi || !c->timer) {
		cg_http_client_free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	/* The cache's default size follows the number of transfers in flight,
	 * so connections were closed as soon as the load dipped and opened
	 * again: keep enough for every host and then some. */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
	return c;
}

void
cg_http_client_free(struct cg_http_client *c)
{
	if (!c)
		return;
	/* A stop past its grace: the calls still in flight are dropped (their
	 * handles are the multi's until removed, and leaked with it). */
	while (c->flying) {
		struct cg_http_call *call = c->flying;

		unlink_call(c, call);
		curl_multi_remove_handle(c->multi, call->easy);
		curl_easy_cleanup(call->easy);
		curl_slist_free_all(call->headers);
		call->headers = NULL;
		call->easy = NULL;
	}
	while (c->npool > 0)
		curl_easy_cleanup(c->pool[--c->npool]);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->timer)
		event_free(c->timer);
	free(c);
}

enum cg_err
cg_http_start(struct cg_http_client *c, struct cg_http_call *call)
{
	const struct cg_dest_cfg *d = call->dest;
	CURL *e = c->npool > 0 ? c->pool[--c->npool] : curl_easy_init();
	char h[200];

	call->status = 0;
	call->retry_after_s = -1;
	call->error[0] = 0;
	call->response_type[0] = 0;
	call->truncated = 0;
	cg_buf_init(&call->response, CG_BUF_MAX_RESPONSE);
	if (!e) {
		snprintf(call->error, sizeof(call->error), "out of memory");
		return CG_EIO;
	}
	snprintf(h, sizeof(h), "Content-Type: %s", call->content_type);
	call->headers = curl_slist_append(NULL, h);
	call->headers = curl_slist_append(call->headers, "Accept: application/fhir+json, "
	                                                 "application/json");
	snprintf(h, sizeof(h), "X-Request-Id: %s", call->request_id);
	call->headers = curl_slist_append(call->headers, h);
	call->headers = curl_slist_append(call->headers, "Expect:"); /* no 100-continue wait */
	for (size_t i = 0; call->headers_extra && call->headers_extra[i]; i++)
		call->headers = curl_slist_append(call->headers, call->headers_extra[i]);
	curl_easy_setopt(e, CURLOPT_URL, call->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (call->method && strcmp(call->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len);
		if (call->method && strcmp(call->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error);
	curl_easy_setopt(e, CURLOPT_PRIVATE, call);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, d->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 d->timeout_ms < 5000 ? d->timeout_ms : 5000L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "cellgate");
	if (d->certificate && !call->token_call)
		curl_easy_setopt(e, CURLOPT_SSLCERT, d->certificate);
	if (d->key && !call->token_call)
		curl_easy_setopt(e, CURLOPT_SSLKEY, d->key);
	if (call->token_call ? d->auth.ca != NULL : d->ca != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, call->token_call ? d->auth.ca : d->ca);
	if (call->basic_user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, call->basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, call->basic_password);
	}
	/* The proxy is the configuration's, or none: never one from the
	 * environment (http_proxy...), which nobody configuring cellgate sees.
	 * HTTPS goes through it by CONNECT. */
	curl_easy_setopt(e, CURLOPT_PROXY, d->proxy ? d->proxy : "");
	/* and the configuration's no_proxy: unset, curl reads no_proxy and
	 * NO_PROXY from the environment (NO_PROXY=* went round the proxy) */
	curl_easy_setopt(e, CURLOPT_NOPROXY, d->no_proxy ? d->no_proxy : "");
	if (d->proxy_auth) {
		curl_easy_setopt(e, CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_PROXYUSERPWD, d->proxy_auth);
	}
	call->easy = e;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		snprintf(call->error, sizeof(call->error), "could not start the call");
		curl_slist_free_all(call->headers);
		call->headers = NULL;
		curl_easy_cleanup(e);
		return CG_EIO;
	}
	call->prev = NULL;
	call->next = c->flying;
	if (c->flying)
		c->flying->prev = call;
	c->flying = call;
	return CG_OK;
}
