/* dest.c: deliveries to destinations; see dest.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "conditional.h"
#include "dest.h"
#include "json_member.h"
#include "log.h"
#include "prepare.h"
#include "transaction.h"

struct cg_dest_loop {
	struct event_base *base;
	struct cg_http_client *http;
	struct cg_auth *auth; /* tokens of OAuth2 destinations, for this loop */
};

struct cg_dest_loop *
cg_dest_loop_new(struct event_base *base)
{
	struct cg_dest_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->base = base;
	l->http = cg_http_client_new(base);
	l->auth = l->http ? cg_auth_new(l->http) : NULL;
	if (!l->http || !l->auth) {
		cg_http_client_free(l->http);
		free(l);
		return NULL;
	}
	return l;
}

void
cg_dest_loop_free(struct cg_dest_loop *l)
{
	if (!l)
		return;
	cg_http_client_free(l->http);
	cg_auth_free(l->auth);
	free(l);
}

void
cg_dest_loop_auth_counts(const struct cg_dest_loop *l, unsigned long *requests,
                         unsigned long *refused)
{
	cg_auth_counts(l->auth, requests, refused);
}

static void
finish(struct cg_delivery *d, enum cg_upstream_result result)
{
	d->result = result;
	cg_metrics_upstream((int)d->dest->type, result);
	d->done(d, d->arg);
}

/* The writer thread is done with the job (dest_ndjson.h): on the loop. */
static void
on_stored(evutil_socket_t fd, short what, void *arg)
{
	struct cg_delivery *d = arg;

	(void)fd;
	(void)what;
	memcpy(d->file, d->job.file, sizeof(d->file));
	if (d->job.error) {
		snprintf(d->error, sizeof(d->error), "writing failed: %s", strerror(d->job.error));
		cg_log(CG_LOG_ERROR, "request %s: destination %s: %s", d->request_id, d->dest->name,
		       d->error);
		finish(d, CG_UP_FAILED);
		return;
	}
	finish(d, CG_UP_OK);
}

static enum cg_err start_call(struct cg_delivery *d);

/* A 2xx with a transaction- or batch-response Bundle is read entry by entry:
 * a server that answers 200 and refuses one entry (as batches do) has
 * refused it, and says which. -1: one was refused (d->status and d->error
 * say which and how); the body, its OperationOutcome with it, is kept. */
static int
read_entries(struct cg_delivery *d)
{
	cJSON *doc;
	const cJSON *e;
	const char *t;
	int i = 0, bad = 0;

	if (!d->response.len || d->response.p[0] != '{')
		return 0;
	doc = cJSON_ParseWithLength(d->response.p, d->response.len);
	t = cJSON_GetStringValue(cg_json_member(doc, "type"));
	if (t && (!strcmp(t, "transaction-response") || !strcmp(t, "batch-response")))
		cJSON_ArrayForEach(e, cg_json_member(doc, "entry"))
		{
			const char *st = cJSON_GetStringValue(
			        cg_json_member(cg_json_member(e, "response"), "status"));
			long code = st ? strtol(st, NULL, 10) : 0;

			if (!bad && (code < 200 || code > 299)) {
				bad = 1;
				d->status = code ? code : 400;
				snprintf(d->error, sizeof(d->error),
				         "entry %d of the Bundle refused: %.60s", i,
				         st ? st : "(no status)");
			}
			i++;
		}
	cJSON_Delete(doc);
	return bad ? -1 : 0;
}

