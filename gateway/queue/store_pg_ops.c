/* store_pg_ops.c: the PostgreSQL store's stats, lists, retries of dead
 * messages, purges, withdrawals, pseudonyms and instances: what reads or
 * changes many messages at once; see store_pg.h and store_sqlite_ops.c,
 * whose rules these are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_pg.h"
#include "store_pg_internal.h"

/* Waiting: queued or in flight. */
#define OLDEST_WAITING "min(CASE WHEN state IN (0, 1) THEN accepted_ms END)"

static void
add_group(struct cg_store_stats *out, const PGresult *r, int row, int col)
{
	int state = (int)pg_i64(r, row, col);
	int64_t oldest = pg_i64(r, row, col + 2);

	if (state >= 0 && state < CG_MSG_STATES)
		out->count[state] += pg_i64(r, row, col + 1);
	if (!PQgetisnull(r, row, col + 2) &&
	    (!out->oldest_waiting_ms || oldest < out->oldest_waiting_ms))
		out->oldest_waiting_ms = oldest;
}

enum cg_err
pg_store_stats(struct pg_store *s, const char *dest, struct cg_store_stats *out)
{
	struct pg_params p = {0};
	PGresult *r;
	int i;

	memset(out, 0, sizeof(*out));
	pg_text(&p, dest);
	r = pg_run(s,
	           "SELECT state, count(*), " OLDEST_WAITING
	           " FROM message WHERE $1::text IS NULL OR dest = $1 GROUP BY state",
	           &p);
	if (!r)
		return CG_EIO;
	for (i = 0; i < PQntuples(r); i++)
		add_group(out, r, i, 0);
	PQclear(r);
	return CG_OK;
}

enum cg_err
pg_store_stats_by_dest(struct pg_store *s,
                       int (*cb)(const char *dest, const struct cg_store_stats *st, void *arg),
                       void *arg)
{
	struct cg_store_stats cur;
	PGresult *r = pg_run(s,
	                     "SELECT dest, state, count(*), " OLDEST_WAITING
	                     " FROM message GROUP BY dest, state ORDER BY dest, state",
	                     NULL);
	int i, n;

	if (!r)
		return CG_EIO;
	n = PQntuples(r);
	memset(&cur, 0, sizeof(cur));
	for (i = 0; i < n; i++) {
		add_group(&cur, r, i, 1);
		if (i + 1 == n || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i + 1, 0)) != 0) {
			if (cb(PQgetvalue(r, i, 0), &cur, arg))
				break;
			memset(&cur, 0, sizeof(cur));
		}
	}
	PQclear(r);
	return CG_OK;
}

enum cg_err
pg_store_list(struct pg_store *s, const struct cg_store_filter *f,
              int (*cb)(const struct cg_msg *m, void *arg), void *arg)
{
	const char *text[] = {f->dest, f->client, f->txid, f->record_id};
	static const char *const col[] = {"dest", "client", "txid", "record_id"};
	struct pg_params p = {0};
	struct row_texts t;
	struct cg_msg m;
	enum cg_err err = CG_OK;
	char sql[1024];
	size_t len, i;
	PGresult *r;
	int row;

	/* The statement made of the fixed conditions of the filters given,
	 * never of their values, which are parameters. */
	len = (size_t)snprintf(sql, sizeof(sql), "SELECT %s FROM message m WHERE m.id > $1",
	                       f->with_body ? PG_COLUMNS : PG_COLUMNS_NO_BODY);
	pg_int(&p, f->after_id);
	for (i = 0; i < 4; i++)
		if (text[i]) {
			pg_text(&p, text[i]);
			len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND m.%s = $%d",
			                        col[i], p.n);
		}
	if (f->state >= 0) {
		pg_int(&p, f->state);
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " AND m.state = $%d", p.n);
	}
	if (f->limit) {
		pg_int(&p, (int64_t)f->limit);
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " ORDER BY m.id LIMIT $%d",
		                        p.n);
	} else {
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, " ORDER BY m.id");
	}
	if (len >= sizeof(sql))
		return CG_EIO; /* never cut: a cut statement could mean another */
	r = pg_run(s, sql, &p);
	if (!r)
		return CG_EIO;
	for (row = 0; row < PQntuples(r) && !err; row++) {
		cg_buf_reset(&s->rd);
		pg_read_row(s, r, row, f->with_body, &m, &t, &err);
		if (err)
			break;
		pg_set_texts(s, &m, &t);
		if (cb(&m, arg))
			break;
	}
	PQclear(r);
	return err;
}

