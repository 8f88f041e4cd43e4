/* handler.c: one HTTP request, from routing to the answer; see handler.h. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "capability.h"
#include "check.h"
#include "clock.h"
#include "conn.h"
#include "worker.h"
#include "dest.h"
#include "enqueue.h"
#include "handler.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "prefetch.h"
#include "outcome.h"
#include "policy.h"
#include "request.h"
#include "route.h"
#include "runtime.h"
#include "settings.h"
#include "tls.h"
#include "trail.h"

/* ---- endpoints ----------------------------------------------------------- */

/* An ndjson destination has the items, synced to disk. */
static void
stored(struct request *r)
{
	struct cg_buf b;
	struct cg_outcome o;
	char msg[256];

	snprintf(msg, sizeof(msg), "%zu item%s accepted and stored by destination %s (%s)",
	         r->out.n, r->out.n == 1 ? "" : "s", r->route->dest->name, r->dl.file);
	cg_buf_init(&b, CG_BUF_MAX_OUTCOME);
	cg_outcome_begin(&o, &b, r->rt->base);
	cg_outcome_add(&o, "information", "informational", NULL, msg);
	if (r->out.warnings) {
		/* The warnings of accepted items are worth seeing too. */
		cg_buf_free(&b);
		cg_buf_init(&b, CG_BUF_MAX_OUTCOME);
		/* Without memory for the copy the body is empty, and the answer
		 * still 200: the items are stored. */
		if (cg_buf_add(&b, r->out.outcome.p, r->out.outcome.len) != CG_OK)
			cg_request_respond(r, 200, "application/fhir+json", "", 0, "stored");
		else
			cg_request_respond(r, 200, "application/fhir+json", b.p, b.len, "stored");
		cg_buf_free(&b);
		return;
	}
	cg_outcome_end(&o, 0);
	cg_request_respond(r, 200, "application/fhir+json", b.p ? b.p : "", b.len, "stored");
	cg_buf_free(&b);
}

/* 502 for an upstream's 5xx: our issue first, then the upstream's own issues
 * when it sent an OperationOutcome, each marked as the upstream's, so that
 * the client sees why without another system's error page. */
static void
upstream_failed(struct request *r, const struct cg_delivery *call)
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
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
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
		cg_request_fail(r, 502, "transient", "%s", msg);
	else
		cg_request_respond(r, 502, "application/fhir+json", b.p, b.len, "transient");
	cg_buf_free(&b);
}

/* An upstream's 2xx or 4xx whose body was over the cap: its status is the
 * delivery's truth (a 2xx means the upstream has the data: a 502 would make
 * the client send it again), so it is passed on, but the cut body is not (it
 * is not JSON, and not the whole answer). An OperationOutcome says so, with
 * X-Cellgate-Upstream-Body: truncated, a warning in the log and a count. */
static void
upstream_too_large(struct request *r, const struct cg_delivery *call)
{
	struct cg_outcome o;
	struct cg_buf b;
	char msg[400];
	int ok = call->result == CG_UP_OK;

	snprintf(msg, sizeof(msg),
	         "destination %s answered %ld (%s) but its answer was over the gateway's "
	         "1 MB limit and is not passed on%s",
	         r->route->dest->name, call->status, ok ? "accepted" : "rejected",
	         ok ? ": the data was delivered; do not send it again" : "");
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	cg_outcome_begin(&o, &b, r->rt->base);
	cg_outcome_add(&o, ok ? "warning" : "error", ok ? "incomplete" : "processing", NULL, msg);
	if (cg_outcome_end(&o, 0))
		cg_request_fail(r, 503, "transient", "out of memory");
	else
		cg_request_respond(r, (int)call->status, "application/fhir+json", b.p, b.len,
		                   ok ? "forwarded, answer too large"
		                      : "rejected upstream, answer too large");
	cg_buf_free(&b);
}

/* The destination is done with the batch: the answer says how it went.
 * An upstream's answer is passed back as it is (status, body, type), with
 * X-Upstream-Status; no answer is 502 (unreachable, 5xx) or 504 (timeout);
 * a failed write to a folder 503. */
