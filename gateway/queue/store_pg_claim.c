/* store_pg_claim.c: the PostgreSQL store's claims under leases, their
 * outcomes under the fencing token, and the leases' renewal; see
 * store_pg.h for the design. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_pg.h"
#include "store_pg_internal.h"

/* The fencing tokens of the messages this store claimed, until their
 * outcome is written: few (what is in flight), looked up by id. */
static enum cg_err
lease_keep(struct pg_store *s, int64_t id, int64_t token)
{
	size_t i;

	for (i = 0; i < s->nleases; i++)
		if (s->leases[i].id == id) {
			s->leases[i].token = token;
			s->leases[i].settled = false;
			return CG_OK;
		}
	if (s->nleases == s->capleases) {
		size_t cap = s->capleases ? s->capleases * 2 : 64;
		struct pg_lease *l = realloc(s->leases, cap * sizeof(*l));

		if (!l)
			return CG_ENOMEM;
		s->leases = l;
		s->capleases = cap;
	}
	s->leases[s->nleases].id = id;
	s->leases[s->nleases].token = token;
	s->leases[s->nleases].settled = false;
	s->nleases++;
	return CG_OK;
}

/* The token id was claimed with, or -1 (matches no lease). */
static int64_t
lease_of(const struct pg_store *s, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nleases; i++)
		if (s->leases[i].id == id)
			return s->leases[i].token;
	return -1;
}

static void
lease_drop(struct pg_store *s, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nleases; i++)
		if (s->leases[i].id == id) {
			/* within the caller's transaction: dropped at its commit,
			 * kept if it is rolled back (the outcome is tried again) */
			if (s->tx)
				s->leases[i].settled = true;
			else
				s->leases[i] = s->leases[--s->nleases];
			return;
		}
}

/* The end of the caller's transaction: what it settled is dropped when it
 * committed, kept for another try when it did not. */
void
pg_leases_end(struct pg_store *s, bool committed)
{
	size_t i = 0;

	while (i < s->nleases) {
		if (s->leases[i].settled && committed) {
			s->leases[i] = s->leases[--s->nleases];
			continue;
		}
		s->leases[i++].settled = false;
	}
}

/* A claim's candidates: due heads of dest (queued and due, or in flight
 * under a lease that ended), first in their key's line whatever the marks
 * say, oldest first, locked for this transaction; those another gateway is
 * claiming are passed over. "First in its line" is asked as a subquery per
 * candidate (min of the line's index), not as NOT EXISTS: the planner made
 * that an anti-join filtering every waiting message for each candidate
 * (18 ms a claim behind 2,000 waiting) whenever its statistics said the
 * table was small. A message whose patient withdrew consent while
 * it was in flight is not one of them (withdraw_lapsed takes it). */
#define CANDIDATES_SQL                                                                             \
	"SELECT c.id, (SELECT octet_length(b.body) FROM message_body b WHERE b.id = c.id) FROM "   \
	"message c WHERE c.dest = $1 AND c.head AND c.state IN (0, 1) AND ((c.state = 0 AND "      \
	"c.next_ms <= $2) OR (c.state = 1 AND c.lease_until < $2 AND c.reason IS DISTINCT FROM "   \
	"'" CG_STORE_WITHDRAWN "')) AND (SELECT min(p.id) FROM message p WHERE p.dest = c.dest "   \
	"AND p.okey = c.okey AND p.state IN (0, 1, 3)) = c.id ORDER BY c.id LIMIT $3 FOR UPDATE "  \
	"OF c SKIP LOCKED"

/* One claimer a line at a time: the candidates' lines are locked (for the
 * transaction; a line another claimer holds is passed over), and then, in
 * a statement of its own, so that it sees what that claimer committed, a
 * candidate is claimed only if it is still first in its line and no other
 * message of the line is in flight: gateways commit in any order, and a
 * message whose id is lower than one already in flight (its commit came
 * later) must wait for that one, not go beside it. */
#define LOCK_LINES_SQL                                                                             \
	"SELECT id FROM message WHERE id = ANY($1::bigint[]) AND "                                 \
	"pg_try_advisory_xact_lock(hashtext(dest), hashtext(okey))"

