/*
 * test_diag.c: past the issue limit, the issues kept are the structure's
 * (not late) first, then the late ones (the invariants') by the rank of
 * their node, whatever order they were added in; the choice of the one to
 * drop survives a sort, and a record with a large limit and many
 * replacements keeps the right ones (a heap, not a scan per issue).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"

static void
add(struct cg_diag *d, int late, size_t rank, const char *name)
{
	d->late = late;
	d->late_rank = rank;
	assert_int_equal(cg_diag_add(d, late ? CG_C_FHIR_INVARIANT_WARNING : CG_C_REQUIRED, name,
	                             NULL, 0, "%s", name),
	                 CG_OK);
	d->late = 0;
}

/* Whether an issue named name is kept. */
static int
kept(const struct cg_diag *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].path, name))
			return 1;
	return 0;
}

static void
structure_first_then_invariants_by_rank(void **state)
{
	struct cg_diag d;

	(void)state;
	cg_diag_init(&d, 3);
	/* as the walk adds them: a child's invariant before its parent's,
	 * invariants before a structural error further on */
	add(&d, 1, 5, "child-inv");
	add(&d, 1, 2, "parent-inv");
	add(&d, 1, 9, "late-inv");
	add(&d, 0, 0, "error-1"); /* drops late-inv (rank 9) */
	assert_false(kept(&d, "late-inv"));
	add(&d, 1, 7, "inv-7"); /* after child-inv (5): dropped */
	assert_false(kept(&d, "inv-7"));
	add(&d, 1, 1, "root-inv"); /* drops child-inv (5) */
	assert_false(kept(&d, "child-inv"));
	assert_true(kept(&d, "error-1"));
	assert_true(kept(&d, "parent-inv"));
	assert_true(kept(&d, "root-inv"));
	assert_int_equal(d.n, 3);
	assert_int_equal(d.dropped, 3);
	assert_int_equal(d.warnings, 5);
	assert_int_equal(d.errors, 1);
	cg_diag_free(&d);
}

static void
a_sort_keeps_the_choice_right(void **state)
{
	struct cg_diag d;
	size_t i;

	(void)state;
	cg_diag_init(&d, 4);
	add(&d, 1, 3, "inv-3");
	add(&d, 0, 0, "error-a");
	add(&d, 1, 8, "inv-8");
	add(&d, 1, 6, "inv-6");
	for (i = 0; i < d.n; i++)
		d.v[i].offset = 100 - i; /* the sort reverses them */
	cg_diag_sort(&d);
	add(&d, 0, 0, "error-b"); /* drops inv-8, wherever the sort put it */
	assert_false(kept(&d, "inv-8"));
	assert_true(kept(&d, "inv-6"));
	add(&d, 0, 0, "error-c"); /* drops inv-6 */
	assert_false(kept(&d, "inv-6"));
	assert_true(kept(&d, "inv-3"));
	cg_diag_free(&d);
}

static void
many_replacements(void **state)
{
	enum { MAX = 20000 };
	struct cg_diag d;
	char name[32];
	size_t i, late = 0;

	(void)state;
	cg_diag_init(&d, MAX);
	/* the limit filled with invariants of decreasing rank, then as many
	 * structural errors: each drops the invariant of the highest rank */
	for (i = 0; i < MAX; i++) {
		snprintf(name, sizeof(name), "inv-%zu", i);
		add(&d, 1, 2 * MAX - i, name);
	}
	for (i = 0; i < MAX / 2; i++) {
		snprintf(name, sizeof(name), "err-%zu", i);
		add(&d, 0, 0, name);
	}
	assert_int_equal(d.n, MAX);
	for (i = 0; i < d.n; i++)
		late += d.v[i].code == CG_C_FHIR_INVARIANT_WARNING;
	assert_int_equal(late, MAX / 2);
	/* the invariants of the lowest ranks stay: those added last */
	assert_true(kept(&d, "inv-19999"));
	assert_true(kept(&d, "inv-10000"));
	assert_false(kept(&d, "inv-9999"));
	assert_false(kept(&d, "inv-0"));
	cg_diag_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(structure_first_then_invariants_by_rank),
	        cmocka_unit_test(a_sort_keeps_the_choice_right),
	        cmocka_unit_test(many_replacements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
