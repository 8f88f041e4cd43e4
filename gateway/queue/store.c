/* store.c: the outbox's SQLite store; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

struct cg_store {
	sqlite3 *db;
	sqlite3_stmt *put, *claim, *mark_flight, *delivered, *retry, *dead, *get;
	struct cg_buf rd; /* the text of what was last read */
};

/* The schema, one step per version: step i takes version i to i + 1. */
static const char *const migrations[] = {
        "CREATE TABLE message ("
        " id INTEGER PRIMARY KEY,"
        " txid TEXT NOT NULL,"
        " dest TEXT NOT NULL,"
        " okey TEXT NOT NULL,"
        " client TEXT,"
        " record_id TEXT,"
        " type TEXT NOT NULL,"
        " requests INTEGER NOT NULL DEFAULT 0,"
        " body BLOB NOT NULL,"
        " state INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " accepted_ms INTEGER NOT NULL,"
        " next_ms INTEGER NOT NULL,"
        " done_ms INTEGER,"
        " status INTEGER,"
        " reason TEXT);"
        "CREATE INDEX message_due ON message(dest, state, next_ms);"
        "CREATE INDEX message_key ON message(dest, okey, id);"
        "CREATE INDEX message_tx ON message(txid);"
        "CREATE INDEX message_record ON message(record_id);",
};

#define COLUMNS                                                                                    \
	"id, txid, dest, okey, client, record_id, type, requests, body, state, attempts, "         \
	"accepted_ms, next_ms, done_ms, status, reason"