static void
on_answered(struct cg_http_call *call, void *arg)
{
	struct cg_delivery *d = arg;

	/* A 401 with a token: it expired early or was revoked. Once, a new
	 * token and the same request again; a second 401 is the answer. */
	if (call->status == 401 && d->dest->auth.type != CG_AUTH_MTLS && !d->auth_retried) {
		d->auth_retried = true;
		cg_auth_invalidate(d->loop->auth, d->dest, d->auth.header);
		cg_buf_free(&call->response);
		if (start_call(d) == CG_OK)
			return;
		finish(d, CG_UP_UNREACHABLE);
		return;
	}

	d->status = call->status;
	d->retry_after_s = call->retry_after_s;
	d->truncated = call->truncated != 0;
	memcpy(d->response_type, call->response_type, sizeof(d->response_type));
	memcpy(d->error, call->error, sizeof(d->error));
	/* The body changes hands: the call's buffer is left empty. */
	d->response = call->response;
	cg_buf_init(&call->response, CG_BUF_MAX_EMPTY);
	if (call->result == CG_UP_OK && d->dest->type == CG_DEST_FHIR && read_entries(d) != 0) {
		finish(d, CG_UP_REJECTED);
		return;
	}
	if (d->truncated) {
		cg_metrics_upstream_truncated();
		cg_log(CG_LOG_WARN,
		       "request %s: destination %s answered %ld with a body over 1 MB; "
		       "not passed on",
		       d->request_id, d->dest->name, call->status);
	}
	finish(d, call->result);
}

/* Extra header lines: their text in d->headers (NUL-separated), pointed to
 * from d->header_v once the buffer stops moving. */
static enum cg_err
add_header(struct cg_delivery *d, const char *name, const char *value, size_t vlen)
{
	enum cg_err err = cg_buf_addstr(&d->headers, name);

	if (!err)
		err = cg_buf_add(&d->headers, value, vlen);
	if (!err)
		err = cg_buf_addc(&d->headers, '\0');
	return err;
}

static void
point_headers(struct cg_delivery *d)
{
	size_t i = 0, at = 0;

	/* one place left for the Authorization line (start_call) */
	while (at < d->headers.len && i + 2 < sizeof(d->header_v) / sizeof(d->header_v[0])) {
		d->header_v[i++] = d->headers.p + at;
		at += strlen(d->headers.p + at) + 1;
	}
	d->header_v[i] = NULL;
}

/* A lone resource with an identifier: created only if none has it. */
static enum cg_err
conditional_header(struct cg_delivery *d, const char *body, size_t len)
{
	struct cg_buf q;
	enum cg_err err;

	cg_buf_init(&q, CG_BUF_MAX_UPSTREAM);
	err = cg_conditional_query(body, len, &q);
	if (!err)
		err = add_header(d, "If-None-Exist: ", q.p, q.len);
	cg_buf_free(&q);
	return err == CG_ENOENT ? CG_OK : err;
}

/* The request a batch makes for an HTTP destination: its URL in d->url, its
 * body in d->body (or, for one Bundle sent as it is, where it lies). */
static enum cg_err
build_request(struct cg_delivery *d, const char **body, size_t *len)
{
	const struct cg_dest_cfg *dest = d->dest;
	const struct cg_batch *b = &d->batch;
	enum cg_err err = CG_OK;
	size_t i, ul;

	if ((size_t)snprintf(d->url, sizeof(d->url), "%s", dest->url) >= sizeof(d->url))
		return CG_ELIMIT;
	if (dest->type == CG_DEST_RECORDS) { /* a JSON array of the records */
		if (d->idempotency_key)
			err = add_header(d, "Idempotency-Key: ", d->idempotency_key,
			                 strlen(d->idempotency_key));
		if (!err)
			err = cg_buf_addc(&d->body, '[');
		for (i = 0; i < b->n && !err; i++) {
			if (i)
				err = cg_buf_addc(&d->body, ',');
			if (!err)
				err = cg_buf_add(&d->body, b->data + b->item[i].off,
				                 b->item[i].len);
		}
		if (!err)
			err = cg_buf_addc(&d->body, ']');
	} else if (b->n == 1 && !b->item[0].requests) { /* one resource: a create */
		ul = strlen(d->url);
		if ((size_t)snprintf(d->url + ul, sizeof(d->url) - ul, "%s%s",
		                     ul && d->url[ul - 1] == '/' ? "" : "/",
		                     b->item[0].type) >= sizeof(d->url) - ul)
			return CG_ELIMIT;
		*body = b->data + b->item[0].off;
		*len = b->item[0].len;
		if (dest->type == CG_DEST_FHIR && dest->rules.create != CG_CREATE_CONDITIONAL)
			return CG_OK; /* the server refuses or ignores If-None-Exist */
		return conditional_header(d, *body, *len);
	} else if (b->n == 1 && b->item[0].requests == CG_ITEM_REQUESTS_OURS) {
		*body = b->data + b->item[0].off; /* ours: conditional already, as it is */
		*len = b->item[0].len;
		return CG_OK;
	} else if (b->n == 1) { /* a client's transaction or batch Bundle, as it
	                         * is but for conditions on its creates */
		err = cg_map_conditional_bundle(b->data + b->item[0].off, b->item[0].len, &d->body);
	} else {
		err = cg_map_transaction(b, &d->body);
	}
	*body = d->body.p;
	*len = d->body.len;
	return err == CG_ELIMIT ? CG_ENOMEM : err; /* a body over 2 GB: memory, not the URL */
}

