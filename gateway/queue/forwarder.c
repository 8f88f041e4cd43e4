/* forwarder.c: the outbox's deliveries; see forwarder.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "clock.h"
#include "dest.h"
#include "forwarder.h"
#include "gate.h"
#include "log.h"
#include "store.h"
#include "uuid.h"

#define MAX_DESTS      64
#define TICK_MS        100  /* due retries and `cellgate queue retry` are found within it */
#define LOOK_MS        2000 /* the store's figures, for metrics and the depth, refreshed */
#define MAX_CLAIM      1000
#define PRUNE_EVERY_MS 60000 /* delivered messages past keep_delivered_s, looked for */
#define PRUNE_BATCH    2000  /* deleted a tick at most: the loop is never held long */

const double cg_forwarder_batch_le[8] = {1, 2, 5, 10, 20, 50, 100, 1e300};
const double cg_forwarder_claim_le[CG_FORWARDER_CLAIM_BUCKETS] = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1e300};

struct fw_dest {
	char name[128];
	int inflight;                 /* batches; the forwarder's thread only */
	struct fw_batch *waiting;     /* halves of a split waiting for a slot */
	struct cg_forwarder_counts c; /* under the forwarder's lock */
};

struct fw_msg {
	int64_t id, accepted_ms;
	int attempts;
};

struct fw_batch {
	struct cg_forwarder *f;
	struct fw_dest *fd;
	void *hold; /* the settings dest points into */
	const struct cg_dest_cfg *dest;
	struct fw_msg *msg;
	struct cg_item *item;
	size_t n;
	struct cg_buf data;
	struct cg_delivery dl;
	char request_id[64];
	char idem[1024];
	int soon;                     /* settle's: 1, tried again soon; -1, split */
	struct fw_batch *prev, *next; /* in flight, or unsettled */
};

struct cg_forwarder {
	struct cg_store *store;
	struct cg_settings_source src;
	pthread_t thread;
	struct event_base *base;
	struct cg_dest_loop *loop;
	struct event *wake_ev, *linger_ev, *tick_ev, *stop_ev, *grace_ev;
	struct cg_msg claimed[MAX_CLAIM];
	struct fw_dest dest[MAX_DESTS];
	size_t ndest;
	struct fw_batch *flying;
	struct fw_batch *unsettled; /* over, their outcome not yet in the store */
	long grace_ms;
	int stopping;
	int64_t last_look;
	unsigned looks;
	int64_t next_prune; /* when to look for delivered messages to delete */
	int pruning;        /* more to delete: a batch each tick */
	uint64_t pruned;
	pthread_mutex_t lock; /* dest counts and ndest, for other threads */
	/* The depth: the store's count at the last look, plus what was accepted
	 * since, less what was settled since (monotonic counters, read before
	 * the count: a commit during the count is counted twice until the next
	 * look, never missed, so that the limit errs on the safe side). */
	_Atomic int64_t counted, accepted, settled, accepted_at_count, settled_at_count;
	struct cg_log_limit store_warn, orphan_warn;
	struct cg_store_gate *gate; /* turns at the store with the writer, or NULL */
	/* The store's health, shared with the writer and the outbox: since
	 * when it has been failing (0: it answers). */
	_Atomic int64_t *down_since;
	int64_t last_renew;
	/* claims' latency (under lock) and the table's figures at the last look */
	uint64_t claim_bucket[CG_FORWARDER_CLAIM_BUCKETS], claims;
	double claim_sum;
	_Atomic int64_t dead_tuples, live_tuples;
	_Atomic int health_known;
};

/* What the store did: a failure marks it down (readiness false, requests
 * 503) until a call succeeds again. */
static void
store_result(struct cg_forwarder *f, enum cg_err err)
{
	int64_t zero = 0;

	if (!f->down_since)
		return;
	if (!err) {
		if (atomic_load(f->down_since)) {
			atomic_store(f->down_since, 0);
			cg_log(CG_LOG_INFO, "outbox: the store answers again");
		}
	} else if (err == CG_EIO) {
		atomic_compare_exchange_strong(f->down_since, &zero, cg_clock_wall_ms());
	}
}

