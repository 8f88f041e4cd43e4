/* forwarder_settle.c: what became of a batch, written to the store:
 * delivered, tried again after a backoff, split, or dead; see forwarder.h. */
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
#include "forwarder_internal.h"
#include "gate.h"
#include "log.h"
#include "store.h"

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

/* What became of a batch, written to the store in one transaction. */
int
fw_settle(struct fw_batch *b, int soon)
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

		half[h] = fw_batch_new(b->f, b->fd, b->dest->name, to - from);
		for (i = from; half[h] && i < to; i++)
			if (fw_batch_add(half[h], &b->msg[i], &b->item[i],
			                 b->data.p + b->item[i].off, b->item[i].len)) {
				fw_batch_free(half[h]);
				half[h] = NULL;
			}
	}
	if (!half[0] || !half[1]) {
		fw_batch_free(half[0]);
		fw_batch_free(half[1]);
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
	fw_start(half[0]);
	return 0;
}

void
fw_finish_batch(struct fw_batch *b, int then_pump)
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
	if (b->soon >= 0 && fw_settle(b, b->soon)) {
		b->next = f->unsettled;
		f->unsettled = b;
	} else {
		fw_batch_free(b);
	}
	if (f->stopping) {
		if (!f->flying)
			event_base_loopbreak(f->base);
		return;
	}
	if (then_pump)
		fw_pump(f);
}