#define CLAIM_SQL                                                                                  \
	"UPDATE message m SET state = 1, attempts = attempts + 1, owner = $2, lease = "            \
	"nextval('message_lease'), lease_until = $3 WHERE id = ANY($1::bigint[]) AND (SELECT "     \
	"min(p.id) FROM message p WHERE p.dest = m.dest AND p.okey = m.okey AND p.state IN (0, "   \
	"1, 3)) = m.id AND (SELECT min(f.id) FROM message f WHERE f.dest = m.dest AND f.okey = "   \
	"m.okey AND f.state = 1 AND f.id <> m.id) IS NULL RETURNING " PG_COLUMNS ", lease"

/* Messages in flight whose gateway is gone (their lease ended) and whose
 * patient withdrew consent meanwhile: withdrawn, their lines handed on. */
static enum cg_err
withdraw_lapsed(struct pg_store *s, const char *dest, int64_t now_ms)
{
	struct pg_params p = {0};
	PGresult *r;
	enum cg_err err = CG_OK;
	int i;

	pg_text(&p, dest);
	pg_int(&p, now_ms);
	r = pg_run(s,
	           "UPDATE message SET state = 4, head = false, done_ms = $2, lease_until = NULL "
	           "WHERE id IN (SELECT id FROM message WHERE dest = $1 AND state = 1 AND "
	           "lease_until < $2 AND " PG_IS_WITHDRAWN
	           " FOR UPDATE SKIP LOCKED) RETURNING okey",
	           &p);
	if (!r)
		return CG_EIO;
	for (i = 0; i < PQntuples(r) && !err; i++)
		err = pg_pass_head(s, dest, PQgetvalue(r, i, 0));
	PQclear(r);
	return err;
}

enum cg_err
pg_pass_head(struct pg_store *s, const char *dest, const char *key)
{
	struct pg_params p = {0};

	pg_text(&p, dest);
	pg_text(&p, key);
	return pg_exec(s,
	               "UPDATE message SET head = true WHERE id = (SELECT min(id) FROM message "
	               "WHERE dest = $1 AND okey = $2 AND state IN (0, 1, 3)) AND NOT head",
	               &p);
}