static struct fw_dest *
dest_named(struct cg_forwarder *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->ndest; i++)
		if (strcmp(f->dest[i].name, name) == 0)
			return &f->dest[i];
	if (f->ndest == MAX_DESTS || strlen(name) >= sizeof(f->dest[0].name))
		return NULL;
	pthread_mutex_lock(&f->lock);
	snprintf(f->dest[f->ndest].name, sizeof(f->dest[0].name), "%s", name);
	f->ndest++;
	pthread_mutex_unlock(&f->lock);
	return &f->dest[f->ndest - 1];
}

static void
batch_free(struct fw_batch *b)
{
	if (!b)
		return;
	cg_delivery_release(&b->dl);
	cg_buf_free(&b->data);
	free(b->msg);
	free(b->item);
	if (b->hold)
		b->f->src.release(b->f->src.arg, b->hold);
	free(b);
}

/* The HTTP destination named name in s, or NULL. */
static const struct cg_dest_cfg *
dest_in(const struct cg_settings *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->ndests; i++)
		if (s->dests[i].type != CG_DEST_NDJSON && strcmp(s->dests[i].name, name) == 0)
			return &s->dests[i];
	return NULL;
}

/* A batch for the destination named name, as the current settings have it:
 * b->dest points into the settings b holds (a reload may have freed the
 * ones its caller's destination came from, once the caller lets them go).
 * NULL when out of memory or when a reload took the destination away. */
static struct fw_batch *
batch_new(struct cg_forwarder *f, struct fw_dest *fd, const char *name, size_t n)
{
	struct fw_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->f = f;
	b->fd = fd;
	b->msg = calloc(n, sizeof(*b->msg));
	b->item = calloc(n, sizeof(*b->item));
	cg_buf_init(&b->data, CG_BUF_MAX_ITEMS);
	b->dest = dest_in(f->src.acquire(f->src.arg, &b->hold), name);
	if (!b->msg || !b->item || !b->dest) {
		batch_free(b);
		return NULL;
	}
	return b;
}

/* Appends one message (its body as an item) to b. */
static enum cg_err
batch_add(struct fw_batch *b, const struct fw_msg *m, const struct cg_item *proto, const char *body,
          size_t len)
{
	struct cg_item *it = &b->item[b->n];
	enum cg_err err;

	*it = *proto;
	it->off = b->data.len;
	it->len = len;
	err = cg_buf_add(&b->data, body, len);
	if (!err)
		err = cg_buf_addc(&b->data, '\n');
	if (err)
		return err;
	b->msg[b->n++] = *m;
	return CG_OK;
}

static void on_delivered(struct cg_delivery *dl, void *arg);
static void prune(struct cg_forwarder *f);
static void renew(struct cg_forwarder *f);
static void finish_batch(struct fw_batch *b, int then_pump);

/* Idempotency-Key: the message ids, the same for every try of them; when
 * the list is longer than the key can be, a name-based UUID of all of it
 * (never the list cut: another batch beginning with the same messages
 * would have the same key). */
static void
idempotency_key(struct fw_batch *b)
{
	char u[CG_UUID_STRLEN + 1];
	struct cg_buf l;
	enum cg_err err = CG_OK;
	size_t i;

	b->idem[0] = 0;
	cg_buf_init(&l, CG_BUF_MAX_SCRATCH);
	for (i = 0; i < b->n && !err; i++)
		err = cg_buf_printf(&l, "%s%lld", i ? "," : "", (long long)b->msg[i].id);
	if (!err && l.len < sizeof(b->idem))
		memcpy(b->idem, l.p, l.len + 1);
	else if (!err && cg_uuid_v5(l.p, l.len, u) == CG_OK)
		snprintf(b->idem, sizeof(b->idem), "uuid:%s", u);
	cg_buf_free(&l);
}

/* Hands b to its destination; on a failure to start, its messages are
 * tried again later (nothing was sent). */