static void
on_delivered(struct cg_delivery *call, void *arg)
{
	struct request *r = arg;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	char st[16];

	if (r->route->dest->type == CG_DEST_NDJSON) {
		if (call->result == CG_UP_OK)
			stored(r);
		else
			cg_request_fail(
			        r, 503, "transient",
			        "destination %s could not store the items; nothing was kept",
			        r->route->dest->name);
		return;
	}
	if (call->result == CG_UP_TIMEOUT) {
		cg_request_fail(r, 504, "timeout", "destination %s did not answer within %ld ms",
		                r->route->dest->name, r->route->dest->timeout_ms);
		return;
	}
	if (call->result == CG_UP_UNREACHABLE) {
		cg_request_fail(r, 502, "transient", "destination %s could not be reached: %s",
		                r->route->dest->name, call->error);
		return;
	}
	snprintf(st, sizeof(st), "%ld", call->status);
	evhttp_add_header(h, "X-Upstream-Status", st);
	evhttp_add_header(h, "X-Cellgate-Destination", r->route->dest->name);
	if (call->truncated)
		evhttp_add_header(h, "X-Cellgate-Upstream-Body", "truncated");
	if (call->result == CG_UP_FAILED) {
		upstream_failed(r, call);
		return;
	}
	if (call->truncated) {
		upstream_too_large(r, call);
		return;
	}
	cg_request_respond(r, (int)call->status,
	                   call->response_type[0] ? call->response_type : "application/fhir+json",
	                   call->response.p ? call->response.p : "", call->response.len,
	                   call->result == CG_UP_OK ? "forwarded" : "rejected upstream");
}

