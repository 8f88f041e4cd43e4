/* store.c: the outbox's SQLite store; see store.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_sqlite.h"

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
        /* 2: what the upstream answered a dead message (its OperationOutcome),
         * and the index purging delivered messages by age walks. */
        "ALTER TABLE message ADD COLUMN response BLOB;"
        "ALTER TABLE message ADD COLUMN response_type TEXT;"
        "CREATE INDEX message_done ON message(state, done_ms);",
        /* 3: a claim reads due messages in id order: by (dest, state,
         * next_ms) it had to sort them all first (1.2 s for a claim of 50
         * behind 150,000 queued; 0.7 ms by this one, next_ms in it so that
         * messages backing off are passed over without reading the row). */
        "DROP INDEX message_due;"
        "CREATE INDEX message_claim ON message(dest, state, id, next_ms);",
        /* 4: whether a message is first in its key's line was read through
         * (dest, okey, id), every earlier message of the key, delivered
         * ones too: a claim slowed as a patient's history grew (3.6 ms for
         * 50 behind 200 delivered per key). With the state in the index it
         * is a seek per state (0.4 ms), whatever the history. */
        "CREATE INDEX message_line ON message(dest, okey, state, id);"
        "DROP INDEX message_key;",
        /* 5: the head of each key's line is marked, and a claim reads heads
         * only: it read every queued message in id order and asked of each
         * whether it was first in its line, so that 150,000 waiting behind
         * their patients' first messages (backing off, or one dead) cost
         * 100 ms and more a claim, ten claims a second. A message is put
         * head when its key has no message queued, in flight or dead; a
         * delivered one hands the mark to the next of its key; a dead one
         * keeps it (it holds its key). */
        "ALTER TABLE message ADD COLUMN head INTEGER NOT NULL DEFAULT 0;"
        "UPDATE message SET head = 1 WHERE state IN (0, 1, 3) AND NOT EXISTS (SELECT 1 "
        "FROM message p WHERE p.dest = message.dest AND p.okey = message.okey AND "
        "p.state IN (0, 1, 3) AND p.id < message.id);"
        "CREATE INDEX message_head ON message(dest, state, id, next_ms) WHERE head = 1;",
        /* 6: bodies in a table of their own. SQLite rewrites a whole row
         * when one of its columns changes, overflow pages and all: every
         * claim and every outcome wrote each message's body again (38 KB
         * written per 11 KB Bundle delivered). Now they write a row of a
         * few dozen bytes; a body is written once and deleted with its
         * message. */
        "CREATE TABLE message_body (id INTEGER PRIMARY KEY, body BLOB NOT NULL);"
        "INSERT INTO message_body (id, body) SELECT id, body FROM message;"
        "ALTER TABLE message DROP COLUMN body;"
        "CREATE TRIGGER message_gone AFTER DELETE ON message BEGIN "
        "DELETE FROM message_body WHERE id = old.id; END;",
        /* 7: random pseudonyms (issue 12, pseudonym-random): one per patient
         * and registry, made the first time and kept, committed in the
         * transaction of the first message that carries it. The only link
         * from a pseudonym back to the patient (cellgate pseudonym resolve). */
        "CREATE TABLE pseudonym (registry TEXT NOT NULL, system TEXT NOT NULL, "
        "value TEXT NOT NULL, pseudonym TEXT NOT NULL, created_ms INTEGER NOT NULL, "
        "PRIMARY KEY (registry, system, value)) WITHOUT ROWID;"
        "CREATE UNIQUE INDEX pseudonym_back ON pseudonym(registry, pseudonym);",
};

/* A message in flight whose patient withdrew consent carries the reason
 * already: what it becomes instead of queued (4, withdrawn; no head). */
#define IS_WITHDRAWN "reason = '" CG_STORE_WITHDRAWN "'"
#define STATE_OR_4   "CASE WHEN " IS_WITHDRAWN " THEN 4 ELSE 0 END"
#define HEAD_OR_0    "CASE WHEN " IS_WITHDRAWN " THEN 0 ELSE head END"