static enum cg_err
fail(struct cg_store *s, char *why, size_t whylen, const char *what)
{
	if (why)
		snprintf(why, whylen, "%s: %s", what,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return CG_EIO;
}

static int
exec(struct cg_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static int
user_version(struct cg_store *s, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Brings the schema to CG_STORE_SCHEMA_VERSION, each step in a transaction
 * of its own with the version it makes. */
static enum cg_err
migrate(struct cg_store *s, char *why, size_t whylen)
{
	int v = 0;
	char sql[64];

	if (user_version(s, &v) != SQLITE_OK)
		return fail(s, why, whylen, "the store cannot be read (not a SQLite file?)");
	if (v > CG_STORE_SCHEMA_VERSION) {
		snprintf(why, whylen,
		         "the store's schema is version %d, newer than this cellgate's %d: use a "
		         "newer cellgate",
		         v, CG_STORE_SCHEMA_VERSION);
		return CG_EINVAL;
	}
	for (; v < CG_STORE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (exec(s, "BEGIN IMMEDIATE") != SQLITE_OK ||
		    exec(s, migrations[v]) != SQLITE_OK || exec(s, sql) != SQLITE_OK ||
		    exec(s, "COMMIT") != SQLITE_OK) {
			exec(s, "ROLLBACK");
			return fail(s, why, whylen, "the store's schema cannot be made");
		}
	}
	return CG_OK;
}

static int
prepare(struct cg_store *s)
{
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
	        {offsetof(struct cg_store, put),
	         "INSERT INTO message (txid, dest, okey, client, record_id, type, requests, body, "
	         "accepted_ms, next_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
	        /* Due, and first in its key's line: no earlier message of the
	         * same destination and key still queued, in flight or dead. */
	        {offsetof(struct cg_store, claim),
	         "SELECT " COLUMNS " FROM message m WHERE m.dest = ?1 AND m.state = 0 AND "
	         "m.next_ms <= ?2 AND NOT EXISTS (SELECT 1 FROM message p WHERE p.dest = m.dest "
	         "AND p.okey = m.okey AND p.id < m.id AND p.state IN (0, 1, 3)) ORDER BY m.id "
	         "LIMIT ?3"},
	        {offsetof(struct cg_store, mark_flight),
	         "UPDATE message SET state = 1, attempts = attempts + 1 WHERE id = ?"},
	        {offsetof(struct cg_store, delivered),
	         "UPDATE message SET state = 2, status = ?2, reason = ?3, done_ms = ?4 "
	         "WHERE id = ?1 AND state = 1"},
	        {offsetof(struct cg_store, retry),
	         "UPDATE message SET state = 0, status = ?2, reason = ?3, next_ms = ?4 "
	         "WHERE id = ?1 AND state = 1"},
	        {offsetof(struct cg_store, dead),
	         "UPDATE message SET state = 3, status = ?2, reason = ?3, done_ms = ?4 "
	         "WHERE id = ?1 AND state IN (0, 1)"},
	        {offsetof(struct cg_store, get), "SELECT " COLUMNS " FROM message WHERE id = ?"},
	};
	size_t i;

	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		sqlite3_stmt **st = (sqlite3_stmt **)(void *)((char *)s + stmts[i].off);
		int rc = sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, st,
		                            NULL);

		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

enum cg_err
cg_store_open(const char *path, struct cg_store **out, char *why, size_t whylen)
{
	struct cg_store *s = calloc(1, sizeof(*s));
	enum cg_err err;

	*out = NULL;
	if (!s) {
		snprintf(why, whylen, "out of memory");
		return CG_ENOMEM;
	}
	cg_buf_init(&s->rd, CG_BUF_MAX_ITEMS);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		err = fail(s, why, whylen, "the store cannot be opened");
		cg_store_close(s);
		return err;
	}
	/* Writers of other processes (cellgate queue) wait rather than fail. */
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    exec(s, "PRAGMA synchronous = FULL") != SQLITE_OK) {
		err = fail(s, why, whylen, "the store cannot be read (not a SQLite file?)");
		cg_store_close(s);
		return err;
	}
	err = migrate(s, why, whylen);
	if (!err && prepare(s) != SQLITE_OK)
		err = fail(s, why, whylen, "the store's statements cannot be prepared");
	/* What a crash left in flight goes back to the queue: at least once. */
	if (!err && exec(s, "UPDATE message SET state = 0 WHERE state = 1") != SQLITE_OK)
		err = fail(s, why, whylen, "the store cannot be written");
	if (err) {
		cg_store_close(s);
		return err;
	}
	*out = s;
	return CG_OK;
}

void
cg_store_close(struct cg_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->claim);
	sqlite3_finalize(s->mark_flight);
	sqlite3_finalize(s->delivered);
	sqlite3_finalize(s->retry);
	sqlite3_finalize(s->dead);
	sqlite3_finalize(s->get);
	sqlite3_close_v2(s->db);
	cg_buf_free(&s->rd);
	free(s);
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows; resets it. */
static int
run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static enum cg_err
sql_err(int rc)
{
	return rc == SQLITE_OK ? CG_OK : rc == SQLITE_NOMEM ? CG_ENOMEM : CG_EIO;
}

enum cg_err
cg_store_begin(struct cg_store *s)
{
	return sql_err(exec(s, "BEGIN IMMEDIATE"));
}

enum cg_err
cg_store_commit(struct cg_store *s)
{
	return sql_err(exec(s, "COMMIT"));
}

void
cg_store_rollback(struct cg_store *s)
{
	exec(s, "ROLLBACK");
}

enum cg_err
cg_store_add(struct cg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	size_t i;
	int rc = exec(s, "SAVEPOINT add_one");

	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		sqlite3_stmt *st = s->put;

		rc = bind_text(st, 1, in[i].txid);
		rc = rc ? rc : bind_text(st, 2, in[i].dest);
		rc = rc ? rc : bind_text(st, 3, in[i].key ? in[i].key : "");
		rc = rc ? rc : bind_text(st, 4, in[i].client);
		rc = rc ? rc : bind_text(st, 5, in[i].record_id);
		rc = rc ? rc : bind_text(st, 6, in[i].type);
		rc = rc ? rc : sqlite3_bind_int(st, 7, in[i].requests);
		rc = rc ? rc : sqlite3_bind_blob64(st, 8, in[i].body, in[i].len, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_int64(st, 9, now_ms);
		rc = rc ? rc : sqlite3_bind_int64(st, 10, now_ms);
		rc = rc ? rc : run(st);
		if (rc == SQLITE_OK && ids)
			ids[i] = sqlite3_last_insert_rowid(s->db);
	}
	if (rc != SQLITE_OK) {
		sqlite3_reset(s->put);
		sqlite3_clear_bindings(s->put);
		exec(s, "ROLLBACK TO add_one");
	}
	exec(s, "RELEASE add_one");
	return sql_err(rc);
}

enum cg_err
cg_store_put(struct cg_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	enum cg_err err = cg_store_begin(s);

	if (!err)
		err = cg_store_add(s, in, n, now_ms, ids);
	if (!err)
		err = cg_store_commit(s);
	if (err)
		cg_store_rollback(s);
	return err;
}

/* Copies a text column into the read buffer; its offset, or -1 for NULL
 * (pointers are set once the buffer has stopped moving). */
static long long
keep(struct cg_store *s, sqlite3_stmt *st, int col, enum cg_err *err)
{
	const void *p = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	size_t at = s->rd.len;

	if (sqlite3_column_type(st, col) == SQLITE_NULL || *err)
		return -1;
	*err = cg_buf_add(&s->rd, p ? p : "", n);
	if (!*err)
		*err = cg_buf_addc(&s->rd, '\0');
	return (long long)at;
}

/* The offsets of a row's texts, until the pointers can be set. */
struct row_texts {
	long long txid, dest, key, client, record_id, type, body, reason;
};

static void
read_row(struct cg_store *s, sqlite3_stmt *st, struct cg_msg *m, struct row_texts *t,
         enum cg_err *err)
{
	m->id = sqlite3_column_int64(st, 0);
	t->txid = keep(s, st, 1, err);
	t->dest = keep(s, st, 2, err);
	t->key = keep(s, st, 3, err);
	t->client = keep(s, st, 4, err);
	t->record_id = keep(s, st, 5, err);
	t->type = keep(s, st, 6, err);
	m->requests = sqlite3_column_int(st, 7) != 0;
	m->len = (size_t)sqlite3_column_bytes(st, 8);
	t->body = keep(s, st, 8, err);
	m->state = (enum cg_msg_state)sqlite3_column_int(st, 9);
	m->attempts = sqlite3_column_int(st, 10);
	m->accepted_ms = sqlite3_column_int64(st, 11);
	m->next_ms = sqlite3_column_int64(st, 12);
	m->done_ms = sqlite3_column_int64(st, 13);
	m->status = sqlite3_column_int(st, 14);
	t->reason = keep(s, st, 15, err);
}

static const char *
at(const struct cg_store *s, long long off)
{
	return off < 0 ? NULL : s->rd.p + off;
}

static void
set_texts(const struct cg_store *s, struct cg_msg *m, const struct row_texts *t)
{
	m->txid = at(s, t->txid);
	m->dest = at(s, t->dest);
	m->key = at(s, t->key);
	m->client = at(s, t->client);
	m->record_id = at(s, t->record_id);
	m->type = at(s, t->type);
	m->body = at(s, t->body);
	m->reason = at(s, t->reason);
}

enum cg_err
cg_store_claim(struct cg_store *s, const char *dest, int64_t now_ms, size_t max, struct cg_msg *out,
               size_t *n)
{
	struct row_texts *t = calloc(max ? max : 1, sizeof(*t));
	enum cg_err err = t ? CG_OK : CG_ENOMEM;
	size_t i, got = 0;
	int rc;

	*n = 0;
	if (err)
		return err;
	cg_buf_reset(&s->rd);
	rc = exec(s, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s->claim, 1, dest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->claim, 2, now_ms);
		sqlite3_bind_int64(s->claim, 3, (sqlite3_int64)max);
		while (!err && got < max && (rc = sqlite3_step(s->claim)) == SQLITE_ROW) {
			read_row(s, s->claim, &out[got], &t[got], &err);
			got++;
		}
		sqlite3_reset(s->claim);
		sqlite3_clear_bindings(s->claim);
		if (rc == SQLITE_DONE || rc == SQLITE_ROW)
			rc = SQLITE_OK;
	}
	for (i = 0; i < got && rc == SQLITE_OK && !err; i++) {
		sqlite3_bind_int64(s->mark_flight, 1, out[i].id);
		rc = run(s->mark_flight);
		out[i].state = CG_MSG_IN_FLIGHT;
		out[i].attempts++;
	}
	if (rc == SQLITE_OK && !err)
		rc = exec(s, "COMMIT");
	if (rc != SQLITE_OK || err) {
		exec(s, "ROLLBACK");
		free(t);
		return err ? err : CG_EIO;
	}
	for (i = 0; i < got; i++)
		set_texts(s, &out[i], &t[i]);
	free(t);
	*n = got;
	return CG_OK;
}

