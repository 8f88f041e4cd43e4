/*
 * writer.h: the outbox's writer thread (issue 11): every put to the store
 * goes through it, so that no event loop ever waits for the disk, and the
 * puts that queue while it commits are committed together: one transaction
 * and one fsync for all of them (group commit). A job is done only once its
 * messages are durable (or have failed, nothing of them kept); its done
 * callback runs on the writer thread, and is where a server makes an event
 * of its loop active (event_active is thread-safe with evthread_use_pthreads).
 */
#ifndef CG_WRITER_H
#define CG_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pseudonyms.h"
#include "store.h"

struct cg_writer;

struct cg_outbox_job {
	/* in: kept as they are until done has run */
	const struct cg_msg_in *msgs;
	size_t n;
	int64_t *ids; /* n of them, filled in; may be NULL */
	void (*done)(struct cg_outbox_job *job, void *arg);
	void *arg;
	/* and, before them (in a transaction of their own: writer.c says why):
	 * the patients (ordering keys) whose queued messages for withdraw_dest
	 * are withdrawn (cg_store_withdraw) */
	const char *withdraw_dest;
	const char *const *withdraw_keys;
	size_t nwithdraw;
	/* and the random pseudonyms the messages carry (pseudonyms.h): kept
	 * before the messages, in their transaction; pseudonyms_of hears
	 * when they are committed */
	const struct cg_pseudonym_use *pseudonyms;
	size_t npseudonyms;
	struct cg_pseudonyms *pseudonyms_of;
	/* out */
	enum cg_err err;
	int64_t withdrawn; /* messages withdrawn */
	/* private */
	struct cg_outbox_job *next;
	enum cg_err withdraw_err;
};

/* Starts a writer on the store at path (opened by the writer, for its
 * thread alone). CG_EINVAL or CG_EIO with why when the store cannot be used. */
enum cg_err cg_writer_start(const char *path, struct cg_writer **out, char *why, size_t whylen);
/* Calls fn(arg, messages) on the writer thread after each commit that
 * stored messages, before the jobs' done: the forwarder hears of them.
 * Set before the first submit. */
void cg_writer_on_commit(struct cg_writer *w, void (*fn)(void *arg, uint64_t messages), void *arg);
/* The store's health, shared with the forwarder (forwarder.h): a commit
 * that fails for the store marks it down, one that succeeds clears it. Set
 * before the first submit; NULL: none. */
void cg_writer_set_health(struct cg_writer *w, _Atomic int64_t *down_since);
/* Takes turns at the store with the forwarder (gate.h). Set before the
 * first submit; NULL: none. */
struct cg_store_gate;
void cg_writer_set_gate(struct cg_writer *w, struct cg_store_gate *g);
/* Queues a job. */
void cg_writer_submit(struct cg_writer *w, struct cg_outbox_job *job);
/* Finishes what is queued, then stops the thread and closes the store. */
void cg_writer_stop(struct cg_writer *w);

/* Commits made and jobs done so far: jobs / commits is the group size. */
void cg_writer_counts(struct cg_writer *w, uint64_t *commits, uint64_t *jobs);

/* How long commits took (begin to durable: the fsync, mostly), as a
 * histogram: counts[i] commits took at most cg_writer_bucket_s[i] seconds
 * (cumulative, as Prometheus has it; the last bucket is +Inf), and their sum. */
#define CG_WRITER_BUCKETS 12
extern const double cg_writer_bucket_s[CG_WRITER_BUCKETS];
void cg_writer_latency(struct cg_writer *w, uint64_t counts[CG_WRITER_BUCKETS], double *sum_s);

#endif
