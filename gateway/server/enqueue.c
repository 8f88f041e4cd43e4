/* enqueue.c: items into the outbox, then 202; see enqueue.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/rand.h>

#include "enqueue.h"
#include "log.h"
#include "outbox.h"
#include "outcome.h"
#include "request.h"
#include "runtime.h"
#include "settings.h"
#include "worker.h"

/* A time-ordered (version 7, RFC 9562) UUID: 48 bits of milliseconds, then
 * 74 random bits. Not guessable (a client sees only its own transactions
 * anyway), and new ids land at the end of the store's transaction index
 * instead of at random places in it: random ids cost the writer index
 * pages at every commit. */
static int
new_txid(char out[40])
{
	unsigned char b[16];
	struct timespec t;
	uint64_t ms;
	int i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	clock_gettime(CLOCK_REALTIME, &t);
	ms = (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
	for (i = 5; i >= 0; i--, ms >>= 8)
		b[i] = (unsigned char)(ms & 0xff);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x70);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
	return 0;
}

static void
accepted(struct request *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	struct cg_outcome o;
	struct cg_buf b;
	char msg[400], loc[64];

	snprintf(loc, sizeof(loc), "/transactions/%s", r->txid);
	evhttp_add_header(h, "Location", loc);
	evhttp_add_header(h, "X-Transaction-Id", r->txid);
	evhttp_add_header(h, "X-Cellgate-Destination", r->route->dest->name);
	/* The items' own warnings are worth more than our one line: then the
	 * body is ingest's OperationOutcome, the transaction in the headers. */
	if (r->out.warnings) {
		cg_request_respond(r, 202, "application/fhir+json", r->out.outcome.p,
		                   r->out.outcome.len, "queued");
		return;
	}
	snprintf(msg, sizeof(msg),
	         "%zu item%s accepted for destination %s and stored durably: transaction %s, "
	         "follow it at %s",
	         r->out.n, r->out.n == 1 ? "" : "s", r->route->dest->name, r->txid, loc);
	cg_buf_init(&b, CG_BUF_MAX_OUTCOME);
	cg_outcome_begin(&o, &b, r->rt->base);
	cg_outcome_add(&o, "information", "informational", NULL, msg);
	if (cg_outcome_end(&o, 0)) {
		cg_buf_free(&b);
		/* The items are stored: 202 all the same, with the id in headers. */
		cg_request_respond(r, 202, "application/fhir+json", "", 0, "queued");
		return;
	}
	cg_request_respond(r, 202, "application/fhir+json", b.p, b.len, "queued");
	cg_buf_free(&b);
}

/* The writer is done: on the worker's loop. */
static void
on_committed(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg;
	char msg[256];

	(void)fd;
	(void)what;
	if (r->job.err) {
		cg_log(CG_LOG_ERROR, "request %s: the outbox could not store %zu items (%s)", r->id,
		       r->out.n, cg_strerror(r->job.err));
		snprintf(msg, sizeof(msg),
		         "the items could not be stored (%s); nothing was kept: send them again",
		         cg_strerror(r->job.err));
		cg_request_refuse(r, r->rt->s->outbox.retry_after_s, msg);
		return;
	}
	accepted(r);
}

/* On the writer thread: back to the loop that owns r. */
static void
job_done(struct cg_outbox_job *job, void *arg)
{
	struct request *r = arg;

	(void)job;
	event_active(r->job_ev, EV_READ, 1);
}