static enum cg_err
fail(struct sq_store *s, char *why, size_t whylen, const char *what)
{
	if (why)
		snprintf(why, whylen, "%s: %s", what,
		         s->db ? sqlite3_errmsg(s->db) : "out of memory");
	return CG_EIO;
}

int
store_exec(struct sq_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static int
user_version(struct sq_store *s, int *v)
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
migrate(struct sq_store *s, char *why, size_t whylen)
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
		if (store_exec(s, "BEGIN IMMEDIATE") != SQLITE_OK ||
		    store_exec(s, migrations[v]) != SQLITE_OK || store_exec(s, sql) != SQLITE_OK ||
		    store_exec(s, "COMMIT") != SQLITE_OK) {
			store_exec(s, "ROLLBACK");
			return fail(s, why, whylen, "the store's schema cannot be made");
		}
	}
	return CG_OK;
}

static int
prepare(struct sq_store *s)
{
	static const struct {
		size_t off;
		const char *sql;
	} stmts[] = {
	        {offsetof(struct sq_store, put),
	         "INSERT INTO message (txid, dest, okey, client, record_id, type, requests, "
	         "accepted_ms, next_ms, head) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9, ?10, "
	         "NOT EXISTS (SELECT 1 FROM message p WHERE p.dest = ?2 AND p.okey = ?3 AND "
	         "p.state IN (0, 1, 3)))"},
	        {offsetof(struct sq_store, put_body),
	         "INSERT INTO message_body (id, body) VALUES (?, ?)"},
	        /* Due, and first in its key's line: a head (the index holds
	         * heads only), and, whatever the marks say, no earlier message of
	         * the same destination and key still queued, in flight or dead. */
	        {offsetof(struct sq_store, claim),
	         "SELECT " COLUMNS " FROM message m WHERE m.dest = ?1 AND m.head = 1 AND "
	         "m.state = 0 AND m.next_ms <= ?2 AND NOT EXISTS (SELECT 1 FROM message p WHERE "
	         "p.dest = m.dest "
	         "AND p.okey = m.okey AND p.id < m.id AND p.state IN (0, 1, 3)) ORDER BY m.id "
	         "LIMIT ?3"},
	        {offsetof(struct sq_store, mark_flight), "UPDATE message SET state = 1, attempts = "
	                                                 "attempts + 1 WHERE id = ? AND state = 0"},
	        {offsetof(struct sq_store, delivered),
	         "UPDATE message SET state = 2, status = ?2, reason = ?3, done_ms = ?4, head = 0 "
	         "WHERE id = ?1 AND state = 1"},
	        /* The next of a delivered message's key, if any, is head now. */
	        {offsetof(struct sq_store, pass_head),
	         "UPDATE message SET head = 1 WHERE id = (SELECT min(n.id) FROM message d, "
	         "message n WHERE d.id = ?1 AND n.dest = d.dest AND n.okey = d.okey AND "
	         "n.state IN (0, 1, 3))"},
	        /* A message whose consent was withdrawn while it was in flight
	         * (cg_store_withdraw marks it) is withdrawn, not tried again. */
	        {offsetof(struct sq_store, retry),
	         "UPDATE message SET state = " STATE_OR_4 ", head = " HEAD_OR_0
	         ", status = ?2, reason = CASE WHEN " IS_WITHDRAWN " THEN reason ELSE ?3 END, "
	         "next_ms = ?4, done_ms = CASE WHEN " IS_WITHDRAWN " THEN ?4 ELSE done_ms END "
	         "WHERE id = ?1 AND state = 1"},
	        {offsetof(struct sq_store, dead),
	         "UPDATE message SET state = 3, status = ?2, reason = ?3, done_ms = ?4, "
	         "response = ?5, response_type = ?6 WHERE id = ?1 AND state IN (0, 1)"},
	        {offsetof(struct sq_store, get),
	         "SELECT " COLUMNS " FROM message m WHERE m.id = ?"},
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

/* How a store is opened: by its owner, the gateway (created if need be,
 * and what a crash left in flight back to the queue), or by another
 * process beside it (only an existing store, its messages as they are). */
enum open_how { OPEN_OWNER, OPEN_EXISTING };

static enum cg_err
open_store(const char *path, enum open_how how, struct sq_store **out, char *why, size_t whylen)
{
	struct sq_store *s = calloc(1, sizeof(*s));
	struct stat sb;
	int flags = SQLITE_OPEN_READWRITE | (how == OPEN_OWNER ? SQLITE_OPEN_CREATE : 0);
	int v = 0;
	enum cg_err err;

	*out = NULL;
	if (!s) {
		snprintf(why, whylen, "out of memory");
		return CG_ENOMEM;
	}
	cg_buf_init(&s->rd, CG_BUF_MAX_ITEMS);
	/* Told apart from a file that cannot be opened (permissions): a path
	 * mistyped must not read as a store that is there but broken. */
	if (how == OPEN_EXISTING && stat(path, &sb) != 0 && errno == ENOENT) {
		snprintf(why, whylen, "no store at %s", path);
		sq_store_close(s);
		return CG_ENOENT;
	}
	/* Patient data: a new store is the gateway's alone (SQLite would make
	 * it 0644; its -wal and -shm files take the database file's mode). */
	if (how == OPEN_OWNER) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		err = fail(s, why, whylen, "the store cannot be opened");
		sq_store_close(s);
		return err;
	}
	/* Writers of other processes (cellgate queue) wait rather than fail. */
	sqlite3_busy_timeout(s->db, 5000);
	if (how == OPEN_EXISTING && user_version(s, &v) != SQLITE_OK) {
		err = fail(s, why, whylen, "the store cannot be read (not a SQLite file?)");
		sq_store_close(s);
		return err;
	}
	/* An empty file is not a store, and is left as it is: making one is the
	 * gateway's business, not that of a process beside it. */
	if (how == OPEN_EXISTING && v == 0) {
		snprintf(why, whylen, "%s is not a cellgate store (it has no schema)", path);
		sq_store_close(s);
		return CG_EINVAL;
	}
	if (store_exec(s, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    store_exec(s, "PRAGMA synchronous = FULL") != SQLITE_OK) {
		err = fail(s, why, whylen, "the store cannot be read (not a SQLite file?)");
		sq_store_close(s);
		return err;
	}
	err = migrate(s, why, whylen);
	if (!err && prepare(s) != SQLITE_OK)
		err = fail(s, why, whylen, "the store's statements cannot be prepared");
	/* What a crash left in flight goes back to the queue: at least once. */
	if (!err && how == OPEN_OWNER &&
	    store_exec(s, "UPDATE message SET state = " STATE_OR_4 ", head = " HEAD_OR_0
	                  " WHERE state = 1") != SQLITE_OK)
		err = fail(s, why, whylen, "the store cannot be written");
	/* And every key's line has its head: the marks are kept in the same
	 * transactions as the states, so this finds none missing, unless a
	 * tool edited the file; a key without a head would wait for ever. */
	if (!err && how == OPEN_OWNER &&
	    store_exec(s,
	               "UPDATE message SET head = 1 WHERE head = 0 AND state IN (0, 1, 3) AND NOT "
	               "EXISTS (SELECT 1 FROM message p WHERE p.dest = message.dest AND p.okey = "
	               "message.okey AND p.state IN (0, 1, 3) AND p.id < message.id)") != SQLITE_OK)
		err = fail(s, why, whylen, "the store cannot be written");
	if (err) {
		sq_store_close(s);
		return err;
	}
	*out = s;
	return CG_OK;
}

enum cg_err
sq_store_open(const char *path, struct sq_store **out, char *why, size_t whylen)
{
	return open_store(path, OPEN_OWNER, out, why, whylen);
}

enum cg_err
sq_store_open_existing(const char *path, struct sq_store **out, char *why, size_t whylen)
{
	return open_store(path, OPEN_EXISTING, out, why, whylen);
}

void
sq_store_close(struct sq_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->put_body);
	sqlite3_finalize(s->claim);
	sqlite3_finalize(s->mark_flight);
	sqlite3_finalize(s->delivered);
	sqlite3_finalize(s->pass_head);
	sqlite3_finalize(s->retry);
	sqlite3_finalize(s->dead);
	sqlite3_finalize(s->get);
	sqlite3_finalize(s->purge);
	sqlite3_close_v2(s->db);
	cg_buf_free(&s->rd);
	free(s);
}

int
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows; resets it. */
int
store_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

enum cg_err
store_sql_err(int rc)
{
	return rc == SQLITE_OK ? CG_OK : rc == SQLITE_NOMEM ? CG_ENOMEM : CG_EIO;
}

enum cg_err
sq_store_begin(struct sq_store *s)
{
	return store_sql_err(store_exec(s, "BEGIN IMMEDIATE"));
}

enum cg_err
sq_store_commit(struct sq_store *s)
{
	return store_sql_err(store_exec(s, "COMMIT"));
}

void
sq_store_rollback(struct sq_store *s)
{
	store_exec(s, "ROLLBACK");
}

enum cg_err
sq_store_add(struct sq_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	size_t i;
	int rc = store_exec(s, "SAVEPOINT add_one");

	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		sqlite3_stmt *st = s->put;

		rc = store_bind_text(st, 1, in[i].txid);
		rc = rc ? rc : store_bind_text(st, 2, in[i].dest);
		rc = rc ? rc : store_bind_text(st, 3, in[i].key ? in[i].key : "");
		rc = rc ? rc : store_bind_text(st, 4, in[i].client);
		rc = rc ? rc : store_bind_text(st, 5, in[i].record_id);
		rc = rc ? rc : store_bind_text(st, 6, in[i].type);
		rc = rc ? rc : sqlite3_bind_int(st, 7, in[i].requests);
		rc = rc ? rc : sqlite3_bind_blob64(st, 8, in[i].body, in[i].len, SQLITE_STATIC);
		rc = rc ? rc : sqlite3_bind_int64(st, 9, now_ms);
		rc = rc ? rc : sqlite3_bind_int64(st, 10, now_ms);
		rc = rc ? rc : store_run(st);
		if (rc == SQLITE_OK) {
			int64_t id = sqlite3_last_insert_rowid(s->db);

			rc = sqlite3_bind_int64(s->put_body, 1, id);
			rc = rc ? rc
			        : sqlite3_bind_blob64(s->put_body, 2, in[i].body, in[i].len,
			                              SQLITE_STATIC);
			rc = rc ? rc : store_run(s->put_body);
			if (rc == SQLITE_OK && ids)
				ids[i] = id;
		}
	}
	if (rc != SQLITE_OK) {
		sqlite3_reset(s->put);
		sqlite3_clear_bindings(s->put);
		sqlite3_reset(s->put_body);
		sqlite3_clear_bindings(s->put_body);
		store_exec(s, "ROLLBACK TO add_one");
	}
	store_exec(s, "RELEASE add_one");
	return store_sql_err(rc);
}

