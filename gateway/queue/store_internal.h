/*
 * store_internal.h: what the store's two files share (internal to queue/):
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

struct cg_store {
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

/* The offsets of a row's texts, until the pointers can be set. */
struct row_texts {
	long long txid, dest, key, client, record_id, type, body, reason, response, response_type;
};

/* sqlite3_exec of sql on s's connection. */
int store_exec(struct cg_store *s, const char *sql);
/* Binds v as text, or NULL. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Runs a statement that returns no rows; resets it. */
int store_run(sqlite3_stmt *st);
enum cg_err store_sql_err(int rc);
/* Reads a row of COLUMNS (or COLUMNS_NO_BODY) into m, its texts copied into
 * the read buffer at offsets in t; store_set_texts points m at them once the
 * buffer stops moving. */
void store_read_row(struct cg_store *s, sqlite3_stmt *st, bool with_body, struct cg_msg *m,
                    struct row_texts *t, enum cg_err *err);
void store_set_texts(const struct cg_store *s, struct cg_msg *m, const struct row_texts *t);

#endif
