/*
 * store_pg.h: the outbox's PostgreSQL store (internal to queue/; store.c
 * hands store.h's calls to it when the store is a database): the SQLite
 * store's schema, states and rules, for several gateways at once.
 *
 * What differs, because several gateways share the table:
 * - A claim takes due heads of their key's lines with FOR UPDATE SKIP
 *   LOCKED and gives each a lease: this instance's name, a fencing token
 *   (a sequence's next value) and an expiry. An outcome applies only under
 *   the token it was claimed with: a gateway whose lease was taken over
 *   (it stalled past the expiry, another claimed the message again) records
 *   nothing, so a message is never recorded delivered twice.
 * - A crashed gateway's messages in flight are claimed again by the others
 *   once their leases expire; its own, at once, when it starts again under
 *   the same instance name. A running gateway renews its leases
 *   (cg_store_renew), so that a long delivery is not taken over.
 * - The head marks: a new message of a key is head when its key has no
 *   message waiting; the first waiting message is read FOR SHARE in the
 *   same statement, so that a delivery handing the mark on waits for the
 *   insert to commit and then sees it (no key left without a head). A claim
 *   still checks that nothing earlier of the key waits (marks may be one
 *   too many under concurrency, never one too few).
 * - Every call is synchronous, on the thread that owns the store (the
 *   writer's, the forwarder's): no event loop serving clients waits for it.
 *   A lost connection is made again at the next call; a call that fails
 *   is an error to its caller, which tries again (the forwarder) or
 *   answers 503 (the writer's jobs).
 */
#ifndef CG_STORE_PG_H
#define CG_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct pg_store;

/* store.h's calls, one by one, for the PostgreSQL store; where: a libpq
 * connection string or URI. */
enum cg_err pg_store_open(const char *path, struct pg_store **out, char *why, size_t whylen);
enum cg_err pg_store_open_existing(const char *path, struct pg_store **out, char *why,
                                   size_t whylen);
void pg_store_close(struct pg_store *s);
enum cg_err pg_store_put(struct pg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms,
                         int64_t *ids);
enum cg_err pg_store_begin(struct pg_store *s);
enum cg_err pg_store_add(struct pg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms,
                         int64_t *ids);
enum cg_err pg_store_commit(struct pg_store *s);
void pg_store_rollback(struct pg_store *s);
enum cg_err pg_store_claim(struct pg_store *s, const char *dest, int64_t now_ms, size_t max,
                           size_t max_bytes, struct cg_msg *out, size_t *n, bool *more);
enum cg_err pg_store_delivered(struct pg_store *s, int64_t id, int status, int64_t now_ms);
enum cg_err pg_store_retry_at(struct pg_store *s, int64_t id, int status, const char *reason,
                              int64_t next_ms);
enum cg_err pg_store_dead(struct pg_store *s, int64_t id, int status, const char *reason,
                          const char *response, size_t response_len, const char *response_type,
                          int64_t now_ms);
enum cg_err pg_store_purge_some(struct pg_store *s, int64_t before_ms, size_t batch,
                                int64_t *count);
enum cg_err pg_store_relax(struct pg_store *s);
void pg_store_guard_puts(struct pg_store *s, bool guarded);
enum cg_err pg_store_leave_checkpoints(struct pg_store *s);
enum cg_err pg_store_checkpoint(struct pg_store *s);
enum cg_err pg_store_withdraw(struct pg_store *s, const char *dest, const char *key,
                              const char *reason, int64_t now_ms, int64_t *count);
enum cg_err pg_store_get(struct pg_store *s, int64_t id, struct cg_msg *out);
enum cg_err pg_store_stats(struct pg_store *s, const char *dest, struct cg_store_stats *out);
enum cg_err pg_store_stats_by_dest(struct pg_store *s,
                                   int (*cb)(const char *dest, const struct cg_store_stats *st,
                                             void *arg),
                                   void *arg);
enum cg_err pg_store_list(struct pg_store *s, const struct cg_store_filter *f,
                          int (*cb)(const struct cg_msg *m, void *arg), void *arg);
enum cg_err pg_store_retry(struct pg_store *s, int64_t id, int64_t now_ms);
enum cg_err pg_store_retry_dead(struct pg_store *s, const char *dest, int64_t now_ms,
                                int64_t *count);
enum cg_err pg_store_purge_delivered(struct pg_store *s, int64_t before_ms, size_t batch,
                                     int64_t *count);
enum cg_err pg_store_pseudonym_get(struct pg_store *s, const char *registry, const char *system,
                                   const char *value, char *out, size_t outlen);
enum cg_err pg_store_pseudonym_put(struct pg_store *s, const char *registry, const char *system,
                                   const char *value, const char *pseudonym, int64_t now_ms);
enum cg_err pg_store_pseudonym_resolve(struct pg_store *s, const char *registry,
                                       const char *pseudonym, char *system, size_t syslen,
                                       char *value, size_t valuelen);
enum cg_err pg_store_pseudonym_count(struct pg_store *s, const char *registry, int64_t *n);

enum cg_err pg_store_renew(struct pg_store *s, int64_t now_ms);
enum cg_err pg_store_ping(struct pg_store *s);
enum cg_err pg_store_health(struct pg_store *s, struct cg_store_health *out);
enum cg_err pg_store_by_instance(struct pg_store *s,
                                 int (*cb)(const struct cg_store_instance *in, void *arg),
                                 void *arg);
const char *pg_store_instance(const struct pg_store *s);

#endif
