/*
 * store.h: the outbox's durable store (issue 11, first part): messages that
 * the gateway has acknowledged and must deliver, in one SQLite file.
 *
 * A message is one item (a record or a resource, as text) for one
 * destination, with the ordering key it is delivered in order with (the
 * patient's identifier by default), the transaction (request) it came in
 * and the client that sent it. Its life: queued -> in flight -> delivered,
 * or back to queued with a later next attempt, or dead with a reason.
 *
 * Durability: WAL, synchronous=FULL: cg_store_put returns CG_OK only once
 * the messages are on disk, and several messages put together share one
 * transaction (one fsync): the group commit of the writer thread to come.
 * The schema is versioned (PRAGMA user_version) with migrations written
 * once; a PostgreSQL database holds the same schema, states and rules for
 * several gateways at once (store_pg.h: leases, fencing tokens). At open, messages
 * left in flight by a crash go back to queued: delivery is at least once,
 * and receivers absorb duplicates (ifNoneExist, Idempotency-Key).
 *
 * Order without head-of-line blocking: cg_store_claim hands out a message
 * only when no earlier message of its destination and key is still waiting,
 * in flight or dead; other keys go on.
 *
 * One cg_store is used by one thread at a time; other threads and processes
 * (`cellgate queue`) open their own on the same file. The gateway owns the
 * file (cg_store_open); a process beside it (cg_store_open_existing) reads
 * and changes messages while it runs: WAL lets it read without blocking the
 * gateway, and its writes are short transactions the gateway waits out
 * (busy timeout 5 s).
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define CG_STORE_SCHEMA_VERSION 7

/* withdrawn: taken back before it was sent (the patient withdrew consent,
 * issue 12): final, like delivered, and, unlike dead, holding no line. */
enum cg_msg_state {
	CG_MSG_QUEUED,
	CG_MSG_IN_FLIGHT,
	CG_MSG_DELIVERED,
	CG_MSG_DEAD,
	CG_MSG_WITHDRAWN
};
#define CG_MSG_STATES 5
/* The reason of a message withdrawn (consent withdrawn), and the mark of
 * one in flight to be withdrawn if its attempt fails. */
#define CG_STORE_WITHDRAWN "consent-withdrawn"

struct cg_store;

/* A message to put: text and labels are the caller's, copied by the put. */
struct cg_msg_in {
	const char *txid;   /* the transaction it came in */
	const char *dest;   /* the destination's name */
	const char *key;    /* the ordering key */
	const char *client; /* or NULL */
	const char *record_id;
	const char *type; /* "record", "Bundle", "Procedure"... */
	int requests;     /* a transaction or batch Bundle: item.h's CG_ITEM_REQUESTS... */
	const char *body;
	size_t len;
};

/* A message read back. Strings and body live in the store's read buffer
 * until the next call on the store. */
struct cg_msg {
	int64_t id;
	const char *txid, *dest, *key, *client, *record_id, *type;
	int requests;
	const char *body; /* NULL when a list left it out (len is still its size) */
	size_t len;
	enum cg_msg_state state;
	int attempts;
	int64_t accepted_ms, next_ms, done_ms; /* Unix times in milliseconds */
	int status;                            /* the last upstream status, 0: none */
	const char *reason;                    /* why dead, or the last failure, or NULL */
	/* What the upstream answered a dead message (its OperationOutcome), as
	 * the bytes it sent (NUL-terminated after response_len), or NULL. */
	const char *response;
	size_t response_len;
	/* Its media type. Nothing writes it yet (cg_store_dead takes none):
	 * NULL until the forwarder's outcome carries one. */
	const char *response_type;
};

/* Where a store is, for every open below: a SQLite file's path, or a
 * PostgreSQL database: a URI (postgresql://, postgres://), or "postgres:"
 * followed by a libpq connection string (host=... dbname=...). */
bool cg_store_is_postgres(const char *where);
/* What a PostgreSQL store needs beside where it is, for every store the
 * process opens: set once, before the first open. Strings are copied. */
struct cg_store_pg_options {
	const char *instance; /* this gateway's name in a shared queue; NULL: host:pid */
	long lease_ms;        /* a claim's lease; 0: 30 s */
	const char *password; /* NULL: libpq's own ways (the URI, PGPASSWORD, .pgpass) */
};
void cg_store_set_pg_options(const struct cg_store_pg_options *o);
/* "sqlite" or "postgres", and (PostgreSQL) this instance's name, or NULL. */
const char *cg_store_kind(const struct cg_store *s);
const char *cg_store_instance(const struct cg_store *s);

/* Opens (creating it and its schema if need be) the store at path, and
 * migrates an older schema. A file that is not a store, or a newer schema,
 * is CG_EINVAL with why saying so (why: at least 256 bytes). */
enum cg_err cg_store_open(const char *path, struct cg_store **out, char *why, size_t whylen);
/* Opens an existing store for a process beside the gateway (`cellgate
 * queue`): nothing is created (no file: CG_ENOENT, why "no store at PATH";
 * an empty file: CG_EINVAL), and messages in flight are left so, since the
 * gateway that holds them may be running. An older schema is migrated. */