enum cg_err
sq_store_put(struct sq_store *s, const struct cg_msg_in *in, size_t n, int64_t now_ms, int64_t *ids)
{
	enum cg_err err = sq_store_begin(s);

	if (!err)
		err = sq_store_add(s, in, n, now_ms, ids);
	if (!err)
		err = sq_store_commit(s);
	if (err)
		sq_store_rollback(s);
	return err;
}

/* Copies a text column into the read buffer; its offset, or -1 for NULL
 * (pointers are set once the buffer has stopped moving). */
static long long
keep(struct sq_store *s, sqlite3_stmt *st, int col, enum cg_err *err)
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

/* Reads a row of COLUMNS, or of COLUMNS_NO_BODY when !with_body: the body
 * is then left out (NULL) and len is its length. */
void
store_read_row(struct sq_store *s, sqlite3_stmt *st, bool with_body, struct cg_msg *m,
               struct row_texts *t, enum cg_err *err)
{
	m->id = sqlite3_column_int64(st, 0);
	t->txid = keep(s, st, 1, err);
	t->dest = keep(s, st, 2, err);
	t->key = keep(s, st, 3, err);
	t->client = keep(s, st, 4, err);
	t->record_id = keep(s, st, 5, err);
	t->type = keep(s, st, 6, err);
	m->requests = sqlite3_column_int(st, 7);
	if (with_body) {
		m->len = (size_t)sqlite3_column_bytes(st, 8);
		t->body = keep(s, st, 8, err);
	} else {
		m->len = (size_t)sqlite3_column_int64(st, 8);
		t->body = -1;
	}
	m->state = (enum cg_msg_state)sqlite3_column_int(st, 9);
	m->attempts = sqlite3_column_int(st, 10);
	m->accepted_ms = sqlite3_column_int64(st, 11);
	m->next_ms = sqlite3_column_int64(st, 12);
	m->done_ms = sqlite3_column_int64(st, 13);
	m->status = sqlite3_column_int(st, 14);
	t->reason = keep(s, st, 15, err);
	m->response_len = (size_t)sqlite3_column_bytes(st, 16);
	t->response = keep(s, st, 16, err);
	t->response_type = keep(s, st, 17, err);
}

