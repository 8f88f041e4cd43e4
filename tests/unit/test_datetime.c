/* test_datetime.c: dates, RFC 3339 date-times and their comparison rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "datetime.h"

static void
dates(void **state)
{
	static const char *const good[] = {"2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31",
	                                   "2023-12-31"};
	static const char *const bad[] = {
	        "2023-02-29",           "1900-02-29", "2024-04-31",  "2024-13-01",    "2024-00-10",
	        "2024-01-00",           "0000-01-01", "2024-1-01",   "2024/01/01",    "20240101",
	        "2024-01-01T00:00:00Z", "",           "2024-01-01 ", "２０２４-01-01"};
	struct cg_date d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(cg_date_parse(good[i], &d), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cg_date_parse(bad[i], &d) == 0)
			fail_msg("accepted %s", bad[i]);
}

static void
datetimes(void **state)
{
	static const char *const good[] = {"2024-03-05T09:30:00+01:00", "2024-03-05T09:30:00Z",
	                                   "2024-03-05T23:59:60Z", "2024-03-05T09:30:00.1-05:00",
	                                   "2024-03-05T09:30:00.123456789+14:00"};
	static const char *const bad[] = {"2024-03-05T09:30:00",
	                                  "2024-03-05t09:30:00Z",
	                                  "2024-03-05T09:30:00z",
	                                  "2024-03-05 09:30:00Z",
	                                  "2024-03-05T24:00:00Z",
	                                  "2024-03-05T09:60:00Z",
	                                  "2024-03-05T09:30:61Z",
	                                  "2024-03-05T09:30Z",
	                                  "2024-03-05T09:30:00.Z",
	                                  "2024-03-05T09:30:00.1234567891Z",
	                                  "2024-03-05T09:30:00+0100",
	                                  "2024-03-05T09:30:00+24:00",
	                                  "2024-02-30T09:30:00Z",
	                                  "2024-03-05T09:30:00+01:00x",
	                                  "2024-03-05"};
	struct cg_datetime t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (cg_datetime_parse(good[i], &t))
			fail_msg("rejected %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cg_datetime_parse(bad[i], &t) == 0)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(cg_date_or_datetime_parse("2024-03-05", &t), 0);
	assert_int_equal(t.has_time, 0);
	assert_int_equal(cg_date_or_datetime_parse("2024-03-05T09:30:00Z", &t), 0);
	assert_int_equal(t.has_time, 1);
}

static void
comparisons(void **state)
{
	struct cg_datetime a, b;
	struct cg_date x, y;

	(void)state;
	/* The same instant in two offsets. */
	cg_datetime_parse("2024-03-05T09:30:00+01:00", &a);
	cg_datetime_parse("2024-03-05T08:30:00Z", &b);
	assert_int_equal(cg_datetime_cmp(&a, &b), 0);
	/* Fractions order instants within a second. */
	cg_datetime_parse("2024-03-05T08:30:00.5Z", &b);
	assert_int_equal(cg_datetime_cmp(&a, &b), -1);
	/* A date compares with a date-time's own local date. */
	cg_datetime_parse("2024-03-06T00:30:00+02:00", &a); /* 2024-03-05 in UTC */
	cg_date_or_datetime_parse("2024-03-06", &b);
	assert_int_equal(cg_datetime_cmp(&a, &b), 0);
	cg_date_parse("2000-02-29", &x);
	cg_date_parse("2018-02-28", &y);
	assert_int_equal(cg_age_years(&x, &y), 17);
	cg_date_parse("2018-03-01", &y);
	assert_int_equal(cg_age_years(&x, &y), 18);
	cg_date_parse("1970-01-01", &x);
	assert_int_equal(cg_date_days(&x), 0);
	cg_date_parse("2024-03-05", &x);
	cg_date_parse("2024-09-04", &y);
	assert_int_equal(cg_date_days(&y) - cg_date_days(&x), 183);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(dates),
	        cmocka_unit_test(datetimes),
	        cmocka_unit_test(comparisons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