static void
deliver(struct request *r)
{
	const struct cg_dest_cfg *d = r->route->dest;
	enum cg_err err;

	if (!d) {
		cg_request_respond(r, 200, "application/fhir+json", r->out.outcome.p,
		                   r->out.outcome.len, "valid, no destination");
		return;
	}
	if (d->queued) {
		cg_enqueue(r);
		return;
	}
	r->dl.dest = d;
	r->dl.batch = (struct cg_batch){r->out.data.p, r->out.item, r->out.n};
	r->dl.request_id = r->id;
	r->dl.done = on_delivered;
	r->dl.arg = r;
	r->delivering = 1;
	err = cg_dest_deliver(r->w->dests, &r->dl);
	if (err == CG_ELIMIT)
		cg_request_fail(r, 500, "exception", "destination %s: %s", d->name, r->dl.error);
	else if (err == CG_EIO)
		cg_request_fail(r, 502, "transient", "destination %s: %s", d->name, r->dl.error);
	else if (err)
		cg_request_fail(r, 503, "transient", "out of memory");
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

/* r->resource_type, r->validate_only; again, with r->known, after the
 * pseudonyms memory lacked were fetched (prefetch.h). */
static void
ingest(struct request *r)
{
	const char *resource_type = r->resource_type[0] ? r->resource_type : NULL;
	int validate_only = r->validate_only;
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
	struct cg_ingest_in ii;
	struct cg_provenance_in prov;
	char policy_text[160];
	size_t len = evbuffer_get_length(body), i;
	const char *p;
	enum cg_format format;

	if (evhttp_request_get_command(r->req) != EVHTTP_REQ_GET &&
	    !evhttp_find_header(in, "Content-Length") &&
	    !evhttp_find_header(in, "Transfer-Encoding")) {
		cg_request_fail(r, 411, "structure",
		                "a body needs Content-Length (or chunked encoding)");
		return;
	}
	if (body_format(evhttp_find_header(in, "Content-Type"), &format)) {
		cg_request_fail(
		        r, 415, "not-supported",
		        "send application/fhir+json, application/json or application/x-ndjson "
		        "(UTF-8)");
		return;
	}
	p = (const char *)evbuffer_pullup(body, -1);
	memset(&ii, 0, sizeof(ii));
	ii.m = r->rt->m;
	ii.invariants = r->rt->inv;
	ii.canonical_base = r->rt->base;
	ii.accept = r->route->accept;
	ii.resource_type = resource_type;
	ii.want = r->route->dest ? r->route->dest->format : r->route->accept;
	ii.format = format;
	ii.max_items = 10000;
	ii.to_files = r->route->dest && r->route->dest->type == CG_DEST_NDJSON;
	ii.consent_for = r->route->dest && r->route->dest->consent_required
	                         ? r->route->dest->registry_id
	                         : NULL;
	ii.policy = r->route->dest ? &r->route->dest->policy : NULL;
	ii.pseudonyms = r->w->outbox ? cg_outbox_pseudonyms(r->w->outbox) : NULL;
	ii.defer_pseudonyms = 1; /* on the loop: never the store */
	ii.known = r->known;
	ii.nknown = r->nknown;
	ii.rules = r->route->dest && r->route->dest->type == CG_DEST_FHIR ? &r->route->dest->rules
	                                                                  : NULL;
	/* A route without a destination only validates: no items to make. */
	ii.validate_only = validate_only || !r->route->dest;
	/* What goes to a FHIR server says where it came from (issue 12). */
	if (!ii.validate_only && r->route->dest->type == CG_DEST_FHIR) {
		prov.client = r->client;
		prov.gateway = "cellgate";
		/* what was applied, in Provenance.policy (no patient data) */
		if (cg_policy_active(&r->route->dest->policy) || r->route->dest->consent_required) {
			cg_policy_describe(&r->route->dest->policy,
			                   r->route->dest->consent_required, policy_text,
			                   sizeof(policy_text));
			prov.policy = policy_text;
		} else {
			prov.policy = NULL;
		}
		prov.now_ms = (long long)cg_clock_wall_ms();
		prov.canonical_base = r->rt->base;
		ii.provenance = &prov;
	}
	if (r->have_out)
		cg_ingest_out_free(&r->out); /* the first pass's */
	cg_ingest_out_init(&r->out);
	r->have_out = 1;
	if (cg_ingest(&ii, p ? p : "", len, &r->out)) {
		cg_request_fail(r, 503, "transient", "out of memory");
		return;
	}
	/* Items are made only when all are valid: then those that stand in
	 * for pseudonyms memory lacks are made again, with them fetched. */
	if (r->out.nmissing && r->out.status == 200 && !validate_only) {
		cg_prefetch_pseudonyms(r, ingest);
		return;
	}
	for (i = 0; i < CG_C__COUNT; i++)
		if (r->out.code_count[i])
			cg_metrics_issue((enum cg_code)i);
	/* A refusal that withdraws consent takes back what is still queued for
	 * those patients, then is answered (enqueue.c). */
	if (!validate_only && r->out.status == 422 && r->out.nwithdraw && r->route->dest &&
	    r->route->dest->queued && r->w->outbox) {
		cg_enqueue_withdraw(r);
		return;
	}
	if (validate_only || r->out.status != 200) {
		cg_request_respond(r, r->out.status, "application/fhir+json", r->out.outcome.p,
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

	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	if (cg_capability_write(&b, r->route))
		cg_request_fail(r, 503, "transient", "out of memory");
	else
		cg_request_respond(r, 200, "application/fhir+json", b.p, b.len, "ok");
	cg_buf_free(&b);
}

/* GET {fhir route}/CodeSystem/cellgate-issue: what answers' issue codes mean. */
static void
issue_codes(struct request *r)
{
	struct cg_buf b;

	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	if (cg_outcome_code_system(&b, r->rt->base))
		cg_request_fail(r, 503, "transient", "out of memory");
	else
		cg_request_respond(r, 200, "application/fhir+json", b.p, b.len, "ok");
	cg_buf_free(&b);
}

/* A FHIR interaction the route does not serve (read, search, another type):
 * the answer says what it does serve. A read or search of a type it takes is
 * 405 (Allow: POST), anything else 404. */
static void
unserved(struct request *r, const struct cg_match *m, enum cg_method method)
{
	char what[1024];

	cg_capability_summary(r->route, what, sizeof(what));
	if (m->type[0] && (method == CG_M_GET || method == CG_M_HEAD)) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", "POST");
		cg_request_fail(r, 405, "not-supported", "%s", what);
	} else {
		cg_request_fail(r, 404, "not-supported", "%s", what);
	}
}

static void
conformance_doc(struct request *r, const char *rest)
{
	size_t tl = strcspn(rest, "/");
	const struct cg_static_doc *d =
	        rest[tl] == '/' ? cg_runtime_doc(r->rt, rest, tl, rest + tl + 1) : NULL;

	if (d)
		cg_request_respond(r, 200, "application/fhir+json", d->text, d->len, "ok");
	else
		cg_request_fail(r, 404, "not-found", "no such resource");
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
	size_t i;

	if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) {
		cg_request_fail(r, 401, "login", "this route needs a client certificate");
		return -1;
	}
	if (!r->conn || !r->conn->id_match || r->conn->id_gen != r->rt->gen) {
		unsigned char *match;
		const char *why;
		int several_cns;

		/* A reload since the handshake may bring new CRLs or CAs: the
		 * connection's certificate is checked again by them, once. */
		if (r->conn && r->conn->made_gen != r->rt->gen &&
		    !cg_tls_recheck(r->rt->tls[r->conn->listener], ssl, &why)) {
			evhttp_add_header(evhttp_request_get_output_headers(r->req), "Connection",
			                  "close");
			cg_log(CG_LOG_WARN,
			       "a connection's client certificate fails since the reload: %s", why);
			cg_request_fail(
			        r, 403, "forbidden",
			        "the client certificate is no longer accepted (%s); connect again",
			        why);
			return -1;
		}
		match = calloc(s->nclients + 1, 1);

		if (!match) {
			cg_request_fail(r, 503, "transient", "out of memory");
			return -1;
		}
		for (i = 0, several_cns = 0; i < s->nclients; i++) {
			const struct cg_client_cfg *c = &s->clients[i];
			int m = c->san_dns ? cg_tls_has_san_dns(cert, c->san_dns)
			                   : cg_tls_has_subject_cn(cert, c->subject_cn);

			several_cns |= m < 0;
			match[i] = m == 1;
		}
		if (several_cns) {
			char subject[256];

			X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
			cg_log(CG_LOG_WARN,
			       "a client certificate's subject has several subject CNs, so no "
			       "subject_cn matches it: %s",
			       subject);
		}
		if (!r->conn) { /* not reached: every request has its connection */
			free(match);
			cg_request_fail(r, 503, "transient", "no connection");
			return -1;
		}
		free(r->conn->id_match);
		r->conn->id_match = match;
		r->conn->id_gen = r->rt->gen;
	}
	switch (cg_route_authorize(s, route, r->conn->id_match, &r->client)) {
	case CG_AUTHZ_ALLOWED:
		return 0;
	case CG_AUTHZ_NOT_THIS_ROUTE:
		if (!route)
			return 0; /* a known client, where no route is needed */
		cg_request_fail(r, 403, "forbidden", "this client may not use this route");
		return -1;
	default:
		cg_request_fail(r, 403, "forbidden",
		                "the client certificate is not one this gateway knows");
		return -1;
	}
}

static void
ops_endpoint(struct request *r, const char *path)
{
	if (strcmp(path, "/healthz") == 0) {
		r->ep = CG_EP_HEALTH;
		cg_request_respond(r, 200, "application/json", "{\"status\":\"ok\"}", 15, "ok");
	} else if (strcmp(path, "/readyz") == 0) {
		size_t i;

		r->ep = CG_EP_READY;
		if (r->w->draining) {
			cg_request_fail(r, 503, "transient", "shutting down");
			return;
		}
		/* A gateway whose outbox store fails takes nothing: out of the
		 * load balancer's rotation until the store answers again. */
		if (r->w->outbox && cg_outbox_down_since(r->w->outbox)) {
			cg_request_fail(r, 503, "transient", "the outbox's store does not answer");
			return;
		}
		for (i = 0; i < r->rt->s->ndests; i++) {
			const struct cg_dest_cfg *d = &r->rt->s->dests[i];

			if (!cg_dest_is_ready(d)) {
				cg_request_fail(r, 503, "transient",
				                "destination %s cannot be written", d->name);
				return;
			}
		}
		cg_request_respond(r, 200, "application/json", "{\"status\":\"ready\"}", 18, "ok");
	} else {
		struct cg_buf b;
		enum cg_err err;

		r->ep = CG_EP_METRICS;
		cg_buf_init(&b, CG_BUF_MAX_ANSWER);
		err = cg_metrics_render(&b);
		if (!err)
			err = cg_runtime_metrics(r->rt, &b);
		if (!err && r->w->outbox)
			err = cg_outbox_metrics(r->w->outbox, &b);
		if (err)
			cg_request_fail(r, 503, "transient", "out of memory");
		else
			cg_request_respond(r, 200, "text/plain; version=0.0.4", b.p, b.len, "ok");
		cg_buf_free(&b);
	}
}

void
cg_handle_request(struct evhttp_request *req, void *arg)
{
	struct front *f = arg;
	struct request *r = calloc(1, sizeof(*r));
	const char *raw = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct cg_match m;
	enum cg_method method;
	char *path;
	size_t plen;

	if (!r) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->req = req;
	r->w = f->w;
	r->rt = cg_runtime_acquire();
	r->ep = CG_EP_OTHER;
	r->conn = cg_conn_of(req);
	if (r->conn)
		cg_conn_dispatched(r->conn);
	cg_request_set_id(r);
	if (!evhttp_find_header(evhttp_request_get_output_headers(req), "Server"))
		evhttp_add_header(evhttp_request_get_output_headers(req), "Server", "cellgate");
	if (!r->conn) {
		/* cg_conn_new could not make the TLS bufferevent (out of memory)
		 * and evhttp fell back to plain text: serve nothing over it. */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		cg_request_fail(r, 503, "transient", "no TLS on this connection");
		return;
	}
	if (!accepts_json(evhttp_find_header(evhttp_request_get_input_headers(req), "Accept"))) {
		cg_request_fail(r, 406, "not-supported", "answers are application/fhir+json");
		return;
	}
	path = evhttp_uridecode(raw ? raw : "/", 0, &plen);
	if (!path || strlen(path) != plen) {
		free(path);
		cg_request_fail(r, 400, "invalid", "the path cannot be decoded");
		return;
	}
	method = cg_request_method(req);
	cg_route_match(r->rt->s, method, path, &m);
	r->route = m.route;
	r->ep = m.target == CG_T_INGEST        ? CG_EP_INGEST
	        : m.target == CG_T_VALIDATE    ? CG_EP_VALIDATE
	        : m.target == CG_T_METADATA    ? CG_EP_METADATA
	        : m.target == CG_T_HEALTH      ? CG_EP_HEALTH
	        : m.target == CG_T_READY       ? CG_EP_READY
	        : m.target == CG_T_METRICS     ? CG_EP_METRICS
	        : m.target == CG_T_CONFORMANCE ? CG_EP_STRUCTURE
	        : m.target == CG_T_ISSUE_CODES ? CG_EP_STRUCTURE
	                                       : CG_EP_OTHER;
	if (m.target == CG_T_NONE) {
		free(path);
		cg_request_fail(r, 404, "not-found", "no route here");
		return;
	}
	if (m.target != CG_T_UNSERVED && !m.method_ok) {
		free(path);
		cg_request_not_allowed(r, m.allow);
		return;
	}
	switch (m.target) {
	case CG_T_HEALTH:
	case CG_T_READY:
	case CG_T_METRICS:
		ops_endpoint(r, path);
		break;
	default:
		if (authorize(r, m.route) != 0)
			break;
		if (m.target == CG_T_INGEST || m.target == CG_T_VALIDATE) {
			snprintf(r->resource_type, sizeof(r->resource_type), "%s", m.type);
			r->validate_only = m.target == CG_T_VALIDATE;
			ingest(r);
		} else if (m.target == CG_T_METADATA)
			metadata(r);
		else if (m.target == CG_T_ISSUE_CODES)
			issue_codes(r);
		else if (m.target == CG_T_CONFORMANCE)
			conformance_doc(r, m.rest);
		else if (m.target == CG_T_TRANSACTIONS)
			cg_trail(r, m.rest);
		else
			unserved(r, &m, method);
		break;
	}
	free(path);
}

void
cg_handle_admin_request(struct evhttp_request *req, void *arg)
{
	struct request *r = calloc(1, sizeof(*r));
	const char *raw = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct cg_match m;

	if (!r) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->req = req;
	r->w = arg;
	r->rt = cg_runtime_acquire();
	r->ep = CG_EP_OTHER;
	cg_request_set_id(r);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Server", "cellgate");
	/* A SMART Backend Services destination's public keys (its jwks_path):
	 * what the registry fetches to check the gateway's assertions. */
	for (size_t i = 0; raw && i < r->rt->s->ndests; i++) {
		const char *jp = r->rt->s->dests[i].auth.jwks_path;

		if (r->rt->dest_jwks[i] && jp && strcmp(raw, jp) == 0 &&
		    evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
			cg_request_respond(r, 200, "application/json", r->rt->dest_jwks[i],
			                   strlen(r->rt->dest_jwks[i]), "ok");
			return;
		}
	}
	/* Only the three paths, compared as sent: nothing here is decoded. */
	cg_route_match(r->rt->s, cg_request_method(req), raw ? raw : "/", &m);
	if (m.target != CG_T_HEALTH && m.target != CG_T_READY && m.target != CG_T_METRICS) {
		cg_request_fail(r, 404, "not-found",
		                "the admin listener serves /healthz, /readyz, /metrics and the "
		                "jwks_path of smart-backend destinations");
		return;
	}
	r->ep = m.target == CG_T_HEALTH  ? CG_EP_HEALTH
	        : m.target == CG_T_READY ? CG_EP_READY
	                                 : CG_EP_METRICS;
	if (!m.method_ok) {
		cg_request_not_allowed(r, m.allow);
		return;
	}
	ops_endpoint(r, raw);
}
