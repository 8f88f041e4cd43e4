/*
 * forwarder_internal.h: what the forwarder's three files share (internal
 * to queue/): forwarder.c (the thread: its loop and ticks, the looks at
 * the store, leases, pruning, start and stop), forwarder_send.c (claims
 * what is due and delivers it in batches) and forwarder_settle.c (what
 * became of a batch: delivered, tried again later, split or dead).
 */
#ifndef CG_FORWARDER_INTERNAL_H
#define CG_FORWARDER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <event2/event.h>

#include "buf.h"
#include "dest.h"
#include "forwarder.h"
#include "log.h"
#include "store.h"

#define MAX_DESTS 64
#define MAX_CLAIM 1000

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

/* forwarder.c: the store's answer (its health); the destination named
 * name, counted from now on (NULL when there are too many). */
void fw_store_result(struct cg_forwarder *f, enum cg_err err);
struct fw_dest *fw_dest_named(struct cg_forwarder *f, const char *name);

/* forwarder_send.c: batches, made, filled, started and freed; the HTTP
 * destination named name in s; what is due, claimed and started. */
void fw_batch_free(struct fw_batch *b);
const struct cg_dest_cfg *fw_dest_in(const struct cg_settings *s, const char *name);
struct fw_batch *fw_batch_new(struct cg_forwarder *f, struct fw_dest *fd, const char *name,
                              size_t n);
enum cg_err fw_batch_add(struct fw_batch *b, const struct fw_msg *m, const struct cg_item *proto,
                         const char *body, size_t len);
void fw_start(struct fw_batch *b);
void fw_pump(struct cg_forwarder *f);

/* forwarder_settle.c: a batch over, its outcome written (or kept for a
 * later tick); settle's -1: not written yet. */
void fw_finish_batch(struct fw_batch *b, int then_pump);
int fw_settle(struct fw_batch *b, int soon);

#endif
