/* forwarder_send.c: the forwarder's batches: what is due, claimed from the
 * store and delivered through dest.h; see forwarder.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dest.h"
#include "forwarder.h"
#include "forwarder_internal.h"
#include "gate.h"
#include "log.h"
#include "store.h"
#include "uuid.h"

void
fw_batch_free(struct fw_batch *b)
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
const struct cg_dest_cfg *
fw_dest_in(const struct cg_settings *s, const char *name)
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
struct fw_batch *
fw_batch_new(struct cg_forwarder *f, struct fw_dest *fd, const char *name, size_t n)
{
	struct fw_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->f = f;
	b->fd = fd;
	b->msg = calloc(n, sizeof(*b->msg));
	b->item = calloc(n, sizeof(*b->item));
	cg_buf_init(&b->data, CG_BUF_MAX_ITEMS);
	b->dest = fw_dest_in(f->src.acquire(f->src.arg, &b->hold), name);
	if (!b->msg || !b->item || !b->dest) {
		fw_batch_free(b);
		return NULL;
	}
	return b;
}

/* Appends one message (its body as an item) to b. */
enum cg_err
fw_batch_add(struct fw_batch *b, const struct fw_msg *m, const struct cg_item *proto,
             const char *body, size_t len)
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
void
fw_start(struct fw_batch *b)
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
		fw_finish_batch(b, 0); /* no pump from here: its caller goes on */
	}
}

/* Claims what is due for one destination and starts batches of it, while
 * it has room for more. */
static void
pump_dest(struct cg_forwarder *f, const struct cg_dest_cfg *d)
{
	struct fw_dest *fd = fw_dest_named(f, d->name);
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
		fw_start(w);
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
		fw_store_result(f, err);
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
			b = fw_batch_new(f, fd, d->name, n);
		for (i = 0; i < n; i++) {
			const struct cg_msg *m = &f->claimed[i];
			struct fw_msg fm = {m->id, m->accepted_ms, m->attempts};
			struct cg_item proto;

			memset(&proto, 0, sizeof(proto));
			snprintf(proto.type, sizeof(proto.type), "%s", m->type ? m->type : "");
			snprintf(proto.record_id, sizeof(proto.record_id), "%s",
			         m->record_id ? m->record_id : "");
			proto.requests = m->requests;
			if (!b || fw_batch_add(b, &fm, &proto, m->body, m->len)) {
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
			fw_start(b);
		else
			fw_batch_free(b);
		if (!more)
			return;
	}
}

void
fw_pump(struct cg_forwarder *f)
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

static void
on_delivered(struct cg_delivery *dl, void *arg)
{
	(void)dl;
	fw_finish_batch(arg, 1);
}