void
cg_enqueue(struct request *r)
{
	const struct cg_dest_cfg *d = r->route->dest;
	const struct cg_outbox_cfg *lim = &r->rt->s->outbox;
	size_t i, n = r->out.n;
	char msg[400];

	if (!r->w->outbox) { /* a reload added the queue: it needs a restart */
		cg_request_fail(r, 503, "transient",
		                "destination %s is in queue mode but the gateway has no outbox "
		                "(it was added by a reload; restart the gateway)",
		                d->name);
		return;
	}
	switch (cg_outbox_admit(r->w->outbox, lim, n)) {
	case CG_OUTBOX_FULL:
		cg_log(CG_LOG_WARN, "request %s: refused: the outbox is full (max_depth %lld)",
		       r->id, lim->max_depth);
		snprintf(msg, sizeof(msg),
		         "the outbox holds more messages than its max_depth (%lld): the "
		         "destinations are behind; nothing was kept, send again later",
		         lim->max_depth);
		cg_request_refuse(r, lim->retry_after_s, msg);
		return;
	case CG_OUTBOX_LOW_DISK:
		cg_log(CG_LOG_WARN,
		       "request %s: refused: free disk space is under the outbox's "
		       "min_free_bytes",
		       r->id);
		cg_request_refuse(
		        r, lim->retry_after_s,
		        "the gateway is short of disk space for its outbox; nothing was kept, send "
		        "again later");
		return;
	case CG_OUTBOX_STORE_DOWN:
		cg_log(CG_LOG_WARN, "request %s: refused: the outbox's store does not answer",
		       r->id);
		cg_request_refuse(
		        r, lim->retry_after_s,
		        "the gateway's outbox store does not answer; nothing was kept, send again "
		        "later");
		return;
	default:
		break;
	}
	if (new_txid(r->txid)) {
		cg_request_fail(r, 503, "transient", "no random numbers for a transaction id");
		return;
	}
	r->msgs = calloc(n ? n : 1, sizeof(*r->msgs));
	r->ids = calloc(n ? n : 1, sizeof(*r->ids));
	r->keys = calloc(n ? n : 1, sizeof(*r->keys));
	r->job_ev = event_new(r->w->base, -1, 0, on_committed, r);
	if (!r->msgs || !r->ids || !r->keys || !r->job_ev) {
		cg_request_fail(r, 503, "transient", "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		const struct cg_item *it = &r->out.item[i];
		struct cg_msg_in *m = &r->msgs[i];

		/* About no patient: kept in order with its own request only. */
		if (!it->key[0])
			snprintf(r->keys[i], sizeof(r->keys[i]), "tx:%s", r->txid);
		m->txid = r->txid;
		m->dest = d->name;
		m->key = it->key[0] ? it->key : r->keys[i];
		m->client = r->client;
		m->record_id = it->record_id[0] ? it->record_id : NULL;
		m->type = it->type;
		m->requests = it->requests;
		m->body = r->out.data.p + it->off;
		m->len = it->len;
	}
	r->job.msgs = r->msgs;
	r->job.n = n;
	r->job.ids = r->ids;
	r->job.pseudonyms = r->out.pseudonyms;
	r->job.npseudonyms = r->out.npseudonyms;
	r->job.pseudonyms_of = cg_outbox_pseudonyms(r->w->outbox);
	r->job.done = job_done;
	r->job.arg = r;
	cg_outbox_submit(r->w->outbox, &r->job);
}

/* The withdrawal is durable: on the worker's loop, the 422 as ingest made
 * it, and how many queued messages it took back. */
static void
on_withdrawn(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg;
	char n[24];

	(void)fd;
	(void)what;
	if (r->job.err) {
		cg_log(CG_LOG_ERROR,
		       "request %s: queued messages of %zu patients could not be withdrawn (%s)",
		       r->id, r->out.nwithdraw, cg_strerror(r->job.err));
		cg_request_fail(r, 503, "transient",
		                "consent was withdrawn but what is queued could not be taken back "
		                "(%s): send the request again",
		                cg_strerror(r->job.err));
		return;
	}
	snprintf(n, sizeof(n), "%lld", (long long)r->job.withdrawn);
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "X-Cellgate-Withdrawn", n);
	if (r->job.withdrawn)
		cg_log(CG_LOG_INFO,
		       "request %s: consent withdrawn: %lld queued messages for destination %s "
		       "taken back",
		       r->id, (long long)r->job.withdrawn, r->route->dest->name);
	cg_request_respond(r, 422, "application/fhir+json", r->out.outcome.p, r->out.outcome.len,
	                   "consent-required");
}

void
cg_enqueue_withdraw(struct request *r)
{
	size_t i;

	r->withdraw_keys = calloc(r->out.nwithdraw, sizeof(*r->withdraw_keys));
	r->job_ev = event_new(r->w->base, -1, 0, on_withdrawn, r);
	if (!r->withdraw_keys || !r->job_ev) {
		cg_request_fail(r, 503, "transient", "out of memory");
		return;
	}
	for (i = 0; i < r->out.nwithdraw; i++)
		r->withdraw_keys[i] = r->out.withdraw[i];
	memset(&r->job, 0, sizeof(r->job));
	r->job.withdraw_dest = r->route->dest->name;
	r->job.withdraw_keys = r->withdraw_keys;
	r->job.nwithdraw = r->out.nwithdraw;
	r->job.done = job_done;
	r->job.arg = r;
	cg_outbox_submit(r->w->outbox, &r->job);
}