static int
by_id(const void *a, const void *b)
{
	const struct cg_msg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

enum cg_err
pg_store_claim(struct pg_store *s, const char *dest, int64_t now_ms, size_t max, size_t max_bytes,
               struct cg_msg *out, size_t *n, bool *more)
{
	struct pg_params p = {0}, q = {0};
	struct row_texts *t = NULL;
	PGresult *r = NULL, *c = NULL;
	enum cg_err err;
	struct cg_buf ids;
	size_t i, got = 0, bytes = 0, cands;
	bool cut = false;
	enum pg_sub sub;

	*n = 0;
	if (more)
		*more = false;
	if (!max)
		return CG_OK;
	cg_buf_reset(&s->rd);
	cg_buf_init(&ids, CG_BUF_MAX_SCRATCH); /* 1,000 ids of 20 digits at most */
	err = pg_sub_begin(s, true, &sub);
	if (!err)
		err = withdraw_lapsed(s, dest, now_ms);
	if (!err) {
		pg_text(&p, dest);
		pg_int(&p, now_ms);
		pg_int(&p, (int64_t)max);
		c = pg_run(s, CANDIDATES_SQL, &p);
		err = c ? CG_OK : CG_EIO;
	}
	cands = c ? (size_t)PQntuples(c) : 0;
	/* No more than max_bytes of bodies, but the first whatever its size:
	 * the rest stay queued (and unlocked at the commit) for the next. */
	err = err ? err : cg_buf_addc(&ids, '{');
	for (i = 0; !err && i < cands; i++) {
		size_t len = (size_t)pg_i64(c, (int)i, 1);
		char num[24];

		if (got && len > max_bytes - bytes) {
			cut = true;
			break;
		}
		bytes = len < max_bytes - bytes ? bytes + len : max_bytes;
		snprintf(num, sizeof(num), "%s%lld", got ? "," : "",
		         (long long)pg_i64(c, (int)i, 0));
		err = cg_buf_add(&ids, num, strlen(num));
		got++;
	}
	err = err ? err : cg_buf_add(&ids, "}", 2);
	if (!err && got) { /* the lines this claim may take, as ids again */
		struct pg_params l = {0};
		PGresult *locked;
		int row;

		pg_text(&l, ids.p);
		locked = pg_run(s, LOCK_LINES_SQL, &l);
		err = locked ? CG_OK : CG_EIO;
		cg_buf_reset(&ids);
		err = err ? err : cg_buf_addc(&ids, '{');
		for (row = 0; !err && row < PQntuples(locked); row++)
			err = cg_buf_printf(&ids, "%s%lld", row ? "," : "",
			                    (long long)pg_i64(locked, row, 0));
		err = err ? err : cg_buf_add(&ids, "}", 2);
		got = locked ? (size_t)PQntuples(locked) : 0;
		PQclear(locked);
	}
	if (!err && got) {
		pg_text(&q, ids.p);
		pg_text(&q, s->instance);
		pg_int(&q, now_ms + s->lease_ms);
		r = pg_run(s, CLAIM_SQL, &q);
		err = r ? CG_OK : CG_EIO;
	}
	got = r ? (size_t)PQntuples(r) : 0;
	if (!err && got > max)
		err = CG_EIO;
	if (!err && got && !(t = calloc(got, sizeof(*t))))
		err = CG_ENOMEM;
	for (i = 0; !err && i < got; i++) {
		pg_read_row(s, r, (int)i, true, &out[i], &t[i], &err);
		if (!err)
			err = lease_keep(s, out[i].id, pg_i64(r, (int)i, 18));
	}
	err = pg_sub_end(s, sub, err);
	PQclear(c);
	PQclear(r);
	cg_buf_free(&ids);
	if (err) {
		for (i = 0; i < got; i++)
			lease_drop(s, out[i].id);
		free(t);
		return err;
	}
	for (i = 0; i < got; i++)
		pg_set_texts(s, &out[i], &t[i]);
	free(t);
	qsort(out, got, sizeof(*out), by_id);
	*n = got;
	if (more)
		*more = cut || cands == max;
	return CG_OK;
}

/* One outcome under the message's lease: the statement (its $1 the id, $2
 * the token) returns the key when it applied; then, when pass is set or
 * the statement returns true in its third column, the next of the key is
 * head. CG_ENOENT: not (or no longer) this store's in flight. In the
 * caller's transaction no savepoint: the forwarder settles a batch all or
 * nothing (a failure rolls the batch's outcomes back, to be written
 * again), so one would cost two round trips per message for nothing. */
static enum cg_err
outcome(struct pg_store *s, int64_t id, const char *sql, struct pg_params *p, bool pass)
{
	enum cg_err err;
	PGresult *r;
	enum pg_sub sub;

	err = pg_sub_begin(s, false, &sub);
	if (err)
		return err;
	r = pg_run(s, sql, p);
	if (!r)
		err = CG_EIO;
	else if (PQntuples(r) != 1)
		err = CG_ENOENT;
	else if (pass || (PQnfields(r) > 2 && pg_i64(r, 0, 2)))
		err = pg_pass_head(s, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	PQclear(r);
	err = pg_sub_end(s, sub, err);
	/* settled, or not (no longer) ours: the token is done with (at the
	 * commit of the caller's transaction); kept when the store failed,
	 * for the outcome tried again */
	if (err != CG_EIO)
		lease_drop(s, id);
	return err;
}

/* An outcome's first parameters: $1 the message's id, $2 the token it was
 * claimed with (-1, matching no lease, when this store holds none). Not a
 * struct returned by value: its numbers' texts live in it, pointed at. */
static void
lease_params(struct pg_params *p, const struct pg_store *s, int64_t id)
{
	pg_int(p, id);
	pg_int(p, lease_of(s, id));
}

enum cg_err
pg_store_delivered(struct pg_store *s, int64_t id, int status, int64_t now_ms)
{
	struct pg_params p = {0};

	lease_params(&p, s, id);
	pg_int(&p, status);
	pg_int(&p, now_ms);
	return outcome(
	        s, id,
	        "UPDATE message SET state = 2, status = $3, reason = NULL, done_ms = $4, head "
	        "= false, lease_until = NULL WHERE id = $1 AND state = 1 AND lease = $2 "
	        "RETURNING dest, okey",
	        &p, true);
}

enum cg_err
pg_store_retry_at(struct pg_store *s, int64_t id, int status, const char *reason, int64_t next_ms)
{
	struct pg_params p = {0};

	lease_params(&p, s, id);
	pg_int(&p, status);
	pg_text(&p, reason);
	pg_int(&p, next_ms);
	/* One whose consent was withdrawn in flight is withdrawn, not tried
	 * again, and hands its line on. */
	return outcome(
	        s, id,
	        "UPDATE message SET state = CASE WHEN " PG_IS_WITHDRAWN
	        " THEN 4 ELSE 0 END, head = CASE WHEN " PG_IS_WITHDRAWN
	        " THEN false ELSE head END, status = $3, reason = CASE WHEN " PG_IS_WITHDRAWN
	        " THEN reason ELSE $4 END, next_ms = $5, done_ms = CASE WHEN " PG_IS_WITHDRAWN
	        " THEN $5 ELSE done_ms END, owner = NULL, lease = NULL, lease_until = NULL "
	        "WHERE id = $1 AND state = 1 AND lease = $2 RETURNING dest, okey, state = 4",
	        &p, false);
}

enum cg_err
pg_store_dead(struct pg_store *s, int64_t id, int status, const char *reason, const char *response,
              size_t response_len, const char *response_type, int64_t now_ms)
{
	struct pg_params p = {0};

	lease_params(&p, s, id);
	pg_int(&p, status);
	pg_text(&p, reason);
	pg_int(&p, now_ms);
	if (response)
		pg_bytes(&p, response, response_len);
	else
		pg_text(&p, NULL);
	pg_text(&p, response ? response_type : NULL);
	/* Queued (it cannot be sent at all), or in flight under our lease. A
	 * dead message keeps its head: it holds its line. */
	return outcome(s, id,
	               "UPDATE message SET state = 3, status = $3, reason = $4, done_ms = $5, "
	               "response = $6, response_type = $7, lease_until = NULL WHERE id = $1 AND "
	               "(state = 0 OR (state = 1 AND lease = $2)) RETURNING dest, okey",
	               &p, false);
}

enum cg_err
pg_store_renew(struct pg_store *s, int64_t now_ms)
{
	struct pg_params p = {0};
	struct cg_buf tokens;
	enum cg_err err = CG_OK;
	size_t i;

	if (!s->nleases)
		return CG_OK;
	/* Only the leases this store knows it holds: a claim whose answer was
	 * lost with its connection (committed all the same), or an outcome
	 * lost with a rolled-back transaction, is not kept alive for ever. */
	cg_buf_init(&tokens, CG_BUF_MAX_ITEMS);
	err = cg_buf_addc(&tokens, '{');
	for (i = 0; i < s->nleases && !err; i++)
		err = cg_buf_printf(&tokens, "%s%lld", i ? "," : "", (long long)s->leases[i].token);
	err = err ? err : cg_buf_add(&tokens, "}", 2);
	if (!err) {
		pg_text(&p, s->instance);
		pg_int(&p, now_ms + s->lease_ms);
		pg_text(&p, tokens.p);
		/* Rows another transaction holds (a commit share-locking its
		 * line's first) are renewed at the next call: never waited for. */
		err = pg_exec(
		        s,
		        "UPDATE message SET lease_until = $2 WHERE id IN (SELECT id FROM "
		        "message WHERE owner = $1 AND state = 1 AND lease = ANY($3::bigint[]) "
		        "FOR UPDATE SKIP LOCKED)",
		        &p);
	}
	cg_buf_free(&tokens);
	return err;
}