static void
start(struct fw_batch *b)
{
	struct cg_forwarder *f = b->f;
	enum cg_err err;
	size_t i;

	b->fd->inflight++;
	b->prev = NULL;
	b->next = f->flying;
	if (f->flying)
		f->flying->prev = b;
	f->flying = b;
	snprintf(b->request_id, sizeof(b->request_id), "outbox-%lld-%zu", (long long)b->msg[0].id,
	         b->n);
	idempotency_key(b);
	memset(&b->dl, 0, sizeof(b->dl));
	b->dl.dest = b->dest;
	b->dl.batch = (struct cg_batch){b->data.p, b->item, b->n};
	b->dl.request_id = b->request_id;
	b->dl.idempotency_key = b->idem[0] ? b->idem : NULL; /* none: out of memory */
	b->dl.done = on_delivered;
	b->dl.arg = b;
	pthread_mutex_lock(&f->lock);
	b->fd->c.batches++;
	b->fd->c.items_sent += b->n;
	for (i = 0; i < 8; i++)
		if ((double)b->n <= cg_forwarder_batch_le[i])
			b->fd->c.batch_size[i]++;
	pthread_mutex_unlock(&f->lock);
	err = cg_dest_deliver(f->loop, &b->dl);
	if (err) {
		b->dl.result = err == CG_ELIMIT ? CG_UP_REJECTED : CG_UP_UNREACHABLE;
		b->dl.status = 0;
		finish_batch(b, 0); /* no pump from here: its caller goes on */
	}
}

/* Claims what is due for one destination and starts batches of it, while
 * it has room for more. */
static void
pump_dest(struct cg_forwarder *f, const struct cg_dest_cfg *d)
{
	struct fw_dest *fd = dest_named(f, d->name);
	const struct cg_delivery_cfg *dc = &d->delivery;
	size_t max = dc->batch_items < MAX_CLAIM ? dc->batch_items : MAX_CLAIM;

	/* A server with Bundle caps gets each message alone: each was cut to
	 * fit them at ingest, and joined they would not. */
	if (d->type == CG_DEST_FHIR && (d->rules.max_entries || d->rules.max_observations))
		max = 1;
	if (!fd)
		return;
	while (!f->stopping && fd->waiting && fd->inflight < dc->concurrency) {
		struct fw_batch *w = fd->waiting;

		fd->waiting = w->next;
		start(w);
	}
	while (!f->stopping && fd->inflight < dc->concurrency) {
		size_t n = 0, i;
		struct fw_batch *b = NULL;
		bool more = false;
		/* One batch a claim: no more than it takes, by items and bytes, so
		 * that the concurrency holds (a claim cut by bytes into several
		 * batches started them all), and no more is read than is sent. */
		enum cg_err err;

		double t0 = cg_clock_mono_s(), took;
		size_t k = 0;

		cg_store_gate_enter(f->gate, true);
		err = cg_store_claim(f->store, d->name, cg_clock_wall_ms(), max, dc->batch_bytes,
		                     f->claimed, &n, &more);
		cg_store_gate_leave(f->gate);
		took = cg_clock_mono_s() - t0;
		store_result(f, err);
		while (k + 1 < CG_FORWARDER_CLAIM_BUCKETS && took > cg_forwarder_claim_le[k])
			k++;
		pthread_mutex_lock(&f->lock);
		f->claim_bucket[k]++;
		f->claims++;
		f->claim_sum += took;
		pthread_mutex_unlock(&f->lock);

		if (err) {
			cg_log_limited(
			        &f->store_warn, CG_LOG_ERROR,
			        "outbox: destination %s: messages cannot be claimed from the "
			        "store (%s); trying again",
			        d->name, cg_strerror(err));
			return;
		}
		if (n)
			b = batch_new(f, fd, d->name, n);
		for (i = 0; i < n; i++) {
			const struct cg_msg *m = &f->claimed[i];
			struct fw_msg fm = {m->id, m->accepted_ms, m->attempts};
			struct cg_item proto;

			memset(&proto, 0, sizeof(proto));
			snprintf(proto.type, sizeof(proto.type), "%s", m->type ? m->type : "");
			snprintf(proto.record_id, sizeof(proto.record_id), "%s",
			         m->record_id ? m->record_id : "");
			proto.requests = m->requests;
			if (!b || batch_add(b, &fm, &proto, m->body, m->len)) {
				/* Out of memory, or a reload took the destination away
				 * meanwhile: this one goes back to the queue soon. */
				/* (the claim's turn at the gate is over: the busy
				 * timeout covers this rare write) */
				if (cg_store_retry_at(f->store, m->id, 0, "out of memory",
				                      cg_clock_wall_ms() + 1000)) {
					/* left in flight: queued again at the next start */
				}
				continue;
			}
		}
		if (b && b->n)
			start(b);
		else
			batch_free(b);
		if (!more)
			return;
	}
}

