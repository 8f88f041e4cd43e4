/* trail.c: GET /transactions; see trail.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
 * client's (a week of delivered ones), and the answer is made on the
 * worker's loop, which serves nothing else meanwhile. */
#define SCAN_MAX 5000

static const char *const states[] = {"queued", "in-flight", "delivered", "dead", "withdrawn"};

struct walk {
	struct request *r;
	struct cg_jw *w;
	size_t n, scanned;
	int64_t last, last_scanned;
	int state[CG_MSG_STATES]; /* how many in each state */
	const char *first;        /* its first message's transaction (for one transaction) */
};

/* Whether the message was sent by one of the names r's certificate has. */
static int
is_own(const struct request *r, const struct cg_msg *m)
{
	const struct cg_settings *s = r->rt->s;
	size_t i;

	if (!m->client || !r->conn || !r->conn->id_match)
		return 0;
	for (i = 0; i < s->nclients; i++)
		if (r->conn->id_match[i] && strcmp(s->clients[i].name, m->client) == 0)
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
	struct cg_jw *w = k->w;

	k->scanned++;
	if (!is_own(k->r, m)) {
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

static struct cg_store *
store_of(struct request *r)
{
	struct worker *w = r->w;
	char why[512];

	if (!w->outbox)
		return NULL;
	/* A store that does not answer is not asked from a worker's loop (a
	 * database's connect timeout would hold every connection it serves):
	 * the answer is 503 until the forwarder finds it answering again. */
	if (cg_outbox_down_since(w->outbox))
		return NULL;
	if (w->trail_store)
		return w->trail_store;
	if (cg_store_open_existing(cg_outbox_path(w->outbox), &w->trail_store, why, sizeof(why))) {
		cg_log(CG_LOG_ERROR, "outbox: the trail cannot read the store: %s", why);
		w->trail_store = NULL;
	}
	return w->trail_store;
}

void
cg_trail_close(struct worker *w)
{
	cg_store_close(w->trail_store);
	w->trail_store = NULL;
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
	struct cg_store *st = store_of(r);
	struct cg_store_filter f;
	struct cg_buf b;
	struct cg_jw w;
	struct walk k;
	char txid[64], record[80];
	enum cg_err err;

	if (!st) {
		cg_request_fail(r, 404, "not-found",
		                "this gateway has no outbox (no queue-mode destination)");
		return;
	}
	cg_store_filter_init(&f);
	f.limit = SCAN_MAX;
	if (rest[0] == '/') {
		size_t n = strlen(rest + 1);

		if (n == 0 || n >= sizeof(txid) || strchr(rest + 1, '/')) {
			cg_request_fail(r, 404, "not-found", "no such transaction");
			return;
		}
		memcpy(txid, rest + 1, n + 1);
		f.txid = txid;
	} else if (read_query(r, &f, record, sizeof(record)) || (!f.record_id && f.state < 0)) {
		cg_request_fail(r, 400, "invalid",
		                "ask for /transactions/{id}, /transactions?record=ID or "
		                "/transactions?state=queued|in-flight|delivered|dead (&after=ID "
		                "for the next page)");
		return;
	}
	memset(&k, 0, sizeof(k));
	k.r = r;
	k.w = &w;
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	cg_jw_init(&w, &b);
	cg_jw_object(&w, NULL);
	if (f.txid)
		cg_jw_string(&w, "transaction", f.txid);
	cg_jw_array(&w, "messages");
	err = cg_store_list(st, &f, on_msg, &k);
	cg_jw_end(&w);
	if (k.n == LIST_MAX)
		cg_jw_int(&w, "next", k.last); /* ?after= for the rest */
	else if (k.scanned == SCAN_MAX)
		cg_jw_int(&w, "next", k.last_scanned); /* read as far as that */
	cg_jw_end(&w);
	if (err || w.err) {
		cg_buf_free(&b);
		cg_request_fail(r, 503, "transient", "the outbox's store cannot be read now");
		return;
	}
	if (f.txid && k.n == 0) {
		cg_buf_free(&b);
		cg_request_fail(r, 404, "not-found", "no such transaction");
		return;
	}
	cg_request_respond(r, 200, "application/json", b.p, b.len, "ok");
	cg_buf_free(&b);
}
