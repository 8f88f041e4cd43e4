/* store_ops.c: stats, lists, retries of dead messages, purges and
 * withdrawals: what reads or changes many messages at once; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "store.h"
#include "store_sqlite.h"

/* Adds one (destination, state) group to stats: its count and the oldest
 * acceptance time of its waiting messages (NULL for the others). */
static void
add_group(struct cg_store_stats *out, sqlite3_stmt *st, int col)
{
	int state = sqlite3_column_int(st, col);
	int64_t oldest = sqlite3_column_int64(st, col + 2);

	if (state >= 0 && state < CG_MSG_STATES)
		out->count[state] += sqlite3_column_int64(st, col + 1);
	if (sqlite3_column_type(st, col + 2) != SQLITE_NULL &&
	    (!out->oldest_waiting_ms || oldest < out->oldest_waiting_ms))
		out->oldest_waiting_ms = oldest;
}

/* Waiting: queued or in flight. A dead message is not waiting for anything
 * but an operator, and has a count of its own. */
#define OLDEST_WAITING "min(CASE WHEN state IN (0, 1) THEN accepted_ms END)"

enum cg_err
sq_store_stats(struct sq_store *s, const char *dest, struct cg_store_stats *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT state, count(*), " OLDEST_WAITING
	                        " FROM message WHERE ?1 IS NULL OR dest = ?1 GROUP BY state",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	store_bind_text(st, 1, dest);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		add_group(out, st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CG_OK : CG_EIO;
}

enum cg_err
sq_store_stats_by_dest(struct sq_store *s,
                       int (*cb)(const char *dest, const struct cg_store_stats *st, void *arg),
                       void *arg)
{
	struct cg_store_stats cur;
	sqlite3_stmt *st;
	enum cg_err err = CG_OK;
	bool have = false; /* a destination in cur, its name in s->rd */
	int rc, stop = 0;

	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT dest, state, count(*), " OLDEST_WAITING
	                        " FROM message GROUP BY dest, state ORDER BY dest, state",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	cg_buf_reset(&s->rd); /* the current destination's name */
	memset(&cur, 0, sizeof(cur));
	while (!err && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *dest = (const char *)sqlite3_column_text(st, 0);

		if (!dest)
			dest = "";
		if (have && strcmp(s->rd.p, dest) != 0) {
			stop = cb(s->rd.p, &cur, arg);
			memset(&cur, 0, sizeof(cur));
			cg_buf_reset(&s->rd);
			have = false;
		}
		if (!stop && !have) {
			err = cg_buf_add(&s->rd, dest, strlen(dest) + 1);
			have = !err;
		}
		if (!stop && !err)
			add_group(&cur, st, 1);
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return CG_EIO;
	if (!stop && have)
		cb(s->rd.p, &cur, arg);
	return CG_OK;
}

/* The statement of a list: its text made of the fixed conditions of the
 * filters given, never of their values, which are bound. */
static int
list_prepare(struct sq_store *s, const struct cg_store_filter *f, sqlite3_stmt **st)
{
	const char *text[] = {f->dest, f->client, f->txid, f->record_id};
	static const char *const cond[] = {" AND dest = ?", " AND client = ?", " AND txid = ?",
	                                   " AND record_id = ?"};
	char sql[1024]; /* the columns and every condition fit (checked below) */
	size_t i, len;
	int rc, k = 1;

	len = (size_t)snprintf(sql, sizeof(sql), "SELECT %s FROM message m WHERE m.id > ?",
	                       f->with_body ? COLUMNS : COLUMNS_NO_BODY);
	for (i = 0; i < 4; i++)
		if (text[i])
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s", cond[i]);
	if (f->state >= 0)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND state = ?");
	if ((size_t)snprintf(sql + len, sizeof(sql) - len, " ORDER BY m.id LIMIT ?") >=
	    sizeof(sql) - len)
		return SQLITE_TOOBIG; /* never cut: a cut statement could mean another */
	rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_bind_int64(*st, k++, f->after_id);
	for (i = 0; i < 4 && rc == SQLITE_OK; i++)
		if (text[i])
			rc = store_bind_text(*st, k++, text[i]);
	if (rc == SQLITE_OK && f->state >= 0)
		rc = sqlite3_bind_int(*st, k++, f->state);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(*st, k, f->limit ? (sqlite3_int64)f->limit : -1);
	return rc;
}

enum cg_err
sq_store_list(struct sq_store *s, const struct cg_store_filter *f,
              int (*cb)(const struct cg_msg *m, void *arg), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct row_texts t;
	struct cg_msg m;
	enum cg_err err = CG_OK;
	int rc = list_prepare(s, f, &st);

	while (rc == SQLITE_OK && !err) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		memset(&m, 0, sizeof(m));
		cg_buf_reset(&s->rd);
		store_read_row(s, st, f->with_body, &m, &t, &err);
		if (err)
			break;
		store_set_texts(s, &m, &t);
		if (cb(&m, arg))
			break;
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	return rc == SQLITE_OK || rc == SQLITE_DONE ? CG_OK : store_sql_err(rc);
}

/* A dead message's outcome is cleared with it: if it dies again, it gets a
 * new one; until then it is a queued message like any other. */
#define BACK_TO_QUEUE                                                                              \
	"UPDATE message SET state = 0, attempts = 0, next_ms = ?2, done_ms = NULL, status = "      \
	"NULL, reason = NULL, response = NULL, response_type = NULL "

enum cg_err
sq_store_retry(struct sq_store *s, int64_t id, int64_t now_ms)
{
	sqlite3_stmt *st;
	int rc, changed;

	rc = sqlite3_prepare_v2(s->db, BACK_TO_QUEUE "WHERE id = ?1 AND state = 3", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	changed = sqlite3_changes(s->db);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_sql_err(rc);
	if (changed == 1)
		return CG_OK;
	/* Unchanged: there is no such message, or it is not dead. */
	rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM message WHERE id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return CG_EINVAL;
	return rc == SQLITE_DONE ? CG_ENOENT : CG_EIO;
}

enum cg_err
sq_store_retry_dead(struct sq_store *s, const char *dest, int64_t now_ms, int64_t *count)
{
	sqlite3_stmt *st;
	int rc;

	*count = 0;
	rc = sqlite3_prepare_v2(s->db,
	                        BACK_TO_QUEUE "WHERE state = 3 AND (?1 IS NULL OR dest = ?1)", -1,
	                        &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	store_bind_text(st, 1, dest);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*count = sqlite3_changes64(s->db);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CG_OK : store_sql_err(rc);
}

enum cg_err
sq_store_purge_delivered(struct sq_store *s, int64_t before_ms, size_t batch, int64_t *count)
{
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	*count = 0;
	if (batch == 0)
		return CG_EINVAL;
	rc = sqlite3_prepare_v2(s->db,
	                        "DELETE FROM message WHERE id IN (SELECT id FROM message WHERE "
	                        "state = 2 AND done_ms < ?1 LIMIT ?2)",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return CG_EIO;
	sqlite3_bind_int64(st, 1, before_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)batch);
	do {
		/* Each batch its own transaction (the statement's). */
		int64_t began = cg_clock_mono_ms();

		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			break;
		n = sqlite3_changes64(s->db);
		*count += n;
		/* A writer waiting for the file (the gateway) polls for it, it
		 * does not queue: leave it as long a gap as the batch took, or
		 * the next batch could take the lock before it each time. */
		if (n == (int64_t)batch) {
			int64_t took = cg_clock_mono_ms() - began;

			sqlite3_sleep((int)(took < 1000 ? took : 1000) + 1);
		}
	} while (n == (int64_t)batch);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CG_OK : store_sql_err(rc);
}

enum cg_err
sq_store_purge_some(struct sq_store *s, int64_t before_ms, size_t batch, int64_t *count)
{
	sqlite3_stmt *st;
	int rc;

	*count = 0;
	if (!s->purge) {
		rc = sqlite3_prepare_v3(s->db,
		                        "DELETE FROM message WHERE id IN (SELECT id FROM message "
		                        "WHERE state IN (2, 4) AND done_ms < ?1 LIMIT ?2)",
		                        -1, SQLITE_PREPARE_PERSISTENT, &s->purge, NULL);
		if (rc != SQLITE_OK)
			return CG_EIO;
	}
	st = s->purge;
	sqlite3_bind_int64(st, 1, before_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)batch);
	rc = store_run(st);
	if (rc == SQLITE_OK)
		*count = sqlite3_changes64(s->db);
	return store_sql_err(rc);
}

static int
count_withdrawn(struct sq_store *s, const char *dest, const char *key, int64_t now_ms,
                int64_t *count)
{
	sqlite3_stmt *st;
	int rc =
	        sqlite3_prepare_v2(s->db,
	                           "SELECT count(*) FROM message WHERE dest = ?1 AND okey = ?2 AND "
	                           "state = 4 AND done_ms = ?3",
	                           -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	store_bind_text(st, 1, dest);
	store_bind_text(st, 2, key);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

enum cg_err
sq_store_withdraw(struct sq_store *s, const char *dest, const char *key, const char *reason,
                  int64_t now_ms, int64_t *count)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*count = 0;
	if (store_exec(s, "SAVEPOINT withdraw") != SQLITE_OK)
		return CG_EIO;
	/* queued: withdrawn now; in flight: marked, withdrawn if its attempt
	 * fails (retry_at), left delivered if it went through */
	rc = sqlite3_prepare_v2(
	        s->db,
	        "UPDATE message SET state = CASE state WHEN 0 THEN 4 ELSE state END, "
	        "head = CASE state WHEN 0 THEN 0 ELSE head END, reason = ?3, "
	        "done_ms = CASE state WHEN 0 THEN ?4 ELSE done_ms END "
	        "WHERE dest = ?1 AND okey = ?2 AND state IN (0, 1)",
	        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		store_bind_text(st, 1, dest);
		store_bind_text(st, 2, key);
		store_bind_text(st, 3, reason);
		sqlite3_bind_int64(st, 4, now_ms);
		rc = store_run(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK) /* the ones withdrawn now */
		rc = count_withdrawn(s, dest, key, now_ms, count);
	/* What is left of the line (in flight, dead) has its head again. */
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		        s->db,
		        "UPDATE message SET head = 1 WHERE id = (SELECT min(id) FROM "
		        "message WHERE dest = ?1 AND okey = ?2 AND state IN (0, 1, 3))",
		        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		store_bind_text(st, 1, dest);
		store_bind_text(st, 2, key);
		rc = store_run(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		*count = 0;
		store_exec(s, "ROLLBACK TO withdraw");
	}
	store_exec(s, "RELEASE withdraw");
	return store_sql_err(rc);
}