static void
pump(struct cg_forwarder *f)
{
	void *hold;
	const struct cg_settings *s = f->src.acquire(f->src.arg, &hold);
	size_t i;

	/* Every HTTP destination, whatever its mode now: a reload that makes a
	 * queued one direct leaves its queue to be delivered. */
	for (i = 0; s && i < s->ndests; i++)
		if (s->dests[i].type != CG_DEST_NDJSON)
			pump_dest(f, &s->dests[i]);
	f->src.release(f->src.arg, hold);
}

/* The retry's delay: the upstream's Retry-After when it gave one with a
 * 429 or 503, else exponential from the attempts made (1 s, 2 s, 4 s...
 * by default), capped, with "equal jitter" (half fixed, half random) so
 * that messages that failed together do not come back together. */
static int64_t
retry_delay_ms(const struct cg_delivery_cfg *dc, const struct cg_delivery *dl, int attempts)
{
	double d = (double)dc->backoff_initial_ms;
	unsigned r = 0;
	int i;

	if (dl->retry_after_s >= 0 && (dl->status == 429 || dl->status == 503))
		return (int64_t)dl->retry_after_s * 1000;
	for (i = 1; i < attempts && d < (double)dc->backoff_max_ms; i++)
		d *= 2;
	if (d > (double)dc->backoff_max_ms)
		d = (double)dc->backoff_max_ms;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)rand();
	return (int64_t)(d / 2 + (d / 2) * ((double)r / 4294967296.0));
}

static const char *
result_words(const struct cg_delivery *dl)
{
	switch (dl->result) {
	case CG_UP_TIMEOUT:
		return "no answer within the timeout";
	case CG_UP_UNREACHABLE:
		return dl->error[0] ? dl->error : "could not be reached";
	default:
		return NULL;
	}
}

struct look {
	struct cg_forwarder *f;
	int64_t depth;
};

static int
look_dest(const char *dest, const struct cg_store_stats *st, void *arg)
{
	struct look *l = arg;
	struct fw_dest *fd = dest_named(l->f, dest);

	l->depth += st->count[CG_MSG_QUEUED] + st->count[CG_MSG_IN_FLIGHT];
	if (!fd)
		return 0;
	pthread_mutex_lock(&l->f->lock);
	fd->c.queued = st->count[CG_MSG_QUEUED];
	fd->c.in_flight = st->count[CG_MSG_IN_FLIGHT];
	fd->c.delivered_now = st->count[CG_MSG_DELIVERED];
	fd->c.dead_now = st->count[CG_MSG_DEAD];
	fd->c.oldest_waiting_ms = st->oldest_waiting_ms;
	pthread_mutex_unlock(&l->f->lock);
	return 0;
}

/* The store's figures per destination (every destination it holds
 * messages for, configured or not) and the depth. */
static void
look(struct cg_forwarder *f)
{
	struct look l = {f, 0};
	const struct cg_settings *s;
	void *hold;
	size_t i;

	int64_t a0 = atomic_load(&f->accepted), s0 = atomic_load(&f->settled);

	f->last_look = cg_clock_wall_ms();
	if (cg_store_stats_by_dest(f->store, look_dest, &l)) {
		store_result(f, CG_EIO);
		return;
	}
	store_result(f, CG_OK);
	{
		struct cg_store_health h;

		if (!cg_store_health(f->store, &h) && h.known) {
			atomic_store(&f->dead_tuples, h.dead_tuples);
			atomic_store(&f->live_tuples, h.live_tuples);
			atomic_store(&f->health_known, 1);
		}
	}
	atomic_store(&f->counted, l.depth);
	atomic_store(&f->accepted_at_count, a0);
	atomic_store(&f->settled_at_count, s0);
	/* Messages for a destination a reload took away wait, visible, until
	 * it comes back (or an operator purges them): said, not dropped. */
	if (f->looks++ % 30) /* once a minute */
		return;
	s = f->src.acquire(f->src.arg, &hold);
	for (i = 0; i < f->ndest; i++) {
		const struct fw_dest *fd = &f->dest[i];

		if (fd->c.queued + fd->c.in_flight > 0 && !dest_in(s, fd->name))
			cg_log_limited(&f->orphan_warn, CG_LOG_WARN,
			               "outbox: %lld messages wait for destination %s, which the "
			               "configuration no longer has",
			               (long long)(fd->c.queued + fd->c.in_flight), fd->name);
	}
	f->src.release(f->src.arg, hold);
}

