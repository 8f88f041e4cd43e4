/*
 * store_pg_internal.h: what the PostgreSQL store's two files share
 * (internal to queue/): store_pg.c (connection, schema, puts, claims and
 * outcomes) and store_pg_ops.c (stats, lists, retries, purges,
 * withdrawals, pseudonyms, instances).
 */
#ifndef CG_STORE_PG_INTERNAL_H
#define CG_STORE_PG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "buf.h"
#include "store.h"
#include "store_row.h"

#define CG_STORE_INSTANCE_MAX 128

struct pg_lease {
	int64_t id, token;
	bool settled; /* its outcome applied in the caller's open transaction */
};

struct pg_store {
	PGconn *conn;   /* NULL, or bad: made again at the next statement */
	char *conninfo; /* as libpq takes it */
	char instance[CG_STORE_INSTANCE_MAX];
	long lease_ms;
	bool owner;              /* the gateway's own (it takes back what it left in flight) */
	bool relaxed;            /* commits not waited for (the forwarder's) */
	bool tx;                 /* in the caller's transaction (begin .. commit) */
	bool unguarded;          /* puts in it without savepoints (cg_store_guard_puts) */
	struct cg_buf rd;        /* the text of what was last read */
	struct pg_lease *leases; /* the fencing tokens of what this store claimed */
	size_t nleases, capleases;
	char why[512]; /* the last failure, for the log */
};

/* A statement's parameters: text (NULL for SQL NULL) or bytes. Numbers'
 * texts live in the struct (num), pointed at by v: never copy one. */
#define PG_MAX_PARAMS 12
struct pg_params {
	int n;
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS], fmt[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};
void pg_text(struct pg_params *p, const char *v);
void pg_int(struct pg_params *p, int64_t v);
void pg_bytes(struct pg_params *p, const char *v, size_t len);

/* The connection, made again if it was lost (never within a transaction). */
bool pg_connected(struct pg_store *s);
/* Runs sql (results in binary): its result, or NULL with s->why set. */
PGresult *pg_run(struct pg_store *s, const char *sql, const struct pg_params *p);
enum cg_err pg_exec(struct pg_store *s, const char *sql, const struct pg_params *p);
/* An integer column of a binary result (int2, int4, int8, bool); 0 for NULL. */
int64_t pg_i64(const PGresult *r, int row, int col);
/* A libpq message on one line (its lines joined; thread-local copy). */
const char *pg_one_line(const char *msg);
/* Statements in a savepoint of the caller's transaction, or in a
 * transaction of their own: begin, then end with their outcome (a
 * failure rolls them back, and is returned). guard false: in the
 * caller's transaction, no savepoint (a round trip each way saved): a
 * failure then fails the caller's transaction, which the caller rolls
 * back whole. */
enum pg_sub { PG_SUB_NONE, PG_SUB_SAVEPOINT, PG_SUB_OWN };
enum cg_err pg_sub_begin(struct pg_store *s, bool guard, enum pg_sub *sub);
enum cg_err pg_sub_end(struct pg_store *s, enum pg_sub sub, enum cg_err err);
/* store_pg_claim.c: the end of the caller's transaction, for the fencing
 * tokens of what it settled (dropped when it committed, kept when not). */
void pg_leases_end(struct pg_store *s, bool committed);
/* The first waiting message of dest's key is its line's head. */
enum cg_err pg_pass_head(struct pg_store *s, const char *dest, const char *key);

/* A message in flight whose patient withdrew consent carries the reason. */
#define PG_IS_WITHDRAWN "reason = '" CG_STORE_WITHDRAWN "'"

/* The columns pg_read_row reads, body (or its length) in the middle. */
#define PG_COLUMNS_HEAD "m.id, m.txid, m.dest, m.okey, m.client, m.record_id, m.type, m.requests, "
#define PG_COLUMNS_TAIL                                                                            \
	", m.state, m.attempts, m.accepted_ms, m.next_ms, m.done_ms, m.status, m.reason, "         \
	"m.response, m.response_type"
#define PG_BODY            "(SELECT b.body FROM message_body b WHERE b.id = m.id)"
#define PG_BODY_LENGTH     "(SELECT octet_length(b.body) FROM message_body b WHERE b.id = m.id)"
#define PG_COLUMNS         PG_COLUMNS_HEAD PG_BODY PG_COLUMNS_TAIL
#define PG_COLUMNS_NO_BODY PG_COLUMNS_HEAD PG_BODY_LENGTH PG_COLUMNS_TAIL

void pg_read_row(struct pg_store *s, const PGresult *r, int row, bool with_body, struct cg_msg *m,
                 struct row_texts *t, enum cg_err *err);
void pg_set_texts(const struct pg_store *s, struct cg_msg *m, const struct row_texts *t);

#endif
