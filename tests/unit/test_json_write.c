/*
 * test_json_write.c: cg_jw_tree prints exactly what cJSON_PrintUnformatted
 * prints. `cellgate map --to record` relies on it: its output bytes must not
 * depend on which printer made them (tests/data/map golden files too).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "buf.h"
#include "json_write.h"
#include "support.h"

static void
prints_like_cjson(const char *text)
{
	cJSON *doc = cJSON_Parse(text);
	char *want;
	struct cg_buf b;
	struct cg_jw w;

	assert_non_null(doc);
	want = cJSON_PrintUnformatted(doc);
	assert_non_null(want);
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	cg_jw_init(&w, &b);
	cg_jw_tree(&w, NULL, doc);
	assert_int_equal(w.err, CG_OK);
	assert_int_equal(w.depth, 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.p, want, b.len);
	cg_buf_free(&b);
	cJSON_free(want);
	cJSON_Delete(doc);
}

static void
scalars(void **state)
{
	(void)state;
	prints_like_cjson("\"plain\"");
	prints_like_cjson("true");
	prints_like_cjson("false");
	prints_like_cjson("null");
	prints_like_cjson("0");
	prints_like_cjson("-0");
	prints_like_cjson("42");
	prints_like_cjson("-17");
	prints_like_cjson("0.1");
	prints_like_cjson("3.14159265358979");
	prints_like_cjson("1e300");
	prints_like_cjson("-2.5e-8");
	prints_like_cjson("9007199254740993");
	prints_like_cjson("2147483648");
	prints_like_cjson("38.5");
	prints_like_cjson("-0.0001");
	prints_like_cjson("0.00009");
	prints_like_cjson("999999999.999999");
	prints_like_cjson("1000000000.5");
	prints_like_cjson("0.1234567");
}

/* Many numbers, compared with cJSON one by one: short decimals (json_write
 * prints those without printf), their neighbours one ulp away (which must
 * fall back to it), and arbitrary bit patterns. Fixed seed: reproducible. */
static void
numbers_in_bulk(void **state)
{
	static const double scale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
	unsigned long long x = 88172645463325252ULL;
	struct cg_buf b;
	int i;

	(void)state;
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	for (i = 0; i < 200000; i++) {
		double d;
		cJSON *n;
		char *want;

		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 4) {
		case 0:
		case 1:
			d = (double)(long long)(x % 2000000000000ULL - 1000000000000ULL) /
			    scale[(x >> 50) % 8];
			if (i % 4 == 1)
				d = nextafter(d, (x >> 60) & 1 ? 1e300 : -1e300);
			break;
		case 2:
			d = (double)(x % 100000) / scale[(x >> 40) % 8];
			break;
		default:
			memcpy(&d, &x, sizeof(d));
			break;
		}
		n = cJSON_CreateNumber(d);
		assert_non_null(n);
		want = cJSON_PrintUnformatted(n);
		assert_non_null(want);
		b.len = 0;
		assert_int_equal(cg_jw_number_text(&b, n), CG_OK);
		if (b.len != strlen(want) || memcmp(b.p, want, b.len) != 0)
			fail_msg("%.17g: cJSON %s, json_write %.*s", d, want, (int)b.len, b.p);
		cJSON_free(want);
		cJSON_Delete(n);
	}
	cg_buf_free(&b);
}

static void
containers(void **state)
{
	(void)state;
	prints_like_cjson("{}");
	prints_like_cjson("[]");
	prints_like_cjson("[[],{},[[]],{\"a\":{}}]");
	prints_like_cjson("{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{\"e\":\"f\"}}");
	prints_like_cjson("[1,\"two\",3.5,true,false,null]");
	prints_like_cjson("{\"lvef\":{\"value\":38.5,\"unit\":\"%\"},\"events\":[]}");
}

static void
escapes(void **state)
{
	(void)state;
	/* Values and keys alike: quotes, backslashes, control characters,
	 * the solidus cJSON leaves alone, and UTF-8 it passes through. */
	prints_like_cjson("\"a\\\"b\\\\c\\/d\\n\\r\\t\\b\\f\\u0001\\u001f\"");
	prints_like_cjson("{\"k\\\"ey\":1,\"\":3,\"tab\\t\":[\"\\u00e9\\u4e2d\"]}");
	prints_like_cjson("{\"a\":{\"\\\\\":{\"\\n\":\"\\ud83d\\ude00\"}}}");
}

/* Integers and null by hand, among other members, as `cellgate queue`
 * writes them: the extremes of a 64-bit id included. */
static void
integers_and_null(void **state)
{
	struct cg_buf b;
	struct cg_jw w;

	(void)state;
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	cg_jw_init(&w, &b);
	cg_jw_object(&w, NULL);
	cg_jw_int(&w, "id", 9223372036854775807LL);
	cg_jw_int(&w, "min", -9223372036854775807LL - 1);
	cg_jw_null(&w, "status");
	cg_jw_array(&w, "a");
	cg_jw_int(&w, NULL, 0);
	cg_jw_null(&w, NULL);
	cg_jw_end(&w);
	cg_jw_end(&w);
	assert_int_equal(w.err, CG_OK);
	assert_string_equal(b.p, "{\"id\":9223372036854775807,\"min\":-9223372036854775808,"
	                         "\"status\":null,\"a\":[0,null]}");
	cg_buf_free(&b);
}

static void
deep_trees_stop_with_an_error(void **state)
{
	cJSON *doc = cJSON_CreateArray(), *at = doc;
	struct cg_buf b;
	struct cg_jw w;
	int i;

	(void)state;
	for (i = 0; i < CG_JW_MAX_DEPTH + 4; i++) {
		cJSON *inner = cJSON_CreateArray();

		cJSON_AddItemToArray(at, inner);
		at = inner;
	}
	cg_buf_init(&b, CG_BUF_MAX_ANSWER);
	cg_jw_init(&w, &b);
	cg_jw_tree(&w, NULL, doc);
	assert_int_equal(w.err, CG_ELIMIT);
	cg_buf_free(&b);
	cJSON_Delete(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(scalars),
	        cmocka_unit_test(numbers_in_bulk),
	        cmocka_unit_test(containers),
	        cmocka_unit_test(escapes),
	        cmocka_unit_test(integers_and_null),
	        cmocka_unit_test(deep_trees_stop_with_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