/* What became of a batch, written to the store in one transaction. */
static int
settle(struct fw_batch *b, int soon)
{
	struct cg_forwarder *f = b->f;
	const struct cg_delivery *dl = &b->dl;
	const struct cg_delivery_cfg *dc = &b->dest->delivery;
	int64_t now = cg_clock_wall_ms();
	int refused =
	        !soon && dl->result == CG_UP_REJECTED && dl->status != 408 && dl->status != 429;
	uint64_t delivered = 0, retried = 0, dead = 0;
	char reason[512];
	size_t i;
	enum cg_err err;

	cg_store_gate_enter(f->gate, true);
	err = cg_store_begin(f->store);
	for (i = 0; i < b->n && !err; i++) {
		const struct fw_msg *m = &b->msg[i];
		enum cg_err e;

		if (soon) {
			/* A refused batch that could not be split (stopping, or out of
			 * memory): not the messages' fault; again in a second. */
			e = cg_store_retry_at(f->store, m->id, (int)dl->status,
			                      "refused in a batch; to be sent apart", now + 1000);
			retried++;
		} else if (dl->result == CG_UP_OK) {
			e = cg_store_delivered(f->store, m->id, (int)dl->status, now);
			delivered++;
		} else if (refused) {
			if (dl->auth_failed) /* the credentials, not the message */
				snprintf(reason, sizeof(reason),
				         "cannot be sent to destination %s: %s", b->dest->name,
				         dl->error);
			else if (dl->status && dl->error[0]) /* an entry, or a search */
				snprintf(reason, sizeof(reason),
				         "refused by destination %s with %ld: %s", b->dest->name,
				         dl->status, dl->error);
			else if (dl->status)
				snprintf(reason, sizeof(reason),
				         "refused by destination %s with %ld", b->dest->name,
				         dl->status);
			else
				snprintf(reason, sizeof(reason),
				         "cannot be sent to destination %s: %s", b->dest->name,
				         dl->error);
			e = cg_store_dead(f->store, m->id, (int)dl->status, reason, dl->response.p,
			                  dl->response.len,
			                  dl->response_type[0] ? dl->response_type : NULL, now);
			dead++;
		} else {
			const char *w = result_words(dl);
			int64_t at = now + retry_delay_ms(dc, dl, m->attempts);

			if (w)
				snprintf(reason, sizeof(reason), "%s", w);
			else
				snprintf(reason, sizeof(reason), "destination %s answered %ld",
				         b->dest->name, dl->status);
			if (m->attempts >= dc->max_attempts ||
			    now - m->accepted_ms >= (int64_t)dc->max_age_s * 1000) {
				char gave[600];

				snprintf(gave, sizeof(gave),
				         "gave up after %d attempts over %llds: %s", m->attempts,
				         (long long)((now - m->accepted_ms) / 1000), reason);
				e = cg_store_dead(f->store, m->id, (int)dl->status, gave,
				                  dl->response.p, dl->response.len,
				                  dl->response_type[0] ? dl->response_type : NULL,
				                  now);
				dead++;
			} else {
				e = cg_store_retry_at(f->store, m->id, (int)dl->status, reason, at);
				retried++;
			}
		}
		if (e && e != CG_ENOENT) /* ENOENT: purged or retried by an operator */
			err = e;
	}
	if (!err)
		err = cg_store_commit(f->store);
	if (err)
		cg_store_rollback(f->store);
	cg_store_gate_leave(f->gate);
	if (err) {
		/* Left in flight in the file: queued again at the next start.
		 * Delivered ones are then sent again: duplicates absorbed. */
		cg_log_limited(&f->store_warn, CG_LOG_ERROR,
		               "outbox: destination %s: the outcome of %zu messages could not "
		               "be written to the store (%s); trying again",
		               b->dest->name, b->n, cg_strerror(err));
		return -1;
	}
	atomic_fetch_add(&f->settled, (int64_t)(delivered + dead));
	pthread_mutex_lock(&f->lock);
	b->fd->c.delivered += delivered;
	b->fd->c.retried += retried;
	b->fd->c.dead += dead;
	pthread_mutex_unlock(&f->lock);
	if (dead)
		cg_log(CG_LOG_WARN,
		       "outbox: destination %s: %llu message%s dead (%s): see cellgate queue list "
		       "--state dead",
		       b->dest->name, (unsigned long long)dead, dead == 1 ? "" : "s",
		       refused ? "refused" : "gave up");
	else if (retried)
		cg_log(CG_LOG_INFO, "outbox: destination %s: %llu message%s to be tried again (%s)",
		       b->dest->name, (unsigned long long)retried, retried == 1 ? "" : "s",
		       result_words(dl) ? result_words(dl) : "an error answer");
	return 0;
}