enum cg_err cg_store_open_existing(const char *path, struct cg_store **out, char *why,
                                   size_t whylen);
void cg_store_close(struct cg_store *s);

/* Puts n messages in one transaction, all or none; their ids in ids (may be
 * NULL). now_ms: the acceptance time. */
enum cg_err cg_store_put(struct cg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms,
                         int64_t *ids) CG_MUST_CHECK;

/* The same in steps, for a writer that commits several callers' messages
 * together (one transaction, one fsync: group commit): begin, then one
 * add per caller (each all or none of its own, in a savepoint), then
 * commit (or rollback). A failed add leaves the other adds as they were. */
enum cg_err cg_store_begin(struct cg_store *s) CG_MUST_CHECK;
enum cg_err cg_store_add(struct cg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms,
                         int64_t *ids) CG_MUST_CHECK;
enum cg_err cg_store_commit(struct cg_store *s) CG_MUST_CHECK;
void cg_store_rollback(struct cg_store *s);

/* Claims up to max messages of dest that are due at now_ms and first in
 * their key's line, oldest first, marking them in flight: no more than
 * max_bytes of bodies, but the first message whatever its size. *n: how
 * many; *more (may be NULL): the claim stopped at max or max_bytes, so
 * that more may be due. */
enum cg_err cg_store_claim(struct cg_store *s, const char *dest, int64_t now_ms, size_t max,
                           size_t max_bytes, struct cg_msg *out, size_t *n,
                           bool *more) CG_MUST_CHECK;

/* What became of an in-flight message: delivered (with the upstream's
 * status), to be tried again at next_ms, or dead (with the reason, and the
 * upstream's answer and its Content-Type when it gave one: response and
 * response_type may be NULL). Dead applies to
 * a queued message too (one that cannot be sent at all). */
enum cg_err cg_store_delivered(struct cg_store *s, int64_t id, int status,
                               int64_t now_ms) CG_MUST_CHECK;
enum cg_err cg_store_retry_at(struct cg_store *s, int64_t id, int status, const char *reason,
                              int64_t next_ms) CG_MUST_CHECK;
enum cg_err cg_store_dead(struct cg_store *s, int64_t id, int status, const char *reason,
                          const char *response, size_t response_len, const char *response_type,
                          int64_t now_ms) CG_MUST_CHECK;

/* For the forwarder's connection: its commits (claims, outcomes) are not
 * fsynced each; the writer's next commit, or a checkpoint, makes them
 * durable. Losing one to a power cut only delivers a message again (at
 * least once, duplicates absorbed), never loses one: nothing accepted is
 * written through this connection. */
/* One batch of cg_store_purge_delivered's work, for a caller that spreads
 * it out (the forwarder, a batch a tick): *count deleted, fewer than batch
 * when nothing more is due. */
enum cg_err cg_store_purge_some(struct cg_store *s, int64_t before_ms, size_t batch,
                                int64_t *count) CG_MUST_CHECK;

enum cg_err cg_store_relax(struct cg_store *s) CG_MUST_CHECK;

/* Whether puts in the caller's transaction (cg_store_add, the pseudonym
 * puts) each run in a savepoint of their own (the default): then one that
 * fails fails alone and the transaction goes on. Unguarded, a failure
 * fails the transaction, which the caller rolls back whole; the writer
 * tries each group so first (a database's savepoint is two round trips
 * per request), and again guarded when one of its jobs failed. SQLite's
 * savepoints cost no round trip: it keeps them whatever this says. */
void cg_store_guard_puts(struct cg_store *s, bool guarded);

/* Checkpoints (the WAL copied back into the file) are left to another
 * connection: the writer's commits were a third CPU in SQLite's automatic
 * checkpoint, run inside the commit that crossed 1,000 pages, while every
 * request waiting for that commit waited for it too. */
enum cg_err cg_store_leave_checkpoints(struct cg_store *s) CG_MUST_CHECK;
/* A passive checkpoint: copies what no reader needs, never waits for the
 * writer nor makes it wait. The forwarder runs one every tick. */
enum cg_err cg_store_checkpoint(struct cg_store *s) CG_MUST_CHECK;

/* The patient withdrew consent for dest: every message of dest and key
 * still queued is withdrawn (reason CG_STORE_WITHDRAWN) and no longer holds
 * the key's line; one in flight is marked so, and withdrawn if its attempt
 * fails (delivered if it went through: past recall). *count: how many were
 * withdrawn now. */
enum cg_err cg_store_withdraw(struct cg_store *s, const char *dest, const char *key,
                              const char *reason, int64_t now_ms, int64_t *count) CG_MUST_CHECK;

/* One message by id: CG_ENOENT when there is none. */
enum cg_err cg_store_get(struct cg_store *s, int64_t id, struct cg_msg *out) CG_MUST_CHECK;

/* Messages of dest (NULL: all) in each state, and the oldest acceptance
 * time of those waiting, queued or in flight (0: none). */
struct cg_store_stats {
	int64_t count[CG_MSG_STATES]; /* by enum cg_msg_state */
	int64_t oldest_waiting_ms;
};
enum cg_err cg_store_stats(struct cg_store *s, const char *dest,
                           struct cg_store_stats *out) CG_MUST_CHECK;