/* A dead message's outcome is cleared with it (see store_sqlite_ops.c). */
#define BACK_TO_QUEUE                                                                              \
	"UPDATE message SET state = 0, attempts = 0, next_ms = $2, done_ms = NULL, status = "      \
	"NULL, reason = NULL, response = NULL, response_type = NULL, owner = NULL, lease = NULL, " \
	"lease_until = NULL "

enum cg_err
pg_store_retry(struct pg_store *s, int64_t id, int64_t now_ms)
{
	struct pg_params p = {0};
	PGresult *r;
	int changed;

	pg_int(&p, id);
	pg_int(&p, now_ms);
	r = pg_run(s, BACK_TO_QUEUE "WHERE id = $1 AND state = 3", &p);
	if (!r)
		return CG_EIO;
	changed = atoi(PQcmdTuples(r));
	PQclear(r);
	if (changed == 1)
		return CG_OK;
	p.n = 1;
	r = pg_run(s, "SELECT 1 FROM message WHERE id = $1", &p);
	if (!r)
		return CG_EIO;
	changed = PQntuples(r);
	PQclear(r);
	return changed ? CG_EINVAL : CG_ENOENT;
}

enum cg_err
pg_store_retry_dead(struct pg_store *s, const char *dest, int64_t now_ms, int64_t *count)
{
	struct pg_params p = {0};
	PGresult *r;

	*count = 0;
	pg_text(&p, dest);
	pg_int(&p, now_ms);
	r = pg_run(s, BACK_TO_QUEUE "WHERE state = 3 AND ($1::text IS NULL OR dest = $1)", &p);
	if (!r)
		return CG_EIO;
	*count = atoll(PQcmdTuples(r));
	PQclear(r);
	return CG_OK;
}

/* Deletes up to batch messages in the given states done before before_ms:
 * oldest first, those another gateway is deleting passed over; bodies go
 * with them (ON DELETE CASCADE). */
static enum cg_err
purge_batch(struct pg_store *s, const char *states, int64_t before_ms, size_t batch, int64_t *count)
{
	struct pg_params p = {0};
	char sql[512];
	PGresult *r;

	snprintf(sql, sizeof(sql),
	         "DELETE FROM message WHERE id IN (SELECT id FROM message WHERE state IN (%s) AND "
	         "done_ms < $1 ORDER BY done_ms LIMIT $2 FOR UPDATE SKIP LOCKED)",
	         states);
	pg_int(&p, before_ms);
	pg_int(&p, (int64_t)batch);
	r = pg_run(s, sql, &p);
	if (!r)
		return CG_EIO;
	*count = atoll(PQcmdTuples(r));
	PQclear(r);
	return CG_OK;
}

enum cg_err
pg_store_purge_some(struct pg_store *s, int64_t before_ms, size_t batch, int64_t *count)
{
	*count = 0;
	return purge_batch(s, "2, 4", before_ms, batch, count);
}

enum cg_err
pg_store_purge_delivered(struct pg_store *s, int64_t before_ms, size_t batch, int64_t *count)
{
	int64_t n;
	enum cg_err err;

	*count = 0;
	if (batch == 0)
		return CG_EINVAL;
	/* Each batch its own transaction: no long one, which would hold back
	 * vacuum for the whole table while it runs. */
	do {
		err = purge_batch(s, "2", before_ms, batch, &n);
		if (!err)
			*count += n;
	} while (!err && n == (int64_t)batch);
	return err;
}

