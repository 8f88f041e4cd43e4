/*
 * test_buf.c: cg_buf_printf's shortcut for formats of text and %s only
 * (every issue's message and path goes through it) writes what vsnprintf
 * writes, fails where it fails, and cg_buf_add_ulong writes decimals.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

/* cg_buf_printf(FMT, a, b) after a byte already there, against snprintf
 * (a macro: the formats stay literals that the compiler checks). */
#define like_snprintf(FMT, a, b)                                                                   \
	do {                                                                                       \
		char want[512];                                                                    \
		struct cg_buf buf;                                                                 \
                                                                                                   \
		snprintf(want, sizeof(want), FMT, a, b);                                           \
		cg_buf_init(&buf, 4096);                                                           \
		assert_int_equal(cg_buf_addstr(&buf, "<"), CG_OK);                                 \
		assert_int_equal(cg_buf_printf(&buf, FMT, a, b), CG_OK);                           \
		assert_string_equal(buf.p + 1, want);                                              \
		assert_int_equal(buf.len, strlen(want) + 1);                                       \
		cg_buf_free(&buf);                                                                 \
	} while (0)

static void
strings_only(void **state)
{
	(void)state;
	like_snprintf("%s: %s", "dom-6", "A resource should have narrative");
	like_snprintf("%s%s", "", "");
	like_snprintf("plain text, no conversion%s%s", "", "");
	like_snprintf("'%s' is not in %s (Patient.gender)", "x", "http://hl7.org/fhir/ValueSet/x");
	like_snprintf("%s and %s.", "a", "b");
	/* other conversions take vsnprintf's way */
	like_snprintf("%%s %s %s", "a", "b");
	like_snprintf("%5s|%-4s|", "a", "b");
	like_snprintf("%.2s %s", "abcdef", "g");
}

static void
strings_only_at_the_limit(void **state)
{
	struct cg_buf b;

	(void)state;
	/* exactly the cap: kept */
	cg_buf_init(&b, 10);
	assert_int_equal(cg_buf_printf(&b, "%s-%s", "abcd", "efghi"), CG_OK);
	assert_string_equal(b.p, "abcd-efghi");
	/* one more byte: refused and the buffer freed, as vsnprintf's way does */
	assert_int_equal(cg_buf_printf(&b, "%s", "x"), CG_ELIMIT);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	cg_buf_free(&b);
	cg_buf_init(&b, 10);
	assert_int_equal(cg_buf_printf(&b, "%d-%s", 1234, "efghij"), CG_ELIMIT);
	assert_null(b.p);
	cg_buf_free(&b);
}

static void
decimals(void **state)
{
	const unsigned long v[] = {0, 7, 10, 99, 100, 4096, 123456789, ULONG_MAX};
	struct cg_buf b;
	char want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cg_buf_init(&b, 64);
		assert_int_equal(cg_buf_add_ulong(&b, v[i]), CG_OK);
		snprintf(want, sizeof(want), "%lu", v[i]);
		assert_string_equal(b.p, want);
		cg_buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(strings_only),
	        cmocka_unit_test(strings_only_at_the_limit),
	        cmocka_unit_test(decimals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
