/* request.c: a request's answer and end; see request.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "answer.h"
#include "buf.h"
#include "conn.h"
#include "json_write.h"
#include "log.h"
#include "outcome.h"
#include "policy.h"
#include "request.h"
#include "runtime.h"
#include "worker.h"

static void request_finish(struct request *r);

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

enum cg_method
cg_request_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return CG_M_GET;
	case EVHTTP_REQ_HEAD:
		return CG_M_HEAD;
	case EVHTTP_REQ_POST:
		return CG_M_POST;
	case EVHTTP_REQ_PUT:
		return CG_M_PUT;
	case EVHTTP_REQ_DELETE:
		return CG_M_DELETE;
	case EVHTTP_REQ_PATCH:
		return CG_M_PATCH;
	case EVHTTP_REQ_OPTIONS:
		return CG_M_OPTIONS;
	default:
		return CG_M_OTHER;
	}
}

static void
audit(struct request *r, int status, const char *outcome)
{
	struct cg_buf b;
	struct cg_jw w;
	char when[32];
	size_t i;

	cg_log_time(when);
	cg_buf_init(&b, CG_BUF_MAX_AUDIT_LINE);
	cg_jw_init(&w, &b);
	cg_jw_object(&w, NULL);
	cg_jw_string(&w, "time", when);
	cg_jw_string(&w, "request_id", r->id);
	if (r->client)
		cg_jw_string(&w, "client", r->client);
	cg_jw_string(&w, "method", cg_route_method_name(cg_request_method(r->req)));
	if (r->route)
		cg_jw_string(&w, "route", r->route->path);
	if (r->route && r->route->dest)
		cg_jw_string(&w, "destination", r->route->dest->name);
	/* the registry policy that decided (issue 12): never patient data */
	if (r->route && r->route->dest &&
	    (r->route->dest->consent_required || cg_policy_active(&r->route->dest->policy))) {
		char policy[160];

		cg_policy_describe(&r->route->dest->policy, r->route->dest->consent_required,
		                   policy, sizeof(policy));
		cg_jw_string(&w, "policy", policy);
	}
	if (r->txid[0] && status == 202)
		cg_jw_string(&w, "transaction", r->txid);
	if (!w.err) /* the writer's error is the line's: one check at the end */
		w.err = cg_buf_printf(&b, ",\"status\":%d", status);
	cg_jw_string(&w, "outcome", outcome);
	if (r->have_out) {
		if (!w.err)
			w.err = cg_buf_printf(&b, ",\"items\":%zu,\"errors\":%zu", r->out.n,
			                      r->out.errors);
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

/* Sends the answer; every answer has X-Request-Id, none may be cached. */
void
cg_request_respond(struct request *r, int status, const char *type, const char *body, size_t len,
                   const char *outcome)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct evbuffer *b = evbuffer_new();
	struct conn *c;
	double elapsed;

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "X-Request-Id", r->id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (r->w->draining)
		evhttp_add_header(h, "Connection", "close");
	/* evhttp 2.1.12 writes a HEAD answer's body bytes all the same, and no
	 * Content-Length: a client reads no body after HEAD, and would take
	 * those bytes for the next answer. So none is given, and the length
	 * is the one GET would have (RFC 9110 9.3.2). */
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		char n[24];

		snprintf(n, sizeof(n), "%zu", len);
		evhttp_add_header(h, "Content-Length", n);
	} else if (b) {
		evbuffer_add(b, body, len);
	}
	/* The connection as evhttp still has it: NULL once the client has gone
	 * (evhttp then frees the request without sending, and the struct conn
	 * is freed with it, which r->conn would not know). */
	c = r->conn ? cg_conn_of(r->req) : NULL;
	if (c) {
		cg_conn_answering(c);
		evhttp_request_set_on_complete_cb(r->req, cg_conn_sent, c);
	}
	evhttp_send_reply(r->req, status, cg_answer_reason(status), b);
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
void
cg_request_fail(struct request *r, int status, const char *type, const char *fmt, ...)
{
	struct cg_buf b;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	cg_outcome_simple(&b, r->rt->base, "error", type, msg);
	/* Worth trying again soon: integration engines honour Retry-After. */
	if (cg_answer_retry_after(status) &&
	    !evhttp_find_header(evhttp_request_get_output_headers(r->req), "Retry-After"))
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", "5");
	cg_request_respond(r, status, "application/fhir+json", b.p ? b.p : "", b.len, type);
	cg_buf_free(&b);
}

static void
request_finish(struct request *r)
{
	struct worker *w = r->w;

	if (r->have_out)
		cg_ingest_out_free(&r->out);
	if (r->delivering)
		cg_delivery_release(&r->dl);
	if (r->job_ev)
		event_free(r->job_ev);
	if (r->read_ev)
		event_free(r->read_ev);
	cg_pseudonym_uses_free(r->known, r->nknown);
	free(r->msgs);
	free(r->ids);
	free(r->keys);
	free(r->withdraw_keys);
	cg_runtime_release(r->rt);
	free(r);
	cg_worker_maybe_exit(w);
}

void
cg_request_set_id(struct request *r)
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
		cg_conn_request_id(r->id, sizeof(r->id));
}

void
cg_request_refuse(struct request *r, long retry_after, const char *msg)
{
	char ra[24];

	snprintf(ra, sizeof(ra), "%ld", retry_after);
	/* cg_request_fail adds Retry-After: 5 for a 503; ours says the
	 * configured wait, and comes first (a client reads the first). */
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", ra);
	cg_request_fail(r, 503, "transient", "%s", msg);
}

void
cg_request_not_allowed(struct request *r, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
	cg_request_fail(r, 405, "not-supported", "use %s here", allow);
}
