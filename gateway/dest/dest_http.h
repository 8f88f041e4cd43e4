/*
 * dest_http.h: upstream calls with libcurl, on a worker's event loop.
 *
 * One curl multi handle per loop (its connection cache gives keep-alive
 * and TLS session reuse to the upstream); curl's sockets and timer are
 * driven by the loop's events (curl's multi_socket interface), so a slow or
 * dead upstream never blocks the loop. Each destination has its own client
 * certificate and CA; every call has the destination's timeout.
 */
#ifndef CG_DEST_HTTP_H
#define CG_DEST_HTTP_H

#include <stdbool.h>

#include "buf.h"
#include "metrics.h"
#include "settings.h"

struct event_base;
struct cg_http_client;

struct cg_http_call {
	/* in */
	const struct cg_dest_cfg *dest;
	const char *url; /* the full URL to POST to */
	const char *body;
	size_t len;
	const char *content_type;
	const char *request_id;
	const char *const *headers_extra; /* "Name: value" lines, NULL-ended, or NULL */
	const char *method;               /* NULL: POST (body); "GET" (no body), "PUT" (body) */
	/* a call to the destination's token endpoint (auth.c): no client
	 * certificate, the auth's CA, HTTP Basic credentials when not NULL */
	bool token_call;
	const char *basic_user, *basic_password;
	void (*done)(struct cg_http_call *call, void *arg);
	void *arg;
	/* out */
	long status; /* the upstream's HTTP status, 0 when none */
	enum cg_upstream_result result;
	char error[256];         /* curl's words when there was no answer */
	struct cg_buf response;  /* the upstream's body (first 1 MB) */
	int truncated;           /* the body was over 1 MB (or memory ran out): response is cut */
	char response_type[128]; /* its Content-Type */
	long retry_after_s;      /* its Retry-After (seconds or a date, from now), or -1 */
	/* private */
	void *easy;
	struct curl_slist *headers;
	struct cg_http_call *prev, *next; /* the client's calls in flight */
};

struct cg_http_client *cg_http_client_new(struct event_base *base);
/* Frees the client; calls still in flight are dropped (done is not called:
 * their callers free them, the response buffer included). */
void cg_http_client_free(struct cg_http_client *c);
/* Starts call; done runs on the loop when it finishes, whatever the result.
 * CG_EIO when it could not start (call->error says why; done is not called). */
enum cg_err cg_http_start(struct cg_http_client *c, struct cg_http_call *call);

#endif
