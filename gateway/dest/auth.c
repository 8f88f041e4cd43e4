/* auth.c: access tokens per destination and loop; see auth.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "auth.h"
#include "clock.h"
#include "json_member.h"
#include "jwt.h"
#include "log.h"

#define TOKEN_MAX 4096

struct entry {
	struct entry *next;
	char name[256], token_url[2048], client_id[512];
	char token[TOKEN_MAX + 1];
	long long expires_ms; /* monotonic; 0: none */
	bool fetching;
	struct cg_auth_wait *waiting, **tail;
	const struct cg_dest_cfg *dest; /* the configuration of the fetch in flight */
	struct cg_http_call call;
	struct cg_buf body;
	char user[512], password[2048]; /* client_secret_basic, form-encoded */
	struct cg_auth *owner;
};

struct cg_auth {
	struct cg_http_client *http;
	struct entry *entries;
	unsigned long requests, refused;
};

struct cg_auth *
cg_auth_new(struct cg_http_client *http)
{
	struct cg_auth *a = calloc(1, sizeof(*a));

	if (a)
		a->http = http;
	return a;
}

static void
wipe(struct entry *e)
{
	memset(e->token, 0, sizeof(e->token));
	memset(e->password, 0, sizeof(e->password));
	cg_buf_free(&e->body);
}

void
cg_auth_free(struct cg_auth *a)
{
	struct entry *e, *next;

	if (!a)
		return;
	for (e = a->entries; e; e = next) {
		struct cg_auth_wait *w;

		next = e->next;
		/* Waiters still queued (a stop past its grace frees the loop
		 * before the deliveries): let go of them, so that releasing
		 * them later does not walk this freed list. */
		for (w = e->waiting; w; w = w->next)
			w->entry = NULL;
		wipe(e);
		cg_buf_free(&e->call.response);
		free(e);
	}
	free(a);
}

/* The cache's entry of a destination: its name, token endpoint and client
 * (a reload that changes any of them starts afresh). */
static struct entry *
entry_of(struct cg_auth *a, const struct cg_dest_cfg *d)
{
	struct entry *e;

	for (e = a->entries; e; e = e->next)
		if (!strcmp(e->name, d->name) && !strcmp(e->token_url, d->auth.token_url) &&
		    !strcmp(e->client_id, d->auth.client_id))
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", d->name);
	snprintf(e->token_url, sizeof(e->token_url), "%s", d->auth.token_url);
	snprintf(e->client_id, sizeof(e->client_id), "%s", d->auth.client_id);
	e->tail = &e->waiting;
	e->owner = a;
	e->next = a->entries;
	a->entries = e;
	return e;
}

/* Appends name=value, the value form-encoded (RFC 6749 appendix B). */
static enum cg_err
form(struct cg_buf *b, const char *name, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);
	enum cg_err err = v ? CG_OK : CG_ENOMEM;

	if (!err && b->len)
		err = cg_buf_addc(b, '&');
	if (!err)
		err = cg_buf_addstr(b, name);
	if (!err)
		err = cg_buf_addc(b, '=');
	if (!err)
		err = cg_buf_addstr(b, v);
	curl_free(v);
	return err;
}

static void
wake(struct entry *e, enum cg_upstream_result r, long status, bool refused, const char *why)
{
	struct cg_auth_wait *w = e->waiting, *next;

	e->waiting = NULL;
	e->tail = &e->waiting;
	for (; w; w = next) {
		next = w->next;
		w->next = NULL;
		w->entry = NULL;
		w->status = status;
		w->refused = refused;
		snprintf(w->why, sizeof(w->why), "%.250s", why ? why : "");
		if (r == CG_UP_OK)
			snprintf(w->header, sizeof(w->header), "Authorization: Bearer %s",
			         e->token);
		w->done(w, r, w->arg);
	}
}