/* The same for each destination that has messages, in name order: cb is
 * called once per destination and may stop the walk by returning nonzero;
 * dest is valid during the call only, and cb must not call the store. */
enum cg_err cg_store_stats_by_dest(struct cg_store *s,
                                   int (*cb)(const char *dest, const struct cg_store_stats *st,
                                             void *arg),
                                   void *arg) CG_MUST_CHECK;

/* Which messages a list walks; each filter is optional. */
struct cg_store_filter {
	const char *dest, *client, *txid, *record_id; /* NULL: any */
	int state;                                    /* an enum cg_msg_state, -1: any */
	int64_t after_id;                             /* only ids above it (paging); 0: all */
	size_t limit;                                 /* at most this many; 0: no limit */
	bool with_body; /* bodies are large and patient data: read only when asked */
};
/* Sets every filter to "any" (state -1, which zeroing would not). */
void cg_store_filter_init(struct cg_store_filter *f);
/* Calls cb with each message f matches, oldest (lowest id) first, until cb
 * returns nonzero. The message and its texts are valid during the call
 * only, and cb must not call the store. Without f->with_body, m->body is
 * NULL and m->len the body's size. Paging: after_id = the last id seen. */
enum cg_err cg_store_list(struct cg_store *s, const struct cg_store_filter *f,
                          int (*cb)(const struct cg_msg *m, void *arg), void *arg) CG_MUST_CHECK;

/* An operator's second chance: a dead message goes back to the queue, due
 * at now_ms, its attempts at 0 and its outcome (status, reason, response)
 * cleared. It was holding back the rest of its key's line, which follows
 * it again. CG_ENOENT: no such message; CG_EINVAL: it is not dead. */
enum cg_err cg_store_retry(struct cg_store *s, int64_t id, int64_t now_ms) CG_MUST_CHECK;
/* The same for every dead message of dest (NULL: all); *count: how many. */
enum cg_err cg_store_retry_dead(struct cg_store *s, const char *dest, int64_t now_ms,
                                int64_t *count) CG_MUST_CHECK;

/* Deletes the messages delivered before before_ms, batch (> 0) at a time,
 * each batch in a transaction of its own with a pause after it, so that a
 * gateway writing the same file never waits long. *count: how many were
 * deleted, also when an error stopped it partway. The file does not shrink:
 * SQLite reuses the pages. */
enum cg_err cg_store_purge_delivered(struct cg_store *s, int64_t before_ms, size_t batch,
                                     int64_t *count) CG_MUST_CHECK;

/* Random pseudonyms (policy/pseudonym.h), per registry and patient
 * identifier (store_pseudonym.c). get: CG_ENOENT when there is none yet;
 * put: keeps it unless the patient has one already (then nothing changes:
 * the caller made it under the same lock that looked); resolve: the
 * identifier a pseudonym stands for, CG_ENOENT when unknown. */
enum cg_err cg_store_pseudonym_get(struct cg_store *s, const char *registry, const char *system,
                                   const char *value, char *out, size_t outlen) CG_MUST_CHECK;
enum cg_err cg_store_pseudonym_put(struct cg_store *s, const char *registry, const char *system,
                                   const char *value, const char *pseudonym,
                                   int64_t now_ms) CG_MUST_CHECK;
enum cg_err cg_store_pseudonym_resolve(struct cg_store *s, const char *registry,
                                       const char *pseudonym, char *system, size_t syslen,
                                       char *value, size_t valuelen) CG_MUST_CHECK;
/* How many the store keeps, for a registry or (NULL) all. */
enum cg_err cg_store_pseudonym_count(struct cg_store *s, const char *registry,
                                     int64_t *n) CG_MUST_CHECK;

/* Several gateways on one store (PostgreSQL; SQLite: nothing to do, one
 * gateway). renew: the leases of what this instance has in flight run on
 * from now_ms (the forwarder calls it a few times a lease). ping: whether
 * the store answers (the connection made again if it was lost). */
enum cg_err cg_store_renew(struct cg_store *s, int64_t now_ms) CG_MUST_CHECK;
enum cg_err cg_store_ping(struct cg_store *s) CG_MUST_CHECK;

/* The table's health (PostgreSQL's statistics): rows dead and alive in the
 * message table. known: false for a store without such figures (SQLite). */
struct cg_store_health {
	bool known;
	int64_t dead_tuples, live_tuples;
};
enum cg_err cg_store_health(struct cg_store *s, struct cg_store_health *out) CG_MUST_CHECK;

/* Per instance of a shared store: what each holds in flight (and until
 * when), and what each delivered and killed of what the table still keeps.
 * cb once per instance, in name order; SQLite calls it never. */
struct cg_store_instance {
	const char *name;
	int64_t in_flight, delivered, dead;
	int64_t lease_until_ms; /* the latest of its leases, 0: none */
};
enum cg_err cg_store_by_instance(struct cg_store *s,
                                 int (*cb)(const struct cg_store_instance *in, void *arg),
                                 void *arg) CG_MUST_CHECK;

#endif