void
store_set_texts(const struct sq_store *s, struct cg_msg *m, const struct row_texts *t)
{
	store_row_texts(s->rd.p, m, t);
}

enum cg_err
sq_store_claim(struct sq_store *s, const char *dest, int64_t now_ms, size_t max, size_t max_bytes,
               struct cg_msg *out, size_t *n, bool *more)
{
	struct row_texts *t = calloc(max ? max : 1, sizeof(*t));
	enum cg_err err = t ? CG_OK : CG_ENOMEM;
	size_t i, got = 0, kept = 0, bytes = 0;
	bool cut = false, began = false;
	int rc = SQLITE_OK;

	*n = 0;
	if (more)
		*more = false;
	if (err)
		return err;
	cg_buf_reset(&s->rd);
	/* The choice is read outside the write lock (in WAL, a read waits for
	 * nobody): it may take a while when many messages wait behind others
	 * of their key, and the gateway's writer, which cannot commit while the
	 * lock is held, found it taken at every try (all of its busy timeout:
	 * every request answered 503 while the upstream was down). Only this
	 * forwarder takes messages out of the queue, and a message leaves a
	 * state for a later one only, so that the choice still holds when the
	 * messages are marked; one that another process marked meanwhile is
	 * left out. */
	sqlite3_bind_text(s->claim, 1, dest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s->claim, 2, now_ms);
	sqlite3_bind_int64(s->claim, 3, (sqlite3_int64)max);
	while (!err && got < max && (rc = sqlite3_step(s->claim)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(s->claim, 8);

		if (got && len > max_bytes - bytes) {
			cut = true; /* left queued, for the next claim */
			break;
		}
		bytes = len < max_bytes - bytes ? bytes + len : max_bytes;
		store_read_row(s, s->claim, true, &out[got], &t[got], &err);
		got++;
	}
	sqlite3_reset(s->claim);
	sqlite3_clear_bindings(s->claim);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	if (rc == SQLITE_OK && !err && got) {
		rc = store_exec(s, "BEGIN IMMEDIATE");
		began = rc == SQLITE_OK;
	}
	for (i = 0; began && i < got && rc == SQLITE_OK; i++) {
		sqlite3_bind_int64(s->mark_flight, 1, out[i].id);
		rc = store_run(s->mark_flight);
		if (rc != SQLITE_OK || sqlite3_changes(s->db) != 1)
			continue;
		out[kept] = out[i];
		t[kept] = t[i];
		out[kept].state = CG_MSG_IN_FLIGHT;
		out[kept].attempts++;
		kept++;
	}
	if (began && rc == SQLITE_OK)
		rc = store_exec(s, "COMMIT");
	if (rc != SQLITE_OK || err) {
		if (began)
			store_exec(s, "ROLLBACK");
		free(t);
		return err ? err : CG_EIO;
	}
	for (i = 0; i < kept; i++)
		store_set_texts(s, &out[i], &t[i]);
	free(t);
	*n = kept;
	if (more)
		*more = cut || got == max;
	return CG_OK;
}

/* What became of one message: the three updates take the same values (id,
 * upstream status, reason, time) and apply to a message only in the states
 * their WHERE names; CG_ENOENT when it was in none of them. */
static enum cg_err
update(struct sq_store *s, sqlite3_stmt *st, int64_t id, int status, const char *reason, int64_t ms)
{
	int rc;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, status);
	store_bind_text(st, 3, reason);
	sqlite3_bind_int64(st, 4, ms);
	rc = store_run(st);
	if (rc != SQLITE_OK)
		return CG_EIO;
	return sqlite3_changes(s->db) == 1 ? CG_OK : CG_ENOENT;
}