/* What became of one message: the three updates take the same values (id,
 * upstream status, reason, time) and apply to a message only in the states
 * their WHERE names; CG_ENOENT when it was in none of them. */
static enum cg_err
update(struct cg_store *s, sqlite3_stmt *st, int64_t id, int status, const char *reason, int64_t ms)
{
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, status);
	bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, ms);
	rc = run(st);
	if (rc != SQLITE_OK)
		return CG_EIO;
	return sqlite3_changes(s->db) == 1 ? CG_OK : CG_ENOENT;
}

enum cg_err
cg_store_delivered(struct cg_store *s, int64_t id, int status, int64_t now_ms)
{
	return update(s, s->delivered, id, status, NULL, now_ms);
}

enum cg_err
cg_store_retry_at(struct cg_store *s, int64_t id, int status, const char *reason, int64_t next_ms)
{
	return update(s, s->retry, id, status, reason, next_ms);
}

enum cg_err
cg_store_dead(struct cg_store *s, int64_t id, int status, const char *reason, int64_t now_ms)
{
	return update(s, s->dead, id, status, reason, now_ms);
}

enum cg_err
cg_store_get(struct cg_store *s, int64_t id, struct cg_msg *out)
{
	struct row_texts t;
	enum cg_err err = CG_OK;
	int rc;

	cg_buf_reset(&s->rd);
	sqlite3_bind_int64(s->get, 1, id);
	rc = sqlite3_step(s->get);
	if (rc == SQLITE_ROW)
		read_row(s, s->get, out, &t, &err);
	sqlite3_reset(s->get);
	sqlite3_clear_bindings(s->get);
	if (rc == SQLITE_DONE)
		return CG_ENOENT;
	if (rc != SQLITE_ROW)
		return CG_EIO;
	if (!err)
		set_texts(s, out, &t);
	return err;
}

enum cg_err
cg_store_stats(struct cg_store *s, const char *dest, struct cg_store_stats *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT state, count(*), min(CASE WHEN state != 2 THEN accepted_ms "
	                        "END) FROM message WHERE ?1 IS NULL OR dest = ?1 GROUP BY state",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	bind_text(st, 1, dest);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int state = sqlite3_column_int(st, 0);
		int64_t oldest = sqlite3_column_int64(st, 2);

		if (state >= 0 && state < 4)
			out->count[state] = sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    (!out->oldest_waiting_ms || oldest < out->oldest_waiting_ms))
			out->oldest_waiting_ms = oldest;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CG_OK : CG_EIO;
}

enum cg_err
cg_store_relax(struct cg_store *s)
{
	return sql_err(exec(s, "PRAGMA synchronous = NORMAL"));
}