/* The token endpoint answered (or did not). */
static void
on_token(struct cg_http_call *call, void *arg)
{
	struct entry *e = arg;
	cJSON *doc = NULL;
	const char *tok, *type, *err, *desc;
	double expires;
	char why[256];

	e->fetching = false;
	cg_buf_free(&e->body);
	if (call->result == CG_UP_OK)
		doc = cJSON_ParseWithLength(call->response.p, call->response.len);
	tok = cJSON_GetStringValue(cg_json_member(doc, "access_token"));
	type = cJSON_GetStringValue(cg_json_member(doc, "token_type"));
	if (call->result == CG_UP_OK && tok && strlen(tok) <= TOKEN_MAX && *tok &&
	    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") ==
	            strlen(tok) &&
	    (!type || !strcasecmp(type, "bearer"))) {
		const cJSON *ex = cg_json_member(doc, "expires_in");
		long long now = cg_clock_mono_ms(), life;

		expires = cJSON_IsNumber(ex) && ex->valuedouble > 0 ? ex->valuedouble : 300;
		/* within bounds before the conversion: a year at most (a huge
		 * expires_in overflowed into a token expired at once, fetched
		 * again and again), a second at least (none made it expired
		 * before it was used) */
		if (!(expires <= 366.0 * 86400))
			expires = 366.0 * 86400;
		if (expires < 1)
			expires = 1;
		life = (long long)(expires * 1000);
		/* shortly before it expires: a tenth of its life, at most a minute */
		life -= life / 10 < 60000 ? life / 10 : 60000;
		snprintf(e->token, sizeof(e->token), "%s", tok);
		e->expires_ms = now + life;
		cJSON_Delete(doc);
		cg_buf_free(&call->response);
		cg_metrics_token(CG_TOKEN_ISSUED);
		wake(e, CG_UP_OK, 0, false, NULL);
		return;
	}
	if (call->result == CG_UP_OK || call->result == CG_UP_REJECTED) {
		if (!doc)
			doc = cJSON_ParseWithLength(call->response.p, call->response.len);
		err = cJSON_GetStringValue(cg_json_member(doc, "error"));
		desc = cJSON_GetStringValue(cg_json_member(doc, "error_description"));
		if (call->result == CG_UP_OK)
			snprintf(why, sizeof(why),
			         "the token endpoint answered %ld without a bearer access_token",
			         call->status);
		else
			snprintf(why, sizeof(why),
			         "the token endpoint refused the client: %ld %.40s%s%.120s",
			         call->status, err ? err : "", desc ? ": " : "", desc ? desc : "");
	} else if (call->result == CG_UP_TIMEOUT) {
		snprintf(why, sizeof(why), "the token endpoint did not answer in time");
	} else if (call->result == CG_UP_UNREACHABLE) {
		snprintf(why, sizeof(why), "the token endpoint could not be reached: %.150s",
		         call->error);
	} else {
		snprintf(why, sizeof(why), "the token endpoint failed: %ld", call->status);
	}
	cJSON_Delete(doc);
	cg_buf_free(&call->response);
	/* Refused credentials are the configuration's fault, and said once per
	 * fetch: every waiting message learns it, none waits for a retry. A
	 * token endpoint down is an ordinary retryable failure. */
	if (call->result == CG_UP_REJECTED && call->status != 408 && call->status != 429) {
		e->owner->refused++;
		cg_metrics_token(CG_TOKEN_REFUSED);
		cg_log(CG_LOG_ERROR, "destination %s: %s", e->name, why);
		wake(e, CG_UP_REJECTED, call->status, true, why);
	} else {
		cg_metrics_token(CG_TOKEN_FAILED);
		cg_log(CG_LOG_WARN, "destination %s: %s", e->name, why);
		wake(e, call->result == CG_UP_OK ? CG_UP_FAILED : call->result, call->status, false,
		     why);
	}
}

/* No request could be made. refused: the configuration's fault (a key of
 * the wrong kind): dead; else (a key file that cannot be read now, memory)
 * an ordinary failure, retried. */
static void
fail_now(struct entry *e, const char *why, bool refused)
{
	cg_log(CG_LOG_ERROR, "destination %s: %s", e->name, why);
	e->fetching = false;
	cg_buf_free(&e->body);
	cg_metrics_token(refused ? CG_TOKEN_REFUSED : CG_TOKEN_FAILED);
	wake(e, refused ? CG_UP_REJECTED : CG_UP_FAILED, 0, refused, why);
}

