/*
 * forwarder.h: the outbox's forwarder (issue 11): a thread with its own
 * event loop and HTTP client that takes messages from the store and
 * delivers them through the one way in to destinations (dest.h).
 *
 * Per queue-mode destination: at most `concurrency` batches in flight, each
 * of up to `batch_items` messages and `batch_bytes` bytes, gathered for
 * `linger_ms` after new messages arrive. What became of a batch:
 * - 2xx: every message delivered;
 * - 4xx other than 408 and 429: the batch is split in two and each half
 *   sent again, until the refused message is alone: only it goes dead,
 *   with the upstream's answer kept; the others are delivered;
 * - anything else (5xx, 408, 429, no answer, timeout): each message is
 *   tried again after an exponential backoff with jitter, capped, or after
 *   the upstream's Retry-After; past max_attempts or max_age it is dead.
 * Order per key is the store's (cg_store_claim): a message waits while an
 * earlier one of its key is queued, in flight or dead.
 *
 * Store updates are made here on a relaxed connection (store.h,
 * cg_store_relax): a crash may deliver a message again, never lose one.
 */
#ifndef CG_FORWARDER_H
#define CG_FORWARDER_H

#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "settings.h"

struct cg_forwarder;

/* The current settings (a reload may change destinations): acquire returns
 * them with a hold that release gives back; a batch holds them while it is
 * delivered. Called on the forwarder's thread. */
struct cg_settings_source {
	const struct cg_settings *(*acquire)(void *arg, void **hold);
	void (*release)(void *arg, void *hold);
	void *arg;
};

/* What the forwarder counts per destination (for /metrics and stats). */
struct cg_forwarder_counts {
	uint64_t delivered, retried, dead, batches, split;
	uint64_t batch_size[8]; /* cumulative: at most 1, 2, 5, 10, 20, 50, 100, +Inf items */
	uint64_t items_sent;    /* the batch sizes' sum */
	int64_t queued, in_flight, delivered_now, dead_now; /* the store's, at the last look */
	int64_t oldest_waiting_ms;                          /* 0: none */
};
extern const double cg_forwarder_batch_le[8];

/* gate: turns at the store with the writer (gate.h), or NULL. down_since
 * (or NULL): set to when the store began failing, 0 once it answers again
 * (the outbox's readiness); the forwarder pings a failing store each tick. */
struct cg_store_gate;
enum cg_err cg_forwarder_start(const char *path, const struct cg_settings_source *src,
                               struct cg_store_gate *gate, _Atomic int64_t *down_since,
                               struct cg_forwarder **out, char *why, size_t whylen);
/* New messages are in the store: deliver them (after the linger). Any thread. */
void cg_forwarder_wake(struct cg_forwarder *f);
/* Stops claiming, waits up to grace_ms for the batches in flight, then
 * stops; what is still in flight goes back to the queue at the next start. */
void cg_forwarder_stop(struct cg_forwarder *f, long grace_ms);

/* Messages waiting (queued or in flight) in all, at the last look plus
 * those accepted since: the depth the server's backpressure compares. */
int64_t cg_forwarder_depth(struct cg_forwarder *f);
/* n messages were just committed. Any thread. */
void cg_forwarder_accepted(struct cg_forwarder *f, int64_t n);

/* Calls cb for each destination seen so far, with its counts. Any thread. */
void cg_forwarder_each(struct cg_forwarder *f,
                       void (*cb)(const char *dest, const struct cg_forwarder_counts *c, void *arg),
                       void *arg);

/* The store as the forwarder sees it: how long its claims take (a
 * histogram, cumulative, the last bucket +Inf) and, for a PostgreSQL
 * store, the message table's dead and live rows at the last look. */
#define CG_FORWARDER_CLAIM_BUCKETS 12
extern const double cg_forwarder_claim_le[CG_FORWARDER_CLAIM_BUCKETS];
struct cg_forwarder_store {
	uint64_t claim_bucket[CG_FORWARDER_CLAIM_BUCKETS], claims;
	double claim_sum_s;
	int health_known;
	int64_t dead_tuples, live_tuples;
};
void cg_forwarder_store_figures(struct cg_forwarder *f, struct cg_forwarder_store *out);

#endif
