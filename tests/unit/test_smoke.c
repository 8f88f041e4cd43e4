#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "support.h"

static void
valid_sample(void **state)
{
	struct cg_diag d;
	char *text = test_read_data("records/valid-heart-failure.json");

	(void)state;
	assert_int_equal(test_validate_text(text, &d), 1);
	test_dump(&d);
	assert_int_equal(d.errors, 0);
	cg_diag_free(&d);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(valid_sample)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