/* The token's outcome, when it came before cg_dest_deliver returned:
 * delivered on the loop's next turn, never inside the caller's call. */
static void
on_early(evutil_socket_t fd, short what, void *arg)
{
	struct cg_delivery *d = arg;
	enum cg_upstream_result r = (enum cg_upstream_result)(d->early - 1);

	(void)fd;
	(void)what;
	d->early = 0;
	finish(d, r);
}

static void
on_token(struct cg_auth_wait *w, enum cg_upstream_result r, void *arg)
{
	struct cg_delivery *d = arg;

	if (r == CG_UP_OK) {
		if (start_call(d) == CG_OK)
			return;
		r = CG_UP_UNREACHABLE;
	} else {
		d->status = w->status;
		d->auth_failed = w->refused;
		snprintf(d->error, sizeof(d->error), "%s", w->why);
	}
	if (d->in_deliver) {
		struct timeval now = {0, 0};

		d->early = 1 + (int)r;
		if (event_base_once(d->loop->base, -1, EV_TIMEOUT, on_early, d, &now) == 0)
			return;
		d->early = 0;
	}
	finish(d, r);
}

static void
on_prepared(struct cg_delivery *d, int r)
{
	enum cg_upstream_result result = d->result;

	if (r > 0) {
		d->call.body = d->body.p;
		d->call.len = d->body.len;
		if (start_call(d) == CG_OK)
			return;
		result = CG_UP_UNREACHABLE;
	} else if (r == 0) {
		d->status = 200; /* everything is at the server already */
		result = CG_UP_OK;
	}
	if (d->in_deliver) {
		struct timeval now = {0, 0};

		d->early = 1 + (int)result;
		if (event_base_once(d->loop->base, -1, EV_TIMEOUT, on_early, d, &now) == 0)
			return;
		d->early = 0;
	}
	finish(d, result);
}

/* Starts the call, with the destination's token when it has one. */
static enum cg_err
start_call(struct cg_delivery *d)
{
	size_t i;

	for (i = 0; d->header_v[i]; i++)
		if (!strncmp(d->header_v[i], "Authorization:", 14))
			break;
	d->header_v[i] = NULL; /* a previous token's line goes */
	if (d->dest->auth.type != CG_AUTH_MTLS) {
		int r;

		d->auth.done = on_token;
		d->auth.arg = d;
		r = cg_auth_token(d->loop->auth, d->dest, &d->auth);
		if (r < 0) {
			snprintf(d->error, sizeof(d->error), "%s", d->auth.why);
			return CG_ENOMEM;
		}
		if (r == 0)
			return CG_OK; /* on_token goes on */
		d->header_v[i] = d->auth.header;
		d->header_v[i + 1] = NULL;
	}
	if (cg_http_start(d->loop->http, &d->call)) {
		memcpy(d->error, d->call.error, sizeof(d->error));
		return CG_EIO;
	}
	return CG_OK;
}

/* A delivery's state before it starts: nothing from a previous use. */
static void
begin(struct cg_dest_loop *l, struct cg_delivery *d)
{
	memset(&d->call, 0, sizeof(d->call));
	d->ev = NULL;
	d->error[0] = 0;
	d->file[0] = 0;
	d->response_type[0] = 0;
	cg_buf_init(&d->response, CG_BUF_MAX_EMPTY);
	cg_buf_init(&d->body, CG_BUF_MAX_UPSTREAM);
	cg_buf_init(&d->headers, CG_BUF_MAX_UPSTREAM);
	d->header_v[0] = NULL;
	d->retry_after_s = -1;
	d->loop = l;
	d->auth_failed = false;
	d->auth_retried = false;
	d->in_deliver = false;
	d->early = 0;
	d->prep = NULL;
	memset(&d->auth, 0, sizeof(d->auth));
}

