/* test_store_pg_review.c: an adversarial review of the PostgreSQL store
 * (issue 14): several gateways' writers and forwarders on one database.
 * Each case states an invariant the store claims (store_pg.h) and drives
 * the store's calls in the order that breaks it. Runs against a real server
 * (pg/test_store_pg_review); without one, every case is skipped. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <libpq-fe.h>

#include "store.h"
#include "store_pg.h"
#include "store_pg_internal.h"
#include "support.h"

static long long
count(const char *where, const char *sql)
{
	return test_pg_int(where, sql);
}

/* 1. The writer's group (writer.c commit_group): a statement that fails
 * outside a savepoint (a pseudonym put: unique violation, deadlock,
 * statement timeout) aborts PostgreSQL's whole transaction; COMMIT then
 * answers "ROLLBACK" with PGRES_COMMAND_OK, and cg_store_commit says
 * CG_OK. The jobs before the failure are answered 202: nothing is kept. */
static void
commit_of_aborted_group_is_not_ok(void **state)
{
	char where[512];
	struct cg_store *w;
	struct cg_msg_in in = test_msg("p1", "{\"m\":1}");
	int64_t id = 0;
	enum cg_err put, commit;
	struct cg_msg m;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("aborted", where, sizeof(where));
	w = test_store_open_as(where, "gw-a", 30000);
	/* another patient already holds pseudonym P (pseudonym_back) */
	assert_int_equal(cg_store_pseudonym_put(w, "reg", "sys", "other", "P", 1000), CG_OK);
	assert_int_equal(cg_store_begin(w), CG_OK);
	/* job 1: its message, added in its savepoint: fine */
	assert_int_equal(cg_store_add(w, &in, 1, 1000, &id), CG_OK);
	/* job 2: its pseudonym put fails (not in a savepoint) */
	put = cg_store_pseudonym_put(w, "reg", "sys", "patient", "P", 1000);
	assert_int_not_equal(put, CG_OK);
	commit = cg_store_commit(w);
	if (commit != CG_OK)
		cg_store_rollback(w);
	/* job 1 was answered 202 when the commit said CG_OK: it must be kept */
	if (commit == CG_OK && cg_store_get(w, id, &m) != CG_OK)
		fail_msg("cg_store_commit returned CG_OK but message %lld (job 1, answered 202) "
		         "is not in the store: the transaction was rolled back",
		         (long long)id);
	cg_store_close(w);
}

/* 2. A settle that failed (a rollback: connection lost, deadlock victim,
 * failed commit) is tried again by the forwarder (forwarder.c unsettled):
 * but each outcome that applied in the rolled-back transaction dropped its
 * lease token (lease_drop), so that the retry finds none (CG_ENOENT, which
 * settle ignores as "purged or retried by an operator"). The message stays
 * in flight in the table, and renew (by owner, not by token) keeps its
 * lease alive as long as the gateway has anything else in flight: its
 * patient's line is stuck, nobody else may take it over. */