/* A refused batch of several: each half goes again on its own, until the
 * message that was refused is alone. Returns 0 when both halves started. */
static int
split(struct fw_batch *b)
{
	struct fw_batch *half[2];
	size_t mid = b->n / 2, i, h;

	for (h = 0; h < 2; h++) {
		size_t from = h ? mid : 0, to = h ? b->n : mid;

		half[h] = batch_new(b->f, b->fd, b->dest->name, to - from);
		for (i = from; half[h] && i < to; i++)
			if (batch_add(half[h], &b->msg[i], &b->item[i], b->data.p + b->item[i].off,
			              b->item[i].len)) {
				batch_free(half[h]);
				half[h] = NULL;
			}
	}
	if (!half[0] || !half[1]) {
		batch_free(half[0]);
		batch_free(half[1]);
		return -1;
	}
	pthread_mutex_lock(&b->f->lock);
	b->fd->c.split++;
	pthread_mutex_unlock(&b->f->lock);
	/* The first half takes the parent's slot; the second waits for one
	 * (pump_dest starts the waiting first), so that the concurrency holds
	 * while a refused batch is taken apart. */
	half[1]->next = b->fd->waiting;
	b->fd->waiting = half[1];
	start(half[0]);
	return 0;
}

static void
finish_batch(struct fw_batch *b, int then_pump)
{
	struct cg_forwarder *f = b->f;
	int refused = b->dl.result == CG_UP_REJECTED && b->dl.status != 408 && b->dl.status != 429;

	b->fd->inflight--;
	if (b->prev)
		b->prev->next = b->next;
	else
		f->flying = b->next;
	if (b->next)
		b->next->prev = b->prev;
	/* Credentials refused are every message's lot: no split finds one. */
	if (!refused || b->n == 1 || b->dl.auth_failed)
		b->soon = 0;
	else if (f->stopping || split(b) != 0)
		b->soon = 1;
	else
		b->soon = -1; /* its halves went on */
	/* An outcome the store cannot take now (a full disk) is kept and
	 * written at a later tick: left in flight, its messages would wait
	 * for a restart, and hold their patients' later messages back. */
	if (b->soon >= 0 && settle(b, b->soon)) {
		b->next = f->unsettled;
		f->unsettled = b;
	} else {
		batch_free(b);
	}
	if (f->stopping) {
		if (!f->flying)
			event_base_loopbreak(f->base);
		return;
	}
	if (then_pump)
		pump(f);
}

static void
on_delivered(struct cg_delivery *dl, void *arg)
{
	(void)dl;
	finish_batch(arg, 1);
}

static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct cg_forwarder *f = arg;
	void *hold;
	const struct cg_settings *s;
	long linger = 0;
	size_t i;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (f->stopping || evtimer_pending(f->linger_ev, NULL))
		return;
	s = f->src.acquire(f->src.arg, &hold);
	for (i = 0; s && i < s->ndests; i++)
		if (s->dests[i].queued && (linger == 0 || s->dests[i].delivery.linger_ms < linger))
			linger = s->dests[i].delivery.linger_ms;
	f->src.release(f->src.arg, hold);
	tv.tv_sec = linger / 1000;
	tv.tv_usec = (linger % 1000) * 1000;
	evtimer_add(f->linger_ev, &tv);
}

