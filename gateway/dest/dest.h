/*
 * dest.h: the one way in to destinations.
 *
 * A delivery hands a batch of items (item.h) to one configured destination
 * and tells, on the caller's event loop, what became of it: an ndjson
 * folder stores them (dest_ndjson.h: a writer thread, fsync before done); a
 * fhir destination gets one request for the batch (the one resource as a
 * create at {url}/{type}, a transaction or batch Bundle as it is, several
 * items joined into one transaction: transaction.h), a records destination a
 * JSON array, both over libcurl on the loop (dest_http.h). A lone resource
 * with an identifier is a conditional create (If-None-Exist; a transaction's
 * entries get ifNoneExist), so that a resource delivered twice is stored
 * once; a records destination gets the caller's Idempotency-Key. The server's
 * handler calls this for a request; the outbox's forwarder will call it the
 * same way for what it has stored. Each result is counted here, where it is
 * decided (cellgate_upstream_total).
 */
#ifndef CG_DEST_H
#define CG_DEST_H

#include <stdbool.h>

#include "auth.h"
#include "buf.h"
#include "dest_http.h"
#include "dest_ndjson.h"
#include "err.h"
#include "item.h"
#include "metrics.h"
#include "settings.h"

struct event;
struct event_base;

/* A loop's way to its destinations: the loop, and its HTTP client (one
 * curl multi handle per loop: keep-alive and TLS sessions to upstreams). */
struct cg_dest_loop;

struct cg_dest_loop *cg_dest_loop_new(struct event_base *base);
void cg_dest_loop_free(struct cg_dest_loop *l);

struct cg_delivery {
	/* in: set by the caller, kept as they are until done has run */
	const struct cg_dest_cfg *dest;
	struct cg_batch batch;
	const char *request_id;      /* sent upstream as X-Request-Id */
	const char *idempotency_key; /* records: sent as Idempotency-Key, or NULL */
	void (*done)(struct cg_delivery *d, void *arg);
	void *arg;
	/* out: when done runs */
	enum cg_upstream_result result;
	long status;             /* fhir, records: the upstream's HTTP status, 0 when none */
	struct cg_buf response;  /* fhir, records: its body (the first 1 MB) */
	bool truncated;          /* that body was over 1 MB: response is cut */
	char response_type[128]; /* its Content-Type, or "" */
	char error[256];         /* no answer, or the write failed: why */
	long retry_after_s;      /* fhir, records: the upstream's Retry-After, or -1 */
	/* the destination's credentials were refused (its token endpoint said
	 * so): no fault of these items, and no retry or split will mend it */
	bool auth_failed;
	char file[sizeof(((struct cg_ndjson_job *)0)->file)]; /* ndjson: the last file */
	/* private */
	struct event *ev;
	struct cg_ndjson_job job;
	struct cg_http_call call;
	char url[CG_DEST_URL_MAX + 1 + CG_FHIR_TYPE_NAME_MAX]; /* {url}/{type} fits */
	struct cg_buf body;
	struct cg_buf headers;   /* the extra header lines' text */
	const char *header_v[4]; /* and the lines (the last: Authorization), NULL-ended */
	struct cg_dest_loop *loop;
	struct cg_auth_wait auth; /* its token, for an OAuth2 destination */
	bool auth_retried;        /* sent again once after a 401, with a new token */
	bool in_deliver;          /* cg_dest_deliver has not returned yet */
	int early;                /* the token's outcome came before it did: 1 + result */
	struct cg_prepare *prep;  /* the Bundle being made fit for its server (prepare.h) */
};

/* Starts delivering d->batch to d->dest; d->done runs on l's loop once it is
 * over, whatever the result. Otherwise d->done never runs and d->error says
 * why: CG_ENOMEM; CG_ELIMIT, the upstream URL would be too long (never sent
 * cut); CG_EIO, the call could not start (counted as unreachable). Release d
 * with cg_delivery_release either way. */
enum cg_err cg_dest_deliver(struct cg_dest_loop *l, struct cg_delivery *d);
void cg_delivery_release(struct cg_delivery *d);

/* A GET of {url}/path at d->dest (a search, the CapabilityStatement), with
 * the destination's credentials, its proxy and its 401 recovery; d->done
 * runs as for a delivery (d->batch is not read). `cellgate
 * check-destination` reads metadata through it. */
enum cg_err cg_dest_get(struct cg_dest_loop *l, struct cg_delivery *d, const char *path);

/* Token requests this loop made and how many were refused (auth.h). */
void cg_dest_loop_auth_counts(const struct cg_dest_loop *l, unsigned long *requests,
                              unsigned long *refused);

/* Whether d can take deliveries now (an ndjson folder writable), for
 * /readyz. Upstreams are not probed: a down upstream is each request's 502. */
bool cg_dest_is_ready(const struct cg_dest_cfg *d);

#endif