enum cg_err
sq_store_delivered(struct sq_store *s, int64_t id, int status, int64_t now_ms)
{
	enum cg_err err;

	/* Both or neither: a key without a head would wait for ever. */
	if (store_exec(s, "SAVEPOINT delivered") != SQLITE_OK)
		return CG_EIO;
	err = update(s, s->delivered, id, status, NULL, now_ms);
	if (!err) {
		sqlite3_bind_int64(s->pass_head, 1, id);
		if (store_run(s->pass_head) != SQLITE_OK)
			err = CG_EIO;
	}
	if (err)
		store_exec(s, "ROLLBACK TO delivered");
	store_exec(s, "RELEASE delivered");
	return err;
}

enum cg_err
sq_store_retry_at(struct sq_store *s, int64_t id, int status, const char *reason, int64_t next_ms)
{
	enum cg_err err;

	/* One withdrawn instead (see the statement) hands its line on. */
	if (store_exec(s, "SAVEPOINT retry") != SQLITE_OK)
		return CG_EIO;
	err = update(s, s->retry, id, status, reason, next_ms);
	if (!err) {
		sqlite3_bind_int64(s->pass_head, 1, id);
		if (store_run(s->pass_head) != SQLITE_OK)
			err = CG_EIO;
	}
	if (err)
		store_exec(s, "ROLLBACK TO retry");
	store_exec(s, "RELEASE retry");
	return err;
}