static void
on_linger(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cg_forwarder *f = arg;

	(void)fd;
	(void)what;
	if (f->stopping)
		return;
	while (f->unsettled) {
		struct fw_batch *b = f->unsettled;

		if (settle(b, b->soon))
			break; /* the store still cannot take it */
		f->unsettled = b->next;
		batch_free(b);
	}
	if (cg_clock_wall_ms() - f->last_look >= LOOK_MS)
		look(f);
	else if (f->down_since && atomic_load(f->down_since))
		store_result(f, cg_store_ping(f->store)); /* back yet? */
	renew(f);
	prune(f);
	/* The writer leaves checkpoints to this thread (store.h), which the
	 * requests waiting for a commit never wait on. */
	if (cg_store_checkpoint(f->store))
		cg_log_limited(&f->store_warn, CG_LOG_ERROR,
		               "outbox: the store's checkpoint failed");
	pump(f);
}

/* The leases of what this gateway has in flight (a shared store), renewed
 * three times a lease: a slow delivery is not taken over by another. */
static void
renew(struct cg_forwarder *f)
{
	void *hold;
	const struct cg_settings *s;
	int64_t now = cg_clock_wall_ms();
	long lease_ms;

	s = f->src.acquire(f->src.arg, &hold);
	lease_ms = s && s->outbox.lease_s > 0 ? s->outbox.lease_s * 1000 : 30000;
	f->src.release(f->src.arg, hold);
	if (now - f->last_renew < lease_ms / 3)
		return;
	f->last_renew = now;
	if (cg_store_renew(f->store, now))
		cg_log_limited(&f->store_warn, CG_LOG_ERROR,
		               "outbox: the leases of the messages in flight could not be renewed");
}

/* Delivered messages are kept keep_delivered_s (the trail, `cellgate
 * queue find`), then deleted a batch a tick, so that the table stays the
 * size of what is waiting plus a window. */
static void
prune(struct cg_forwarder *f)
{
	void *hold;
	const struct cg_settings *s;
	int64_t now = cg_clock_wall_ms(), n = 0;
	enum cg_err err;
	long long keep;

	if (!f->pruning && now < f->next_prune)
		return;
	s = f->src.acquire(f->src.arg, &hold);
	keep = s ? s->outbox.keep_delivered_s : 0;
	f->src.release(f->src.arg, hold);
	f->pruning = 0;
	if (keep <= 0) {
		f->next_prune = now + PRUNE_EVERY_MS;
		return;
	}
	/* a short keep is looked at as often as half of it */
	f->next_prune = now + (keep * 500 < PRUNE_EVERY_MS ? keep * 500 : PRUNE_EVERY_MS);
	cg_store_gate_enter(f->gate, true);
	err = cg_store_purge_some(f->store, now - keep * 1000, PRUNE_BATCH, &n);
	cg_store_gate_leave(f->gate);
	if (err) {
		cg_log_limited(&f->store_warn, CG_LOG_ERROR,
		               "outbox: delivered messages could not be pruned from the store");
		return;
	}
	f->pruned += (uint64_t)n;
	f->pruning = n == PRUNE_BATCH;
	if (n && !f->pruning)
		cg_log(CG_LOG_INFO, "outbox: %llu delivered messages older than %llds pruned",
		       (unsigned long long)f->pruned, keep);
	if (!f->pruning)
		f->pruned = 0;
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct cg_forwarder *f = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(f->base);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct cg_forwarder *f = arg;
	struct timeval tv = {f->grace_ms / 1000, (f->grace_ms % 1000) * 1000};

	(void)fd;
	(void)what;
	f->stopping = 1;
	if (!f->flying) {
		event_base_loopbreak(f->base);
		return;
	}
	evtimer_add(f->grace_ev, &tv);
}

static void *
forwarder_main(void *arg)
{
	struct cg_forwarder *f = arg;

	look(f);
	pump(f);
	event_base_dispatch(f->base);
	return NULL;
}