static void
settle_retried_after_rollback(void **state)
{
	char where[512];
	struct cg_store *a, *b;
	struct cg_msg_in in[3] = {test_msg("p2", "{\"m\":2}"), test_msg("p3", "{\"m\":3}"),
	                          test_msg("p4", "{\"m\":4}")};
	struct cg_msg out[4], m;
	int64_t ids[3];
	size_t n;
	enum cg_err e;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("settle", where, sizeof(where));
	a = test_store_open_as(where, "gw-a", 1000);
	b = test_store_open_as(where, "gw-b", 1000);
	assert_int_equal(cg_store_put(a, in, 2, 1000, ids), CG_OK);
	assert_int_equal(cg_store_claim(a, "registry", 1000, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 2);
	/* the settle of the batch: the first outcome applies, the second
	 * fails (here: the transaction is rolled back, as settle does) */
	assert_int_equal(cg_store_begin(a), CG_OK);
	assert_int_equal(cg_store_delivered(a, ids[0], 200, 1100), CG_OK);
	cg_store_rollback(a);
	/* the forwarder tries the same settle again at its next tick */
	assert_int_equal(cg_store_begin(a), CG_OK);
	e = cg_store_delivered(a, ids[0], 200, 1200);
	assert_int_equal(cg_store_delivered(a, ids[1], 200, 1200), CG_OK);
	assert_int_equal(cg_store_commit(a), CG_OK);
	assert_int_equal(cg_store_get(a, ids[0], &m), CG_OK);
	if (e != CG_OK || m.state != CG_MSG_DELIVERED) {
		/* and it stays in flight: a keeps something else in flight and
		 * renews: b may not take it over, long after its lease */
		assert_int_equal(cg_store_put(a, &in[2], 1, 1300, &ids[2]), CG_OK);
		assert_int_equal(cg_store_claim(a, "registry", 1300, 10, 1 << 20, out, &n, NULL),
		                 CG_OK);
		assert_int_equal(cg_store_renew(a, 1900), CG_OK);
		assert_int_equal(cg_store_renew(a, 2800), CG_OK);
		assert_int_equal(cg_store_renew(a, 3700), CG_OK);
		assert_int_equal(cg_store_claim(b, "registry", 4000, 10, 1 << 20, out, &n, NULL),
		                 CG_OK);
		fail_msg("the retried settle's outcome for %lld was %s (state %d): delivered but "
		         "left in flight; renewed by owner, b claims %zu message(s) at 4000 "
		         "(its lease ended at 2100)",
		         (long long)ids[0], cg_strerror(e), (int)m.state, n);
	}
	cg_store_close(a);
	cg_store_close(b);
}

/* 3. Ids are given at the insert, and writers commit in any order: a
 * message with a smaller id committed after a later one of the same
 * patient is head (its line was empty in its snapshot) and has nothing
 * earlier: it is claimed while the later one is in flight: two messages of
 * one patient in flight at once. */
static void
late_commit_two_in_flight(void **state)
{
	char where[512], sql[512];
	struct cg_store *wa, *wb, *fa, *fb;
	struct cg_msg_in first = test_msg("p5", "{\"m\":5}"), second = test_msg("p5", "{\"m\":6}");
	struct cg_msg out[4];
	int64_t id1, id2;
	size_t n1, n2;
	long long flying;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("late", where, sizeof(where));
	wa = test_store_open_as(where, "gw-a", 30000);
	wb = test_store_open_as(where, "gw-b", 30000);
	fa = test_store_open_as(where, "gw-a2", 30000);
	fb = test_store_open_as(where, "gw-b2", 30000);
	/* gateway a's writer: its group has the patient's message, not yet
	 * committed (other jobs, an fsync) */
	assert_int_equal(cg_store_begin(wa), CG_OK);
	assert_int_equal(cg_store_add(wa, &first, 1, 1000, &id1), CG_OK);
	/* gateway b's writer: the same patient's next, committed at once */
	assert_int_equal(cg_store_put(wb, &second, 1, 1000, &id2), CG_OK);
	assert_true(id1 < id2);
	assert_int_equal(cg_store_claim(fb, "registry", 1000, 10, 1 << 20, out, &n1, NULL), CG_OK);
	assert_int_equal(cg_store_commit(wa), CG_OK);
	assert_int_equal(cg_store_claim(fa, "registry", 1000, 10, 1 << 20, out, &n2, NULL), CG_OK);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM message WHERE okey = 'p5' AND state = 1");
	flying = count(where, sql);
	if (flying > 1)
		fail_msg("patient p5 has %lld messages in flight at once (b claimed %zu, a then "
		         "claimed %zu: %lld after %lld)",
		         flying, n1, n2, (long long)id1, (long long)id2);
	cg_store_close(wa);
	cg_store_close(wb);
	cg_store_close(fa);
	cg_store_close(fb);
}

/* 4. Deadlocks. A writer's group share-locks the first message of each
 * line it adds to, until its commit; a withdrawal (consent) in the same
 * group updated another line's messages and waited for their locks while
 * the forwarder's settle (one transaction per batch) held what it updated
 * and waited for the writer's share lock: a deadlock. Withdrawals now run
 * in transactions of their own, outside any group (writer.c), and lock
 * their line in id order, as a delivery does. */
struct side {
	struct cg_store *s;
	int64_t a, b;
	enum cg_err e1, e2, commit;
};

struct withdrawal {
	struct cg_store *s;
	int64_t *count;
	enum cg_err err;
};

static void *
withdraws(void *arg)
{
	struct withdrawal *wr = arg;

	wr->err = cg_store_withdraw(wr->s, "registry", "pk", CG_STORE_WITHDRAWN, 1000, wr->count);
	return NULL;
}

static void *
forwarder_settles(void *arg)
{
	struct side *f = arg;

	f->commit = cg_store_begin(f->s);
	f->e1 = cg_store_delivered(f->s, f->a, 200, 1100);
	f->e2 = cg_store_delivered(f->s, f->b, 200, 1100); /* waits for the writer */
	if (!f->commit && !f->e1 && !f->e2)
		f->commit = cg_store_commit(f->s);
	else
		cg_store_rollback(f->s);
	return NULL;
}

static void
writer_withdraw_and_forwarder_deadlock(void **state)
{
	char where[512];
	struct cg_store *w, *w2, *fwd;
	struct cg_msg_in in[3] = {test_msg("pk", "{\"m\":7}"), test_msg("pl", "{\"m\":8}"),
	                          test_msg("pk", "{\"m\":9}")};
	struct cg_msg_in more = test_msg("pl", "{\"m\":10}");
	struct cg_msg out[4], m;
	struct side f = {0};
	int64_t ids[3], id;
	int64_t withdrawn = 0;
	enum cg_err add, wd, commit;
	pthread_t t;
	size_t n;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("deadlock", where, sizeof(where));
	w = test_store_open_as(where, "gw-a", 30000);
	w2 = test_store_open_as(where, "gw-b", 30000);
	fwd = test_store_open_as(where, "gw-a", 30000);
	assert_int_equal(cg_store_put(w, in, 3, 1000, ids), CG_OK);
	assert_int_equal(cg_store_claim(fwd, "registry", 1000, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 2); /* pk's first, pl's first */
	/* a writer's group (another gateway's): a message for pl, which
	 * share-locks pl's first until its commit */
	assert_int_equal(cg_store_begin(w2), CG_OK);
	add = cg_store_add(w2, &more, 1, 1000, &id);
	assert_int_equal(add, CG_OK);
	/* the forwarder settles its batch: pk's first, then pl's first,
	 * which waits for that group */
	f.s = fwd;
	f.a = ids[0];
	f.b = ids[1];
	pthread_create(&t, NULL, forwarder_settles, &f);
	usleep(300 * 1000);
	/* a writer withdraws pk, as writer.c does it: in a transaction of its
	 * own, outside any group; it waits for the forwarder's pk row, which
	 * waits for w2: once w2 commits, all go through, none a victim */
	{
		struct withdrawal wr = {w, &withdrawn, CG_OK};
		pthread_t t2;

		pthread_create(&t2, NULL, withdraws, &wr);
		usleep(300 * 1000);
		commit = cg_store_commit(w2);
		pthread_join(t2, NULL);
		wd = wr.err;
	}
	pthread_join(t, NULL);
	if (wd || f.e1 || f.e2 || f.commit || commit)
		fail_msg("deadlock: the withdrawal: %s; the other group's commit %s; the "
		         "forwarder's outcomes: %s, %s, commit %s",
		         cg_strerror(wd), cg_strerror(commit), cg_strerror(f.e1), cg_strerror(f.e2),
		         cg_strerror(f.commit));
	/* pk's first was delivered before the withdrawal got its rows: past
	 * recall; pk's second, queued, is withdrawn */
	assert_int_equal(withdrawn, 1);
	assert_int_equal(cg_store_get(w, ids[2], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_WITHDRAWN);
	assert_int_equal(cg_store_get(w, ids[0], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_DELIVERED);
	cg_store_close(w);
	cg_store_close(w2);
	cg_store_close(fwd);
}

/* 5. Two gateways' writers make random pseudonyms for the same two new
 * patients in opposite orders: each waits for the other's uncommitted
 * pseudonym (the primary key): a deadlock; the victim's put fails outside
 * a savepoint, its group's transaction is aborted, and its COMMIT is taken
 * for a success (case 1): its first job is answered 202, nothing kept. */
struct group {
	struct cg_store *s;
	const char *first, *second, *name, *key;
	int64_t id;
	enum cg_err add, p1, p2, commit;
};

static void *
group_run(void *arg)
{
	struct group *g = arg;
	struct cg_msg_in in = test_msg(g->key, g->name);

	g->commit = cg_store_begin(g->s);
	g->p1 = cg_store_pseudonym_put(g->s, "reg", "sys", g->first, g->name, 1000);
	g->add = cg_store_add(g->s, &in, 1, 1000, &g->id);
	usleep(200 * 1000);
	g->p2 = cg_store_pseudonym_put(g->s, "reg", "sys", g->second,
	                               g->name[0] == 'a' ? "a-second" : "b-second", 1000);
	if (!g->commit)
		g->commit = cg_store_commit(g->s);
	return NULL;
}

static void
pseudonym_deadlock_loses_acknowledged(void **state)
{
	char where[512];
	struct group g[2] = {{0}, {0}};
	pthread_t t[2];
	struct cg_msg m;
	int i;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("pseudo", where, sizeof(where));
	g[0].s = test_store_open_as(where, "gw-a", 30000);
	g[1].s = test_store_open_as(where, "gw-b", 30000);
	g[0].first = "X", g[0].second = "Y", g[0].name = "a-first", g[0].key = "X";
	g[1].first = "Y", g[1].second = "X", g[1].name = "b-first", g[1].key = "Y";
	pthread_create(&t[0], NULL, group_run, &g[0]);
	usleep(50 * 1000);
	pthread_create(&t[1], NULL, group_run, &g[1]);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	for (i = 0; i < 2; i++) {
		/* writer.c: the job of the first put and the add has no error, and
		 * the group's commit says CG_OK: answered 202 */
		if (!g[i].p1 && !g[i].add && !g[i].commit &&
		    cg_store_get(g[i].s, g[i].id, &m) != CG_OK)
			fail_msg("gateway %c: its job (pseudonym, message %lld) had no error and "
			         "the group's commit said CG_OK, but the message is not stored "
			         "(the second job's put: %s, a deadlock: the transaction was "
			         "aborted)",
			         'a' + i, (long long)g[i].id, cg_strerror(g[i].p2));
	}
	for (i = 0; i < 2; i++)
		cg_store_close(g[i].s);
}

/* 6. A call's own transaction (sub_begin with no caller's: a claim, an
 * outcome, a withdrawal outside begin .. commit) runs with s->tx false, so
 * that a statement finding the connection broken runs again on a new one,
 * outside the transaction: a claim's FOR UPDATE then locks nothing, its
 * UPDATE by id commits at once, and the ROLLBACK (or COMMIT) that follows
 * applies to nothing and says OK. As sub_begin/sub_end do it: */
static void
own_transaction_statement_rerun_outside_it(void **state)
{
	char where[512], sql[256];
	struct cg_store *w;
	struct pg_store *s;
	struct cg_msg_in in = test_msg("p9", "{\"m\":9}");
	int64_t id;
	char why[256];

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("rerun", where, sizeof(where));
	w = test_store_open_as(where, "gw-a", 30000);
	assert_int_equal(cg_store_put(w, &in, 1, 1000, &id), CG_OK);
	assert_int_equal(pg_store_open_existing(where + 9, &s, why, sizeof(why)), CG_OK);
	assert_int_equal(pg_exec(s, "BEGIN", NULL), CG_OK); /* sub_begin, own */
	s->tx = true; /* as the fixed sub_begin marks it (before: false) */
	/* the server restarts / a failover: this session is gone */
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(s->conn));
	test_pg_int(where, sql);
	usleep(200 * 1000);
	snprintf(sql, sizeof(sql), "UPDATE message SET state = 1, owner = 'x' WHERE id = %lld",
	         (long long)id);
	(void)pg_exec(s, sql, NULL); /* before the fix: ran again, autocommit, CG_OK */
	pg_store_rollback(s);        /* sub_end, on an error */
	snprintf(sql, sizeof(sql), "SELECT state FROM message WHERE id = %lld", (long long)id);
	if (test_pg_int(where, sql) != 0)
		fail_msg("a statement of a transaction that was rolled back was kept: the "
		         "connection was made again in the middle of the transaction and the "
		         "statement ran alone (state %lld)",
		         test_pg_int(where, sql));
	pg_store_close(s);
	cg_store_close(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(commit_of_aborted_group_is_not_ok),
	        cmocka_unit_test(settle_retried_after_rollback),
	        cmocka_unit_test(late_commit_two_in_flight),
	        cmocka_unit_test(writer_withdraw_and_forwarder_deadlock),
	        cmocka_unit_test(pseudonym_deadlock_loses_acknowledged),
	        cmocka_unit_test(own_transaction_statement_rerun_outside_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
