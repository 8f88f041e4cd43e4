/* test_store_leases.c: several gateways on one PostgreSQL store (issue
 * 14): leases, fencing tokens, takeover, a line held across instances.
 * Runs against a real server (pg/test_store_leases, tools/pgserver.py);
 * without one (unit/), every case is skipped: SQLite has one gateway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "support.h"

struct names {
	char name[4][64];
	int64_t delivered[4], in_flight[4];
	int n;
};

static int
on_instance(const struct cg_store_instance *in, void *arg)
{
	struct names *w = arg;

	if (w->n < 4) {
		snprintf(w->name[w->n], sizeof(w->name[0]), "%s", in->name);
		w->delivered[w->n] = in->delivered;
		w->in_flight[w->n] = in->in_flight;
		w->n++;
	}
	return 0;
}

/* A gateway stalls past its lease: another claims the message again; the
 * first one's outcome is refused (fenced), the second's counts, once. */
static void
lease_taken_over_is_fenced(void **state)
{
	char where[512];
	struct cg_store *a, *b;
	struct cg_msg_in in = test_msg("p1", "{\"m\":1}");
	struct cg_msg out[4], m;
	struct names w = {0};
	int64_t id;
	size_t n;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("fenced", where, sizeof(where));
	a = test_store_open_as(where, "gw-a", 1000);
	b = test_store_open_as(where, "gw-b", 1000);
	assert_int_equal(cg_store_put(a, &in, 1, 1000, &id), CG_OK);
	assert_int_equal(cg_store_claim(a, "registry", 1000, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	/* b sees nothing while a's lease runs (until 2000) */
	assert_int_equal(cg_store_claim(b, "registry", 1500, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 0);
	/* a stalls; its lease ends; b takes the message over */
	assert_int_equal(cg_store_claim(b, "registry", 2500, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, id);
	assert_int_equal(out[0].attempts, 2);
	/* a comes back with its answer: not recorded, the lease is b's now */
	assert_int_equal(cg_store_delivered(a, id, 201, 2600), CG_ENOENT);
	assert_int_equal(cg_store_retry_at(a, id, 503, "late", 9000), CG_ENOENT);
	assert_int_equal(cg_store_dead(a, id, 400, "late", NULL, 0, NULL, 2600), CG_ENOENT);
	assert_int_equal(cg_store_get(a, id, &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_IN_FLIGHT);
	/* b's outcome is the one */
	assert_int_equal(cg_store_delivered(b, id, 201, 2700), CG_OK);
	assert_int_equal(cg_store_delivered(b, id, 201, 2800), CG_ENOENT); /* once */
	assert_int_equal(cg_store_get(a, id, &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_DELIVERED);
	assert_int_equal(m.done_ms, 2700);
	assert_int_equal(cg_store_by_instance(a, on_instance, &w), CG_OK);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.name[0], "gw-b");
	assert_int_equal(w.delivered[0], 1);
	cg_store_close(a);
	cg_store_close(b);
}

/* A running gateway renews its leases: a slow delivery is not taken over;
 * once it stops renewing, it is. */
static void
renewed_lease_holds(void **state)
{
	char where[512];
	struct cg_store *a, *b;
	struct cg_msg_in in = test_msg("p2", "{\"m\":2}");
	struct cg_msg out[4];
	int64_t id;
	size_t n;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("renewed", where, sizeof(where));
	a = test_store_open_as(where, "gw-a", 1000);
	b = test_store_open_as(where, "gw-b", 1000);
	assert_int_equal(cg_store_put(a, &in, 1, 1000, &id), CG_OK);
	assert_int_equal(cg_store_claim(a, "registry", 1000, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cg_store_renew(a, 1800), CG_OK); /* until 2800 */
	assert_int_equal(cg_store_claim(b, "registry", 2500, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cg_store_claim(b, "registry", 2900, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cg_store_delivered(b, id, 200, 3000), CG_OK);
	cg_store_close(a);
	cg_store_close(b);
}

/* One instance holds a patient's line at a time: the patient's second
 * message waits while the first is in flight at another gateway, and
 * other patients go on; after the delivery, the next is anyone's. */
static void
line_held_across_instances(void **state)
{
	char where[512];
	struct cg_store *a, *b;
	struct cg_msg_in in[3] = {test_msg("p3", "{\"m\":3}"), test_msg("p3", "{\"m\":4}"),
	                          test_msg("p4", "{\"m\":5}")};
	struct cg_msg out[4];
	int64_t ids[3];
	size_t n;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("line", where, sizeof(where));
	a = test_store_open_as(where, "gw-a", 30000);
	b = test_store_open_as(where, "gw-b", 30000);
	assert_int_equal(cg_store_put(b, in, 3, 1000, ids), CG_OK);
	assert_int_equal(cg_store_claim(a, "registry", 1000, 1, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[0]);
	/* b: not p3's second (its first is in flight at a), but p4's */
	assert_int_equal(cg_store_claim(b, "registry", 1000, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[2]);
	assert_int_equal(cg_store_delivered(a, ids[0], 200, 1100), CG_OK);
	assert_int_equal(cg_store_claim(b, "registry", 1200, 10, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].id, ids[1]);
	cg_store_close(a);
	cg_store_close(b);
}

/* A gateway that starts again under its name takes back at once what it
 * left in flight (a kill); another's in flight it leaves to their leases. */
static void
own_in_flight_taken_back_at_start(void **state)
{
	char where[512];
	struct cg_store *a, *b;
	struct cg_msg_in in[2] = {test_msg("p5", "{\"m\":6}"), test_msg("p6", "{\"m\":7}")};
	struct cg_msg out[4], m;
	int64_t ids[2];
	size_t n;

	(void)state;
	if (!test_pg())
		skip();
	test_store_where("takeback", where, sizeof(where));
	a = test_store_open_as(where, "gw-a", 60000);
	b = test_store_open_as(where, "gw-b", 60000);
	assert_int_equal(cg_store_put(a, in, 2, 1000, ids), CG_OK);
	assert_int_equal(cg_store_claim(a, "registry", 1000, 1, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(cg_store_claim(b, "registry", 1000, 1, 1 << 20, out, &n, NULL), CG_OK);
	assert_int_equal(n, 1);
	cg_store_close(a); /* "killed" with ids[0] in flight */
	a = test_store_open_as(where, "gw-a", 60000);
	assert_int_equal(cg_store_get(a, ids[0], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_QUEUED);
	assert_int_equal(cg_store_get(a, ids[1], &m), CG_OK);
	assert_int_equal(m.state, CG_MSG_IN_FLIGHT); /* b's, still leased */
	assert_int_equal(cg_store_delivered(b, ids[1], 200, 1100), CG_OK);
	cg_store_close(a);
	cg_store_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(lease_taken_over_is_fenced),
	        cmocka_unit_test(renewed_lease_holds),
	        cmocka_unit_test(line_held_across_instances),
	        cmocka_unit_test(own_in_flight_taken_back_at_start),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
