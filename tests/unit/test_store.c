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
	struct cg_msg_in m = {.txid = "tx-1",
	                      .dest = dest,
	                      .key = key,
	                      .client = "ehr",
	                      .record_id = body,
	                      .type = "record",
	                      .body = body,
	                      .len = strlen(body)};

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
	assert_int_equal(cg_store_claim(s, "registry", 1000, 8, out, &n), CG_OK);
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
	assert_int_equal(cg_store_claim(s, "registry", 1100, 8, out, &n), CG_OK);
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
	assert_int_equal(cg_store_claim(s, "nobody", 5000, 8, out, &n), CG_OK);
	assert_int_equal(n, 0); /* another destination's are not this one's */
	assert_int_equal(cg_store_claim(s, dest, 5000, 8, out, &n), CG_OK);
	assert_int_equal(n, 2); /* k1's first and k2's */
	assert_int_equal(cg_store_retry_at(s, ids[0], 503, "upstream busy", 9000), CG_OK);
	assert_int_equal(cg_store_dead(s, ids[2], 400, "refused: bad code", 5001), CG_OK);
	/* Not due yet, and k1's second waits behind it. */
	assert_int_equal(cg_store_claim(s, dest, 6000, 8, out, &n), CG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cg_store_claim(s, dest, 9000, 8, out, &n), CG_OK);
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

/* A file that is not a store, and a schema newer than this build, are
 * refused with a reason; nothing is changed in them. */
static void
refuses_what_it_cannot_use(void **state)
{
	char bad[96], why[256];
	struct cg_store *s;
	FILE *f;

	(void)state;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(put_claim_deliver),
	        cmocka_unit_test(retry_dead_and_crash),
	        cmocka_unit_test(refuses_what_it_cannot_use),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
