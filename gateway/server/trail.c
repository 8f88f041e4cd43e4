/* trail.c: GET /transactions; see trail.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "conn.h"
#include "json_write.h"
#include "log.h"
#include "outbox.h"
#include "request.h"
#include "runtime.h"
#include "store.h"
#include "trail.h"
#include "worker.h"

#define LIST_MAX 100 /* messages in one answer; ?after=ID for the next */
/* Messages read for one answer, the client's or not: the store holds every
 * client's (a week of delivered ones). Read on the outbox's reader thread,
 * never on a worker's loop (reader.h). */
#define SCAN_MAX 5000

static const char *const states[] = {"queued", "in-flight", "delivered", "dead", "withdrawn"};

/* One answer in the making: what the reader thread needs, copied from the
 * request on its loop (the connection may close meanwhile; the settings
 * stay, the request holds them), and what it makes. */
struct walk {
	struct cg_read_job job;
	struct request *r;
	struct event *back; /* on r's loop: the reader is done */
	struct cg_store_filter f;
	char txid[64], record[80];
	const struct cg_settings *s;
	unsigned char *own; /* per configured client: r's certificate matches it */
	struct cg_buf b;
	struct cg_jw w;
	enum cg_err err;
	size_t n, scanned;
	int64_t last, last_scanned;
	int state[CG_MSG_STATES]; /* how many in each state */
};

/* Whether the message was sent by one of the names r's certificate has. */
static int
is_own(const struct walk *k, const struct cg_msg *m)
{
	size_t i;

	if (!m->client || !k->own)
		return 0;
	for (i = 0; i < k->s->nclients; i++)
		if (k->own[i] && strcmp(k->s->clients[i].name, m->client) == 0)
			return 1;
	return 0;
}

static void
time_member(struct cg_jw *w, const char *key, int64_t ms)
{
	char t[96];
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&sec, &tm))
		return;
	snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	cg_jw_string(w, key, t);
}

static int
on_msg(const struct cg_msg *m, void *arg)
{
	struct walk *k = arg;
	struct cg_jw *w = &k->w;

	k->scanned++;
	if (!is_own(k, m)) {
		k->last_scanned = m->id;
		return 0;
	}
	if (k->n == LIST_MAX)
		return 1;
	k->last_scanned = m->id;
	k->n++;
	k->last = m->id;
	if ((unsigned)m->state < CG_MSG_STATES)
		k->state[m->state]++;
	cg_jw_object(w, NULL);
	cg_jw_int(w, "id", m->id);
	cg_jw_string(w, "transaction", m->txid);
	cg_jw_string(w, "state", (unsigned)m->state < CG_MSG_STATES ? states[m->state] : "unknown");
	cg_jw_string(w, "destination", m->dest);
	cg_jw_string(w, "type", m->type);
	if (m->record_id)
		cg_jw_string(w, "recordId", m->record_id);
	cg_jw_int(w, "attempts", m->attempts);
	time_member(w, "acceptedAt", m->accepted_ms);
	if (m->state == CG_MSG_QUEUED)
		time_member(w, "nextAttemptAt", m->next_ms);
	if (m->state == CG_MSG_DELIVERED || m->state == CG_MSG_DEAD || m->state == CG_MSG_WITHDRAWN)
		time_member(w, "doneAt", m->done_ms);
	if (m->status)
		cg_jw_int(w, "upstreamStatus", m->status);
	if (m->reason)
		cg_jw_string(w, m->state >= CG_MSG_DEAD ? "reason" : "lastFailure", m->reason);
	cg_jw_end(w);
	return 0;
}

static void
walk_free(struct walk *k)
{
	if (k->back)
		event_free(k->back);
	cg_buf_free(&k->b);
	free(k->own);
	free(k);
}

/* On the reader thread: the answer's body. */
static void
read_trail(struct cg_read_job *job, struct cg_store *st)
{
	struct walk *k = job->arg;
	struct cg_jw *w = &k->w;

	if (!st) {
		k->err = CG_EIO;
		return;
	}
	cg_jw_object(w, NULL);
	if (k->f.txid)
		cg_jw_string(w, "transaction", k->f.txid);
	cg_jw_array(w, "messages");
	k->err = cg_store_list(st, &k->f, on_msg, k);
	cg_jw_end(w);
	if (k->n == LIST_MAX)
		cg_jw_int(w, "next", k->last); /* ?after= for the rest */
	else if (k->scanned == SCAN_MAX)
		cg_jw_int(w, "next", k->last_scanned); /* read as far as that */
	cg_jw_end(w);
	if (!k->err && w->err)
		k->err = w->err;
}