enum cg_err
pg_store_withdraw(struct pg_store *s, const char *dest, const char *key, const char *reason,
                  int64_t now_ms, int64_t *count)
{
	struct pg_params line = {0}, p = {0};
	enum cg_err err;
	PGresult *r = NULL;
	enum pg_sub sub;
	int i;

	*count = 0;
	err = pg_sub_begin(s, true, &sub);
	if (err)
		return err;
	pg_text(&line, dest);
	pg_text(&line, key);
	pg_text(&p, dest);
	pg_text(&p, key);
	pg_text(&p, reason);
	pg_int(&p, now_ms);
	/* The line's rows locked in id order first, as a delivery takes them
	 * (its message, then the next, which it makes head): a withdrawal and
	 * a delivery of one patient never wait for each other both ways. */
	err = pg_exec(s,
	              "SELECT id FROM message WHERE dest = $1 AND okey = $2 AND state IN (0, 1) "
	              "ORDER BY id FOR UPDATE",
	              &line);
	/* queued: withdrawn now; in flight: marked, withdrawn if its attempt
	 * fails, left delivered if it went through */
	if (!err) {
		r = pg_run(
		        s,
		        "UPDATE message SET state = CASE state WHEN 0 THEN 4 ELSE state END, "
		        "head = CASE state WHEN 0 THEN false ELSE head END, reason = $3, "
		        "done_ms = CASE state WHEN 0 THEN $4 ELSE done_ms END WHERE dest = $1 AND "
		        "okey = $2 AND state IN (0, 1) RETURNING state",
		        &p);
		err = r ? CG_OK : CG_EIO;
	}
	for (i = 0; r && i < PQntuples(r); i++)
		if (pg_i64(r, i, 0) == CG_MSG_WITHDRAWN)
			(*count)++;
	PQclear(r);
	/* What is left of the line (in flight, dead) has its head again. */
	if (!err)
		err = pg_pass_head(s, dest, key);
	err = pg_sub_end(s, sub, err);
	if (err)
		*count = 0;
	return err;
}

static void
copy_text(const PGresult *r, int col, char *out, size_t len)
{
	snprintf(out, len, "%.*s", PQgetlength(r, 0, col), PQgetvalue(r, 0, col));
}

enum cg_err
pg_store_pseudonym_get(struct pg_store *s, const char *registry, const char *system,
                       const char *value, char *out, size_t outlen)
{
	struct pg_params p = {0};
	enum cg_err result;
	PGresult *r;

	pg_text(&p, registry);
	pg_text(&p, system);
	pg_text(&p, value);
	r = pg_run(
	        s,
	        "SELECT pseudonym FROM pseudonym WHERE registry = $1 AND system = $2 AND value = "
	        "$3",
	        &p);
	if (!r)
		return CG_EIO;
	result = PQntuples(r) == 1 ? CG_OK : CG_ENOENT;
	if (!result)
		copy_text(r, 0, out, outlen);
	PQclear(r);
	return result;
}

static enum cg_err pseudonym_put(struct pg_store *s, const char *registry, const char *system,
                                 const char *value, const char *pseudonym, int64_t now_ms);

/* In the caller's transaction (the writer's group), in a savepoint: a put
 * that fails (a deadlock, a unique violation) fails its job alone, and
 * does not abort the group's transaction. */
enum cg_err
pg_store_pseudonym_put(struct pg_store *s, const char *registry, const char *system,
                       const char *value, const char *pseudonym, int64_t now_ms)
{
	enum cg_err err;
	enum pg_sub sub;

	/* In a savepoint of the writer's group: a put that fails (another
	 * writer's deadlock victim) fails its own job, not the group; none
	 * when the writer tries the group without (cg_store_guard_puts). */
	err = pg_sub_begin(s, !s->unguarded, &sub);
	if (!err)
		err = pg_sub_end(s, sub,
		                 pseudonym_put(s, registry, system, value, pseudonym, now_ms));
	return err;
}