static void
forwarder_free(struct cg_forwarder *f)
{
	struct fw_batch *b, *next;

	/* Batches still in flight after the grace: their requests are
	 * dropped with the HTTP client; they are in flight in the store, and
	 * queued again at the next start. */
	cg_dest_loop_free(f->loop);
	for (b = f->flying; b; b = next) {
		next = b->next;
		batch_free(b);
	}
	for (b = f->unsettled; b; b = next) { /* in flight in the store: queued at start */
		next = b->next;
		batch_free(b);
	}
	for (size_t i = 0; i < f->ndest; i++) /* the same */
		for (b = f->dest[i].waiting; b; b = next) {
			next = b->next;
			batch_free(b);
		}
	if (f->wake_ev)
		event_free(f->wake_ev);
	if (f->linger_ev)
		event_free(f->linger_ev);
	if (f->tick_ev)
		event_free(f->tick_ev);
	if (f->stop_ev)
		event_free(f->stop_ev);
	if (f->grace_ev)
		event_free(f->grace_ev);
	if (f->base)
		event_base_free(f->base);
	cg_store_close(f->store);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

enum cg_err
cg_forwarder_start(const char *path, const struct cg_settings_source *src,
                   struct cg_store_gate *gate, _Atomic int64_t *down_since,
                   struct cg_forwarder **out, char *why, size_t whylen)
{
	struct cg_forwarder *f = calloc(1, sizeof(*f));
	struct timeval tick = {0, TICK_MS * 1000};
	enum cg_err err;

	*out = NULL;
	if (!f)
		return CG_ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->src = *src;
	f->gate = gate;
	f->down_since = down_since;
	err = cg_store_open(path, &f->store, why, whylen);
	if (!err && cg_store_relax(f->store))
		err = CG_EIO;
	if (err) {
		forwarder_free(f);
		return err;
	}
	f->base = event_base_new();
	f->loop = f->base ? cg_dest_loop_new(f->base) : NULL;
	if (f->loop) {
		f->wake_ev = event_new(f->base, -1, 0, on_wake, f);
		f->linger_ev = evtimer_new(f->base, on_linger, f);
		f->tick_ev = event_new(f->base, -1, EV_PERSIST, on_tick, f);
		f->stop_ev = event_new(f->base, -1, 0, on_stop, f);
		f->grace_ev = evtimer_new(f->base, on_grace, f);
	}
	if (!f->grace_ev || !f->stop_ev || !f->tick_ev || !f->linger_ev || !f->wake_ev ||
	    event_add(f->tick_ev, &tick) || pthread_create(&f->thread, NULL, forwarder_main, f)) {
		snprintf(why, whylen, "out of memory");
		forwarder_free(f);
		return CG_ENOMEM;
	}
	*out = f;
	return CG_OK;
}

void
cg_forwarder_wake(struct cg_forwarder *f)
{
	event_active(f->wake_ev, EV_READ, 1);
}

void
cg_forwarder_stop(struct cg_forwarder *f, long grace_ms)
{
	if (!f)
		return;
	f->grace_ms = grace_ms;
	event_active(f->stop_ev, EV_READ, 1);
	pthread_join(f->thread, NULL);
	forwarder_free(f);
}

int64_t
cg_forwarder_depth(struct cg_forwarder *f)
{
	int64_t d = atomic_load(&f->counted) +
	            (atomic_load(&f->accepted) - atomic_load(&f->accepted_at_count)) -
	            (atomic_load(&f->settled) - atomic_load(&f->settled_at_count));

	return d > 0 ? d : 0;
}

void
cg_forwarder_accepted(struct cg_forwarder *f, int64_t n)
{
	atomic_fetch_add(&f->accepted, n);
}

void
cg_forwarder_each(struct cg_forwarder *f,
                  void (*cb)(const char *dest, const struct cg_forwarder_counts *c, void *arg),
                  void *arg)
{
	size_t i;

	pthread_mutex_lock(&f->lock);
	for (i = 0; i < f->ndest; i++)
		cb(f->dest[i].name, &f->dest[i].c, arg);
	pthread_mutex_unlock(&f->lock);
}

void
cg_forwarder_store_figures(struct cg_forwarder *f, struct cg_forwarder_store *out)
{
	pthread_mutex_lock(&f->lock);
	memcpy(out->claim_bucket, f->claim_bucket, sizeof(out->claim_bucket));
	out->claims = f->claims;
	out->claim_sum_s = f->claim_sum;
	pthread_mutex_unlock(&f->lock);
	out->health_known = atomic_load(&f->health_known);
	out->dead_tuples = atomic_load(&f->dead_tuples);
	out->live_tuples = atomic_load(&f->live_tuples);
}
