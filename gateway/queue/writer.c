/* writer.c: the outbox's group-commit writer; see writer.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "gate.h"
#include "writer.h"

struct cg_writer {
	struct cg_store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct cg_outbox_job *queue, **tail;
	int stopping;
	uint64_t commits, jobs;             /* under lock */
	uint64_t bucket[CG_WRITER_BUCKETS]; /* under lock: not cumulative here */
	double latency_sum;
	struct cg_store_gate *gate;
	void (*on_commit)(void *arg, uint64_t messages);
	void *on_commit_arg;
	_Atomic int64_t *down_since; /* the store's health (forwarder.h), or NULL */
};

const double cg_writer_bucket_s[CG_WRITER_BUCKETS] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,  0.5,   1.0,  1e300};

/* The group's puts in one transaction, committed. guarded: each job in a
 * savepoint of its own, so that a failed job fails alone. Unguarded (no
 * savepoints: two round trips fewer per job on a database), a failed job
 * rolls back the group, and *again says to try it again guarded. */
static enum cg_err
put_group(struct cg_writer *w, struct cg_outbox_job *group, int64_t now, bool guarded, bool *again)
{
	struct cg_outbox_job *j;
	enum cg_err err;
	bool failed = false;

	for (j = group; j; j = j->next)
		j->err = j->withdraw_err; /* a job whose withdrawal failed puts nothing */
	cg_store_guard_puts(w->store, guarded);
	err = cg_store_begin(w->store);
	for (j = group; j && !failed; j = j->next) {
		size_t k;

		if (!j->err)
			j->err = err;
		for (k = 0; !j->err && k < j->npseudonyms; k++)
			j->err = cg_store_pseudonym_put(
			        w->store, j->pseudonyms[k].registry, j->pseudonyms[k].system,
			        j->pseudonyms[k].value, j->pseudonyms[k].pseudonym, now);
		if (!j->err)
			j->err = cg_store_add(w->store, j->msgs, j->n, now, j->ids);
		failed = !guarded && !err && j->err && !j->withdraw_err;
	}
	cg_store_guard_puts(w->store, true);
	*again = failed;
	if (failed) {
		cg_store_rollback(w->store);
		return CG_OK;
	}
	if (!err)
		err = cg_store_commit(w->store);
	if (err) {
		cg_store_rollback(w->store);
		for (j = group; j; j = j->next)
			j->err = err;
	}
	return err;
}

/* One group: every job added in one transaction, one commit for all. A
 * failed commit fails every job of the group (nothing of them is kept);
 * a failed add fails its own job only. Withdrawals come before (below). */