static enum cg_err
pseudonym_put(struct pg_store *s, const char *registry, const char *system, const char *value,
              const char *pseudonym, int64_t now_ms)
{
	struct pg_params p = {0};
	char kept[256];
	enum cg_err err;
	PGresult *r;
	int made;

	pg_text(&p, registry);
	pg_text(&p, system);
	pg_text(&p, value);
	pg_text(&p, pseudonym);
	pg_int(&p, now_ms);
	r = pg_run(s,
	           "INSERT INTO pseudonym (registry, system, value, pseudonym, created_ms) VALUES "
	           "($1, $2, $3, $4, $5) ON CONFLICT (registry, system, value) DO NOTHING",
	           &p);
	if (!r)
		return CG_EIO;
	made = atoi(PQcmdTuples(r));
	PQclear(r);
	if (made)
		return CG_OK;
	/* The patient has one: the same (this gateway made it before), or
	 * another gateway's, made meanwhile: then this one must not be used,
	 * nor what carries it be kept (CG_EINVAL: the caller drops its own
	 * and reads the store's). */
	err = pg_store_pseudonym_get(s, registry, system, value, kept, sizeof(kept));
	if (err)
		return err == CG_ENOENT ? CG_EIO : err;
	return strcmp(kept, pseudonym) == 0 ? CG_OK : CG_EINVAL;
}

enum cg_err
pg_store_pseudonym_resolve(struct pg_store *s, const char *registry, const char *pseudonym,
                           char *system, size_t syslen, char *value, size_t valuelen)
{
	struct pg_params p = {0};
	enum cg_err result;
	PGresult *r;

	pg_text(&p, registry);
	pg_text(&p, pseudonym);
	r = pg_run(s, "SELECT system, value FROM pseudonym WHERE registry = $1 AND pseudonym = $2",
	           &p);
	if (!r)
		return CG_EIO;
	result = PQntuples(r) == 1 ? CG_OK : CG_ENOENT;
	if (!result) {
		copy_text(r, 0, system, syslen);
		copy_text(r, 1, value, valuelen);
	}
	PQclear(r);
	return result;
}

enum cg_err
pg_store_pseudonym_count(struct pg_store *s, const char *registry, int64_t *n)
{
	struct pg_params p = {0};
	PGresult *r;

	*n = 0;
	pg_text(&p, registry);
	r = pg_run(s, "SELECT count(*) FROM pseudonym WHERE $1::text IS NULL OR registry = $1", &p);
	if (!r)
		return CG_EIO;
	*n = pg_i64(r, 0, 0);
	PQclear(r);
	return CG_OK;
}

enum cg_err
pg_store_health(struct pg_store *s, struct cg_store_health *out)
{
	PGresult *r =
	        pg_run(s,
	               "SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relname = "
	               "'message' AND schemaname = current_schema()",
	               NULL);

	memset(out, 0, sizeof(*out));
	if (!r)
		return CG_EIO;
	if (PQntuples(r) == 1) {
		out->known = true;
		out->dead_tuples = pg_i64(r, 0, 0);
		out->live_tuples = pg_i64(r, 0, 1);
	}
	PQclear(r);
	return CG_OK;
}

enum cg_err
pg_store_by_instance(struct pg_store *s, int (*cb)(const struct cg_store_instance *in, void *arg),
                     void *arg)
{
	PGresult *r =
	        pg_run(s,
	               "SELECT owner, count(*) FILTER (WHERE state = 1), count(*) FILTER "
	               "(WHERE state = 2), count(*) FILTER (WHERE state = 3), "
	               "max(lease_until) FILTER (WHERE state = 1) FROM message WHERE owner IS "
	               "NOT NULL GROUP BY owner ORDER BY owner",
	               NULL);
	int i;

	if (!r)
		return CG_EIO;
	for (i = 0; i < PQntuples(r); i++) {
		struct cg_store_instance in = {.name = PQgetvalue(r, i, 0),
		                               .in_flight = pg_i64(r, i, 1),
		                               .delivered = pg_i64(r, i, 2),
		                               .dead = pg_i64(r, i, 3),
		                               .lease_until_ms = pg_i64(r, i, 4)};

		if (cb(&in, arg))
			break;
	}
	PQclear(r);
	return CG_OK;
}