static void
read_done(struct cg_read_job *job)
{
	struct walk *k = job->arg;

	event_active(k->back, EV_READ, 1);
}

/* Back on the request's loop: the answer. */
static void
answer(evutil_socket_t fd, short what, void *arg)
{
	struct walk *k = arg;
	struct request *r = k->r;

	(void)fd;
	(void)what;
	if (k->err)
		cg_request_fail(r, 503, "transient", "the outbox's store cannot be read now");
	else if (k->f.txid && k->n == 0)
		cg_request_fail(r, 404, "not-found", "no such transaction");
	else
		cg_request_respond(r, 200, "application/json", k->b.p, k->b.len, "ok");
	walk_free(k);
}

/* ?record=, ?state=, ?after= */
static int
read_query(struct request *r, struct cg_store_filter *f, char *record, size_t rlen)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	struct evkeyvalq kv;
	const char *v;
	int bad = 0;

	if (!q || !*q)
		return 0;
	memset(&kv, 0, sizeof(kv)); /* evhttp_parse_query_str initialises it */
	if (evhttp_parse_query_str(q, &kv))
		return -1;
	if ((v = evhttp_find_header(&kv, "record"))) {
		if (strlen(v) >= rlen)
			bad = 1;
		else
			f->record_id = memcpy(record, v, strlen(v) + 1);
	}
	if ((v = evhttp_find_header(&kv, "state"))) {
		size_t i;

		for (i = 0; i < CG_MSG_STATES && strcmp(v, states[i]) != 0; i++)
			;
		if (i == CG_MSG_STATES)
			bad = 1;
		else
			f->state = (int)i;
	}
	if ((v = evhttp_find_header(&kv, "after"))) {
		char *end;
		long long a = strtoll(v, &end, 10);

		if (*end || a < 0)
			bad = 1;
		else
			f->after_id = a;
	}
	evhttp_clear_headers(&kv);
	return bad ? -1 : 0;
}

void
cg_trail(struct request *r, const char *rest)
{
	struct worker *wk = r->w;
	struct walk *k;
	enum cg_err err;

	if (!wk->outbox) {
		cg_request_fail(r, 404, "not-found",
		                "this gateway has no outbox (no queue-mode destination)");
		return;
	}
	/* A store that does not answer is not asked: 503 at once until the
	 * forwarder finds it answering again. */
	if (cg_outbox_down_since(wk->outbox)) {
		cg_request_fail(r, 503, "transient", "the outbox's store cannot be read now");
		return;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		cg_request_fail(r, 503, "transient", "out of memory");
		return;
	}
	cg_store_filter_init(&k->f);
	k->f.limit = SCAN_MAX;
	if (rest[0] == '/') {
		size_t n = strlen(rest + 1);

		if (n == 0 || n >= sizeof(k->txid) || strchr(rest + 1, '/')) {
			free(k);
			cg_request_fail(r, 404, "not-found", "no such transaction");
			return;
		}
		memcpy(k->txid, rest + 1, n + 1);
		k->f.txid = k->txid;
	} else if (read_query(r, &k->f, k->record, sizeof(k->record)) ||
	           (!k->f.record_id && k->f.state < 0)) {
		free(k);
		cg_request_fail(r, 400, "invalid",
		                "ask for /transactions/{id}, /transactions?record=ID or "
		                "/transactions?state=queued|in-flight|delivered|dead (&after=ID "
		                "for the next page)");
		return;
	}
	k->r = r;
	k->s = r->rt->s;
	if (k->s->nclients && r->conn && r->conn->id_match) {
		k->own = malloc(k->s->nclients);
		if (k->own)
			memcpy(k->own, r->conn->id_match, k->s->nclients);
	}
	cg_buf_init(&k->b, CG_BUF_MAX_ANSWER);
	cg_jw_init(&k->w, &k->b);
	k->back = event_new(wk->base, -1, 0, answer, k);
	k->job.run = read_trail;
	k->job.done = read_done;
	k->job.arg = k;
	if (!k->back || (k->s->nclients && r->conn && r->conn->id_match && !k->own)) {
		walk_free(k);
		cg_request_fail(r, 503, "transient", "out of memory");
		return;
	}
	err = cg_outbox_read(wk->outbox, &k->job);
	if (err) {
		walk_free(k);
		cg_log(CG_LOG_WARN, "request %s: the outbox's reader has %d reads waiting: refused",
		       r->id, CG_READER_QUEUE_MAX);
		cg_request_fail(r, 503, "transient",
		                "the gateway is busy reading its outbox; ask again shortly");
	}
}