enum cg_err
cg_dest_deliver(struct cg_dest_loop *l, struct cg_delivery *d)
{
	const struct cg_dest_cfg *dest = d->dest;
	const char *body = NULL;
	size_t len = 0;
	enum cg_err err;

	begin(l, d);
	if (dest->type == CG_DEST_NDJSON) {
		d->ev = event_new(l->base, -1, 0, on_stored, d);
		if (!d->ev) {
			snprintf(d->error, sizeof(d->error), "out of memory");
			return CG_ENOMEM;
		}
		memset(&d->job, 0, sizeof(d->job));
		d->job.folder = dest->folder;
		d->job.items = d->batch;
		d->job.done = d->ev;
		cg_ndjson_submit(&d->job);
		return CG_OK;
	}
	err = build_request(d, &body, &len);
	if (err) {
		snprintf(d->error, sizeof(d->error), "%s",
		         err == CG_ELIMIT ? "the upstream URL would be too long" : "out of memory");
		return err;
	}
	memset(&d->call, 0, sizeof(d->call));
	d->call.dest = dest;
	d->call.url = d->url;
	d->call.body = body;
	d->call.len = len;
	d->call.content_type =
	        dest->type == CG_DEST_FHIR ? "application/fhir+json" : "application/json";
	d->call.request_id = d->request_id;
	point_headers(d);
	d->call.headers_extra = d->header_v;
	d->call.done = on_answered;
	d->call.arg = d;
	d->in_deliver = true;
	/* A FHIR server with its own ways (prepare.h) gets the Bundle made fit
	 * first, with searches of its own; a lone resource goes as it is. */
	err = cg_prepare_needed(dest) ? cg_prepare_start(d, on_prepared) : CG_EINVAL;
	if (err == CG_EINVAL)
		err = start_call(d);
	d->in_deliver = false;
	if (err) {
		d->result = CG_UP_UNREACHABLE;
		cg_metrics_upstream((int)dest->type, CG_UP_UNREACHABLE);
		return err == CG_ENOMEM ? CG_ENOMEM : CG_EIO;
	}
	return CG_OK;
}

enum cg_err
cg_dest_get(struct cg_dest_loop *l, struct cg_delivery *d, const char *path)
{
	const struct cg_dest_cfg *dest = d->dest;
	size_t ul;
	enum cg_err err;

	begin(l, d);
	if (dest->type == CG_DEST_NDJSON)
		return CG_EINVAL;
	ul = (size_t)snprintf(d->url, sizeof(d->url), "%s", dest->url);
	if (ul >= sizeof(d->url) ||
	    (size_t)snprintf(d->url + ul, sizeof(d->url) - ul, "%s%s",
	                     ul && d->url[ul - 1] == '/' ? "" : "/", path) >= sizeof(d->url) - ul) {
		snprintf(d->error, sizeof(d->error), "the upstream URL would be too long");
		return CG_ELIMIT;
	}
	d->call.dest = dest;
	d->call.url = d->url;
	d->call.method = "GET";
	d->call.body = "";
	d->call.content_type = "application/fhir+json";
	d->call.request_id = d->request_id ? d->request_id : "get";
	d->call.headers_extra = d->header_v;
	d->call.done = on_answered;
	d->call.arg = d;
	d->in_deliver = true;
	err = start_call(d);
	d->in_deliver = false;
	return err;
}

void
cg_delivery_release(struct cg_delivery *d)
{
	if (d->loop && d->auth.entry)
		cg_auth_cancel(d->loop->auth, &d->auth); /* still waiting for a token */
	cg_prepare_free(d);
	if (d->ev)
		event_free(d->ev);
	d->ev = NULL;
	cg_buf_free(&d->response);
	cg_buf_free(&d->call.response);
	cg_buf_free(&d->body);
	cg_buf_free(&d->headers);
}

bool
cg_dest_is_ready(const struct cg_dest_cfg *d)
{
	return d->type != CG_DEST_NDJSON || cg_ndjson_is_writable(d->folder);
}
