/*
 * request.h: one request of the gateway as its handlers see it, and its
 * answer: the envelope every answer shares (X-Request-Id, no caching,
 * Connection: close while draining, no body for HEAD), the metrics, log and
 * audit line for it, and the request's end. handler.c routes and serves;
 * this is what a request is and how it is answered. Internal to server/.
 */
#ifndef CG_REQUEST_H
#define CG_REQUEST_H

#include <stddef.h>
#include <time.h>

#include "dest.h"
#include "ingest.h"
#include "outbox.h"
#include "metrics.h"
#include "route.h"

struct evhttp_request;
struct conn;
struct worker;
struct cg_runtime;
struct cg_route_cfg;

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
	struct cg_delivery dl; /* to the route's destination */
	int delivering;        /* dl was started: release it */
	/* queue mode (enqueue.c): the outbox's job, until it is durable */
	struct cg_outbox_job job;
	struct cg_msg_in *msgs;
	int64_t *ids;
	struct event *job_ev;       /* made active by the writer thread */
	char txid[40];              /* the transaction: its messages' common id */
	char (*keys)[48];           /* keys made here for items about no patient */
	const char **withdraw_keys; /* a withdrawal's keys (into out.withdraw) */
	/* what ingest is asked again (handler.c) */
	char resource_type[CG_FHIR_TYPE_NAME_MAX]; /* P/{type}'s, or "" */
	int validate_only;
	/* random pseudonyms fetched off the loop, then ingest again (prefetch.c) */
	struct cg_read_job read;
	struct event *read_ev; /* made active by the reader thread */
	struct cg_pseudonyms *pseudonyms_of;
	struct cg_pseudonym_use *known; /* owned */
	size_t nknown;
	enum cg_err read_err;
	void (*again)(struct request *r);
};

/* The request's method, for routing and the audit log. */
enum cg_method cg_request_method(struct evhttp_request *req);
/* The caller's X-Request-Id when it is short and plain, else a new one. */
void cg_request_set_id(struct request *r);
/* Sends the answer, counts, logs and audits it, and ends the request (r is
 * freed). */
void cg_request_respond(struct request *r, int status, const char *type, const char *body,
                        size_t len, const char *outcome);
/* An OperationOutcome with one issue: the answer to every protocol error
 * (Retry-After on 502, 503, 504). Ends the request. */
void cg_request_fail(struct request *r, int status, const char *type, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* 503 "transient" with msg and Retry-After: retry_after (a configured wait,
 * first: a client reads the first). Ends the request. */
void cg_request_refuse(struct request *r, long retry_after, const char *msg);
/* 405 with Allow. Ends the request. */
void cg_request_not_allowed(struct request *r, const char *allow);

#endif