static void
commit_group(struct cg_writer *w, struct cg_outbox_job *group)
{
	struct cg_outbox_job *j, *next;
	int64_t now = cg_clock_wall_ms();
	double t0 = cg_clock_mono_s(), took;
	enum cg_err err;
	bool again;
	uint64_t n = 0, stored = 0;
	size_t b = 0;

	cg_store_gate_enter(w->gate, false);
	/* Withdrawals first, each in a transaction of its own, before the
	 * group's: the group's puts share-lock their lines' first messages,
	 * which a delivery being settled waits for; a withdrawal waits for
	 * that delivery's rows: in one transaction, the two waited for each
	 * other (a shared store's deadlock). A consent withdrawn is final:
	 * kept even if the group's commit then fails (the client, answered
	 * 503, sends again; withdrawing again finds nothing). */
	for (j = group; j; j = j->next) {
		size_t k;

		j->withdrawn = 0;
		j->err = CG_OK;
		for (k = 0; !j->err && k < j->nwithdraw; k++) {
			int64_t c = 0;

			j->err = cg_store_withdraw(w->store, j->withdraw_dest, j->withdraw_keys[k],
			                           CG_STORE_WITHDRAWN, now, &c);
			j->withdrawn += c;
		}
		j->withdraw_err = j->err;
		n++;
	}
	err = put_group(w, group, now, false, &again);
	if (again)
		err = put_group(w, group, now, true, &again);
	cg_store_gate_leave(w->gate);
	if (w->down_since) {
		int64_t zero = 0;

		if (err == CG_EIO) /* the next requests are refused until it answers */
			atomic_compare_exchange_strong(w->down_since, &zero, cg_clock_wall_ms());
		else if (!err)
			atomic_store(w->down_since, 0);
	}
	/* A random pseudonym another gateway made first for the patient (a
	 * shared store): this one is dropped, so that the client's next try
	 * reads theirs. */
	for (j = group; j; j = j->next)
		if (j->err == CG_EINVAL && j->npseudonyms)
			cg_pseudonyms_forget(j->pseudonyms_of, j->pseudonyms, j->npseudonyms);
	took = cg_clock_mono_s() - t0;
	for (j = group; j; j = j->next)
		if (!j->err) {
			stored += j->n;
			cg_pseudonyms_committed(j->pseudonyms_of, j->pseudonyms, j->npseudonyms);
		}
	if (stored && w->on_commit)
		w->on_commit(w->on_commit_arg, stored);
	while (b + 1 < CG_WRITER_BUCKETS && took > cg_writer_bucket_s[b])
		b++;
	pthread_mutex_lock(&w->lock);
	w->commits++;
	w->jobs += n;
	w->bucket[b]++;
	w->latency_sum += took;
	pthread_mutex_unlock(&w->lock);
	for (j = group; j; j = next) {
		next = j->next; /* done may free the job */
		j->done(j, j->arg);
	}
}

static void *
writer_main(void *arg)
{
	struct cg_writer *w = arg;
	struct cg_outbox_job *group;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->queue && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->queue)
			break;
		group = w->queue;
		w->queue = NULL;
		w->tail = &w->queue;
		pthread_mutex_unlock(&w->lock);
		commit_group(w, group);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

enum cg_err
cg_writer_start(const char *path, struct cg_writer **out, char *why, size_t whylen)
{
	struct cg_writer *w = calloc(1, sizeof(*w));
	enum cg_err err;

	*out = NULL;
	if (!w)
		return CG_ENOMEM;
	err = cg_store_open(path, &w->store, why, whylen);
	if (!err && cg_store_leave_checkpoints(w->store)) {
		snprintf(why, whylen, "the store cannot be set up");
		cg_store_close(w->store);
		err = CG_EIO;
	}
	if (err) {
		free(w);
		return err;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->tail = &w->queue;
	if (pthread_create(&w->thread, NULL, writer_main, w)) {
		cg_store_close(w->store);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return CG_ENOMEM;
	}
	*out = w;
	return CG_OK;
}

void
cg_writer_set_gate(struct cg_writer *w, struct cg_store_gate *g)
{
	w->gate = g;
}

void
cg_writer_set_health(struct cg_writer *w, _Atomic int64_t *down_since)
{
	w->down_since = down_since;
}

void
cg_writer_on_commit(struct cg_writer *w, void (*fn)(void *arg, uint64_t messages), void *arg)
{
	w->on_commit = fn;
	w->on_commit_arg = arg;
}

void
cg_writer_submit(struct cg_writer *w, struct cg_outbox_job *job)
{
	job->next = NULL;
	job->err = CG_OK;
	pthread_mutex_lock(&w->lock);
	*w->tail = job;
	w->tail = &job->next;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void
cg_writer_stop(struct cg_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	cg_store_close(w->store);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void
cg_writer_counts(struct cg_writer *w, uint64_t *commits, uint64_t *jobs)
{
	pthread_mutex_lock(&w->lock);
	*commits = w->commits;
	*jobs = w->jobs;
	pthread_mutex_unlock(&w->lock);
}

void
cg_writer_latency(struct cg_writer *w, uint64_t counts[CG_WRITER_BUCKETS], double *sum_s)
{
	uint64_t total = 0;
	size_t i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < CG_WRITER_BUCKETS; i++)
		counts[i] = total += w->bucket[i];
	*sum_s = w->latency_sum;
	pthread_mutex_unlock(&w->lock);
}
