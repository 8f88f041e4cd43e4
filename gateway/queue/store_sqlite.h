/*
 * store_sqlite.h: what the store's two files share (internal to queue/):
 * store.c, the schema and the gateway's own path (open, put, claim, the
 * outcomes), and store_ops.c, what reads or changes many messages at once
 * (stats, lists, retries of dead messages, purges, withdrawals).
 */
#ifndef CG_STORE_INTERNAL_H
#define CG_STORE_INTERNAL_H

#include <stdbool.h>

#include <sqlite3.h>

#include "buf.h"
#include "store.h"
#include "store_row.h"

struct sq_store {
	sqlite3 *db;
	sqlite3_stmt *put, *put_body, *claim, *mark_flight, *delivered, *pass_head, *retry, *dead,
	        *get;
	sqlite3_stmt *purge; /* made at the first cg_store_purge_some */
	struct cg_buf rd;    /* the text of what was last read */
};

/* The columns read_row reads, body in the middle: a list without bodies
 * reads their length in its place. */
#define COLUMNS_HEAD "m.id, txid, dest, okey, client, record_id, type, requests, "
#define COLUMNS_TAIL                                                                               \
	", state, attempts, accepted_ms, next_ms, done_ms, status, reason, response, "             \
	"response_type"
#define BODY            "(SELECT b.body FROM message_body b WHERE b.id = m.id)"
#define BODY_LENGTH     "(SELECT length(b.body) FROM message_body b WHERE b.id = m.id)"
#define COLUMNS         COLUMNS_HEAD BODY COLUMNS_TAIL /* of message m */
#define COLUMNS_NO_BODY COLUMNS_HEAD BODY_LENGTH COLUMNS_TAIL

/* sqlite3_exec of sql on s's connection. */
int store_exec(struct sq_store *s, const char *sql);
/* Binds v as text, or NULL. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Runs a statement that returns no rows; resets it. */
int store_run(sqlite3_stmt *st);
enum cg_err store_sql_err(int rc);
/* Reads a row of COLUMNS (or COLUMNS_NO_BODY) into m, its texts copied into
 * the read buffer at offsets in t; store_set_texts points m at them once the
 * buffer stops moving. */
void store_read_row(struct sq_store *s, sqlite3_stmt *st, bool with_body, struct cg_msg *m,
                    struct row_texts *t, enum cg_err *err);
void store_set_texts(const struct sq_store *s, struct cg_msg *m, const struct row_texts *t);

/* store.h's calls, one by one, for the SQLite store. */
enum cg_err sq_store_open(const char *path, struct sq_store **out, char *why, size_t whylen);
enum cg_err sq_store_open_existing(const char *path, struct sq_store **out, char *why,
                                   size_t whylen);
void sq_store_close(struct sq_store *s);
enum cg_err sq_store_put(struct sq_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms,
                         int64_t *ids);
enum cg_err sq_store_begin(struct sq_store *s);
enum cg_err sq_store_add(struct sq_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms,
                         int64_t *ids);
enum cg_err sq_store_commit(struct sq_store *s);
void sq_store_rollback(struct sq_store *s);
enum cg_err sq_store_claim(struct sq_store *s, const char *dest, int64_t now_ms, size_t max,
                           size_t max_bytes, struct cg_msg *out, size_t *n, bool *more);
enum cg_err sq_store_delivered(struct sq_store *s, int64_t id, int status, int64_t now_ms);
enum cg_err sq_store_retry_at(struct sq_store *s, int64_t id, int status, const char *reason,
                              int64_t next_ms);
enum cg_err sq_store_dead(struct sq_store *s, int64_t id, int status, const char *reason,
                          const char *response, size_t response_len, const char *response_type,
                          int64_t now_ms);
enum cg_err sq_store_purge_some(struct sq_store *s, int64_t before_ms, size_t batch,
                                int64_t *count);
enum cg_err sq_store_relax(struct sq_store *s);
enum cg_err sq_store_leave_checkpoints(struct sq_store *s);
enum cg_err sq_store_checkpoint(struct sq_store *s);
enum cg_err sq_store_withdraw(struct sq_store *s, const char *dest, const char *key,
                              const char *reason, int64_t now_ms, int64_t *count);
enum cg_err sq_store_get(struct sq_store *s, int64_t id, struct cg_msg *out);
enum cg_err sq_store_stats(struct sq_store *s, const char *dest, struct cg_store_stats *out);
enum cg_err sq_store_stats_by_dest(struct sq_store *s,
                                   int (*cb)(const char *dest, const struct cg_store_stats *st,
                                             void *arg),
                                   void *arg);
enum cg_err sq_store_list(struct sq_store *s, const struct cg_store_filter *f,
                          int (*cb)(const struct cg_msg *m, void *arg), void *arg);
enum cg_err sq_store_retry(struct sq_store *s, int64_t id, int64_t now_ms);
enum cg_err sq_store_retry_dead(struct sq_store *s, const char *dest, int64_t now_ms,
                                int64_t *count);
enum cg_err sq_store_purge_delivered(struct sq_store *s, int64_t before_ms, size_t batch,
                                     int64_t *count);
enum cg_err sq_store_pseudonym_get(struct sq_store *s, const char *registry, const char *system,
                                   const char *value, char *out, size_t outlen);
enum cg_err sq_store_pseudonym_put(struct sq_store *s, const char *registry, const char *system,
                                   const char *value, const char *pseudonym, int64_t now_ms);
enum cg_err sq_store_pseudonym_resolve(struct sq_store *s, const char *registry,
                                       const char *pseudonym, char *system, size_t syslen,
                                       char *value, size_t valuelen);
enum cg_err sq_store_pseudonym_count(struct sq_store *s, const char *registry, int64_t *n);

#endif
