/*
 * auth.h: the access tokens of destinations that use OAuth2 (issue 13,
 * docs/destinations.md): client credentials with a client secret
 * (client_secret_basic or client_secret_post) or SMART Backend Services
 * (a signed JWT assertion, jwt.h).
 *
 * One cache per event loop (the forwarder's, each worker's for direct
 * mode): a token is fetched with the loop's libcurl multi (the loop never
 * waits), kept until shortly before its expires_in, and shared by every
 * delivery to that destination meanwhile: one token request for many
 * messages. Deliveries that need a token while one is being fetched wait
 * for that one. A 401 from the destination drops the token it was sent
 * with (cg_auth_invalidate) so that the next one is fetched. Secrets, keys
 * and tokens are never logged.
 */
#ifndef CG_AUTH_H
#define CG_AUTH_H

#include <stdbool.h>

#include "dest_http.h"
#include "metrics.h"
#include "settings.h"

struct cg_auth;

/* A delivery waiting for a token: done runs on the loop with the result
 * (CG_UP_OK: header holds "Authorization: Bearer ..."; else why says what
 * failed, refused when the token endpoint refused the client's
 * credentials: that is no fault of the messages and no retry will mend it). */
struct cg_auth_wait {
	void (*done)(struct cg_auth_wait *w, enum cg_upstream_result r, void *arg);
	void *arg;
	char header[4200];
	long status;  /* the token endpoint's status, when it answered no */
	bool refused; /* the credentials were refused (400/401 from the token endpoint) */
	char why[256];
	/* private */
	struct cg_auth_wait *next;
	void *entry;
};

struct cg_auth *cg_auth_new(struct cg_http_client *http);
/* Frees the cache; deliveries still waiting are let go of (their done never
 * runs, and cg_auth_cancel of them does nothing). */
void cg_auth_free(struct cg_auth *a);

/* 1: w->header is ready now (a cached token); 0: w->done will run (it may
 * have run already, before this returns, when the request could not even
 * be made); -1: out of memory, w->why says so and done will not run.
 * d->auth.type must not be CG_AUTH_MTLS. */
int cg_auth_token(struct cg_auth *a, const struct cg_dest_cfg *d, struct cg_auth_wait *w);
/* The destination refused the token in header (401): forget it. */
void cg_auth_invalidate(struct cg_auth *a, const struct cg_dest_cfg *d, const char *header);
/* A waiter that goes away before its done (its delivery released). */
void cg_auth_cancel(struct cg_auth *a, struct cg_auth_wait *w);

/* Token requests made and refused by this cache, for metrics and tests. */
void cg_auth_counts(const struct cg_auth *a, unsigned long *requests, unsigned long *refused);

#endif
