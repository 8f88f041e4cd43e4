/* test_store.c: the outbox's SQLite store, on a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "support.h"

static int
setup(void **state)
{
	(void)state;
	return test_tmp_setup("outbox.db");
}

static int
teardown(void **state)
{
	(void)state;
	return test_tmp_teardown();
}

static struct cg_store *
open_store(void)
{
	struct cg_store *s;
	char why[256];

	if (cg_store_open(test_tmp_path, &s, why, sizeof(why)) != CG_OK)
		fail_msg("open: %s", why);
	return s;
}

/* Each test has its own destination: the file is shared. */
static const char *dest = "registry";

static struct cg_msg_in
msg(const char *key, const char *body)
{
	struct cg_msg_in m = test_msg(key, body);

	m.txid = "tx-1";
	m.dest = dest;
	return m;
}

/* Put, claim, deliver; what was put comes back as it was, after a close. */
static void
put_claim_deliver(void **state)
{
	struct cg_store *s = open_store();
	struct cg_msg_in in[3] = {msg("p1", "{\"a\":1}"), msg("p2", "{\"b\":2}"),
	                          msg("p1", "{\"c\":3}")};
	struct cg_msg out[8];
	struct cg_store_stats st;
	int64_t ids[3];
	size_t n;

	(void)state;
	assert_int_equal(cg_store_put(s, in, 3, 1000, ids), CG_OK);
	cg_store_close(s);
	s = open_store(); /* durable: it is in the file */
	/* p1's second message waits behind its first: two claimed, not three. */
	assert_int_equal(cg_store_claim(s, "registry", 1000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].id, ids[0]);
	assert_string_equal(out[0].body, "{\"a\":1}");
	assert_string_equal(out[0].key, "p1");
	assert_string_equal(out[0].client, "ehr");
	assert_int_equal(out[0].state, CG_MSG_IN_FLIGHT);
	assert_int_equal(out[0].attempts, 1);
	assert_int_equal(out[1].id, ids[1]);
	assert_string_equal(out[1].body, "{\"b\":2}");
	assert_int_equal(cg_store_delivered(s, ids[0], 201, 1100), CG_OK);
	/* Delivering twice is refused: it is no longer in flight. */
	assert_int_equal(cg_store_delivered(s, ids[0], 201, 1100), CG_ENOENT);
	assert_int_equal(cg_store_claim(s, "registry", 1100, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[2]);
	assert_int_equal(cg_store_stats(s, "registry", &st), CG_OK);
	assert_int_equal(st.count[CG_MSG_DELIVERED], 1);
	assert_int_equal(st.count[CG_MSG_IN_FLIGHT], 2);
	assert_int_equal(st.oldest_waiting_ms, 1000);
	cg_store_close(s);
}

/* A retry waits for its time and holds its key back meanwhile; a dead
 * message holds back its key only; a crash's in-flight messages come back. */
static void
retry_dead_and_crash(void **state)
{
	struct cg_store *s = open_store();
	struct cg_msg_in in[3];
	struct cg_msg out[8], m;
	int64_t ids[3];
	size_t n;

	(void)state;
	dest = "registry-2";
	in[0] = msg("k1", "1");
	in[1] = msg("k1", "2");
	in[2] = msg("k2", "3");
	assert_int_equal(cg_store_put(s, in, 3, 5000, ids), CG_OK);
	assert_int_equal(cg_store_claim(s, "nobody", 5000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 0); /* another destination's are not this one's */
	assert_int_equal(cg_store_claim(s, dest, 5000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 2); /* k1's first and k2's */
	assert_int_equal(cg_store_retry_at(s, ids[0], 503, "upstream busy", 9000), CG_OK);
	assert_int_equal(cg_store_dead(s, ids[2], 400, "refused: bad code", NULL, 0, NULL, 5001),
	                 CG_OK);
	/* Not due yet, and k1's second waits behind it. */
	assert_int_equal(cg_store_claim(s, dest, 6000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cg_store_claim(s, dest, 9000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[0]);
	assert_int_equal(out[0].attempts, 2);
	assert_string_equal(out[0].reason, "upstream busy");
	/* The process dies with it in flight: at open it is queued again. */
	cg_store_close(s);
	s = open_store();
	assert_int_equal(cg_store_get(s, ids[0], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_QUEUED);
	assert_int_equal(cg_store_get(s, ids[2], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_DEAD);
	assert_int_equal(m.status, 400);
	assert_string_equal(m.reason, "refused: bad code");
	assert_int_equal(cg_store_get(s, 999999, &m), CG_ENOENT);
	cg_store_close(s);
}

/* PostgreSQL: a database that cannot be reached, and a schema newer than
 * this build, are refused with a reason. */
static void
refuses_what_it_cannot_use_pg(void)
{
	char where[512], why[256];
	struct cg_store *s;

	assert_int_equal(
	        cg_store_open("postgres:host=/nonexistent port=1 dbname=none connect_timeout=2", &s,
	                      why, sizeof(why)),
	        CG_EIO);
	assert_null(s);
	assert_non_null(strstr(why, "cannot be reached"));
	test_store_where("newer", where, sizeof(where));
	assert_int_equal(cg_store_open(where, &s, why, sizeof(why)), CG_OK);
	cg_store_close(s);
	test_pg_exec(where, "UPDATE cellgate_schema SET version = 99");
	assert_int_equal(cg_store_open(where, &s, why, sizeof(why)), CG_EINVAL);
	assert_non_null(strstr(why, "newer than this cellgate"));
}

/* A file that is not a store, and a schema newer than this build, are
 * refused with a reason; nothing is changed in them. */
static void
refuses_what_it_cannot_use(void **state)
{
	char bad[96], why[256];
	struct cg_store *s;
	FILE *f;

	(void)state;
	if (test_pg()) {
		refuses_what_it_cannot_use_pg();
		return;
	}
	snprintf(bad, sizeof(bad), "%s/not-a-store.db", test_tmp_dir());
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("these are not the bytes of a SQLite database, not at all.........\n", f);
	fclose(f);
	assert_int_not_equal(cg_store_open(bad, &s, why, sizeof(why)), CG_OK);
	assert_null(s);
	assert_non_null(strstr(why, "not a SQLite file"));
	snprintf(bad, sizeof(bad), "%s/newer.db", test_tmp_dir());
	assert_int_equal(cg_store_open(bad, &s, why, sizeof(why)), CG_OK);
	cg_store_close(s);
	{ /* a later cellgate's schema */
		sqlite3 *db;

		assert_int_equal(sqlite3_open(bad, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
		                 SQLITE_OK);
		sqlite3_close(db);
	}
	assert_int_equal(cg_store_open(bad, &s, why, sizeof(why)), CG_EINVAL);
	assert_non_null(strstr(why, "newer than this cellgate"));
}

/* A store of its own in the test folder, for a test that counts everything
 * in the file (purge, stats by destination) or makes the file itself. */
static struct cg_store *
open_named(const char *name, char *path, size_t len)
{
	struct cg_store *s;
	char why[256];

	test_store_where(name, path, len);
	if (cg_store_open(path, &s, why, sizeof(why)) != CG_OK)
		fail_msg("open %s: %s", path, why);
	return s;
}

/* What a list walk saw. */
struct seen {
	int64_t id[16];
	size_t n, stop_after; /* stop_after 0: never stop */
	int bodies;           /* how many came with a body */
	char response[64];    /* the last response seen */
};

static int
see(const struct cg_msg *m, void *arg)
{
	struct seen *v = arg;

	if (v->n < 16)
		v->id[v->n] = m->id;
	v->n++;
	v->bodies += m->body != NULL;
	if (m->body)
		assert_int_equal(strlen(m->body), m->len);
	else
		assert_true(m->len > 0); /* the size, even without the body */
	if (m->response)
		snprintf(v->response, sizeof(v->response), "%.*s", (int)m->response_len,
		         m->response);
	return v->stop_after && v->n >= v->stop_after;
}

static struct seen
walk(struct cg_store *s, const struct cg_store_filter *f)
{
	struct seen v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(cg_store_list(s, f, see, &v), CG_OK);
	return v;
}

static struct cg_msg_in
msg_of(const char *d, const char *key, const char *client, const char *tx, const char *rec)
{
	struct cg_msg_in m = msg(key, "{\"secret\":\"patient\"}");

	m.dest = d;
	m.client = client;
	m.txid = tx;
	m.record_id = rec;
	return m;
}

/* Each filter alone and together, oldest first, bodies only when asked,
 * pages that follow each other, and a walk the callback stops. */
static void
list_filters_and_paging(void **state)
{
	struct cg_store *s = open_store();
	struct cg_msg_in in[5] = {msg_of("lst", "a", "c1", "tx-L1", "r-L1"),
	                          msg_of("lst", "b", "c2", "tx-L1", "r-L2"),
	                          msg_of("lst", "c", "c1", "tx-L2", "r-L1"),
	                          msg_of("lst2", "a", "c1", "tx-L2", "r-L3"),
	                          msg_of("lst", "d", "c1", "tx-L3", "r-L4")};
	static const char outcome[] = "{\"resourceType\":\"OperationOutcome\"}";
	struct cg_store_filter f;
	struct cg_msg out[8];
	struct seen v;
	int64_t id[5];
	size_t n;

	(void)state;
	assert_int_equal(cg_store_put(s, in, 5, 7000, id), CG_OK);
	assert_int_equal(cg_store_claim(s, "lst", 7000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 4);
	assert_int_equal(cg_store_delivered(s, id[1], 201, 7100), CG_OK);
	assert_int_equal(cg_store_dead(s, id[2], 422, "refused", outcome, sizeof(outcome) - 1,
	                               "application/fhir+json", 7100),
	                 CG_OK);
	{
		struct cg_msg m;

		assert_int_equal(cg_store_get(s, id[2], &m), CG_OK);
		assert_string_equal(m.response_type, "application/fhir+json");
	}

	cg_store_filter_init(&f);
	f.dest = "lst";
	v = walk(s, &f);
	assert_int_equal(v.n, 4);
	assert_int_equal(v.id[0], id[0]);
	assert_int_equal(v.id[1], id[1]);
	assert_int_equal(v.id[2], id[2]);
	assert_int_equal(v.id[3], id[4]);
	assert_int_equal(v.bodies, 0); /* not unless asked */
	assert_string_equal(v.response, outcome);

	f.state = CG_MSG_DEAD;
	v = walk(s, &f);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.id[0], id[2]);
	f.state = CG_MSG_IN_FLIGHT;
	f.client = "c1";
	v = walk(s, &f);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.id[0], id[0]);
	assert_int_equal(v.id[1], id[4]);

	cg_store_filter_init(&f);
	f.txid = "tx-L2"; /* across destinations */
	v = walk(s, &f);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.id[0], id[2]);
	assert_int_equal(v.id[1], id[3]);
	cg_store_filter_init(&f);
	f.record_id = "r-L1";
	f.with_body = true;
	v = walk(s, &f);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.id[0], id[0]);
	assert_int_equal(v.id[1], id[2]);
	assert_int_equal(v.bodies, 2);
	f.record_id = "no-such-record";
	assert_int_equal(walk(s, &f).n, 0);

	/* Pages of two: each starts after the last id of the one before. */
	cg_store_filter_init(&f);
	f.dest = "lst";
	f.limit = 2;
	v = walk(s, &f);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.id[1], id[1]);
	f.after_id = v.id[1];
	v = walk(s, &f);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.id[0], id[2]);
	assert_int_equal(v.id[1], id[4]);
	f.after_id = v.id[1];
	assert_int_equal(walk(s, &f).n, 0);

	/* The callback stops the walk. */
	cg_store_filter_init(&f);
	f.dest = "lst";
	memset(&v, 0, sizeof(v));
	v.stop_after = 1;
	assert_int_equal(cg_store_list(s, &f, see, &v), CG_OK);
	assert_int_equal(v.n, 1);
	cg_store_close(s);
}

/* Retry: only a dead message, which is then queued and claimable again,
 * and frees its key's line; retry_dead counts what it sent back. */
static void
retry_what_is_dead(void **state)
{
	struct cg_store *s = open_store();
	struct cg_msg_in in[3] = {msg_of("rty", "k", "c", "tx-R", "r-R1"),
	                          msg_of("rty", "k", "c", "tx-R", "r-R2"),
	                          msg_of("rty2", "k", "c", "tx-R", "r-R3")};
	struct cg_store_stats st;
	struct cg_msg out[4], m;
	int64_t id[3], count, dead;
	size_t n;

	(void)state;
	assert_int_equal(cg_store_put(s, in, 3, 8000, id), CG_OK);
	assert_int_equal(cg_store_claim(s, "rty", 8000, 4, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cg_store_dead(s, id[0], 422, "refused", "{}", 2, NULL, 8001), CG_OK);
	assert_int_equal(cg_store_claim(s, "rty", 8002, 4, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 0); /* the dead one holds its key back */

	assert_int_equal(cg_store_retry(s, 999999, 9000), CG_ENOENT);
	assert_int_equal(cg_store_retry(s, id[1], 9000), CG_EINVAL); /* queued */
	assert_int_equal(cg_store_retry(s, id[0], 9000), CG_OK);
	assert_int_equal(cg_store_retry(s, id[0], 9000), CG_EINVAL); /* not twice */
	assert_int_equal(cg_store_get(s, id[0], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_QUEUED);
	assert_int_equal(m.attempts, 0);
	assert_int_equal(m.status, 0);
	assert_null(m.reason);
	assert_null(m.response);
	assert_int_equal(m.next_ms, 9000);
	assert_int_equal(cg_store_claim(s, "rty", 9000, 4, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, id[0]);
	assert_int_equal(out[0].attempts, 1);

	/* All the dead of one destination, then of all. */
	assert_int_equal(cg_store_dead(s, id[0], 500, "again", NULL, 0, NULL, 9001), CG_OK);
	assert_int_equal(cg_store_dead(s, id[2], 400, "bad", NULL, 0, NULL, 9001), CG_OK);
	assert_int_equal(cg_store_retry_dead(s, "rty2", 9500, &count), CG_OK);
	assert_int_equal(count, 1);
	assert_int_equal(cg_store_get(s, id[2], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_QUEUED);
	assert_int_equal(cg_store_get(s, id[0], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_DEAD);
	assert_int_equal(cg_store_stats(s, NULL, &st), CG_OK);
	dead = st.count[CG_MSG_DEAD]; /* other tests' dead are in this file too */
	assert_true(dead >= 1);
	assert_int_equal(cg_store_retry_dead(s, NULL, 9500, &count), CG_OK);
	assert_int_equal(count, dead);
	assert_int_equal(cg_store_stats(s, NULL, &st), CG_OK);
	assert_int_equal(st.count[CG_MSG_DEAD], 0);
	assert_int_equal(cg_store_retry_dead(s, NULL, 9500, &count), CG_OK);
	assert_int_equal(count, 0);
	cg_store_close(s);
}

/* Purge deletes delivered messages done before the time, in batches, and
 * nothing else: not the later ones, not the dead, not the waiting. */
static void
purge_delivered_before(void **state)
{
	struct cg_msg_in in[30];
	struct cg_store_stats st;
	struct cg_msg out[30];
	char path[512], key[30][8];
	struct cg_store *s = open_named("purge.db", path, sizeof(path));
	int64_t id[30], count;
	size_t i, n;

	(void)state;
	for (i = 0; i < 30; i++) {
		snprintf(key[i], sizeof(key[i]), "k%zu", i);
		in[i] = msg_of("prg", key[i], "c", "tx-P", "r-P");
	}
	assert_int_equal(cg_store_put(s, in, 30, 100, id), CG_OK);
	assert_int_equal(cg_store_claim(s, "prg", 100, 30, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 30);
	/* 25 delivered at 1000 + i, 2 at 5000; 2 dead at 500; 1 left in flight. */
	for (i = 0; i < 25; i++)
		assert_int_equal(cg_store_delivered(s, id[i], 200, 1000 + (int64_t)i), CG_OK);
	assert_int_equal(cg_store_delivered(s, id[25], 200, 5000), CG_OK);
	assert_int_equal(cg_store_delivered(s, id[26], 200, 5000), CG_OK);
	assert_int_equal(cg_store_dead(s, id[27], 400, "bad", NULL, 0, NULL, 500), CG_OK);
	assert_int_equal(cg_store_dead(s, id[28], 400, "bad", NULL, 0, NULL, 500), CG_OK);

	assert_int_equal(cg_store_purge_delivered(s, 5000, 0, &count), CG_EINVAL);
	assert_int_equal(cg_store_purge_delivered(s, 1000, 10, &count), CG_OK);
	assert_int_equal(count, 0); /* before, not at */
	assert_int_equal(cg_store_purge_delivered(s, 5000, 10, &count), CG_OK);
	assert_int_equal(count, 25); /* three batches: 10, 10, 5 */
	assert_int_equal(cg_store_stats(s, NULL, &st), CG_OK);
	assert_int_equal(st.count[CG_MSG_DELIVERED], 2);
	assert_int_equal(st.count[CG_MSG_DEAD], 2);
	assert_int_equal(st.count[CG_MSG_IN_FLIGHT], 1);
	assert_int_equal(cg_store_purge_delivered(s, 5001, 2, &count), CG_OK);
	assert_int_equal(count, 2); /* a full batch, then an empty one */
	assert_int_equal(cg_store_stats(s, NULL, &st), CG_OK);
	assert_int_equal(st.count[CG_MSG_DELIVERED], 0);
	assert_int_equal(st.count[CG_MSG_DEAD], 2);
	cg_store_close(s);
}

struct dest_seen {
	char names[4][16];
	struct cg_store_stats st[4];
	size_t n, stop_after;
};

static int
see_dest(const char *d, const struct cg_store_stats *st, void *arg)
{
	struct dest_seen *v = arg;

	if (v->n < 4) {
		snprintf(v->names[v->n], sizeof(v->names[v->n]), "%s", d);
		v->st[v->n] = *st;
	}
	v->n++;
	return v->stop_after && v->n >= v->stop_after;
}

/* Each destination once, in name order, its own counts; the oldest waiting
 * message is a queued or in-flight one, never a dead or delivered one. */
static void
stats_per_destination(void **state)
{
	char path[512];
	struct cg_store *s = open_named("stats.db", path, sizeof(path));
	struct cg_msg_in in[4] = {msg_of("b", "1", "c", "t", "r"), msg_of("a", "1", "c", "t", "r"),
	                          msg_of("b", "2", "c", "t", "r"), msg_of("c", "1", "c", "t", "r")};
	struct cg_msg out[4];
	struct dest_seen v;
	int64_t id[4];
	size_t n;

	(void)state;
	assert_int_equal(cg_store_put(s, in, 1, 100, id), CG_OK);
	assert_int_equal(cg_store_put(s, in + 1, 3, 200, id + 1), CG_OK);
	assert_int_equal(cg_store_claim(s, "b", 300, 4, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(cg_store_dead(s, id[0], 400, "bad", NULL, 0, NULL, 300), CG_OK);
	assert_int_equal(cg_store_claim(s, "c", 300, 4, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(cg_store_delivered(s, id[3], 200, 300), CG_OK);

	memset(&v, 0, sizeof(v));
	assert_int_equal(cg_store_stats_by_dest(s, see_dest, &v), CG_OK);
	assert_int_equal(v.n, 3);
	assert_string_equal(v.names[0], "a");
	assert_string_equal(v.names[1], "b");
	assert_string_equal(v.names[2], "c");
	assert_int_equal(v.st[0].count[CG_MSG_QUEUED], 1);
	assert_int_equal(v.st[0].oldest_waiting_ms, 200);
	assert_int_equal(v.st[1].count[CG_MSG_DEAD], 1);
	assert_int_equal(v.st[1].count[CG_MSG_IN_FLIGHT], 1);
	assert_int_equal(v.st[1].oldest_waiting_ms, 200); /* not the dead one's 100 */
	assert_int_equal(v.st[2].count[CG_MSG_DELIVERED], 1);
	assert_int_equal(v.st[2].oldest_waiting_ms, 0);
	memset(&v, 0, sizeof(v));
	v.stop_after = 2;
	assert_int_equal(cg_store_stats_by_dest(s, see_dest, &v), CG_OK);
	assert_int_equal(v.n, 2);
	cg_store_close(s);
}

/* The schema of version 1, as that cellgate made it. */
static const char v1_schema[] = "CREATE TABLE message ("
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
                                "CREATE INDEX message_record ON message(record_id);"
                                "PRAGMA user_version = 1;";

static int
query_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A version-1 file, as the gateway left it with a message in flight, opened
 * by `cellgate queue` (open_existing): migrated to version 2, its message
 * there and still in flight, the new column written and read back. */
static void
migrates_version_1(void **state)
{
	static const char outcome[] = "{\"resourceType\":\"OperationOutcome\"}";
	char path[512], why[256];
	struct cg_store *s;
	struct cg_msg m;
	sqlite3 *db;

	(void)state;
	if (test_pg())
		skip(); /* a PostgreSQL store began at version 7: no older one exists */
	snprintf(path, sizeof(path), "%s/v1.db", test_tmp_dir());
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO message (id, txid, dest, okey, client, "
	                              "record_id, type, body, state, attempts, accepted_ms, "
	                              "next_ms) VALUES (7, 'tx-old', 'registry', 'p1', 'ehr', "
	                              "'rec-old', 'record', '{\"old\":1}', 1, 1, 4000, 4000)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(cg_store_open_existing(path, &s, why, sizeof(why)), CG_OK);
	assert_int_equal(query_int(path, "PRAGMA user_version"), CG_STORE_SCHEMA_VERSION);
	assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
	                                 "AND name = 'message_done'"),
	                 1);
	assert_int_equal(cg_store_get(s, 7, &m), CG_OK);
	assert_string_equal(m.txid, "tx-old");
	assert_string_equal(m.record_id, "rec-old");
	assert_string_equal(m.body, "{\"old\":1}");
	assert_int_equal(m.state, CG_MSG_IN_FLIGHT); /* the gateway's, left to it */
	assert_null(m.response);
	assert_int_equal(m.response_len, 0);
	assert_int_equal(
	        cg_store_dead(s, 7, 422, "refused", outcome, sizeof(outcome) - 1, NULL, 4100),
	        CG_OK);
	assert_int_equal(cg_store_get(s, 7, &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_DEAD);
	assert_int_equal(m.response_len, sizeof(outcome) - 1);
	assert_memory_equal(m.response, outcome, sizeof(outcome) - 1);
	assert_null(m.response_type);
	cg_store_close(s);
	/* Opened again: nothing more to migrate, the message as it was. */
	assert_int_equal(cg_store_open_existing(path, &s, why, sizeof(why)), CG_OK);
	assert_int_equal(cg_store_get(s, 7, &m), CG_OK);
	assert_string_equal(m.reason, "refused");
	cg_store_close(s);
}

/* open_existing makes nothing: no file is "no store at", an empty file is
 * refused and stays empty. */
static void
open_existing_creates_nothing(void **state)
{
	char path[512], why[256];
	struct cg_store *s;
	FILE *f;
	long size;

	(void)state;
	if (test_pg()) { /* a database without the schema: refused, left empty */
		test_store_where("empty", path, sizeof(path));
		assert_int_equal(cg_store_open_existing(path, &s, why, sizeof(why)), CG_EINVAL);
		assert_non_null(strstr(why, "no cellgate store"));
		assert_int_equal(test_pg_int(path,
		                             "SELECT count(*) FROM pg_tables WHERE schemaname = "
		                             "current_schema()"),
		                 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/none.db", test_tmp_dir());
	assert_int_equal(cg_store_open_existing(path, &s, why, sizeof(why)), CG_ENOENT);
	assert_null(s);
	assert_non_null(strstr(why, "no store at"));
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/empty.db", test_tmp_dir());
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(cg_store_open_existing(path, &s, why, sizeof(why)), CG_EINVAL);
	assert_non_null(strstr(why, "not a cellgate store"));
	f = fopen(path, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	assert_int_equal(size, 0);
}

/* A claim takes no more bodies than max_bytes (the first message whatever
 * its size), and says when it stopped with more due. */
static void
claim_by_bytes(void **state)
{
	struct cg_store *s = open_store();
	struct cg_msg_in in[4];
	struct cg_msg out[8];
	int64_t ids[4];
	size_t n;
	bool more;

	(void)state;
	dest = "bytes";
	in[0] = msg("b1", "0123456789");
	in[1] = msg("b2", "0123456789");
	in[2] = msg("b3", "0123456789");
	in[3] = msg("b4", "0123456789012345678901234567890123456789");
	assert_int_equal(cg_store_put(s, in, 4, 100, ids), CG_OK);
	assert_int_equal(cg_store_claim(s, dest, 100, 8, 25, out, &n, &more), CG_OK);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(out[1].id, ids[1]);
	assert_int_equal(cg_store_claim(s, dest, 100, 8, 25, out, &n, &more), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[2]);
	assert_true(more);
	/* one over the limit goes alone */
	assert_int_equal(cg_store_claim(s, dest, 100, 8, 25, out, &n, &more), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[3]);
	assert_false(more);
	assert_int_equal(cg_store_claim(s, dest, 100, 1, 25, out, &n, &more), CG_OK);
	assert_int_equal(n, 0);
	assert_false(more);
	cg_store_close(s);
}

/* Consent withdrawn for a patient: its queued messages are withdrawn and
 * hold no line; one in flight is marked and withdrawn if its attempt
 * fails; another patient's are untouched; the patient's next message is
 * claimable. */
static void
withdraw_a_patient(void **state)
{
	struct cg_store *s = open_store();
	struct cg_msg_in in[3] = {msg("wp", "{\"w\":1}"), msg("wp", "{\"w\":2}"),
	                          msg("wq", "{\"w\":3}")};
	struct cg_msg_in later = msg("wp", "{\"w\":4}");
	struct cg_msg out[8], m;
	int64_t ids[3], id4, count;
	size_t n;

	(void)state;
	dest = "withdraw";
	in[0].dest = in[1].dest = in[2].dest = later.dest = dest;
	assert_int_equal(cg_store_put(s, in, 3, 1000, ids), CG_OK);
	assert_int_equal(cg_store_claim(s, dest, 1000, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 2); /* wp's first (in flight now) and wq's */
	assert_int_equal(cg_store_withdraw(s, dest, "wp", CG_STORE_WITHDRAWN, 1100, &count), CG_OK);
	assert_int_equal(count, 1); /* the queued one; the one in flight is marked */
	assert_int_equal(cg_store_get(s, ids[1], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_WITHDRAWN);
	assert_string_equal(m.reason, CG_STORE_WITHDRAWN);
	/* the attempt in flight fails: withdrawn, not tried again */
	assert_int_equal(cg_store_retry_at(s, ids[0], 503, "busy", 1200), CG_OK);
	assert_int_equal(cg_store_get(s, ids[0], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_WITHDRAWN);
	/* another patient's went on as it was */
	assert_int_equal(cg_store_delivered(s, ids[2], 200, 1200), CG_OK);
	/* consent given again: the patient's next message is not held */
	assert_int_equal(cg_store_put(s, &later, 1, 1300, &id4), CG_OK);
	assert_int_equal(cg_store_claim(s, dest, 1300, 8, SIZE_MAX, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, id4);
	/* a failed attempt of a message not withdrawn is queued again */
	assert_int_equal(cg_store_retry_at(s, id4, 503, "busy", 1400), CG_OK);
	assert_int_equal(cg_store_get(s, id4, &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_QUEUED);
	dest = "registry";
	cg_store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(put_claim_deliver),
	        cmocka_unit_test(retry_dead_and_crash),
	        cmocka_unit_test(refuses_what_it_cannot_use),
	        cmocka_unit_test(list_filters_and_paging),
	        cmocka_unit_test(retry_what_is_dead),
	        cmocka_unit_test(purge_delivered_before),
	        cmocka_unit_test(stats_per_destination),
	        cmocka_unit_test(migrates_version_1),
	        cmocka_unit_test(open_existing_creates_nothing),
	        cmocka_unit_test(claim_by_bytes),
	        cmocka_unit_test(withdraw_a_patient),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