/* Starts the token request of d's entry e. */
static void
fetch(struct cg_auth *a, struct entry *e, const struct cg_dest_cfg *d)
{
	const struct cg_auth_cfg *c = &d->auth;
	enum cg_err err;

	e->fetching = true;
	e->dest = d;
	cg_buf_init(&e->body, 64 * 1024);
	err = form(&e->body, "grant_type", "client_credentials");
	if (!err && c->scope)
		err = form(&e->body, "scope", c->scope);
	memset(&e->call, 0, sizeof(e->call));
	if (!err && c->type == CG_AUTH_SMART) {
		struct cg_jwt_key *k = NULL;
		struct cg_buf jwt;
		char why[256];

		enum cg_err kerr = cg_jwt_key_load(
		        c->private_key, c->alg_given ? (c->es384 ? "ES384" : "RS384") : NULL,
		        c->kid, &k, why, sizeof(why));

		if (kerr) {
			fail_now(e, why, kerr == CG_EINVAL);
			return;
		}
		cg_buf_init(&jwt, 64 * 1024);
		err = cg_jwt_assertion(k, c->client_id, c->token_url,
		                       (long long)(cg_clock_wall_ms() / 1000), &jwt);
		cg_jwt_key_free(k);
		if (!err)
			err = cg_buf_addc(&jwt, 0);
		if (!err)
			err = form(&e->body, "client_assertion_type",
			           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
		if (!err)
			err = form(&e->body, "client_assertion", jwt.p);
		cg_buf_free(&jwt);
	} else if (!err && c->secret_post) {
		err = form(&e->body, "client_id", c->client_id);
		if (!err)
			err = form(&e->body, "client_secret", c->client_secret);
	} else if (!err) {
		/* client_secret_basic: id and secret form-encoded, then Basic */
		char *u = curl_easy_escape(NULL, c->client_id, 0);
		char *p = curl_easy_escape(NULL, c->client_secret ? c->client_secret : "", 0);

		if (u && p && strlen(u) < sizeof(e->user) && strlen(p) < sizeof(e->password)) {
			snprintf(e->user, sizeof(e->user), "%s", u);
			snprintf(e->password, sizeof(e->password), "%s", p);
			e->call.basic_user = e->user;
			e->call.basic_password = e->password;
		} else {
			err = CG_ENOMEM;
		}
		curl_free(u);
		curl_free(p);
	}
	if (!err)
		err = cg_buf_addc(&e->body, 0);
	if (err) {
		fail_now(e, "the token request could not be made (out of memory, or too long)",
		         false);
		return;
	}
	e->call.dest = d;
	e->call.url = c->token_url;
	e->call.body = e->body.p;
	e->call.len = e->body.len - 1;
	e->call.content_type = "application/x-www-form-urlencoded";
	e->call.request_id = "token";
	e->call.token_call = true;
	e->call.done = on_token;
	e->call.arg = e;
	a->requests++;
	if (cg_http_start(a->http, &e->call)) {
		char why[300];

		snprintf(why, sizeof(why), "the token endpoint could not be called: %.200s",
		         e->call.error);
		cg_log(CG_LOG_WARN, "destination %s: %s", e->name, why);
		e->fetching = false;
		cg_buf_free(&e->body);
		wake(e, CG_UP_UNREACHABLE, 0, false, why);
	}
}

int
cg_auth_token(struct cg_auth *a, const struct cg_dest_cfg *d, struct cg_auth_wait *w)
{
	struct entry *e = entry_of(a, d);

	w->next = NULL;
	w->entry = NULL;
	w->refused = false;
	w->status = 0;
	w->why[0] = 0;
	if (!e) {
		snprintf(w->why, sizeof(w->why), "out of memory");
		return -1;
	}
	if (!e->fetching && e->token[0] && cg_clock_mono_ms() < e->expires_ms) {
		snprintf(w->header, sizeof(w->header), "Authorization: Bearer %s", e->token);
		return 1;
	}
	w->entry = e;
	*e->tail = w;
	e->tail = &w->next;
	if (!e->fetching) {
		e->token[0] = 0;
		fetch(a, e, d); /* may wake w at once (a key that cannot be read) */
	}
	return 0;
}

void
cg_auth_invalidate(struct cg_auth *a, const struct cg_dest_cfg *d, const char *header)
{
	struct entry *e = entry_of(a, d);
	const char *bearer = "Authorization: Bearer ";

	/* only the token that was refused: a newer one may be in place */
	if (e && header && !strncmp(header, bearer, strlen(bearer)) &&
	    !strcmp(header + strlen(bearer), e->token))
		e->token[0] = 0, e->expires_ms = 0;
}

void
cg_auth_cancel(struct cg_auth *a, struct cg_auth_wait *w)
{
	struct entry *e = w->entry;
	struct cg_auth_wait **p;

	(void)a;
	if (!e)
		return;
	for (p = &e->waiting; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			if (!*p)
				e->tail = p;
			break;
		}
	w->entry = NULL;
}

void
cg_auth_counts(const struct cg_auth *a, unsigned long *requests, unsigned long *refused)
{
	*requests = a ? a->requests : 0;
	*refused = a ? a->refused : 0;
}
