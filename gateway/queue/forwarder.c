/* forwarder.c: the forwarder's thread: its loop and ticks, the looks at the
 * store, the leases' renewal, pruning, start and stop; see forwarder.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "dest.h"
#include "forwarder.h"
#include "forwarder_internal.h"
#include "gate.h"
#include "log.h"
#include "store.h"

#define TICK_MS        100   /* due retries and `cellgate queue retry` are found within it */
#define LOOK_MS        2000  /* the store's figures, for metrics and the depth, refreshed */
#define PRUNE_EVERY_MS 60000 /* delivered messages past keep_delivered_s, looked for */
#define PRUNE_BATCH    2000  /* deleted a tick at most: the loop is never held long */

const double cg_forwarder_batch_le[8] = {1, 2, 5, 10, 20, 50, 100, 1e300};
const double cg_forwarder_claim_le[CG_FORWARDER_CLAIM_BUCKETS] = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1e300};

/* What the store did: a failure marks it down (readiness false, requests
 * 503) until a call succeeds again. */
void
fw_store_result(struct cg_forwarder *f, enum cg_err err)
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

struct fw_dest *
fw_dest_named(struct cg_forwarder *f, const char *name)
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

static void prune(struct cg_forwarder *f);
static void renew(struct cg_forwarder *f);

struct look {
	struct cg_forwarder *f;
	int64_t depth;
};

static int
look_dest(const char *dest, const struct cg_store_stats *st, void *arg)
{
	struct look *l = arg;
	struct fw_dest *fd = fw_dest_named(l->f, dest);

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
		fw_store_result(f, CG_EIO);
		return;
	}
	fw_store_result(f, CG_OK);
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

		if (fd->c.queued + fd->c.in_flight > 0 && !fw_dest_in(s, fd->name))
			cg_log_limited(&f->orphan_warn, CG_LOG_WARN,
			               "outbox: %lld messages wait for destination %s, which the "
			               "configuration no longer has",
			               (long long)(fd->c.queued + fd->c.in_flight), fd->name);
	}
	f->src.release(f->src.arg, hold);
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
	fw_pump(arg);
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

		if (fw_settle(b, b->soon))
			break; /* the store still cannot take it */
		f->unsettled = b->next;
		fw_batch_free(b);
	}
	if (cg_clock_wall_ms() - f->last_look >= LOOK_MS)
		look(f);
	else if (f->down_since && atomic_load(f->down_since))
		fw_store_result(f, cg_store_ping(f->store)); /* back yet? */
	renew(f);
	prune(f);
	/* The writer leaves checkpoints to this thread (store.h), which the
	 * requests waiting for a commit never wait on. */
	if (cg_store_checkpoint(f->store))
		cg_log_limited(&f->store_warn, CG_LOG_ERROR,
		               "outbox: the store's checkpoint failed");
	fw_pump(f);
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
	fw_pump(f);
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
		fw_batch_free(b);
	}
	for (b = f->unsettled; b; b = next) { /* in flight in the store: queued at start */
		next = b->next;
		fw_batch_free(b);
	}
	for (size_t i = 0; i < f->ndest; i++) /* the same */
		for (b = f->dest[i].waiting; b; b = next) {
			next = b->next;
			fw_batch_free(b);
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
