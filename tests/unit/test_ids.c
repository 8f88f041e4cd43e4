/* test_ids.c: the OID and UUID syntaxes records and FHIR share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ids.h"

static void
oids(void **state)
{
	static const char *const good[] = {"1.2", "0.0", "2.16.840.1.113883.3.1937.777.24", "1.0.3",
	                                   "2.999"};
	static const char *const bad[] = {"",     "1",    "3.1",  "21.3",       "1.",  ".1",
	                                  "1..2", "1.02", "01.2", "1.2.",       "1.a", "1 2",
	                                  "1.2 ", "-1.2", "1.2x", "urn:oid:1.2"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(cg_ids_is_oid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cg_ids_is_oid(bad[i]))
			fail_msg("accepted as an OID: \"%s\"", bad[i]);
}

static void
uuids(void **state)
{
	static const char *const bad[] = {
	        "",
	        "e3935472-cf01-5a0a-b464-46364de40c2",   /* short */
	        "e3935472-cf01-5a0a-b464-46364de40c2bb", /* long */
	        "E3935472-CF01-5A0A-B464-46364DE40C2B",  /* upper case: FHIR's uuid is lower */
	        "e3935472cf015a0ab46446364de40c2b0000",  /* no dashes */
	        "e3935472-cf01-5a0a-b464_46364de40c2b",  /* a dash misplaced */
	        "g3935472-cf01-5a0a-b464-46364de40c2b",  /* not hex */
	};
	size_t i;

	(void)state;
	assert_true(cg_ids_is_uuid("e3935472-cf01-5a0a-b464-46364de40c2b"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cg_ids_is_uuid(bad[i]))
			fail_msg("accepted as a UUID: \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(oids),
	        cmocka_unit_test(uuids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