enum cg_err
sq_store_dead(struct sq_store *s, int64_t id, int status, const char *reason, const char *response,
              size_t response_len, const char *response_type, int64_t now_ms)
{
	/* The values the others do not take; update() runs the statement and
	 * clears them with the rest. */
	if (response)
		sqlite3_bind_blob64(s->dead, 5, response, response_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(s->dead, 5);
	store_bind_text(s->dead, 6, response ? response_type : NULL);
	return update(s, s->dead, id, status, reason, now_ms);
}

enum cg_err
sq_store_get(struct sq_store *s, int64_t id, struct cg_msg *out)
{
	struct row_texts t;
	enum cg_err err = CG_OK;
	int rc;

	cg_buf_reset(&s->rd);
	sqlite3_bind_int64(s->get, 1, id);
	rc = sqlite3_step(s->get);
	if (rc == SQLITE_ROW)
		store_read_row(s, s->get, true, out, &t, &err);
	sqlite3_reset(s->get);
	sqlite3_clear_bindings(s->get);
	if (rc == SQLITE_DONE)
		return CG_ENOENT;
	if (rc != SQLITE_ROW)
		return CG_EIO;
	if (!err)
		store_set_texts(s, out, &t);
	return err;
}

enum cg_err
sq_store_relax(struct sq_store *s)
{
	return store_sql_err(store_exec(s, "PRAGMA synchronous = NORMAL"));
}

enum cg_err
sq_store_leave_checkpoints(struct sq_store *s)
{
	return store_sql_err(store_exec(s, "PRAGMA wal_autocheckpoint = 0"));
}

enum cg_err
sq_store_checkpoint(struct sq_store *s)
{
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);

	return rc == SQLITE_OK || rc == SQLITE_BUSY ? CG_OK : store_sql_err(rc);
}
